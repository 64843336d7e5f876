package esf

import (
	"bytes"
	"context"
	"edobot/core"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxAnswer bounds an answer: a page of invoices with their bodies.
const maxAnswer = 64 << 20

// Client speaks to one ИС ЭСФ (ProductionBaseURL, TestBaseURL or a fake).
// Every call's deadline is its context's.
type Client struct {
	HTTP    *http.Client
	BaseURL string
}

// New returns a client of the ИС ЭСФ at baseURL.
func New(hc *http.Client, baseURL string) *Client {
	return &Client{HTTP: hc, BaseURL: strings.TrimRight(baseURL, "/")}
}

// Credentials are the WS-Security UsernameToken: the person's IIN and the
// password of their ИС ЭСФ cabinet.
type Credentials = core.ESFCredentials

// call posts op's request to svc and decodes the op+"Response" element into
// resp. The request element is "esf:"+op+"Request"; req's fields are its
// children, unqualified, in schema order.
func (c *Client) call(ctx context.Context, svc Service, op string, cred *Credentials, req, resp any) error {
	body, err := envelope(op, cred, req)
	if err != nil {
		return &Error{Code: CodeUnknown, Op: op, cause: err}
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/"+string(svc), bytes.NewReader(body))
	if err != nil {
		return &Error{Code: CodeUnavailable, Op: op, cause: err}
	}
	hr.Header.Set("Content-Type", "text/xml; charset=utf-8")
	hr.Header.Set("SOAPAction", `""`)
	res, err := c.HTTP.Do(hr)
	if err != nil {
		return &Error{Code: CodeUnavailable, Op: op, cause: err}
	}
	defer res.Body.Close()
	return readAnswer(op, res, resp)
}

func envelope(op string, cred *Credentials, req any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`<soapenv:Envelope xmlns:soapenv="` + NamespaceSOAP + `" xmlns:esf="` + NamespaceESF + `">`)
	if cred == nil {
		b.WriteString(`<soapenv:Header/>`)
	} else {
		b.WriteString(`<soapenv:Header><wsse:Security soapenv:mustUnderstand="1" xmlns:wsse="` + NamespaceWSSE + `"><wsse:UsernameToken><wsse:Username>`)
		_ = xml.EscapeText(&b, []byte(cred.IIN))
		b.WriteString(`</wsse:Username><wsse:Password Type="` + PasswordText + `">`)
		_ = xml.EscapeText(&b, []byte(cred.Password))
		b.WriteString(`</wsse:Password></wsse:UsernameToken></wsse:Security></soapenv:Header>`)
	}
	b.WriteString(`<soapenv:Body>`)
	enc := xml.NewEncoder(&b)
	// The prefix is written into the name: encoding/xml would otherwise put
	// the children in the "esf" namespace too, and the schema wants them
	// unqualified.
	if err := enc.EncodeElement(req, xml.StartElement{Name: xml.Name{Local: "esf:" + op + "Request"}}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	b.WriteString(`</soapenv:Body></soapenv:Envelope>`)
	return b.Bytes(), nil
}

// soapFault is a SOAP 1.1 fault with ИС ЭСФ's detail
// (businessException, sessionClosedException, accessDeniedException, each
// with a description).
type soapFault struct {
	FaultCode   string `xml:"faultcode"`
	FaultString string `xml:"faultstring"`
	Detail      struct {
		Items []struct {
			XMLName     xml.Name
			Description string `xml:"description"`
		} `xml:",any"`
	} `xml:"detail"`
}

// readAnswer reads the envelope: a fault becomes an *Error of its code, an
// answer that is neither the expected element nor a fault is malformed.
func readAnswer(op string, res *http.Response, resp any) error {
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer+1))
	if err != nil {
		return &Error{Code: CodeUnavailable, Op: op, HTTPStatus: res.StatusCode, cause: err}
	}
	if len(raw) > maxAnswer {
		return &Error{Code: CodeMalformed, Op: op, HTTPStatus: res.StatusCode, cause: errors.New("answer too large")}
	}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	start, err := bodyElement(dec)
	if err != nil {
		code := CodeMalformed
		if res.StatusCode != http.StatusOK {
			// An error page of a proxy or a server that is down.
			code = CodeUnavailable
		}
		return &Error{Code: code, Op: op, HTTPStatus: res.StatusCode, cause: err}
	}
	if start.Name.Space == NamespaceSOAP && start.Name.Local == "Fault" {
		var f soapFault
		if err := dec.DecodeElement(&f, &start); err != nil {
			return &Error{Code: CodeMalformed, Op: op, HTTPStatus: res.StatusCode, cause: err}
		}
		e := &Error{Op: op, HTTPStatus: res.StatusCode, FaultString: strings.TrimSpace(f.FaultString)}
		if len(f.Detail.Items) > 0 {
			e.Detail, e.Description = f.Detail.Items[0].XMLName.Local, strings.TrimSpace(f.Detail.Items[0].Description)
		}
		e.Code = classify(e.FaultString, e.Detail, e.Description)
		return e
	}
	if res.StatusCode != http.StatusOK || start.Name.Local != op+"Response" {
		return &Error{Code: CodeMalformed, Op: op, HTTPStatus: res.StatusCode,
			cause: fmt.Errorf("answer <%s> where <%sResponse> was expected", start.Name.Local, op)}
	}
	if err := dec.DecodeElement(resp, &start); err != nil {
		return &Error{Code: CodeMalformed, Op: op, HTTPStatus: res.StatusCode, cause: err}
	}
	if v, ok := resp.(interface{ check() error }); ok {
		if err := v.check(); err != nil {
			return &Error{Code: CodeMalformed, Op: op, HTTPStatus: res.StatusCode, cause: err}
		}
	}
	return nil
}

// bodyElement moves the decoder to the first element inside soap:Body.
func bodyElement(dec *xml.Decoder) (xml.StartElement, error) {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.StartElement{}, fmt.Errorf("not a SOAP envelope: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch {
		case depth == 0 && se.Name.Space == NamespaceSOAP && se.Name.Local == "Envelope":
			depth = 1
		case depth == 1 && se.Name.Space == NamespaceSOAP && se.Name.Local == "Body":
			depth = 2
		case depth == 1:
			if err := dec.Skip(); err != nil { // the Header
				return xml.StartElement{}, err
			}
		case depth == 2:
			return se, nil
		default:
			return xml.StartElement{}, fmt.Errorf("not a SOAP envelope: <%s>", se.Name.Local)
		}
	}
}
