package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	neturl "net/url"
	"time"

	"github.com/go-pdf/fpdf"

	"edobot/bot/telegram"
	"edobot/bot/web"
	"edobot/core"
	"edobot/core/card"
	"edobot/core/iinbin"
	"edobot/core/signature"
	"edobot/core/signature/demo"
)

// `edobot demo` is serve with a demo kit: one command that a newcomer runs
// to see the whole loop — link, signature, status, card — without an NCA
// key. It is a command of its own rather than a flag of serve so that a
// production unit file can never turn it on by accident: nothing in
// `serve` knows of it but the kit the configuration carries.

// demoKit is what `edobot demo` adds to serve: a CA that lives only in this
// process, a verifier that trusts it alone, and the link page's signer.
type demoKit struct {
	ca  *demo.CA
	iin string // the IIN on the demo keys of organisations' heads
}

// The demo organisations' numbers: checksum-valid BINs of no real
// organisation (registration month 00 of 1999 … none is issued).
var (
	demoSenderBIN    = demoNumber("991240", 1)
	demoRecipientBIN = demoNumber("991240", 500)
)

// demoNumber is the first valid number of the 11-digit bases base+00001…
// from the n-th on.
func demoNumber(base string, n int) string {
	for ; ; n++ {
		p := fmt.Sprintf("%s%05d", base, n)
		var d [11]int
		for i := range d {
			d[i] = int(p[i] - '0')
		}
		if c, ok := iinbin.CheckDigit(d); ok {
			return p + fmt.Sprint(c)
		}
	}
}

func newDemoKit() (*demoKit, error) {
	ca, err := demo.New()
	if err != nil {
		return nil, err
	}
	return &demoKit{ca: ca, iin: demoNumber("900101", 30001)}, nil
}

// verifier trusts the demo CA and nothing else: this process signs demo
// documents only, and no other process trusts the CA.
func (k *demoKit) verifier() core.SignatureVerifier {
	return &signature.Verifier{Roots: []*x509.Certificate{k.ca.Certificate()}, Freshness: signatureFreshness}
}

// sign is the link page's «Подписать демо-ключом»: side's demo key signs
// file, with the number that side signs with.
func (k *demoKit) sign(_ context.Context, d *core.Document, side core.Side, file []byte) ([]byte, error) {
	p := demo.Person{IIN: k.iin, Surname: "ДЕМО", Name: "Демо", Patronymic: "Демоевич"}
	number, name := d.SenderNumber, d.SenderName
	if side == core.SideRecipient {
		number, name = d.RecipientNumber, d.RecipientName
	}
	kind, _ := iinbin.Validate(number)
	switch {
	case side == core.SideSender, d.RecipientKind != core.PartyEmployee && kind == iinbin.KindBIN:
		p.BIN, p.Organisation = number, name
	default: // a person signs with their own IIN
		p.IIN = number
	}
	return k.ca.SignCMS(p, file)
}

// wire gives the web server the demo key's button; nothing without a kit.
func (k *demoKit) wire(srv *web.Server) {
	if k != nil {
		srv.DemoSigner = k.sign
	}
}

// runDemo registers the demo sender and counterparty, makes the sender an
// API key and a sample document, says what to do, and serves.
func runDemo(ctx context.Context, e env, args []string) error {
	if len(args) > 0 {
		return usageError("demo takes no arguments")
	}
	kit, err := newDemoKit()
	if err != nil {
		return err
	}
	cfg := e.cfg
	cfg.demo = kit
	if !cfg.databaseURLGiven {
		if cfg.DatabaseURL, err = demoDatabase(cfg.DatabaseURL); err != nil {
			return err
		}
	}
	link, key, err := demoDocument(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, `ДЕМО · DEMO — nothing here is a real signature; no other process trusts these keys.

  Link page:  %s
  API key of the demo sender (%s):  %s

What to do:
  1. Open the link page: it is the recipient's page, as a counterparty gets it.
  2. Press «Подписать демо-ключом» twice: the recipient signs, then the sender;
     every open page follows the status. Then download the «Электронная карточка».
  3. Try the API with the key; signed by both, the document is among the completed:
     curl -H 'Authorization: Bearer %s' '%s/api/v1/documents?folder=completed'
  Stop with Ctrl-C. For real signatures run `+"`edobot serve`"+` (see README).

`, link, demoSenderBIN, key, key, cfg.PublicURL)
	return serveWith(ctx, cfg, e.log, nil)
}

// demoDatabase is url with the database edobot_demo: without DATABASE_URL
// the demo's organisations and documents stay apart from serve's.
func demoDatabase(url string) (string, error) {
	u, err := neturl.Parse(url)
	if err != nil {
		return "", fmt.Errorf("DATABASE_URL: %w", err)
	}
	u.Path = "/edobot_demo"
	return u.String(), nil
}

// demoDocument registers the demo organisations and makes the sample
// document through the use cases, as an accounting system would; it
// returns the document's link and the sender's new API key.
func demoDocument(ctx context.Context, cfg config) (string, string, error) {
	svc, done, err := openService(ctx, cfg)
	if err != nil {
		return "", "", err
	}
	defer done()
	until := time.Now().AddDate(1, 0, 0)
	if _, _, err := svc.RegisterOrganisation(ctx, demoSenderBIN, "ТОО «Демо-Отправитель»", &until); err != nil {
		return "", "", err
	}
	if _, _, err := svc.RegisterOrganisation(ctx, demoRecipientBIN, "ТОО «Демо-Получатель»", &until); err != nil {
		return "", "", err
	}
	key, _, err := svc.CreateAPIKey(ctx, demoSenderBIN)
	if err != nil {
		return "", "", err
	}
	actor, err := svc.Authenticate(ctx, key)
	if err != nil {
		return "", "", err
	}
	file, err := demoPDF()
	if err != nil {
		return "", "", err
	}
	// Today in Kazakhstan, as a calendar date (00:00 UTC).
	y, m, day := time.Now().In(core.KazakhstanTime).Date()
	today := time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
	d, err := svc.CreateDocument(ctx, actor, core.NewDocument{
		Recipient: core.PartyInput{Kind: core.PartyCounterparty, Number: demoRecipientBIN, Name: "ТОО «Демо-Получатель»"},
		Type:      core.TypeActWaybill, Number: "ДЕМО-" + time.Now().Format("150405"),
		Date: today,
	}, bytes.NewReader(file))
	if err != nil {
		return "", "", err
	}
	return cfg.PublicURL + "/d/" + d.LinkToken, key, nil
}

// demoPDF is the sample document: one page that says what it is.
func demoPDF() ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("sans", "", card.RegularFont())
	pdf.SetCreationDate(time.Unix(0, 0).UTC())
	pdf.AddPage()
	pdf.SetFont("sans", "", 20)
	pdf.MultiCell(0, 10, "ДЕМО · DEMO\nАкт выполненных работ (образец)\nОрындалған жұмыстар актісі (үлгі)", "", "L", false)
	pdf.Ln(6)
	pdf.SetFont("sans", "", 12)
	pdf.MultiCell(0, 7, "ТОО «Демо-Отправитель», БИН "+demoSenderBIN+" → ТОО «Демо-Получатель», БИН "+demoRecipientBIN+
		"\n\nЭтот документ создан командой `edobot demo`. Его подписи сделаны демо-ключами и не имеют юридической силы."+
		"\nБұл құжатты `edobot demo` командасы жасады. Оның қолтаңбалары демо-кілттермен қойылған, заңды күші жоқ.", "", "L", false)
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("demo PDF: %w", err)
	}
	return b.Bytes(), nil
}

// logNextSteps ends serve's start-up with what to do next: the bot's
// t.me link, or the demo when there is no bot.
func logNextSteps(log *slog.Logger, cfg config, tg *telegram.Bot) {
	switch {
	case cfg.demo != nil:
		log.Info("next", "do", "open the link page printed above and press «Подписать демо-ключом»")
	case tg != nil:
		log.Info("next", "telegram", "https://t.me/"+tg.Username(), "do", "open the bot and send /start")
	default:
		log.Info("next", "do", "no TELEGRAM_TOKEN: set it for the bot, or run `edobot demo` to see the loop without an NCA key")
	}
}
