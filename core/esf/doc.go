// Package esf is a client of ИС ЭСФ, Kazakhstan's state e-invoicing
// system: the signed-ticket sign-in (AuthService, SessionService), incoming
// invoices and their status changes (InvoiceService), and a check that the
// service answers (VersionService). It speaks SOAP 1.1 document/literal over
// an injected *http.Client; encoding/xml is enough for these few operations,
// and no WSDL-to-Go generator is kept up well enough to be worth its output.
//
// No WSDL of the ticket services is public. The envelopes follow:
//   - the 2020 WSDLs of SessionService and InvoiceService
//     (OnSwitchOff/ESF_kz, "ESF_kz/Connected Services/{SessionService,
//     InvoiceService}/*.wsdl"): target namespace "esf", unqualified
//     children, operations and types, fault details;
//   - the ticket flow as public clients speak it: abdesignkz-netizen/
//     creolab-crm apps/api/src/integrations/esf/{EsfTicketAuth,EsfSoap}.ts
//     (createAuthTicketRequest, createSessionSignedRequest, UsernameToken),
//     odoo-dev/odoo addons/l10n_kz_edi/models/res_company.py (the UsernameToken
//     with the cabinet password, the five-minute rule, the table of fault
//     codes, VersionService);
//   - the official invoice sample and schemas (creolab-crm
//     apps/api/src/integrations/esf/schemas/, "One InvoiceV2.xml").

package esf
