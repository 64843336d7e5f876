// Package egov is the eGov Mobile / eGov Business QR and cross-signing
// protocol as NITEC specifies it: the URLs a QR and a deep link carry, and
// the JSON of API №1 and API №2. The web endpoints that serve it and the chat
// screens that offer it both build on this one table, so a correction to the
// protocol is one edit here.
//
// Source: NITEC, «Документация по QR/Кросс подписанию в приложении eGov
// Mobile» (newer edition, public copy: repository adamshels1/coube-documentation,
// business_analysis/converted/QR sign/Документация_к_QR_и_Кросс_подписанию_в_МГОВ_v5.md);
// summarised with the other sources in docs/nca-and-egov-reference.md.
package egov

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The protocol's constants, each as the official text gives it.
const (
	// QRPrefix comes before API №1 in a QR code, with no space («QR
	// подписание»: "mobileSign:https://some.domen.kz").
	QRPrefix = "mobileSign:"
	// MgovSign must appear in API №1's URL: «Наличие mgovSign в ссылке
	// является обязательным!».
	MgovSign = "mgovSign"
	// AuthToken is API №1's auth_type under which the app calls API №2 with
	// "Authorization: Bearer <auth_token>" (GET, then PUT).
	AuthToken = "Token"
	// Version is API №2's version: «По умолчанию указывать значение 1».
	Version = 1
	// SignCMSOnly asks for a detached CMS with an NCA timestamp inside.
	SignCMSOnly = "CMS_SIGN_ONLY"
	// SignXML signs an XML document in place (enveloped XMLDSig, UTF-8):
	// API №2 gives it as documentXml and the app PUTs it back signed
	// («Подпись осуществляется непосредственно в XML-документе»).
	SignXML = "XML"
	// MimePDF is shown to the person as a PDF they can open and save.
	MimePDF = "application/pdf"
	// MimePDFLegacy is the older PDF hint SIGEX and other clients still send;
	// selectable for apps that need it.
	MimePDFLegacy = "@file/pdf"
	// MimeText is shown to the person as text: what a sign-in challenge is.
	MimeText = "text/plain"
	// ExpiryLayout is API №1's expiry_date: ISO 8601
	// "yyyy-MM-dd'T'HH:mm:ss.SSSz", as the text's example writes it
	// ("2026-08-14T15:52:24.138+0500").
	ExpiryLayout = "2006-01-02T15:04:05.000-0700"
	// Success is the message of a PUT whose signatures passed validation
	// (HTTP 200 and "success"); a signature that fails is HTTP 403.
	Success = "success"
)

// Links are the deep-link templates of the two apps; %s is API №1's URL,
// URL-encoded («Кросс подписание»).
type Links struct {
	Mobile   string
	Business string
}

// DefaultLinks are the official cross-signing links. The eGov Mobile one is
// the official text's «Формат Динамической Ссылки»; the eGov Business one
// follows the same pattern as its app is published (one public source). The
// *.page.link links of old died with Firebase Dynamic Links on 2025-08-25.
var DefaultLinks = Links{
	Mobile:   "https://m.egov.kz/mobileSign/?link=%s",
	Business: "https://m.egov.kz/businessSign/?link=%s",
}

// Launch is every way to open one signing session in the apps.
type Launch struct {
	API1      string // API №1: the URL the app reads first
	QRPayload string // what the QR holds
	Mobile    string // eGov Mobile on this phone
	Business  string // eGov Business on this phone
}

// NewLaunch builds the QR payload and deep links of API №1. Zero links are
// DefaultLinks.
func NewLaunch(links Links, api1 string) Launch {
	if links.Mobile == "" {
		links.Mobile = DefaultLinks.Mobile
	}
	if links.Business == "" {
		links.Business = DefaultLinks.Business
	}
	q := url.QueryEscape(api1)
	return Launch{API1: api1, QRPayload: QRPrefix + api1,
		Mobile: fmt.Sprintf(links.Mobile, q), Business: fmt.Sprintf(links.Business, q)}
}

// Where the protocol's endpoints live under the public URL. The session id
// is the path's secret; mgovSign ends API №1 as the text requires.
const (
	DocumentPath = "/egov/"      // + session + "/mgovSign", "/documents"
	SignInPath   = "/egov-auth/" // the same for a chat's sign-in challenge
	TicketPath   = "/egov-esf/"  // the same for an ИС ЭСФ ticket, signed as XML
)

// Where the ИС ЭСФ pages the chats link to live under the public URL: the
// page id follows, the path's secret. The cabinet's password is typed on
// the first; the second signs a ticket with NCALayer, beside TicketPath's
// signing in the eGov apps.
const (
	ESFPasswordPath = "/esf/password/"
	ESFTicketPath   = "/esf/ticket/"
)

// TicketAPI1 is API №1 of an ИС ЭСФ ticket's signing.
func TicketAPI1(publicURL, id string) string {
	return strings.TrimRight(publicURL, "/") + TicketPath + id + "/" + MgovSign
}

// DocumentAPI1 is API №1 of a document's signing session.
func DocumentAPI1(publicURL, session string) string {
	return strings.TrimRight(publicURL, "/") + DocumentPath + session + "/" + MgovSign
}

// SignInAPI1 is API №1 of a sign-in challenge.
func SignInAPI1(publicURL, challenge string) string {
	return strings.TrimRight(publicURL, "/") + SignInPath + challenge + "/" + MgovSign
}

// API2 is API №2 beside an API №1 built by DocumentAPI1 or SignInAPI1.
func API2(api1 string) string {
	return strings.TrimSuffix(api1, "/"+MgovSign) + "/documents"
}

// Organisation is API №1's organisation.
type Organisation struct {
	NameRu string `json:"nameRu"`
	NameKz string `json:"nameKz"`
	NameEn string `json:"nameEn"`
	BIN    string `json:"bin"`
}

// Description is API №1's answer.
type Description struct {
	Description  string       `json:"description"`
	ExpiryDate   string       `json:"expiry_date"`
	Organisation Organisation `json:"organisation"`
	Document     struct {
		URI       string `json:"uri"`
		AuthType  string `json:"auth_type"`
		AuthToken string `json:"auth_token,omitempty"`
	} `json:"document"`
}

// NewDescription fills API №1's answer for a session that API №2 serves
// with a bearer token.
func NewDescription(description string, expires time.Time, org Organisation, api2, token string, zone *time.Location) Description {
	d := Description{Description: description, ExpiryDate: expires.In(zone).Format(ExpiryLayout), Organisation: org}
	d.Document.URI, d.Document.AuthType, d.Document.AuthToken = api2, AuthToken, token
	return d
}

// Meta is one line of a document's details the app shows.
type Meta struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Documents is API №2's answer and, with each data replaced by the signed
// value, the app's PUT.
type Documents struct {
	SignMethod      string     `json:"signMethod"`
	Version         int        `json:"version"`
	DocumentsToSign []Document `json:"documentsToSign"`
}

// Document is one thing to sign.
type Document struct {
	ID       int    `json:"id"`
	NameRu   string `json:"nameRu"`
	NameKz   string `json:"nameKz"`
	NameEn   string `json:"nameEn"`
	Meta     []Meta `json:"meta"`
	Document struct {
		File struct {
			Mime string `json:"mime"`
			Data string `json:"data"`
		} `json:"file"`
	} `json:"document"`
}

// XMLDocuments is API №2's answer for signMethod XML and, with each
// documentXml replaced by the signed XML, the app's PUT.
type XMLDocuments struct {
	SignMethod      string        `json:"signMethod"`
	Version         int           `json:"version"`
	DocumentsToSign []XMLDocument `json:"documentsToSign"`
}

// XMLDocument is one XML document to sign: documentXml takes the place of
// document.file («только для метода XML»).
type XMLDocument struct {
	ID          int    `json:"id"`
	NameRu      string `json:"nameRu"`
	NameKz      string `json:"nameKz"`
	NameEn      string `json:"nameEn"`
	Meta        []Meta `json:"meta"`
	DocumentXML string `json:"documentXml"`
}

// OneXML is API №2's answer with one XML document to sign.
func OneXML(names Names, meta []Meta, xml string) XMLDocuments {
	if meta == nil {
		meta = []Meta{}
	}
	return XMLDocuments{SignMethod: SignXML, Version: Version, DocumentsToSign: []XMLDocument{{ID: 1,
		NameRu: names[0], NameKz: names[1], NameEn: names[2], Meta: meta, DocumentXML: xml}}}
}

// Names are a document's name in the app's three languages: ru, kk, en.
type Names [3]string

// One is API №2's answer with one thing to sign as a detached CMS; data is
// base64 already.
func One(names Names, meta []Meta, mime, data string) Documents {
	out := Documents{SignMethod: SignCMSOnly, Version: Version, DocumentsToSign: make([]Document, 1)}
	doc := &out.DocumentsToSign[0]
	doc.ID = 1
	doc.NameRu, doc.NameKz, doc.NameEn = names[0], names[1], names[2]
	doc.Meta = meta
	if doc.Meta == nil {
		doc.Meta = []Meta{}
	}
	doc.Document.File.Mime, doc.Document.File.Data = mime, data
	return out
}

// Error is how the app wants an error, to show it as is: a top-level
// message in the request's Accept-Language. Code is ours, for logs and
// scripts; the app ignores it.
type Error struct {
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
}

// Done answers the final PUT: "success", and where the app's «Назад» takes
// the person — the chat or the page they started from.
type Done struct {
	Message string `json:"message"`
	BackURL string `json:"backUrl,omitempty"`
}
