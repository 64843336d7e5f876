package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"edobot/core"
	"edobot/core/esf"
	"edobot/core/signature"
	"edobot/jobs"
	"edobot/storage"
)

// esfInvoices builds the ИС ЭСФ use cases when EDOBOT_ESF is on (nil when
// off): the SOAP client at EDOBOT_ESF_URL, the ticket check on the same
// trust as every signature, the cabinet passwords sealed with
// EDOBOT_SECRET_KEY, and the one-time links in the database.
func esfInvoices(cfg config, db *storage.DB, wiring core.Deps, log *slog.Logger) (*core.Invoices, error) {
	if !cfg.ESF {
		return nil, nil
	}
	sealer, err := core.NewSecretSealer(cfg.SecretKey)
	if err != nil {
		return nil, err // names EDOBOT_SECRET_KEY
	}
	v, ok := wiring.Verifier.(*signature.Verifier)
	if !ok {
		return nil, fmt.Errorf("esf: the signature verifier is a %T", wiring.Verifier)
	}
	gw := &esf.Gateway{Client: esf.New(&http.Client{}, cfg.ESFURL), Verifier: v, PageSize: cfg.ESFPageSize}
	inv, err := core.NewInvoices(core.InvoicesDeps{Store: db, Client: gw, Verifier: gw, Sealer: sealer, Links: db,
		TicketTTL: cfg.ESFTicketTTL, Poll: cfg.ESFPoll, CallTimeout: cfg.ESFCallTimeout, DailyCalls: cfg.ESFDailyCalls,
		SigningTTL: cfg.EgovTTL, Logger: log})
	if err != nil {
		return nil, err
	}
	log.Info("ИС ЭСФ on", "url", cfg.ESFURL, "poll", cfg.ESFPoll.String())
	return inv, nil
}

// esfJobs lets the jobs synchronise the organisations when ИС ЭСФ is on.
func esfJobs(d *jobs.Deps, svc *core.Service, db *storage.DB) {
	if svc.ESF != nil {
		d.ESF, d.ESFOrgs = svc.ESF, db
	}
}
