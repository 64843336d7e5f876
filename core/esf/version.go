package esf

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
)

// CheckVersionService tells whether ИС ЭСФ answers, opening no session:
// it reads VersionService's WSDL (…/VersionService?wsdl, as public clients
// fetch it). No public source shows VersionService's operations, so none is
// called.
func (c *Client) CheckVersionService(ctx context.Context) error {
	const op = "VersionService?wsdl"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/"+string(VersionService)+"?wsdl", nil)
	if err != nil {
		return &Error{Code: CodeUnavailable, Op: op, cause: err}
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return &Error{Code: CodeUnavailable, Op: op, cause: err}
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return &Error{Code: CodeUnavailable, Op: op, HTTPStatus: res.StatusCode}
	}
	var wsdl struct {
		XMLName xml.Name
		Name    string `xml:"name,attr"`
	}
	if err := xml.NewDecoder(io.LimitReader(res.Body, maxAnswer)).Decode(&wsdl); err != nil {
		return &Error{Code: CodeMalformed, Op: op, HTTPStatus: res.StatusCode, cause: err}
	}
	if wsdl.XMLName.Local != "definitions" || wsdl.Name != string(VersionService) {
		return &Error{Code: CodeMalformed, Op: op, HTTPStatus: res.StatusCode,
			cause: fmt.Errorf("<%s name=%q> is not VersionService's WSDL", wsdl.XMLName.Local, wsdl.Name)}
	}
	return nil
}
