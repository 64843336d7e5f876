package esf

import "time"

// Endpoints: the soap:address of the 2020 WSDLs (test) and of the SDK's
// WSDLs as creolab-crm's schemas/SOURCE.txt and odoo-dev/odoo's
// l10n_kz_edi tests quote them (production). A service's URL is the base,
// a slash and the service's name.
const (
	ProductionBaseURL = "https://esf.gov.kz:8443/esf-web/ws/api1"
	TestBaseURL       = "https://test3.esf.kgd.gov.kz:8443/esf-web/ws/api1"
)

// Service is one SOAP endpoint of ИС ЭСФ.
type Service string

const (
	AuthService          Service = "AuthService"
	SessionService       Service = "SessionService"
	InvoiceService       Service = "InvoiceService"
	UploadInvoiceService Service = "UploadInvoiceService"
	VersionService       Service = "VersionService"
)

// XML namespaces. The services' target namespace is the literal "esf".
const (
	NamespaceESF  = "esf"
	NamespaceSOAP = "http://schemas.xmlsoap.org/soap/envelope/"
	NamespaceWSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	PasswordText  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
)

// Operations, as the request element is named without its "Request".
const (
	OpCreateAuthTicket          = "createAuthTicket"
	OpCreateSessionSigned       = "createSessionSigned"
	OpCloseSession              = "closeSession"
	OpCloseSessionByCredentials = "closeSessionByCredentials"
	OpCurrentSessionStatus      = "currentSessionStatus"
	OpCurrentUser               = "currentUser"
	OpQueryUpdates              = "queryUpdates"
	OpQueryInvoiceByID          = "queryInvoiceById"
	OpConfirmInvoiceByID        = "confirmInvoiceById"
)

// SessionStatus is SessionService's sessionStatus.
type SessionStatus string

const (
	SessionOK       SessionStatus = "OK"
	SessionClosed   SessionStatus = "CLOSED"
	SessionNotFound SessionStatus = "NOT_FOUND"
)

// Direction is InvoiceDirection: our organisation as the customer or the
// seller.
type Direction string

const (
	Inbound  Direction = "INBOUND"
	Outbound Direction = "OUTBOUND"
)

// InvoiceStatus is an open set: the 2020 WSDL's values and newer ones that
// clients report (the sources of the package comment).
type InvoiceStatus string

const (
	StatusCreated                           InvoiceStatus = "CREATED"
	StatusDelivered                         InvoiceStatus = "DELIVERED"
	StatusCanceled                          InvoiceStatus = "CANCELED"
	StatusCanceledByOGD                     InvoiceStatus = "CANCELED_BY_OGD"
	StatusCanceledBySNTDecline              InvoiceStatus = "CANCELED_BY_SNT_DECLINE"
	StatusCanceledBySNTRevoke               InvoiceStatus = "CANCELED_BY_SNT_REVOKE"
	StatusRevoked                           InvoiceStatus = "REVOKED"
	StatusImported                          InvoiceStatus = "IMPORTED"
	StatusDraft                             InvoiceStatus = "DRAFT"
	StatusFailed                            InvoiceStatus = "FAILED"
	StatusDeleted                           InvoiceStatus = "DELETED"
	StatusDeclined                          InvoiceStatus = "DECLINED"
	StatusInQueue                           InvoiceStatus = "IN_QUEUE"
	StatusInProcessing                      InvoiceStatus = "IN_PROCESSING"
	StatusWaitingCustomerConfirmation       InvoiceStatus = "WAITING_CUSTOMER_CONFIRMATION"
	StatusWaitingCustomerRevokeConfirmation InvoiceStatus = "WAITING_CUSTOMER_REVOKE_CONFIRMATION"
)

// SourceOther is the SourceType a program that is neither 1C nor SAP gives.
const SourceOther = "OTHER"

// Limits of the service as clients report them (the sources of the package
// comment).
const (
	// SessionGap: at most one new session per person every five minutes.
	SessionGap = 5 * time.Minute
	// MaxTicketTTL and DefaultTicketTTL bound createAuthTicket's ttlInMinutes.
	MaxTicketTTL     = 1440
	DefaultTicketTTL = 30
)
