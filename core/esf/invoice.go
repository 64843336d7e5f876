package esf

import (
	"context"
	"edobot/core"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dateTimeLayout is how xs:dateTime is sent, as clients send it
// (2026-01-01T00:00:00.000+05:00).
const dateTimeLayout = "2006-01-02T15:04:05.000-07:00"

// almaty is the zone of a dateTime that states none: ИС ЭСФ's servers keep
// Astana time (UTC+5 since 2024).
var almaty = time.FixedZone("UTC+5", 5*60*60)

// ParseDateTime reads an xs:dateTime with or without a zone.
func ParseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02T15:04:05.999999999", s, almaty)
}

// Cursor is where the updates stream was read to; the zero Cursor with a
// start date reads from that date. Keep it per organisation. A
// LastInvoiceID of 0 is not sent.
type Cursor = core.ESFCursor

type queryUpdatesRequest struct {
	SessionID              string `xml:"sessionId"`
	LastEventDate          string `xml:"lastEventDate"`
	LastInvoiceID          int64  `xml:"lastInvoiceId,omitempty"`
	Direction              string `xml:"direction"`
	Limit                  int    `xml:"limit,omitempty"`
	FullInfoOnStatusChange bool   `xml:"fullInfoOnStatusChange"`
}

type queryUpdatesResponse struct {
	LastEventDate string         `xml:"lastEventDate"`
	LastInvoiceID int64          `xml:"lastInvoiceId"`
	LastBlock     *bool          `xml:"lastBlock"`
	Invoices      []invoiceInfoX `xml:"invoiceInfoList>invoiceInfo"`
}

// UpdatesPage is one answer of queryUpdates.
type UpdatesPage struct {
	Next      Cursor // feed it back for the next page
	LastBlock bool   // nothing more after this page
	Invoices  []InvoiceInfo
}

// QueryUpdates reads the inbound invoices created or changed after from, at
// most limit (0: the service's default), with the full invoice on status
// changes too.
func (c *Client) QueryUpdates(ctx context.Context, sessionID string, from Cursor, limit int) (UpdatesPage, error) {
	var resp queryUpdatesResponse
	err := c.call(ctx, InvoiceService, OpQueryUpdates, nil, queryUpdatesRequest{
		SessionID: sessionID, LastEventDate: from.LastEventDate.Format(dateTimeLayout), LastInvoiceID: from.LastInvoiceID,
		Direction: string(Inbound), Limit: limit, FullInfoOnStatusChange: true,
	}, &resp)
	if err != nil {
		return UpdatesPage{}, err
	}
	page := UpdatesPage{LastBlock: *resp.LastBlock, Next: Cursor{LastInvoiceID: resp.LastInvoiceID}}
	if page.Next.LastEventDate, err = ParseDateTime(resp.LastEventDate); err != nil {
		return UpdatesPage{}, &Error{Code: CodeMalformed, Op: OpQueryUpdates, cause: err}
	}
	if page.Invoices, err = invoiceInfos(resp.Invoices); err != nil {
		return UpdatesPage{}, &Error{Code: CodeMalformed, Op: OpQueryUpdates, cause: err}
	}
	return page, nil
}

func (r *queryUpdatesResponse) check() error {
	if r.LastBlock == nil || r.LastEventDate == "" {
		return errors.New("no lastBlock or lastEventDate")
	}
	return nil
}

// InvoiceInfo is an invoice as InvoiceService gives it.
type InvoiceInfo struct {
	ID                 int64
	RegistrationNumber string
	Body               string // the invoice XML; see ParseInvoiceBody
	InputDate          time.Time
	DeliveryDate       time.Time // zero when not delivered
	LastUpdateDate     time.Time
	SignatureValid     bool
	Status             InvoiceStatus
	CancelReason       string
	Version            string // InvoiceV1, InvoiceV2…
	SignatureType      string // COMPANY or OPERATOR
}

// invoiceInfoX is InvoiceInfo on the wire (an xs:all: any order).
type invoiceInfoX struct {
	InvoiceBody        string `xml:"invoiceBody"`
	InvoiceID          int64  `xml:"invoiceId"`
	RegistrationNumber string `xml:"registrationNumber"`
	InputDate          string `xml:"inputDate"`
	DeliveryDate       string `xml:"deliveryDate"`
	LastUpdateDate     string `xml:"lastUpdateDate"`
	SignatureValid     bool   `xml:"signatureValid"`
	InvoiceStatus      string `xml:"invoiceStatus"`
	CancelReason       string `xml:"cancelReason"`
	Version            string `xml:"version"`
	SignatureType      string `xml:"signatureType"`
}

func invoiceInfos(in []invoiceInfoX) ([]InvoiceInfo, error) {
	out := make([]InvoiceInfo, len(in))
	for i, x := range in {
		v := InvoiceInfo{ID: x.InvoiceID, RegistrationNumber: x.RegistrationNumber, Body: x.InvoiceBody,
			SignatureValid: x.SignatureValid, Status: InvoiceStatus(x.InvoiceStatus), CancelReason: x.CancelReason,
			Version: x.Version, SignatureType: x.SignatureType}
		if v.ID == 0 || v.Body == "" {
			return nil, fmt.Errorf("invoiceInfo %d without invoiceId or invoiceBody", i)
		}
		var err error
		if v.InputDate, err = ParseDateTime(x.InputDate); err != nil {
			return nil, fmt.Errorf("invoice %d inputDate: %w", v.ID, err)
		}
		if v.LastUpdateDate, err = ParseDateTime(x.LastUpdateDate); err != nil {
			return nil, fmt.Errorf("invoice %d lastUpdateDate: %w", v.ID, err)
		}
		if x.DeliveryDate != "" {
			if v.DeliveryDate, err = ParseDateTime(x.DeliveryDate); err != nil {
				return nil, fmt.Errorf("invoice %d deliveryDate: %w", v.ID, err)
			}
		}
		out[i] = v
	}
	return out, nil
}

type invoiceByIDRequest struct {
	SessionID string  `xml:"sessionId"`
	IDs       []int64 `xml:"idList>id"`
}

type queryInvoiceResponse struct {
	Invoices []invoiceInfoX `xml:"invoiceInfoList>invoiceInfo"`
}

// QueryInvoiceByID reads invoices by their ids.
func (c *Client) QueryInvoiceByID(ctx context.Context, sessionID string, ids ...int64) ([]InvoiceInfo, error) {
	var resp queryInvoiceResponse
	if err := c.call(ctx, InvoiceService, OpQueryInvoiceByID, nil, invoiceByIDRequest{sessionID, ids}, &resp); err != nil {
		return nil, err
	}
	out, err := invoiceInfos(resp.Invoices)
	if err != nil {
		return nil, &Error{Code: CodeMalformed, Op: OpQueryInvoiceByID, cause: err}
	}
	return out, nil
}

// InvoiceSummary is an invoice's state after a status change.
type InvoiceSummary struct {
	ID                 int64         `xml:"invoiceId"`
	Num                string        `xml:"num"`
	Date               string        `xml:"date"`
	Status             InvoiceStatus `xml:"invoiceStatus"`
	RegistrationNumber string        `xml:"registrationNumber"`
}

type invoiceSummaryResponse struct {
	Summaries []InvoiceSummary `xml:"invoiceSummaryList>invoiceSummary"`
}

// ConfirmInvoiceByID marks inbound invoices received («Получено»): they
// become DELIVERED. No signature is needed.
func (c *Client) ConfirmInvoiceByID(ctx context.Context, sessionID string, ids ...int64) ([]InvoiceSummary, error) {
	var resp invoiceSummaryResponse
	err := c.call(ctx, InvoiceService, OpConfirmInvoiceByID, nil, invoiceByIDRequest{sessionID, ids}, &resp)
	return resp.Summaries, err
}

// InvoiceBody is what the chats show of an invoice: from the invoice XML
// (abstractInvoice.xsd / InvoiceV2.xsd; the sample is "One InvoiceV2.xml").
type InvoiceBody struct {
	Num               string `xml:"num"`
	Date              string `xml:"date"` // dd.MM.yyyy
	SellerTIN         string `xml:"sellers>seller>tin"`
	SellerName        string `xml:"sellers>seller>name"`
	CustomerTIN       string `xml:"customers>customer>tin"`
	Currency          string `xml:"productSet>currencyCode"`
	TotalPriceWithTax string `xml:"productSet>totalPriceWithTax"` // a decimal, as written
}

// ParseInvoiceBody reads an invoiceBody: the invoice element itself, or an
// invoiceContainer holding one.
func ParseInvoiceBody(body string) (InvoiceBody, error) {
	var v struct {
		XMLName xml.Name
		InvoiceBody
		Inner *InvoiceBody `xml:"invoiceSet>invoice"`
	}
	if err := xml.Unmarshal([]byte(body), &v); err != nil {
		return InvoiceBody{}, &Error{Code: CodeMalformed, Op: "invoiceBody", cause: err}
	}
	b := v.InvoiceBody
	if v.XMLName.Local == "invoiceContainer" && v.Inner != nil {
		b = *v.Inner
	}
	if b.Num == "" || b.SellerTIN == "" {
		return b, &Error{Code: CodeMalformed, Op: "invoiceBody", cause: errors.New("no num or seller")}
	}
	if _, err := strconv.ParseFloat(b.TotalPriceWithTax, 64); b.TotalPriceWithTax != "" && err != nil {
		return b, &Error{Code: CodeMalformed, Op: "invoiceBody", cause: err}
	}
	return b, nil
}
