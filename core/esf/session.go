package esf

import (
	"context"
	"errors"
)

// sessionRequest is AbstractSessionAwareRequest.
type sessionRequest struct {
	SessionID string `xml:"sessionId"`
}

type createSessionSignedRequest struct {
	TIN                 string `xml:"tin"`
	ProjectCode         int64  `xml:"projectCode,omitempty"`
	BusinessProfileType string `xml:"businessProfileType,omitempty"`
	SignedAuthTicket    string `xml:"signedAuthTicket"`
	SourceType          string `xml:"sourceType,omitempty"`
}

type createSessionResponse struct {
	SessionID string `xml:"sessionId"`
}

func (r *createSessionResponse) check() error {
	if r.SessionID == "" {
		return errors.New("no sessionId")
	}
	return nil
}

// CreateSessionSigned opens a session of the person cred names for the
// organisation tin (its BIN) with the ticket they signed. ИС ЭСФ refuses a
// second open session of a person (ErrUserHasSession) and a new session
// within SessionGap of the last (ErrSessionTooSoon).
func (c *Client) CreateSessionSigned(ctx context.Context, cred Credentials, tin, signedTicket string) (string, error) {
	var resp createSessionResponse
	err := c.call(ctx, SessionService, OpCreateSessionSigned, &cred,
		createSessionSignedRequest{TIN: tin, SignedAuthTicket: signedTicket, SourceType: SourceOther}, &resp)
	return resp.SessionID, err
}

type sessionStatusResponse struct {
	Status SessionStatus `xml:"status"`
}

func (r *sessionStatusResponse) check() error {
	if r.Status == "" {
		return errors.New("no status")
	}
	return nil
}

// CloseSession closes a session; the answer is its status after.
func (c *Client) CloseSession(ctx context.Context, sessionID string) (SessionStatus, error) {
	var resp sessionStatusResponse
	err := c.call(ctx, SessionService, OpCloseSession, nil, sessionRequest{sessionID}, &resp)
	return resp.Status, err
}

// CurrentSessionStatus is OK, CLOSED or NOT_FOUND.
func (c *Client) CurrentSessionStatus(ctx context.Context, sessionID string) (SessionStatus, error) {
	var resp sessionStatusResponse
	err := c.call(ctx, SessionService, OpCurrentSessionStatus, nil, sessionRequest{sessionID}, &resp)
	return resp.Status, err
}

type closeSessionByCredentialsRequest struct {
	TIN                 string `xml:"tin"`
	ProjectCode         int64  `xml:"projectCode,omitempty"`
	BusinessProfileType string `xml:"businessProfileType,omitempty"`
	X509Certificate     string `xml:"x509Certificate"`
}

// CloseSessionByCredentials closes the person's open session, whose id is
// lost, for the organisation tin. The 2020 WSDL asks for the person's
// authentication certificate (base64 DER, as a signed ticket's KeyInfo
// carries it) beside the UsernameToken.
func (c *Client) CloseSessionByCredentials(ctx context.Context, cred Credentials, tin, certificate string) (SessionStatus, error) {
	var resp sessionStatusResponse
	err := c.call(ctx, SessionService, OpCloseSessionByCredentials, &cred,
		closeSessionByCredentialsRequest{TIN: tin, X509Certificate: certificate}, &resp)
	return resp.Status, err
}

// User is what currentUser says of the session's person, as much as the
// chats need.
type User struct {
	Login    string `xml:"login"` // the IIN
	Status   string `xml:"status"`
	Taxpayer struct {
		TIN    string `xml:"tin"`
		NameRu string `xml:"nameRu"`
		NameKz string `xml:"nameKz"`
	} `xml:"taxpayer"`
}

type currentUserResponse struct {
	User User `xml:"user"`
}

func (r *currentUserResponse) check() error {
	if r.User.Login == "" {
		return errors.New("no user login")
	}
	return nil
}

// CurrentUser is the session's person and organisation.
func (c *Client) CurrentUser(ctx context.Context, sessionID string) (User, error) {
	var resp currentUserResponse
	err := c.call(ctx, SessionService, OpCurrentUser, nil, sessionRequest{sessionID}, &resp)
	return resp.User, err
}
