package main

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"edobot/bot/web"
	"edobot/bot/whatsapp"
	"edobot/core"
	"edobot/core/esf"
	"edobot/core/nca"
	"edobot/jobs"
)

var update = flag.Bool("update", false, "rewrite README.md's configuration section from the table")

// mustConfig is the configuration of the test's environment.
func mustConfig(t *testing.T) config {
	t.Helper()
	c, err := loadConfig(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// envOf is a getenv over a fixed set of variables.
func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// TestConfigDefaults: with nothing set every default passes its own check,
// and the defaults are the packages' own, so a package built directly (in
// its tests) behaves as the binary does.
func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig(envOf())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Limits, web.DefaultLimits()) {
		t.Errorf("limits:\n%+v\nwant\n%+v", c.Limits, web.DefaultLimits())
	}
	if !reflect.DeepEqual(c.Jobs, jobs.DefaultConfig()) {
		t.Errorf("jobs:\n%+v\nwant\n%+v", c.Jobs, jobs.DefaultConfig())
	}
	want := config{
		DatabaseURL: "postgres://postgres:postgres@127.0.0.1:5432/edobot?sslmode=disable",
		HTTPAddr:    "127.0.0.1:8080", PublicURL: "http://127.0.0.1:8080", Lang: "ru", LogLevel: "info",
		OCSPUnreachable: "refuse", NCA: string(nca.ModeProduction), NCARefresh: nca.DefaultInterval,
		EgovMobileLink: "https://m.egov.kz/mobileSign/?link=%s", EgovBusinessLink: "https://m.egov.kz/businessSign/?link=%s",
		EgovTTL: core.DefaultEgovTTL, EgovPDFMime: "application/pdf", NCALayerURL: web.DefaultNCALayerURL,
		Trial: 14 * 24 * time.Hour, EgovVia: "direct", SigexURL: "https://sigex.kz",
		ESFURL: esf.ProductionBaseURL, ESFPoll: 15 * time.Minute, ESFTicketTTL: 24 * time.Hour, ESFDailyCalls: 3000, ESFCallTimeout: time.Minute,
		Limits: c.Limits, Jobs: c.Jobs, Cold: whatsapp.DefaultCold,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("config:\n%+v\nwant\n%+v", c, want)
	}
	// Empty is the default, spaces too.
	if e, err := loadConfig(envOf("EDOBOT_NCA", "", "EDOBOT_HTTP_MAX_CONNS", "  ")); err != nil || !reflect.DeepEqual(e, c) {
		t.Errorf("empty values: %v", err)
	}
}

// TestConfigValues: given values reach the structs the packages get.
func TestConfigValues(t *testing.T) {
	c, err := loadConfig(envOf(
		"EDOBOT_HTTP_MAX_CONNS", "64", "EDOBOT_HTTP_MIN_RATE", "8K", "EDOBOT_RATE_VIEW", "off",
		"EDOBOT_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1", "EDOBOT_PAGE_CACHE_SIZE", "1G",
		"EDOBOT_TELEGRAM_RATE", "25/s,2s", "EDOBOT_REMINDER_DAYS", "3", "EDOBOT_OUTBOX_POLL", "1s",
		"REDIS_ADDR", "redis:6380", "EDOBOT_WHATSAPP", "on", "EDOBOT_NCA", "prod", "EDOBOT_EGOV_TTL", "90s",
		"TELEGRAM_WEBHOOK_URL", "https://bot.example.kz/telegram/webhook", "TELEGRAM_WEBHOOK_SECRET", "0123456789abcdef",
		"PUBLIC_URL", "https://edo.example.kz/", "EDOBOT_REMINDER_CRON", "0 9,21 * * 1",
	))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Limits
	if l.MaxConns != 64 || l.MinRate != 8<<10 || l.Rates.View.PerAddr.PerSecond != 0 || l.Rates.Status != web.DefaultRates().Status ||
		len(l.TrustedProxies) != 2 || l.TrustedProxies[1] != netip.MustParsePrefix("127.0.0.1/32") || l.PageCacheSize != 1<<30 ||
		l.IdleTimeout != web.DefaultLimits().IdleTimeout {
		t.Errorf("limits: %+v", l)
	}
	j := c.Jobs
	if r := j.Limits[core.ChannelTelegram]; r.PerSecond != 25 || r.PerChat != 2*time.Second || j.ReminderAfterDays != 3 ||
		j.RelayInterval != time.Second || j.Limits[core.ChannelWhatsApp] != jobs.WhatsAppLimit || j.RedisAddr != "redis:6380" {
		t.Errorf("jobs: %+v", j)
	}
	if !c.WhatsApp || c.NCA != "production" || c.EgovTTL != 90*time.Second || c.PublicURL != "https://edo.example.kz" || j.ReminderSpec != "0 9,21 * * 1" {
		t.Errorf("config: %+v", c)
	}
}

// TestConfigRefusesBadValues: every bad value stops the start with a message
// that names its variable and says what is allowed; a secret is not
// repeated. Every variable that is not free text has a case here.
func TestConfigRefusesBadValues(t *testing.T) {
	noPEM := filepath.Join(t.TempDir(), "not-a-certificate.pem")
	if err := os.WriteFile(noPEM, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := map[string][]string{
		"DATABASE_URL": {"127.0.0.1:5432", "host=127.0.0.1 dbname=edobot", "mysql://root:secret@127.0.0.1/edobot",
			"postgres://u:secret@127.0.0.1:port/edobot", "postgres://u:secret@127.0.0.1/edobot?sslmode=sometimes"},
		"EDOBOT_TRUSTED_CA":            {filepath.Join(t.TempDir(), "missing.pem"), noPEM, "../../README.md"},
		"REDIS_ADDR":                   {"localhost"},
		"HTTP_ADDR":                    {"8080", "127.0.0.1:"},
		"PUBLIC_URL":                   {"example.kz", "ftp://example.kz"},
		"EDOBOT_LANG":                  {"de", "RU"},
		"LOG_LEVEL":                    {"verbose"},
		"EDOBOT_TRIAL":                 {"14d", "0s", "-1h"},
		"TELEGRAM_API_URL":             {"api.telegram.org"},
		"TELEGRAM_WEBHOOK_URL":         {"/telegram/webhook", "http://bot.example.kz/telegram/webhook"},
		"TELEGRAM_WEBHOOK_SECRET":      {"short", "has spaces in it, sixteen+"},
		"EDOBOT_WHATSAPP":              {"enabled"},
		"EDOBOT_WHATSAPP_COLD":         {"sometimes"},
		"EDOBOT_WHATSAPP_COLD_START":   {"0", "many", "21"},
		"EDOBOT_WHATSAPP_COLD_MAX":     {"1001"},
		"EDOBOT_WHATSAPP_COLD_WARMUP":  {"2w", "0s"},
		"EDOBOT_WHATSAPP_COLD_PER_ORG": {"-1"},
		"EDOBOT_WHATSAPP_COLD_PAUSE":   {"week"},
		"EDOBOT_WHATSAPP_LOOKUP_TTL":   {"0s"},
		"EDOBOT_NCA":                   {"staging"},
		"EDOBOT_NCA_CERT_URL":          {"ftp://test.pki.gov.kz/cert/"},
		"EDOBOT_NCA_CERTS":             {"ftp://pki.gov.kz/root.cer"},
		"EDOBOT_NCA_REFRESH":           {"daily"},
		"EDOBOT_OCSP_URL":              {"ocsp.pki.gov.kz", "none"},
		"EDOBOT_OCSP_UNREACHABLE":      {"maybe"},
		"EDOBOT_EGOV_VIA":              {"sigx"},
		"EDOBOT_SIGEX_URL":             {"sigex.kz"},
		"EDOBOT_EGOV_MOBILE_LINK":      {"https://m.egov.kz/mobileSign/", "https://m.egov.kz/?a=%s&b=%s", "https://m.egov.kz/?a=%d"},
		"EDOBOT_EGOV_BUSINESS_LINK":    {"m.egov.kz/businessSign/?link=%s"},
		"EDOBOT_EGOV_TTL":              {"10"},
		"EDOBOT_EGOV_PDF_MIME":         {"pdf"},
		"EDOBOT_NCALAYER_URL":          {"https://127.0.0.1:13579"},
		"EDOBOT_HTTP_MAX_CONNS":        {"0", "many", "2000000"},
		"EDOBOT_HTTP_HEADER_TIMEOUT":   {"soon"},
		"EDOBOT_HTTP_IDLE_TIMEOUT":     {"0"},
		"EDOBOT_HTTP_REQUEST_TIMEOUT":  {"30"},
		"EDOBOT_HTTP_MIN_RATE":         {"16KB/s", "0", "-1K"},
		"EDOBOT_HTTP_TRANSFER_MAX":     {"1y"},
		"EDOBOT_RATE_VIEW":             {"50/s"},
		"EDOBOT_RATE_STATUS":           {"2/h,1/s"},
		"EDOBOT_RATE_SIGN":             {"1/s"},
		"EDOBOT_TRUSTED_PROXIES":       {"10.0.0.0/33", "proxy.local"},
		"EDOBOT_RENDER_CONCURRENCY":    {"0", "1000"},
		"EDOBOT_RENDER_TIMEOUT":        {"-20s"},
		"EDOBOT_RENDER_CPU":            {"10"},
		"EDOBOT_RENDER_MEMORY":         {"1T"},
		"EDOBOT_PAGE_CACHE_SIZE":       {"lots"},
		"EDOBOT_REDIS_DB":              {"-1", "one"},
		"EDOBOT_JOBS_CONCURRENCY":      {"0"},
		"EDOBOT_OUTBOX_POLL":           {"soon"},
		"EDOBOT_QUEUE_POLL":            {"0ms"},
		"EDOBOT_TELEGRAM_RATE":         {"30/s,1s,0", "fast"},
		"EDOBOT_WHATSAPP_RATE":         {"10/s"},
		"EDOBOT_RETRY_MAX":             {"10"},
		"EDOBOT_NOTIFY_MAX_RETRY":      {"0"},
		"EDOBOT_REMINDER_DAYS":         {"0", "400"},
		"EDOBOT_REMINDER_CRON":         {"hourly", "0 * * *", "0 3 * * *", "30 20 * * 1-5", "0 10 30 2 *"},
		"EDOBOT_EXPIRE_AFTER":          {"1 day"},
		"EDOBOT_ESF":                   {"maybe"},
		"EDOBOT_SECRET_KEY":            {"too-short-a-secret"},
		"EDOBOT_ESF_URL":               {"esf.gov.kz"},
		"EDOBOT_ESF_POLL":              {"1m", "48h"},
		"EDOBOT_ESF_TICKET_TTL":        {"30s", "25h"},
		"EDOBOT_ESF_DAILY_CALLS":       {"-1", "lots"},
		"EDOBOT_ESF_CALL_TIMEOUT":      {"60"},
		"EDOBOT_ESF_PAGE_SIZE":         {"0", "5000"},
	}
	table := new(config).variables()
	seen, secret := map[string]bool{}, map[string]bool{}
	for _, v := range table {
		secret[v.Name] = v.Secret
		if seen[v.Name] {
			t.Errorf("%s is in the table twice", v.Name)
		}
		seen[v.Name] = true
		if _, ok := bad[v.Name]; !ok && v.Allowed != "any text" {
			t.Errorf("%s (%s) has no bad value tested", v.Name, v.Allowed)
		}
	}
	for name, values := range bad {
		if !seen[name] {
			t.Errorf("%s is not in the table", name)
		}
		for _, val := range values {
			env := envOf(name, val)
			if name == "TELEGRAM_WEBHOOK_SECRET" {
				env = envOf(name, val, "TELEGRAM_WEBHOOK_URL", "https://bot.example.kz/telegram/webhook")
			}
			_, err := loadConfig(env)
			if err == nil {
				t.Errorf("%s=%q accepted", name, val)
				continue
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, name+": ") || !strings.Contains(msg, " is not ") || strings.Contains(msg, "\n") {
				t.Errorf("%s=%q: %q", name, val, msg)
			}
			if secret[name] && (strings.Contains(msg, val) || strings.Contains(msg, "secret")) {
				t.Errorf("a secret repeated: %q", msg)
			}
		}
	}
}

// TestConfigTakesDatabaseURLsAndPEMFiles: the forms DATABASE_URL and
// EDOBOT_TRUSTED_CA document are taken.
func TestConfigTakesDatabaseURLsAndPEMFiles(t *testing.T) {
	pems := "../../core/nca/testdata/leaf_gost_2018.pem, ../../core/nca/testdata/leaf_rsa_2018.pem"
	for _, url := range []string{"postgres://edobot@db.internal/edobot", "postgresql://u:p@127.0.0.1:5433/edobot?sslmode=require&pool_max_conns=4"} {
		c, err := loadConfig(envOf("DATABASE_URL", url, "EDOBOT_TRUSTED_CA", pems))
		if err != nil || c.DatabaseURL != url || c.TrustedCA != pems {
			t.Errorf("%s: %+v %v", url, c.DatabaseURL, err)
		}
	}
}

// TestConfigNamesEveryBadValue: all bad values are named at once, and a
// webhook without its secret is refused.
func TestConfigNamesEveryBadValue(t *testing.T) {
	_, err := loadConfig(envOf("EDOBOT_NCA", "staging", "EDOBOT_OUTBOX_POLL", "soon", "TELEGRAM_WEBHOOK_URL", "https://bot.example.kz/hook"))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`EDOBOT_NCA: "staging" is not production, test or off`,
		`EDOBOT_OUTBOX_POLL: "soon" is not a duration above 0`,
		"TELEGRAM_WEBHOOK_SECRET: must be set when TELEGRAM_WEBHOOK_URL is",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}

// TestBadConfigStopsCommands: a command that works with the configuration
// refuses to start on a bad value; help, version and env still answer.
func TestBadConfigStopsCommands(t *testing.T) {
	t.Setenv("EDOBOT_EGOV_PDF_MIME", "application/x-pdf")
	t.Setenv("EDOBOT_WHATSAPP", "yes please")
	for _, cmd := range [][]string{{"serve"}, {"migrate"}, {"trust", "show"}, {"apikey", "list", "--org", "990140000007"}} {
		_, errOut, code := runCmd(t, cmd...)
		if code != 1 || !strings.Contains(errOut, "EDOBOT_EGOV_PDF_MIME: ") || !strings.Contains(errOut, "EDOBOT_WHATSAPP: ") {
			t.Errorf("%v: %d %q", cmd, code, errOut)
		}
	}
	if out, _, code := runCmd(t, "version"); code != 0 || !strings.HasPrefix(out, "edobot ") {
		t.Errorf("version: %d %q", code, out)
	}
	if out, _, code := runCmd(t, "env"); code != 0 || !strings.Contains(out, "| `EDOBOT_EGOV_PDF_MIME` | `application/pdf` |") {
		t.Errorf("env: %d %q", code, out)
	}
}

// README's configuration section is `edobot env`'s output, so the two
// cannot drift apart. `go test ./cmd/edobot -run TestREADMEConfiguration
// -update` rewrites it.
func TestREADMEConfiguration(t *testing.T) {
	const begin, end = "<!-- edobot env: begin -->\n", "<!-- edobot env: end -->\n"
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no section between %q and %q", begin, end)
	}
	want := "\n" + markdown(new(config).variables()) + "\n"
	if got := text[i+len(begin) : j]; got != want {
		if *update {
			text = text[:i+len(begin)] + want + text[j:]
			if err := os.WriteFile("../../README.md", []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md's configuration differs from `edobot env`; run go test ./cmd/edobot -run TestREADMEConfiguration -update\n--- README\n%s\n--- edobot env\n%s", got, want)
	}
}

// TestConfigESFNeedsTheSecretKey: ИС ЭСФ does not start without the key
// that seals the cabinet passwords, and the refusal names it; with the key
// it starts, and off it needs none.
func TestConfigESFNeedsTheSecretKey(t *testing.T) {
	_, err := loadConfig(envOf("EDOBOT_ESF", "on"))
	if err == nil || !strings.Contains(err.Error(), "EDOBOT_SECRET_KEY") || !strings.Contains(err.Error(), "EDOBOT_ESF") {
		t.Fatalf("ESF on without a key: %v", err)
	}
	env := func(k string) string {
		return map[string]string{"EDOBOT_ESF": "on", "EDOBOT_SECRET_KEY": strings.Repeat("k", 32)}[k]
	}
	c, err := loadConfig(env)
	if err != nil || !c.ESF || c.ESFPoll != 15*time.Minute || c.ESFTicketTTL != 24*time.Hour || c.ESFDailyCalls != 3000 {
		t.Fatalf("ESF on with a key: %+v %v", c, err)
	}
	if _, err := loadConfig(envOf("EDOBOT_ESF", "off")); err != nil {
		t.Fatalf("ESF off: %v", err)
	}
}
