package tgtest

import "net/url"

// miniAppURL reports whether Telegram takes u on a web_app button: an
// HTTPS address only («An HTTPS URL of a Web App to be opened»,
// https://core.telegram.org/bots/api#webappinfo).
func miniAppURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "https" && p.Host != ""
}
