package esf

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"edobot/core/refusal"
)

// Code names why a call failed: ИС ЭСФ's own fault codes (its faultstring
// is often the bare code) and a few of ours for what it does not say.
type Code string

// ИС ЭСФ's codes. Sources: clients of the service (SESSION_CLOSED, OCSP_NOT_AVAILABLE,
// METHOD_NOT_SUPPORT_GOST_2015, PASSWORD_INVALID, "User already has opened
// session"); odoo-dev/odoo l10n_kz_edi res_company.py
// _l10n_kz_edi_get_error_code_messages (certificate, user and SYSTEM_DOWN
// codes); creolab-crm EsfTicketAuth.ts ticketFault (the ticket codes); the
// 2020 WSDLs' fault elements (accessDeniedException, sessionClosedException).
const (
	CodeSessionClosed          Code = "SESSION_CLOSED"
	CodeUserHasSession         Code = "USER_ALREADY_HAS_SESSION"
	CodePasswordInvalid        Code = "PASSWORD_INVALID"
	CodeSystemDown             Code = "SYSTEM_DOWN"
	CodeOCSPNotAvailable       Code = "OCSP_NOT_AVAILABLE"
	CodeGOST2015NotSupported   Code = "METHOD_NOT_SUPPORT_GOST_2015"
	CodeAccessDenied           Code = "ACCESS_DENIED"
	CodeCertificateExpired     Code = "CERTIFICATE_EXPIRED"
	CodeCertificateNotYetValid Code = "CERTIFICATE_NOT_YET_VALID"
	CodeCertificateRevoked     Code = "CERTIFICATE_REVOKED"
	CodeCertificateNotValid    Code = "CERTIFICATE_NOT_VALID"
	CodeCertificateNotForAuth  Code = "CERTIFICATE_IS_NOT_FOR_AUTH"
	CodeIINNotValid            Code = "IIN_NOT_VALID"
	CodeUserBlocked            Code = "USER_BLOCKED"
	CodeUserNotRegistered      Code = "USER_NOT_REGISTERED"
	CodeNoEnterprise           Code = "ENTERPRISE_NOT_FOUND_FOR_USER"
	CodePermissionsExpired     Code = "PERMISSIONS_EXPIRED"
	CodeTicketExpired          Code = "AUTH_TICKET_EXPIRED"
	CodeTicketNotFound         Code = "AUTH_TICKET_NOT_FOUND"
	CodeTicketInvalid          Code = "INVALID_AUTH_TICKET"
	CodeSignatureInvalid       Code = "INVALID_SIGNATURE"
)

// Our codes. CodeSessionTooSoon is the five-minute rule, which clients
// report but whose wire form no public source shows: a fault naming it is
// read as such, and the fake server answers it.
const (
	CodeSessionTooSoon Code = "SESSION_TOO_SOON"
	CodeUnavailable    Code = "UNAVAILABLE"      // no SOAP answer: network, HTTP error page, timeout
	CodeMalformed      Code = "MALFORMED_ANSWER" // an answer this client cannot read
	CodeUnknown        Code = "UNKNOWN_FAULT"    // a fault in free text
)

// Error is a failed call. Its ИС ЭСФ texts are for logs; users read
// Message(Code, lang).
type Error struct {
	Code        Code
	Op          string
	HTTPStatus  int    // 0 when no answer came
	FaultString string // as ИС ЭСФ sent it
	Detail      string // the fault detail's element: businessException, sessionClosedException…
	Description string
	cause       error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("esf: %s: %s", e.Op, e.Code)
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	if e.FaultString != "" && e.FaultString != string(e.Code) {
		s += fmt.Sprintf(": %q", e.FaultString)
	}
	if e.Description != "" {
		s += fmt.Sprintf(": %q", e.Description)
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.cause }

// Is matches an *Error of the same code, so that errors.Is(err,
// esf.ErrSessionClosed) holds whatever the operation.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && e != nil && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrSessionClosed   = &Error{Code: CodeSessionClosed}
	ErrUserHasSession  = &Error{Code: CodeUserHasSession}
	ErrPasswordInvalid = &Error{Code: CodePasswordInvalid}
	ErrSystemDown      = &Error{Code: CodeSystemDown}
	ErrSessionTooSoon  = &Error{Code: CodeSessionTooSoon}
	ErrUnavailable     = &Error{Code: CodeUnavailable}
	ErrMalformed       = &Error{Code: CodeMalformed}
	ErrTicketExpired   = &Error{Code: CodeTicketExpired}
	ErrTicketNotFound  = &Error{Code: CodeTicketNotFound}
	ErrUnknown         = &Error{Code: CodeUnknown}
)

// Refusals of a signed ticket before it is sent: what the person signed is
// not a ticket, or not theirs, or not with the authentication key.
var (
	ErrTicketMalformed   = refusal.New("esf", "ticket_malformed")
	ErrTicketWrongSigner = refusal.New("esf", "ticket_wrong_signer")
	ErrTicketNotAuthKey  = refusal.New("esf", "ticket_not_auth_key")
)

var bareCode = regexp.MustCompile(`^[A-Z][A-Z0-9_]{2,}$`)

// classify reads a fault's code: a bare code in faultstring or the detail's
// description, else a known text, else the detail's kind.
func classify(faultString, detail, description string) Code {
	for _, s := range []string{faultString, description} {
		if s = strings.TrimSpace(s); bareCode.MatchString(s) {
			return Code(s)
		}
	}
	text := strings.ToLower(faultString + " " + description)
	switch {
	case strings.Contains(text, "already has opened session"):
		return CodeUserHasSession
	case detail == "sessionClosedException":
		return CodeSessionClosed
	case detail == "accessDeniedException":
		return CodeAccessDenied
	}
	return CodeUnknown
}

// Lang is a language of the message table.
type Lang string

const (
	LangRU Lang = "ru"
	LangKK Lang = "kk"
	LangEN Lang = "en"
)

// Message is the text for a user: for an *Error's code, or a ticket
// refusal's (ErrTicketMalformed…). Unknown codes get the general text;
// unknown languages, Russian.
func Message(err error, lang Lang) string {
	key := string(CodeUnknown)
	var e *Error
	var r *refusal.Error
	switch {
	case errors.As(err, &e):
		key = string(e.Code)
	case errors.As(err, &r):
		key = r.Code()
	}
	m, ok := messages[key]
	if !ok {
		m = messages[string(CodeUnknown)]
	}
	switch lang {
	case LangKK:
		return m.kk
	case LangEN:
		return m.en
	}
	return m.ru
}

type texts struct{ ru, kk, en string }

// messages is the one table of what users read about ИС ЭСФ's refusals.
var messages = map[string]texts{
	string(CodeSessionClosed): {"Сессия ИС ЭСФ закрыта или истекла; откроем новую.",
		"ЭШФ АЖ сессиясы жабылды немесе мерзімі өтті; жаңасын ашамыз.",
		"The ИС ЭСФ session is closed or expired; a new one will be opened."},
	string(CodeUserHasSession): {"У пользователя уже открыта сессия в ИС ЭСФ; её нужно закрыть.",
		"Пайдаланушының ЭШФ АЖ-да ашық сессиясы бар; оны жабу керек.",
		"The user already has an open ИС ЭСФ session; it must be closed first."},
	string(CodePasswordInvalid): {"Неверный пароль от кабинета ИС ЭСФ.",
		"ЭШФ АЖ кабинетінің құпиясөзі қате.",
		"The ИС ЭСФ cabinet password is wrong."},
	string(CodeSystemDown): {"ИС ЭСФ сообщает о внутренней ошибке. Попробуем позже.",
		"ЭШФ АЖ ішкі қате туралы хабарлайды. Кейінірек қайталаймыз.",
		"ИС ЭСФ reports an internal error. We will try again later."},
	string(CodeOCSPNotAvailable): {"ИС ЭСФ не смогла проверить сертификат в НУЦ. Это сбой на их стороне; попробуем позже.",
		"ЭШФ АЖ сертификатты ҰКО-да тексере алмады. Бұл олар жағындағы ақау; кейінірек қайталаймыз.",
		"ИС ЭСФ could not check the certificate with NCA. This is an outage on their side; we will try again later."},
	string(CodeGOST2015NotSupported): {"ИС ЭСФ не принимает этот метод с ключом ГОСТ 2015.",
		"ЭШФ АЖ бұл әдісті ГОСТ 2015 кілтімен қабылдамайды.",
		"ИС ЭСФ does not accept this method with a GOST 2015 key."},
	string(CodeAccessDenied): {"ИС ЭСФ отказала в доступе к этой операции.",
		"ЭШФ АЖ бұл әрекетке рұқсат бермеді.",
		"ИС ЭСФ denied access to this operation."},
	string(CodeCertificateExpired): {"Срок действия сертификата истёк.",
		"Сертификаттың мерзімі өтті.",
		"The certificate has expired."},
	string(CodeCertificateNotYetValid): {"Сертификат ещё не действует.",
		"Сертификат әлі күшіне енген жоқ.",
		"The certificate is not valid yet."},
	string(CodeCertificateRevoked): {"Сертификат отозван.",
		"Сертификат кері қайтарылған.",
		"The certificate has been revoked."},
	string(CodeCertificateNotValid): {"ИС ЭСФ не приняла сертификат.",
		"ЭШФ АЖ сертификатты қабылдамады.",
		"ИС ЭСФ did not accept the certificate."},
	string(CodeCertificateNotForAuth): {"Этот ключ не для входа: подпишите ключом AUTH.",
		"Бұл кілт кіруге арналмаған: AUTH кілтімен қол қойыңыз.",
		"This key is not for signing in: sign with the AUTH key."},
	string(CodeIINNotValid): {"ИИН в сертификате не совпадает с ИИН пользователя ИС ЭСФ.",
		"Сертификаттағы ЖСН ЭШФ АЖ пайдаланушысының ЖСН-імен сәйкес келмейді.",
		"The certificate's IIN does not match the ИС ЭСФ user's."},
	string(CodeUserBlocked): {"Пользователь заблокирован в ИС ЭСФ.",
		"Пайдаланушы ЭШФ АЖ-да бұғатталған.",
		"The user is blocked in ИС ЭСФ."},
	string(CodeUserNotRegistered): {"Пользователь не зарегистрирован в ИС ЭСФ.",
		"Пайдаланушы ЭШФ АЖ-да тіркелмеген.",
		"The user is not registered in ИС ЭСФ."},
	string(CodeNoEnterprise): {"У пользователя нет профиля этой организации в ИС ЭСФ.",
		"Пайдаланушының ЭШФ АЖ-да бұл ұйымның профилі жоқ.",
		"The user has no profile of this organisation in ИС ЭСФ."},
	string(CodePermissionsExpired): {"Полномочия пользователя в ИС ЭСФ истекли.",
		"Пайдаланушының ЭШФ АЖ-дағы өкілеттіктерінің мерзімі өтті.",
		"The user's permissions in ИС ЭСФ have expired."},
	string(CodeTicketExpired): {"Подписанный тикет ИС ЭСФ истёк: подпишите новый.",
		"ЭШФ АЖ-ның қол қойылған тикетінің мерзімі өтті: жаңасына қол қойыңыз.",
		"The signed ИС ЭСФ ticket has expired: sign a new one."},
	string(CodeTicketNotFound): {"ИС ЭСФ не знает этот тикет: подпишите новый.",
		"ЭШФ АЖ бұл тикетті білмейді: жаңасына қол қойыңыз.",
		"ИС ЭСФ does not know this ticket: sign a new one."},
	string(CodeTicketInvalid): {"ИС ЭСФ не приняла подписанный тикет: подпишите новый.",
		"ЭШФ АЖ қол қойылған тикетті қабылдамады: жаңасына қол қойыңыз.",
		"ИС ЭСФ did not accept the signed ticket: sign a new one."},
	string(CodeSignatureInvalid): {"Подпись тикета неверна.",
		"Тикеттің қолтаңбасы жарамсыз.",
		"The ticket's signature is not valid."},
	string(CodeSessionTooSoon): {"ИС ЭСФ открывает не больше одной сессии в пять минут. Попробуем чуть позже.",
		"ЭШФ АЖ бес минутта бір сессиядан артық ашпайды. Сәлден кейін қайталаймыз.",
		"ИС ЭСФ opens at most one session every five minutes. We will try again shortly."},
	string(CodeUnavailable): {"ИС ЭСФ не отвечает. Попробуем позже.",
		"ЭШФ АЖ жауап бермейді. Кейінірек қайталаймыз.",
		"ИС ЭСФ does not answer. We will try again later."},
	string(CodeMalformed): {"ИС ЭСФ ответила непонятно. Попробуем позже.",
		"ЭШФ АЖ түсініксіз жауап берді. Кейінірек қайталаймыз.",
		"ИС ЭСФ gave an answer we cannot read. We will try again later."},
	string(CodeUnknown): {"ИС ЭСФ отказала в операции.",
		"ЭШФ АЖ әрекеттен бас тартты.",
		"ИС ЭСФ refused the operation."},
	"ticket_malformed": {"Подписан не тикет ИС ЭСФ.",
		"ЭШФ АЖ тикеті емес құжатқа қол қойылды.",
		"What was signed is not an ИС ЭСФ ticket."},
	"ticket_wrong_signer": {"Тикет подписан ключом другого человека.",
		"Тикетке басқа адамның кілтімен қол қойылған.",
		"The ticket was signed with another person's key."},
	"ticket_not_auth_key": {"Тикет подписан ключом для подписи; нужен ключ AUTH (для входа).",
		"Тикетке қол қою кілтімен қол қойылған; AUTH (кіру) кілті керек.",
		"The ticket was signed with a signing key; the AUTH (sign-in) key is needed."},
}

// CodeOf is the code of a failed call, "" for nil or another error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Codes lists every code the message table knows.
func Codes() []Code {
	return []Code{CodeSessionClosed, CodeUserHasSession, CodePasswordInvalid, CodeSystemDown, CodeOCSPNotAvailable,
		CodeGOST2015NotSupported, CodeAccessDenied, CodeCertificateExpired, CodeCertificateNotYetValid,
		CodeCertificateRevoked, CodeCertificateNotValid, CodeCertificateNotForAuth, CodeIINNotValid, CodeUserBlocked,
		CodeUserNotRegistered, CodeNoEnterprise, CodePermissionsExpired, CodeTicketExpired, CodeTicketNotFound,
		CodeTicketInvalid, CodeSignatureInvalid, CodeSessionTooSoon, CodeUnavailable, CodeMalformed, CodeUnknown}
}
