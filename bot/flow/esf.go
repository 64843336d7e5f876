package flow

import (
	"strconv"
	"strings"

	"edobot/core"
)

// esfStatusKeys are the invoice statuses with a name of their own; others
// show as ИС ЭСФ writes them.
var esfStatusKeys = []string{"CREATED", "DELIVERED", "CANCELED", "REVOKED", "DECLINED", "IMPORTED", "DELETED", "FAILED",
	"WAITING_CUSTOMER_CONFIRMATION"}

// esfNotice draws an organisation's ИС ЭСФ event.
func (f *Flow) esfNotice(u *core.ChatUser, n core.Notification) []Screen {
	e := n.ESF
	switch n.Kind {
	case core.OutboxESFInvoice, core.OutboxESFStatus:
		if e.Invoice == nil {
			return nil
		}
		inv := e.Invoice
		key := "esf.invoice"
		if n.Kind == core.OutboxESFStatus {
			key = "esf.status"
		}
		s := Screen{Text: f.esfInvoiceText(u, key, inv)}
		if inv.Confirmable() {
			s.Buttons = [][]Button{{{Label: f.t(u, "esf.confirm", nil), Data: callbackData(CodeESFConfirm, strconv.FormatInt(inv.ESFID, 10))}}}
		}
		return []Screen{s}
	case core.OutboxESFPaused:
		if e.Reason == core.ESFPausedPassword {
			return []Screen{{Text: f.t(u, "esf.paused_password", nil),
				Buttons: [][]Button{{{Label: f.t(u, "esf.enter_password", nil), Data: callbackData(CodeESFPassword)}}}}}
		}
		return []Screen{{Text: f.t(u, "esf.paused_ticket", nil),
			Buttons: [][]Button{{{Label: f.t(u, "esf.sign_ticket", nil), Data: callbackData(CodeESFTicket)}}}}}
	case core.OutboxESFExpiring:
		if e.ExpiresAt == nil {
			return nil
		}
		return []Screen{{Text: f.t(u, "esf.expiring", map[string]any{"Until": kz(*e.ExpiresAt)}),
			Buttons: [][]Button{{{Label: f.t(u, "esf.sign_ticket", nil), Data: callbackData(CodeESFTicket)}}}}}
	case core.OutboxESFUnavailable:
		if e.Since == nil {
			return nil
		}
		return []Screen{{Text: f.t(u, "esf.unavailable", map[string]any{"Since": kz(*e.Since)})}}
	case core.OutboxESFRestored:
		return []Screen{{Text: f.t(u, "esf.restored", nil)}}
	case core.OutboxESFConnected:
		until := ""
		if e.ExpiresAt != nil {
			until = kz(*e.ExpiresAt)
		}
		return []Screen{{Text: f.t(u, "esf.connected", map[string]any{"Who": e.Who, "IIN": e.IIN, "Until": until}),
			Buttons: [][]Button{{{Label: f.t(u, "esf.sessions", nil), Data: callbackData(CodeESFSessions)}}}}}
	case core.OutboxESFRefused:
		why := f.Cat.Error(u.Language, &core.Refusal{Code: e.Code})
		b := Button{Label: f.t(u, "esf.sign_ticket", nil), Data: callbackData(CodeESFTicket)}
		if e.Code == core.CodeESFPasswordInvalid || e.Code == core.CodeESFNoPassword {
			b = Button{Label: f.t(u, "esf.enter_password", nil), Data: callbackData(CodeESFPassword)}
		}
		return []Screen{{Text: f.t(u, "esf.ticket_refused", map[string]any{"Why": why}), Buttons: [][]Button{{b}}}}
	case core.OutboxESFPasswordSaved:
		return []Screen{{Text: f.t(u, "esf.password_saved", nil),
			Buttons: [][]Button{{{Label: f.t(u, "esf.sign_ticket", nil), Data: callbackData(CodeESFTicket)}}}}}
	}
	return nil
}

func (f *Flow) esfStatus(u *core.ChatUser, status string) string {
	for _, s := range esfStatusKeys {
		if s == status {
			return f.t(u, "esf.status."+status, nil)
		}
	}
	return status
}

func currencySign(c string) string {
	if c == "" || c == "KZT" {
		return "₸"
	}
	return c
}

// money groups a decimal's thousands with thin spaces, its fraction after
// lang's decimal mark: 1234567.50 → 1 234 567,50 (1 234 567.50 in English).
func money(lang, v string) string {
	whole, frac, _ := strings.Cut(v, ".")
	neg := strings.HasPrefix(whole, "-")
	whole = strings.TrimPrefix(whole, "-")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(r)
	}
	out := b.String()
	if frac != "" && strings.Trim(frac, "0") != "" {
		out += decimalMark(lang) + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// esfInvoiceText is an invoice as a notice shows it: the new one (key
// esf.invoice) or a change of its status (esf.status).
func (f *Flow) esfInvoiceText(u *core.ChatUser, key string, inv *core.ESFInvoice) string {
	return f.t(u, key, map[string]any{"Number": inv.Number, "Date": inv.Date, "Seller": inv.SellerName,
		"SellerBIN": inv.SellerBIN, "Total": money(u.Language, inv.Total), "Currency": currencySign(inv.Currency),
		"Status": f.esfStatus(u, inv.Status), "Registration": inv.RegistrationNumber})
}
