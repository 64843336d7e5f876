package card

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/go-pdf/fpdf"
	"github.com/skip2/go-qrcode"

	"edobot/core"
)

// The sheet is A4 portrait, in points.
const (
	a4W, a4H     = 595.28, 841.89
	marginX      = 40.0
	marginTop    = 36.0
	marginBottom = 48.0
	contentW     = a4W - 2*marginX

	labelW   = 150.0 // the label column of every table
	qrSize   = 110.0 // a QR code's side: about 2 pt (0.8 mm) a module for a link and a hash
	qrColW   = qrSize + 18
	labelPt  = 7.5
	valuePt  = 8.5
	cellPadY = 2.5
	cellPadX = 4.0
)

var (
	grey      = [3]int{95, 102, 112}
	ruleGrey  = [3]int{190, 196, 204}
	bandGrey  = [3]int{236, 240, 245}
	red       = [3]int{200, 0, 0}
	textBlack = [3]int{20, 24, 28}
)

type sheet struct {
	pdf   *fpdf.Fpdf
	in    Input
	qr    [][]bool
	first int // the number in pdf of the sheet's first page
}

type row struct {
	label, value string
	bold         bool
}

// sheetPDF draws the signature sheet as a document of its own.
func sheetPDF(in Input) ([]byte, error) {
	pdf := newPDF(true)
	if err := drawSheet(pdf, in); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("card: draw signature sheet: %w", err)
	}
	return b.Bytes(), nil
}

// drawSheet adds the signature sheet to pdf, after whatever pages it has:
// the document's particulars, then one block per signature, each with its
// QR code, on as many pages as they need.
func drawSheet(pdf *fpdf.Fpdf, in Input) error {
	q, err := qrcode.New(qrPayload(in), qrcode.Medium)
	if err != nil {
		return fmt.Errorf("card: qr code: %w", err)
	}
	q.DisableBorder = true
	s := &sheet{pdf: pdf, in: in, qr: q.Bitmap(), first: pdf.PageNo() + 1}
	pdf.SetHeaderFunc(s.header)
	pdf.SetFooterFunc(s.footer)
	pdf.SetMargins(marginX, marginTop, marginX)
	pdf.AddPage()

	d := in.Document
	s.heading("Документ / Құжат")
	s.table([]row{
		{"Документ / Құжат", typeName(d.Type) + " № " + d.Number + ", " + d.Date.Format("02.01.2006"), true},
		{"Отправитель / Жіберуші", d.SenderName + "\nБИН/ИИН / БСН/ЖСН " + d.SenderNumber, false},
		{"Получатель / Алушы", d.RecipientName + "\nБИН/ИИН / БСН/ЖСН " + d.RecipientNumber, false},
		{"ID документа / Құжаттың ID", d.ID.String(), false},
		{"SHA-256 оригинала / Түпнұсқаның SHA-256", d.File.SHA256, false},
		{"Страниц в оригинале / Түпнұсқадағы беттер", strconv.Itoa(d.File.Pages), false},
		{"Статус / Мәртебесі", statusName(d.Status), true},
		{"Проверка / Тексеру", in.VerifyURL, false},
	}, contentW)
	pdf.Ln(10)

	s.heading(fmt.Sprintf("Подписи / Қолтаңбалар: %d", len(in.Signatures)))
	if len(in.Signatures) == 0 {
		s.block("Подписей нет / Қолтаңбалар жоқ", nil)
	}
	for i, g := range in.Signatures {
		sg := g.Signer
		validity := kzTime(sg.NotBefore, "02.01.2006 15:04") + " — " + kzTime(sg.NotAfter, "02.01.2006 15:04")
		s.block(fmt.Sprintf("Подпись %d / %d-қолтаңба · %s", i+1, i+1, sideName(g.Side)), []row{
			{"ФИО / Аты-жөні", orDash(sg.FullName), true},
			{"ИИН / ЖСН", orDash(sg.IIN), false},
			{"БИН / БСН", orDash(sg.BIN), false},
			{"Организация / Ұйым", orDash(sg.Organisation), false},
			{"Тип ключа / Кілт түрі", keyName(sg.KeyKind), false},
			{"Серийный номер сертификата / Сертификаттың сериялық нөмірі", orDash(sg.CertSerial), false},
			{"Срок действия сертификата / Сертификаттың жарамдылық мерзімі", validity, false},
			{"Издатель / Куәлік берген орталық", orDash(sg.Issuer), false},
			{"Время подписи (UTC+5) / Қол қойылған уақыты (UTC+5)", kzTime(g.SignedAt, "02.01.2006 15:04:05"), true},
		})
	}
	return pdf.Error()
}

func (s *sheet) color(c [3]int) { s.pdf.SetTextColor(c[0], c[1], c[2]) }

// header opens every sheet page: the title and, for a revoked document, the
// revoked mark that no page of its card may lack.
func (s *sheet) header() {
	pdf := s.pdf
	if pdf.PageNo() < s.first {
		return
	}
	y := 24.0
	if s.in.Document.Status == core.StatusRevoked {
		pdf.SetDrawColor(red[0], red[1], red[2])
		pdf.SetFillColor(255, 255, 255)
		pdf.SetLineWidth(2)
		pdf.Rect(marginX, y, contentW, 26, "D")
		pdf.SetFont(fontFamily, "B", 15)
		s.color(red)
		pdf.SetXY(marginX, y)
		pdf.CellFormat(contentW, 26, RevokedMark, "", 0, "C", false, 0, "")
		y += 32
	}
	if s.in.Document.Demo {
		pdf.SetFont(fontFamily, "B", 9)
		s.color(red)
		pdf.SetXY(marginX, y)
		pdf.CellFormat(contentW, 14, DemoMark, "", 0, "C", false, 0, "")
		y += 18
	}
	pdf.SetFont(fontFamily, "B", 13)
	s.color(textBlack)
	pdf.SetXY(marginX, y)
	pdf.CellFormat(contentW, 17, "ЭЛЕКТРОННАЯ КАРТОЧКА ДОКУМЕНТА", "", 2, "L", false, 0, "")
	pdf.SetFont(fontFamily, "", 10)
	s.color(grey)
	pdf.CellFormat(contentW, 13, "Құжаттың электрондық карточкасы · Лист подписей / Қолтаңбалар парағы", "", 2, "L", false, 0, "")
	pdf.SetDrawColor(ruleGrey[0], ruleGrey[1], ruleGrey[2])
	pdf.SetLineWidth(0.8)
	pdf.Line(marginX, pdf.GetY()+4, marginX+contentW, pdf.GetY()+4)
	pdf.SetY(pdf.GetY() + 12)
}

func (s *sheet) footer() {
	pdf := s.pdf
	if pdf.PageNo() < s.first {
		return
	}
	pdf.SetFont(fontFamily, "", 7)
	s.color(grey)
	pdf.SetXY(marginX, a4H-34)
	pdf.CellFormat(contentW, 9, "ID "+s.in.Document.ID.String()+" · "+s.in.VerifyURL, "", 2, "L", false, 0, "")
	pdf.CellFormat(contentW, 9, "Сформировано edobot по данным ЭЦП / ЭЦҚ деректері бойынша edobot жасаған", "", 0, "L", false, 0, "")
	pdf.SetXY(marginX, a4H-25)
	pdf.CellFormat(contentW, 9, fmt.Sprintf("Лист / Парақ %d", pdf.PageNo()-s.first+1), "", 0, "R", false, 0, "")
}

func (s *sheet) heading(text string) {
	pdf := s.pdf
	s.ensure(16 + 40)
	pdf.SetFont(fontFamily, "B", 10.5)
	s.color(textBlack)
	pdf.SetX(marginX)
	pdf.CellFormat(contentW, 16, text, "", 2, "L", false, 0, "")
	pdf.Ln(2)
}

// ensure starts a new page when h points do not fit on this one.
func (s *sheet) ensure(h float64) {
	if s.pdf.GetY()+h > a4H-marginBottom {
		s.pdf.AddPage()
	}
}

// lines splits text into the lines it takes in a column w points wide, in
// the font set now; hard line breaks in text are kept.
func (s *sheet) lines(text string, w float64) []string {
	var out []string
	for _, part := range bytes.Split([]byte(text), []byte("\n")) {
		ls := s.pdf.SplitText(string(part), w)
		if len(ls) == 0 {
			ls = []string{""}
		}
		out = append(out, ls...)
	}
	return out
}

type laidRow struct {
	label, value []string
	bold         bool
	h            float64
}

// layout measures each row of a table whose value column is w wide.
func (s *sheet) layout(rows []row, w float64) ([]laidRow, float64) {
	pdf := s.pdf
	var out []laidRow
	var total float64
	for _, r := range rows {
		pdf.SetFont(fontFamily, "", labelPt)
		lr := laidRow{label: s.lines(r.label, labelW-2*cellPadX), bold: r.bold}
		style := ""
		if r.bold {
			style = "B"
		}
		pdf.SetFont(fontFamily, style, valuePt)
		lr.value = s.lines(r.value, w-labelW-2*cellPadX)
		lr.h = max(float64(len(lr.label))*labelPt*1.25, float64(len(lr.value))*valuePt*1.25) + 2*cellPadY
		out = append(out, lr)
		total += lr.h
	}
	return out, total
}

// drawRows draws laid-out rows from the current position: label column on a
// light band, value column beside it, a hairline between rows.
func (s *sheet) drawRows(rows []laidRow, x, w float64) {
	pdf := s.pdf
	y := pdf.GetY()
	for i, r := range rows {
		pdf.SetFillColor(bandGrey[0], bandGrey[1], bandGrey[2])
		pdf.Rect(x, y, labelW, r.h, "F")
		pdf.SetFont(fontFamily, "", labelPt)
		s.color(grey)
		for j, l := range r.label {
			pdf.SetXY(x+cellPadX, y+cellPadY+float64(j)*labelPt*1.25)
			pdf.CellFormat(labelW-2*cellPadX, labelPt*1.25, l, "", 0, "L", false, 0, "")
		}
		style := ""
		if r.bold {
			style = "B"
		}
		pdf.SetFont(fontFamily, style, valuePt)
		s.color(textBlack)
		for j, l := range r.value {
			pdf.SetXY(x+labelW+cellPadX, y+cellPadY+float64(j)*valuePt*1.25)
			pdf.CellFormat(w-labelW-2*cellPadX, valuePt*1.25, l, "", 0, "L", false, 0, "")
		}
		if i > 0 {
			pdf.SetDrawColor(ruleGrey[0], ruleGrey[1], ruleGrey[2])
			pdf.SetLineWidth(0.4)
			pdf.Line(x, y, x+w, y)
		}
		y += r.h
	}
	pdf.SetXY(marginX, y)
}

// table draws a bordered two-column table w wide, moving to a new page
// first if it does not fit.
func (s *sheet) table(rows []row, w float64) {
	laid, h := s.layout(rows, w)
	s.ensure(h)
	top := s.pdf.GetY()
	s.drawRows(laid, marginX, w)
	s.pdf.SetDrawColor(ruleGrey[0], ruleGrey[1], ruleGrey[2])
	s.pdf.SetLineWidth(0.6)
	s.pdf.Rect(marginX, top, w, h, "D")
}

// block draws one signature: a title band, its rows and, at the right, the
// QR code of the verification link. A block is never split across pages.
func (s *sheet) block(title string, rows []row) {
	pdf := s.pdf
	const titleH = 16.0
	laid, rowsH := s.layout(rows, contentW-qrColW)
	h := titleH + max(rowsH, qrSize+26)
	s.ensure(h)
	top := pdf.GetY()

	pdf.SetFillColor(bandGrey[0]-12, bandGrey[1]-10, bandGrey[2]-6)
	pdf.Rect(marginX, top, contentW, titleH, "F")
	pdf.SetFont(fontFamily, "B", 9)
	s.color(textBlack)
	pdf.SetXY(marginX+cellPadX, top)
	pdf.CellFormat(contentW-2*cellPadX, titleH, title, "", 0, "L", false, 0, "")

	pdf.SetXY(marginX, top+titleH)
	s.drawRows(laid, marginX, contentW-qrColW)

	qx := marginX + contentW - qrColW + (qrColW-qrSize)/2
	qy := top + titleH + 8
	s.drawQR(qx, qy)
	pdf.SetFont(fontFamily, "", 6.5)
	s.color(grey)
	pdf.SetXY(marginX+contentW-qrColW, qy+qrSize+2)
	pdf.CellFormat(qrColW, 8, "Проверка / Тексеру", "", 0, "C", false, 0, "")

	pdf.SetDrawColor(ruleGrey[0], ruleGrey[1], ruleGrey[2])
	pdf.SetLineWidth(0.4)
	pdf.Line(marginX+contentW-qrColW, top+titleH, marginX+contentW-qrColW, top+h)
	pdf.SetLineWidth(0.6)
	pdf.Rect(marginX, top, contentW, h, "D")
	pdf.SetXY(marginX, top+h+10)
}

// drawQR paints the code as vector squares, one rectangle per horizontal run
// of dark modules: sharp at any zoom and smaller than an image.
func (s *sheet) drawQR(x, y float64) {
	pdf := s.pdf
	n := len(s.qr)
	if n == 0 {
		return
	}
	m := qrSize / float64(n)
	pdf.SetFillColor(0, 0, 0)
	for r, line := range s.qr {
		for c := 0; c < len(line); {
			if !line[c] {
				c++
				continue
			}
			start := c
			for c < len(line) && line[c] {
				c++
			}
			pdf.Rect(x+float64(start)*m, y+float64(r)*m, float64(c-start)*m, m, "F")
		}
	}
}
