// Package sigex is a client of SIGEX's egovQr broker: the way to sign with
// eGov Mobile / eGov Business when our own domain is not on eGov's list of
// allowed domains. SIGEX's domain is; it shows the app our document and hands
// us back the CMS, which we then verify ourselves like any other.
//
// One signing is three calls: Register (a QR and launch links), SendData
// (answered only once the phone has taken the document) and AwaitSignatures
// (a long poll answered once the person has signed or refused). The findings
// behind every constant, with their sources, are in docs/sigex.md.
package sigex

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"edobot/core/egov"
)

// The egovQr protocol, as SIGEX publishes it and its own client speaks it:
//   - https://sigex.kz/support/developers/ («Отправка запросов и
//     интерпретация ответов»: JSON in, HTTP 200 and JSON out; another
//     status is a serious fault whose body is not to be read);
//   - https://sigex.kz/support/developers/api-egov-basic (POST /api/egovQr,
//     then a POST and a GET on the URLs it returns; one use per QR; the
//     procedure ends at expireAt);
//   - github.com/sigex-kz/sigex-qr-signing-client @06b50ee
//     sigex-qr-signing-client.js lines 83 (mime "@file/pdf"), 99-134
//     (registration; "message" in an answer is a refusal), 185-291 (data,
//     then signatures; network failures are retried; signMethod
//     CMS_SIGN_ONLY or CMS_WITH_DATA).
//
// whenDone.backUrl and {"status":"CANCELED"} come from public clients
// other than SIGEX's own (docs/sigex.md says which).
const (
	registerPath = "/api/egovQr"

	MethodDetached SignMethod = "CMS_SIGN_ONLY" // the CMS carries no data
	MethodAttached SignMethod = "CMS_WITH_DATA"

	// MimePDF is the hint SIGEX's client gives the app that data is a PDF;
	// the empty mime is plain data.
	MimePDF = "@file/pdf"
	// MimeText asks the app to show the data as text (eGov's own list of
	// mimes); SIGEX's client never sends it: see docs/sigex.md.
	MimeText = "text/plain"

	statusCanceled = "CANCELED"
)

// Limits on what SIGEX may send back.
const (
	maxRegistration = 1 << 20
	maxSignatures   = 64 << 20 // CMS_WITH_DATA returns the document inside the CMS
	maxErrorBody    = 4 << 10
)

// DefaultBaseURL is SIGEX's production address.
const DefaultBaseURL = "https://sigex.kz"

// SignMethod is what the app makes of each document.
type SignMethod string

// Errors of the protocol. A refusal by SIGEX is an *Error.
var (
	// ErrCanceled: the person refused in the app.
	ErrCanceled = errors.New("sigex: signing canceled in the app")
	// ErrExpired: the procedure ended at expireAt unsigned.
	ErrExpired = errors.New("sigex: signing procedure expired")
	// ErrMalformed: SIGEX answered something this client cannot read.
	ErrMalformed = errors.New("sigex: malformed answer")
)

// Error is SIGEX's refusal, {"message","requestID"}, which may come with
// HTTP 200, or a status other than 200.
type Error struct {
	Status    int    // the HTTP status
	Message   string // SIGEX's own text, in English; not for end users
	RequestID string // for SIGEX's support
}

func (e *Error) Error() string {
	s := fmt.Sprintf("sigex: %q (HTTP %d", e.Message, e.Status)
	if e.RequestID != "" {
		s += ", request " + e.RequestID
	}
	return s + ")"
}

// Client speaks to one SIGEX. Its zero RetryPause and Now are defaults.
type Client struct {
	HTTP    *http.Client // must not time out sooner than a QR lives: SendData and AwaitSignatures are held
	BaseURL string
	// RetryPause is the wait before a held request that broke is sent
	// again; 1 s when zero.
	RetryPause time.Duration
	// RegisterTimeout bounds a registration, which SIGEX answers at once;
	// 30 s when zero.
	RegisterTimeout time.Duration
	Now             func() time.Time
}

// New returns a client of the SIGEX at baseURL (DefaultBaseURL when empty).
func New(hc *http.Client, baseURL string) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	return &Client{HTTP: hc, BaseURL: strings.TrimRight(baseURL, "/")}
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) pause() time.Duration {
	if c.RetryPause > 0 {
		return c.RetryPause
	}
	return time.Second
}

func (c *Client) registerTimeout() time.Duration {
	if c.RegisterTimeout > 0 {
		return c.RegisterTimeout
	}
	return 30 * time.Second
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Registration is a signing procedure SIGEX opened: what to show the person,
// and where to send the data and wait for the signatures. The URLs are used
// exactly as returned.
type Registration struct {
	QRPNG        []byte // the QR for a second phone to scan
	DataURL      string
	SignURL      string
	MobileLink   string // opens eGov Mobile on this phone
	BusinessLink string // opens eGov Business on this phone
	ExpireAt     time.Time
}

// Document is one thing to sign.
type Document struct {
	NameRu, NameKz, NameEn string
	Meta                   []Meta
	Mime                   string // MimePDF, MimeText or ""
	Data                   []byte
}

// Meta is a name and value the app shows beside a document.
type Meta = egov.Meta

type registerRequest struct {
	Description string    `json:"description"`
	WhenDone    *whenDone `json:"whenDone,omitempty"`
}

type whenDone struct {
	BackURL string `json:"backUrl"`
}

// answer holds every field any egovQr answer may carry.
type answer struct {
	Message   string `json:"message"`
	RequestID string `json:"requestID"`
	Status    string `json:"status"`

	QRCode                 string `json:"qrCode"`
	DataURL                string `json:"dataURL"`
	SignURL                string `json:"signURL"`
	EGovMobileLaunchLink   string `json:"eGovMobileLaunchLink"`
	EGovBusinessLaunchLink string `json:"eGovBusinessLaunchLink"`
	ExpireAt               int64  `json:"expireAt"` // Unix milliseconds

	DocumentsToSign []egov.Document `json:"documentsToSign"`
}

type dataRequest struct {
	SignMethod      SignMethod      `json:"signMethod"`
	DocumentsToSign []egov.Document `json:"documentsToSign"`
}

// Register opens a signing procedure. description is what the app shows
// above the documents; backURL, when set, is where the app sends the person
// once done (whenDone.backUrl).
func (c *Client) Register(ctx context.Context, description, backURL string) (*Registration, error) {
	in := registerRequest{Description: description}
	if backURL != "" {
		in.WhenDone = &whenDone{BackURL: backURL}
	}
	ctx, cancel := context.WithTimeout(ctx, c.registerTimeout())
	defer cancel()
	a, err := c.call(ctx, http.MethodPost, c.BaseURL+registerPath, in, maxRegistration)
	if err != nil {
		return nil, fmt.Errorf("sigex register: %w", err)
	}
	png, err := base64.StdEncoding.DecodeString(a.QRCode)
	if err != nil || len(png) == 0 || a.ExpireAt <= 0 {
		return nil, fmt.Errorf("sigex register: %w: qrCode or expireAt missing", ErrMalformed)
	}
	// The document goes to dataURL and the URLs are kept for a restart: they
	// must be SIGEX's own, on the host we asked; the launch links become
	// buttons in the chats, so only https ones are taken.
	if !c.sameOrigin(a.DataURL) || !c.sameOrigin(a.SignURL) {
		return nil, fmt.Errorf("sigex register: %w: dataURL or signURL not on %s", ErrMalformed, c.BaseURL)
	}
	if !isHTTPS(a.EGovMobileLaunchLink) || !isHTTPS(a.EGovBusinessLaunchLink) {
		return nil, fmt.Errorf("sigex register: %w: a launch link is not an https URL", ErrMalformed)
	}
	return &Registration{QRPNG: png, DataURL: a.DataURL, SignURL: a.SignURL,
		MobileLink: a.EGovMobileLaunchLink, BusinessLink: a.EGovBusinessLaunchLink,
		ExpireAt: time.UnixMilli(a.ExpireAt)}, nil
}

// sameOrigin reports whether s is a URL on the scheme and host of BaseURL.
func (c *Client) sameOrigin(s string) bool {
	u, err := url.Parse(s)
	base, berr := url.Parse(c.BaseURL)
	return err == nil && berr == nil && u.Host != "" && u.Scheme == base.Scheme && strings.EqualFold(u.Host, base.Host) && u.User == nil
}

func isHTTPS(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}

// SendData posts the documents to a registration's dataURL. SIGEX answers
// only once the phone has taken them, so this blocks while the person scans;
// a request that breaks on the way is sent again, until expireAt (then
// ErrExpired) or ctx ends.
func (c *Client) SendData(ctx context.Context, dataURL string, expireAt time.Time, method SignMethod, docs []Document) error {
	if len(docs) == 0 {
		return errors.New("sigex send data: nothing to sign")
	}
	in := dataRequest{SignMethod: method, DocumentsToSign: make([]egov.Document, len(docs))}
	for i, d := range docs {
		w := &in.DocumentsToSign[i]
		w.ID = i + 1
		w.NameRu, w.NameKz, w.NameEn = d.NameRu, orElse(d.NameKz, d.NameRu), orElse(d.NameEn, d.NameRu)
		w.Meta = d.Meta
		if w.Meta == nil {
			w.Meta = []Meta{}
		}
		w.Document.File.Mime = d.Mime
		w.Document.File.Data = base64.StdEncoding.EncodeToString(d.Data)
	}
	_, err := c.held(ctx, http.MethodPost, dataURL, expireAt, in, maxRegistration)
	if err != nil {
		return fmt.Errorf("sigex send data: %w", err)
	}
	return nil
}

func orElse(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// AwaitSignatures long-polls signURL until the person signs: one CMS per
// document, in the order sent. A refusal in the app is ErrCanceled; the end
// of the procedure unsigned is ErrExpired.
func (c *Client) AwaitSignatures(ctx context.Context, signURL string, expireAt time.Time) ([][]byte, error) {
	a, err := c.held(ctx, http.MethodGet, signURL, expireAt, nil, maxSignatures)
	if err != nil {
		return nil, fmt.Errorf("sigex await signatures: %w", err)
	}
	if a.Status == statusCanceled {
		return nil, ErrCanceled
	}
	if len(a.DocumentsToSign) == 0 {
		return nil, fmt.Errorf("sigex await signatures: %w: no documentsToSign", ErrMalformed)
	}
	out := make([][]byte, len(a.DocumentsToSign))
	for i, d := range a.DocumentsToSign {
		cms, err := decodeCMS(d.Document.File.Data)
		if err != nil {
			return nil, fmt.Errorf("sigex await signatures: %w: document %d: %v", ErrMalformed, d.ID, err)
		}
		out[i] = cms
	}
	return out, nil
}

// decodeCMS reads base64 that may be wrapped in lines.
func decodeCMS(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err == nil && len(b) == 0 {
		err = errors.New("empty")
	}
	return b, err
}

// held sends a request that SIGEX holds open, again and again while it
// breaks on the way (the network, a proxy's 502/503/504 or timeout) and the
// procedure lives. SIGEX's own refusal at the end of the procedure is
// expiry: what SIGEX says then is not published, so the time decides.
func (c *Client) held(ctx context.Context, method, u string, expireAt time.Time, in any, limit int64) (*answer, error) {
	for {
		a, err := c.call(ctx, method, u, in, limit)
		switch {
		case err == nil:
			return a, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case !retryable(err):
			var se *Error
			if errors.As(err, &se) && !c.now().Before(expireAt.Add(-expirySkew)) {
				return nil, fmt.Errorf("%w: %w", ErrExpired, err)
			}
			return nil, err
		case !c.now().Before(expireAt):
			return nil, fmt.Errorf("%w: %w", ErrExpired, err)
		}
		t := time.NewTimer(c.pause())
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// expirySkew allows for SIGEX's clock running ahead of ours.
const expirySkew = 30 * time.Second

// retryable: the request broke on the way rather than being answered.
func retryable(err error) bool {
	var se *Error
	if errors.As(err, &se) {
		return gateway(se.Status)
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

// gateway statuses come from something between us and SIGEX dropping a
// held request, not from SIGEX deciding.
func gateway(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// call does one request. Transport failures come back as they are (a
// net.Error, io.ErrUnexpectedEOF…); SIGEX's refusals as *Error.
func (c *Client) call(ctx context.Context, method, u string, in any, limit int64) (*answer, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cache-Control", "no-store")
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// SIGEX: the body of another status is not to be interpreted, but
		// a {"message"} there is still worth logging.
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		e := &Error{Status: resp.StatusCode, Message: strings.TrimSpace(string(raw))}
		var a answer
		if json.Unmarshal(raw, &a) == nil && a.Message != "" {
			e.Message, e.RequestID = a.Message, a.RequestID
		}
		return nil, e
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("%w: answer over %d bytes", ErrMalformed, limit)
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if a.Message != "" && a.Status != statusCanceled {
		return nil, &Error{Status: resp.StatusCode, Message: a.Message, RequestID: a.RequestID}
	}
	return &a, nil
}
