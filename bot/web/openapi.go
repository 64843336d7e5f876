package web

import (
	_ "embed"
	"net/http"
	"strconv"
)

// The REST API and its webhooks are described by hand in openapi.json
// (OpenAPI 3.1), served as it is. The API's tests validate every request
// they make and every answer against it (bot/web/openapitest), so the two
// cannot drift apart.

//go:embed openapi.json
var openapiJSON []byte

// OpenAPIPath is where the description is served.
const OpenAPIPath = "/api/v1/openapi.json"

// OpenAPI returns the description of the REST API and its webhooks.
func OpenAPI() []byte { return append([]byte(nil), openapiJSON...) }

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(openapiJSON)))
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Access-Control-Allow-Origin", "*") // for API explorers in a browser
	_, _ = w.Write(openapiJSON)
}
