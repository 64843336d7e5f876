// Package bot holds every front end a person touches: the messenger bots, the
// channel-free conversation flows they share, and the web pages and endpoints
// that a recipient or a signing app reaches. Sub-packages: web (HTTP server
// and probes), i18n (what users read, in Russian, Kazakh and English).
package bot
