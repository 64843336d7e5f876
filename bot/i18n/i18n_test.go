package i18n

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"edobot/core"
	"edobot/core/iinbin"
	"edobot/core/pdfintake"
	"edobot/core/signature"
)

// every message key the product uses, derived from core's own lists.
func keys() []string {
	var ks []string
	for _, s := range core.Statuses {
		ks = append(ks, "status."+string(s))
	}
	for _, f := range core.Folders {
		ks = append(ks, "folder."+string(f))
	}
	for _, t := range core.DocTypes {
		ks = append(ks, "type."+string(t))
	}
	for _, a := range core.Actions {
		ks = append(ks, "action."+string(a))
	}
	// What the link page says of a signing through SIGEX that is not an error.
	for _, s := range []core.BrokerState{core.BrokerWaiting, core.BrokerTaken, core.BrokerSigned} {
		ks = append(ks, "egov.via."+string(s))
	}
	// The ИС ЭСФ notices (bot/flow/esf.go).
	ks = append(ks, "esf.invoice", "esf.status", "esf.paused_ticket", "esf.paused_password", "esf.expiring",
		"esf.confirm", "esf.sign_ticket", "esf.enter_password", "esf.unavailable", "esf.restored")
	for _, s := range []string{"CREATED", "DELIVERED", "CANCELED", "REVOKED", "DECLINED", "IMPORTED", "DELETED", "FAILED",
		"WAITING_CUSTOMER_CONFIRMATION"} {
		ks = append(ks, "esf.status."+s)
	}
	// The ИС ЭСФ screens and pages (bot/flow/esf_screens.go, bot/web/esf.go).
	ks = append(ks, "esf.menu", "esf.off", "esf.words", "esf.screen", "esf.password_kept", "esf.password_none", "esf.tickets_none", "esf.tickets_some", "esf.replace_password", "esf.delete_password", "esf.sessions", "esf.password_page", "esf.open_page", "esf.confirm_delete_password", "esf.yes_delete", "esf.password_deleted", "esf.sign_how", "esf.sign_qr_caption", "esf.sessions_none", "esf.sessions_list", "esf.session_line", "esf.end", "esf.ended", "esf.confirmed", "esf.connected", "esf.ticket_refused", "esf.password_saved", "esf.key.rsa", "esf.key.gost2004", "esf.key.gost2015", "egov.esf_description", "egov.esf_name", "egov.esf_purpose", "egov.meta_iin", "esfweb.password.title", "esfweb.password.intro", "esfweb.password.iin", "esfweb.password.until", "esfweb.password.label", "esfweb.password.save", "esfweb.password.note", "esfweb.password.saved", "esfweb.ticket.title", "esfweb.ticket.intro", "esfweb.ticket.iin", "esfweb.ticket.until", "esfweb.ticket.check", "esfweb.ticket.done", "esfweb.ticket.not_running", "esfweb.ticket.cancelled", "esfweb.ticket.network")
	return ks
}

// refusals lists one error of every code users can meet.
func refusals() []error {
	errs := []error{
		iinbin.ErrLength, iinbin.ErrNotDigit, iinbin.ErrChecksum, iinbin.ErrLayout,
		pdfintake.ErrEmpty, pdfintake.ErrTooLarge, pdfintake.ErrNotPDF, pdfintake.ErrEncrypted, pdfintake.ErrBroken,
		signature.ErrTooLarge, signature.ErrMalformed, signature.ErrNoSigners, signature.ErrSignerCount,
		signature.ErrContentMismatch, signature.ErrBadSignature, signature.ErrUnsupported, signature.ErrNoCertificate,
		signature.ErrUntrusted, signature.ErrExpired, signature.ErrNotYetValid, signature.ErrWrongKeyPurpose,
		signature.ErrRevoked, signature.ErrRevocationUnknown, signature.ErrNoIdentity, signature.ErrStale, signature.ErrBadTimestamp,
		signature.ErrNoTrust,
	}
	for _, c := range []core.Code{core.CodeNotFound, core.CodeStatusForbids, core.CodeSenderOnly, core.CodeAlreadySigned,
		core.CodeIDNumberMismatch, core.CodeRevoked, core.CodeDeleted, core.CodeSubscription, core.CodeOrgUnknown,
		core.CodeRecipientIsSender, core.CodeStale, core.CodeBaseInUse, core.CodeInvalidType, core.CodeInvalidNumber,
		core.CodeInvalidDate, core.CodeInvalidName, core.CodeInvalidPartyKind, core.CodeInvalidPhone,
		core.CodeBaseNotAccounting, core.CodeAPIKeyInvalid, core.CodeAuditTampered, core.CodeSignatureIncomplete, core.CodeInvalidLanguage, core.CodeEgovSession, core.CodeEgovToken, core.CodeInvalidURL, core.CodeNoSignatures,
		core.CodeTextInvalid, core.CodeTextTooLong, core.CodeIdempotencyReused, core.CodeVersionRequired, core.CodeAPIKeyNotFound,
		core.CodeUnavailable, core.CodeEgovCanceled, core.CodeEgovExpired, core.CodeEgovBroker, core.CodeEgovBusy} {
		errs = append(errs, &core.Refusal{Code: c, Action: core.ActionSign, Status: core.StatusSigning})
	}
	for _, c := range core.ESFCodes {
		errs = append(errs, &core.Refusal{Code: c, Limit: 256})
	}
	return errs
}

func TestEveryMessageInEveryLanguage(t *testing.T) {
	c := MustNew()
	for _, lang := range Languages {
		for _, k := range keys() {
			if !c.Has(lang, k) {
				t.Errorf("%s: no message %q", lang, k)
			}
		}
		seen := map[string]string{}
		for _, err := range refusals() {
			code := ErrorCode(err)
			if !c.Has(lang, "error."+code) {
				t.Errorf("%s: no message for refusal %q", lang, code)
				continue
			}
			msg := c.Error(lang, err)
			if strings.Contains(msg, "{{") || strings.Contains(msg, "<no value>") {
				t.Errorf("%s: %q renders a raw template: %q", lang, code, msg)
			}
			if other, dup := seen[msg]; dup {
				t.Errorf("%s: %q and %q read the same: %q", lang, code, other, msg)
			}
			seen[msg] = code
		}
	}
}

// The locale files hold the same keys, so no language silently falls back.
func TestLocalesHaveTheSameKeys(t *testing.T) {
	load := func(lang string) map[string]string {
		b, err := locales.ReadFile("locales/" + lang + ".json")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	ru := load("ru")
	for _, lang := range Languages[1:] {
		other := load(lang)
		for k := range ru {
			if _, ok := other[k]; !ok {
				t.Errorf("%s lacks %q", lang, k)
			}
		}
		for k := range other {
			if _, ok := ru[k]; !ok {
				t.Errorf("%s has %q that ru lacks", lang, k)
			}
		}
	}
}

func TestErrorRendering(t *testing.T) {
	c := MustNew()
	err := fmt.Errorf("sign: %w", &core.Refusal{Code: core.CodeStatusForbids, Action: core.ActionRevoke, Status: core.StatusSigned})
	tests := map[string]string{
		"ru": "Действие «Отозвать» недоступно: документ в статусе «Подписан».",
		"kk": "«Кері қайтару» әрекеті қолжетімсіз: құжат «Қол қойылды» мәртебесінде.",
		"en": "«Revoke» is not available: the document is «Signed».",
	}
	for lang, want := range tests {
		if got := c.Error(lang, err); got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
	}
	if got := c.Error("ru", core.ErrIDNumberMismatch); got != "БИН/ИИН не соответствует созданному документу" {
		t.Errorf("mismatch message: %q", got)
	}
	internal := errors.New("pq: password authentication failed for user secret")
	if got := c.Error("ru", internal); strings.Contains(got, "secret") || got != c.Text("ru", "error.internal", nil) {
		t.Errorf("internal error shown to the user: %q", got)
	}
}

func TestLang(t *testing.T) {
	for in, want := range map[string]string{"kk": "kk", "ru-RU": "ru", "en-US": "en", "de": "ru", "": "ru", "kk-KZ": "kk"} {
		if got := Lang(in); got != want {
			t.Errorf("Lang(%q) = %q, want %q", in, got, want)
		}
	}
}

// A refusal of a text field names the field in the reader's language and,
// for a value too long, the limit; the API's date refusal names its format.
func TestFieldRefusalsNameTheField(t *testing.T) {
	c := MustNew()
	for _, lang := range Languages {
		for _, rule := range core.TextRules {
			if !c.Has(lang, "field."+rule.Field) {
				t.Errorf("%s: no name for the field %q", lang, rule.Field)
			}
			_, err := rule.Clean(strings.Repeat("x", rule.Max+1))
			msg := c.Error(lang, err)
			if !strings.Contains(msg, fmt.Sprint(rule.Max)) || strings.Contains(msg, "<no value>") {
				t.Errorf("%s: %s too long reads %q", lang, rule.Field, msg)
			}
			_, err = rule.Clean("a\x00")
			if msg := c.Error(lang, err); !strings.Contains(msg, c.Field(lang, rule.Field)) {
				t.Errorf("%s: %s with a NUL reads %q", lang, rule.Field, msg)
			}
		}
		api := c.Error(lang, &core.Refusal{Code: core.CodeInvalidDate, Field: "date", Format: "YYYY-MM-DD"})
		chat := c.Error(lang, &core.Refusal{Code: core.CodeInvalidDate})
		if !strings.Contains(api, "YYYY-MM-DD") || strings.Contains(chat, "YYYY-MM-DD") || api == chat {
			t.Errorf("%s: the API's date %q, the chat's %q", lang, api, chat)
		}
	}
}
