package esf

import (
	"context"
	"errors"
	"strings"
)

type createAuthTicketRequest struct {
	IIN          string `xml:"iin"`
	TTLInMinutes int    `xml:"ttlInMinutes,omitempty"`
}

type createAuthTicketResponse struct {
	AuthTicketXML string `xml:"authTicketXml"`
}

func (r *createAuthTicketResponse) check() error {
	if strings.TrimSpace(r.AuthTicketXML) == "" {
		return errors.New("no authTicketXml")
	}
	return nil
}

// CreateAuthTicket asks for a ticket for the key owner's IIN (the person's,
// not the company's BIN) valid ttlMinutes (1..MaxTicketTTL; 0 is the
// service's default, DefaultTicketTTL). The answer is the XML the person
// signs with their AUTH key.
func (c *Client) CreateAuthTicket(ctx context.Context, iin string, ttlMinutes int) (string, error) {
	var resp createAuthTicketResponse
	err := c.call(ctx, AuthService, OpCreateAuthTicket, nil, createAuthTicketRequest{IIN: iin, TTLInMinutes: ttlMinutes}, &resp)
	return resp.AuthTicketXML, err
}
