package main

import (
	"os"
	"strings"
	"time"

	"edobot/bot/web"
	"edobot/core/egov"
	"edobot/core/nca"
	"edobot/core/sigex"
)

// config is edobot's configuration, from environment variables with defaults
// that run on a developer's machine. README's configuration table lists them.
type config struct {
	DatabaseURL   string
	RedisAddr     string
	HTTPAddr      string
	PublicURL     string
	TelegramToken string
	Lang          string
	TempDir       string
	LogLevel      string
	TrustedCA     string // PEM bundles of trusted CAs, comma-separated
	OCSPURL       string // OCSP responder; empty = NCA's, "off" = no revocation check
	// OCSPUnreachable: "refuse" (default) or "accept" a signature whose revocation cannot be checked.
	OCSPUnreachable string
	// NCA's CA certificates trusted out of the box: EDOBOT_NCA (production,
	// test or off), where they are downloaded from, and how often.
	NCA        string
	NCACertURL string
	NCACerts   string
	NCARefresh time.Duration
	// eGov deep-link templates; %s is the URL-encoded session URL.
	EgovMobileLink   string
	EgovBusinessLink string
	EgovTTL          time.Duration
	EgovPDFMime      string // API №2's mime of a PDF: application/pdf or the legacy @file/pdf
	NCALayerURL      string
	// Telegram: the Bot API server (tests and local Bot API servers), and
	// the webhook mode's public URL and secret token (long polling without).
	TelegramAPIURL        string
	TelegramWebhookURL    string
	TelegramWebhookSecret string
	// Trial is how long an organisation that registers itself in a chat may
	// send documents before it needs a subscription.
	Trial time.Duration
	// WhatsApp runs the WhatsApp bot (EDOBOT_WHATSAPP=on); AdminToken guards
	// the operator's URLs, such as the WhatsApp pairing QR.
	WhatsApp   bool
	AdminToken string

	// EgovVia is how the eGov app reaches us: "direct" (our own QR
	// protocol; our domain must be on eGov's allow-list) or "sigex"
	// (through SIGEX's egovQr at SigexURL; see sigex.go).
	EgovVia  string
	SigexURL string
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// duration reads a Go duration ("10m", "90s"), keeping def when unset or bad.
func duration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env(name, "")); err == nil && d > 0 {
		return d
	}
	return def
}

// on reads a switch: "on", "true", "1", "yes".
func on(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "1", "yes":
		return true
	}
	return false
}

func loadConfig() config {
	return config{
		DatabaseURL:           env("DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/edobot?sslmode=disable"),
		RedisAddr:             env("REDIS_ADDR", "127.0.0.1:6379"),
		HTTPAddr:              env("HTTP_ADDR", "127.0.0.1:8080"),
		PublicURL:             env("PUBLIC_URL", "http://127.0.0.1:8080"),
		TelegramToken:         env("TELEGRAM_TOKEN", ""),
		Lang:                  env("EDOBOT_LANG", "ru"),
		TempDir:               env("EDOBOT_TMPDIR", ""),
		LogLevel:              env("LOG_LEVEL", "info"),
		TrustedCA:             env("EDOBOT_TRUSTED_CA", ""),
		OCSPURL:               env("EDOBOT_OCSP_URL", ""),
		OCSPUnreachable:       env("EDOBOT_OCSP_UNREACHABLE", "refuse"),
		NCA:                   env("EDOBOT_NCA", string(nca.ModeProduction)),
		NCACertURL:            env("EDOBOT_NCA_CERT_URL", ""),
		NCACerts:              env("EDOBOT_NCA_CERTS", ""),
		NCARefresh:            duration("EDOBOT_NCA_REFRESH", nca.DefaultInterval),
		EgovMobileLink:        env("EDOBOT_EGOV_MOBILE_LINK", egov.DefaultLinks.Mobile),
		EgovBusinessLink:      env("EDOBOT_EGOV_BUSINESS_LINK", egov.DefaultLinks.Business),
		EgovTTL:               duration("EDOBOT_EGOV_TTL", 10*time.Minute),
		EgovPDFMime:           env("EDOBOT_EGOV_PDF_MIME", egov.MimePDF),
		NCALayerURL:           env("EDOBOT_NCALAYER_URL", web.DefaultNCALayerURL),
		TelegramAPIURL:        env("TELEGRAM_API_URL", ""),
		TelegramWebhookURL:    env("TELEGRAM_WEBHOOK_URL", ""),
		TelegramWebhookSecret: env("TELEGRAM_WEBHOOK_SECRET", ""),
		Trial:                 duration("EDOBOT_TRIAL", 14*24*time.Hour),
		WhatsApp:              on(env("EDOBOT_WHATSAPP", "off")),
		AdminToken:            env("EDOBOT_ADMIN_TOKEN", ""),
		EgovVia:               env("EDOBOT_EGOV_VIA", egovDirect),
		SigexURL:              env("EDOBOT_SIGEX_URL", sigex.DefaultBaseURL),
	}
}
