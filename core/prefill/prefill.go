// Package prefill reads a document's own text and proposes what the sender
// would otherwise type: the document type from its title, its number and
// date, and the counterparty named in it (IIN/BIN, name, phone).
//
// Propose is a pure function of the text, so the rules are tested on text
// alone; Extract gets that text from a PDF with poppler's pdftotext, bounded
// like the page renderer. A proposal is only a suggestion: anything not
// found stays empty and the sender is asked as usual.
package prefill

import (
	"regexp"
	"strings"
	"time"
	"unicode"

	"edobot/core/iinbin"
)

// Type is a document type of the catalogue, spelled as core.DocType is.
// This package is below core, so it names the values rather than importing them.
type Type string

const (
	TypeWaybill            Type = "waybill"
	TypeActWaybill         Type = "act_waybill"
	TypePowerOfAttorney    Type = "power_of_attorney"
	TypeContract           Type = "contract"
	TypeEmploymentContract Type = "employment_contract"
	TypeReconciliationAct  Type = "reconciliation_act"
	TypeOther              Type = "other"
)

// Party is the counterparty a document names.
type Party struct {
	Number string      // a checksum-valid IIN or BIN
	Kind   iinbin.Kind // what Number identifies
	Name   string      // organisation or full name written next to it; "" if none
	Phone  string      // E.164 ("+77011234567"); "" if none
}

// Proposal is what the text says. A zero field was not found.
type Proposal struct {
	Type   Type
	Number string
	Date   time.Time // a calendar date at 00:00 UTC
	// Parties are the candidates in the order the text names them; the
	// first is the proposal. Never the sender's own number, never a number
	// with a bad check digit.
	Parties []Party
}

// Party returns the proposed counterparty, or nil.
func (p *Proposal) Party() *Party {
	if len(p.Parties) == 0 {
		return nil
	}
	return &p.Parties[0]
}

// Empty reports whether nothing at all was found.
func (p *Proposal) Empty() bool {
	return p.Type == "" && p.Number == "" && p.Date.IsZero() && len(p.Parties) == 0
}

// titleLines is how far from the top the title, number and date are looked
// for: a title is never below the parties' block of a contract's preamble.
const titleLines = 20

// Propose reads text (pdftotext's output of the first and last pages) and
// proposes the fields. own is the sender's IIN/BIN, never proposed.
func Propose(text, own string) Proposal {
	lines := splitLines(text)
	var head []string
	for _, l := range lines {
		if len(head) == titleLines {
			break
		}
		if !formHeader.MatchString(l) {
			head = append(head, l)
		}
	}
	var p Proposal
	var at, pos int
	p.Number, p.Date, at, pos = numberAndDate(head)
	p.Type = typeOf(head, at, pos)
	p.Parties = parties(lines, own)
	return p
}

// formHeader is the small print above a printed form's title («Приложение
// 26 к приказу Министра финансов РК от 20 декабря 2012 года № 562», «Форма
// З-2»): its number and date are the order's, not the document's.
var formHeader = regexp.MustCompile(`(?i)^(?:приложение|к приказу|форма\s|форма$|утвержден|бұйрығына|қосымша|нысан)`)

// splitLines trims the lines and drops the empty ones; form feeds (page
// breaks) count as line breaks.
func splitLines(text string) []string {
	text = strings.ReplaceAll(text, "\f", "\n")
	raw := strings.Split(text, "\n")
	out := raw[:0]
	for _, l := range raw {
		l = strings.Join(strings.Fields(l), " ")
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// ---- type ----

// titles maps the words of a title onto the catalogue. At one position the
// longer phrase wins («Трудовой договор» over «договор»), and the earliest
// title in the text wins over a later mention («Акт … по договору №…»).
var titles = []struct {
	phrase string
	t      Type
}{
	{"акт сверки", TypeReconciliationAct},
	{"акт взаимной сверки", TypeReconciliationAct},
	{"салыстыру актісі", TypeReconciliationAct},
	{"өзара есеп айырысуларды салыстыру", TypeReconciliationAct},
	{"трудовой договор", TypeEmploymentContract},
	{"еңбек шарты", TypeEmploymentContract},
	{"доверенность", TypePowerOfAttorney},
	{"сенімхат", TypePowerOfAttorney},
	{"акт выполненных работ", TypeActWaybill},
	{"акт оказанных услуг", TypeActWaybill},
	{"акт приема-передачи", TypeActWaybill},
	{"акт приёма-передачи", TypeActWaybill},
	{"орындалған жұмыстар", TypeActWaybill},
	{"көрсетілген қызметтер", TypeActWaybill},
	{"накладная", TypeWaybill},
	{"жүкқұжат", TypeWaybill},
	{"жүк құжаты", TypeWaybill},
	{"договор", TypeContract},
	{"контракт", TypeContract},
	{"шарт", TypeContract},
	{"келісімшарт", TypeContract},
}

// typeOf reads the title: the lines down to the one with the number, or the
// first few when there is no number. A catalogue word further down is a
// mention («Дополнительное соглашение № 3 к договору № 12»), not a title,
// and so is one that is not among a line's first words.
func typeOf(head []string, numberLine, numberAt int) Type {
	last := numberLine
	if last < 0 {
		last = min(len(head), 5) - 1
	}
	for i, l := range head[:last+1] {
		if i == numberLine {
			// The title precedes its number: «… № 3 к договору № 12» is not a contract.
			l = l[:numberAt]
		}
		low := strings.ToLower(l)
		if lead := leadingWords(low, titleWords); lead < len(low) {
			low = low[:lead]
		}
		best, bestAt, bestLen := Type(""), -1, 0
		for _, t := range titles {
			at := wordIndex(low, t.phrase)
			if at < 0 {
				continue
			}
			if bestAt < 0 || at < bestAt || at == bestAt && len(t.phrase) > bestLen {
				best, bestAt, bestLen = t.t, at, len(t.phrase)
			}
		}
		if best != "" {
			return best
		}
	}
	if len(head) > 0 {
		return TypeOther
	}
	return ""
}

// wordIndex finds phrase in s starting at a word boundary and ending at the
// end of a word or of a Russian/Kazakh case ending («договора», «шартқа»
// are not titles, but the first word must start a word). Only the word
// start is enforced for the last word, so the inflected forms of a title
// («Накладная», «НАКЛАДНАЯ №») match while «подоговор» does not.
func wordIndex(s, phrase string) int {
	from := 0
	for {
		i := strings.Index(s[from:], phrase)
		if i < 0 {
			return -1
		}
		i += from
		if i == 0 || !isWord(lastRune(s[:i])) {
			return i
		}
		from = i + len(phrase)
	}
}

// titleWords is how many words may precede a title's phrase on its line
// («ДОГОВОР ПОСТАВКИ», «ЖЕТКІЗУ ШАРТЫ», «Орындалған жұмыстар … актісі»).
const titleWords = 6

// leadingWords returns the byte length of the first n words of s and what
// separates them.
func leadingWords(s string, n int) int {
	words := 0
	in := false
	for i, r := range s {
		w := isWord(r) || r == '-'
		if w && !in {
			if words == n {
				return i
			}
			words++
		}
		in = w
	}
	return len(s)
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func lastRune(s string) rune {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] < 0x80 || s[i] >= 0xC0 {
			r := []rune(s[i:])
			return r[0]
		}
	}
	return 0
}

// ---- number and date ----

// numberRe finds «№ 12/2026», «№12», «N 12», «No. 12»; the number itself is
// letters, digits and the separators documents use inside one.
var numberRe = regexp.MustCompile(`(?:№|(?:^|[^\p{L}\p{N}])(?:N|No|Nо)\.?)\s*([\p{L}\p{N}][\p{L}\p{N}/\-._]*)`)

// dateRes are the forms of a date in Kazakh documents.
var (
	numericDateRe = regexp.MustCompile(`(?:^|[^\p{N}.])(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})(?:[^\p{N}]|$)`)
	// «1 ноября 2026 г.», «"01" ноября 2026», «1-го ноября 2026»
	wordDateRe = regexp.MustCompile(`(?:^|[^\p{N}])(\d{1,2})\s*[»"”']?\s*(?:-?го\s+)?(\p{L}+)\s+(\d{4})`)
	// «2026 жылғы 1 қарашада», «2026 ж. «01» қараша»
	kazDateRe = regexp.MustCompile(`(\d{4})\s*(?:жылғы|жыл|ж\.)\s*[«"“']?\s*(\d{1,2})\s*[»"”']?\s*(\p{L}+)`)
)

// The month names as dates write them: Russian in the genitive, Kazakh in
// the nominative (and, by prefix, with its case endings).
var (
	ruMonths = map[string]time.Month{
		"января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6,
		"июля": 7, "августа": 8, "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
	}
	kkMonths = map[string]time.Month{
		"қаңтар": 1, "ақпан": 2, "наурыз": 3, "сәуір": 4, "мамыр": 5, "маусым": 6,
		"шілде": 7, "тамыз": 8, "қыркүйек": 9, "қазан": 10, "қараша": 11, "желтоқсан": 12,
	}
)

func monthOf(word string) (time.Month, bool) {
	w := strings.ToLower(word)
	if m, ok := ruMonths[w]; ok {
		return m, true
	}
	if m, ok := kkMonths[w]; ok {
		return m, true
	}
	// Kazakh case endings: «қарашада», «қазанның».
	for name, m := range kkMonths {
		if strings.HasPrefix(w, name) {
			return m, true
		}
	}
	return 0, false
}

func makeDate(y, m, d int) (time.Time, bool) {
	if y < 100 {
		y += 2000
	}
	if y < 1991 || y > 2100 || m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // 31.02 does not roll over into March
		return time.Time{}, false
	}
	return t, true
}

// dateIn finds the first date written in s.
func dateIn(s string) (time.Time, bool) {
	type found struct {
		at int
		t  time.Time
	}
	var best *found
	consider := func(at int, t time.Time) {
		if best == nil || at < best.at {
			best = &found{at, t}
		}
	}
	for _, m := range numericDateRe.FindAllStringSubmatchIndex(s, -1) {
		d, mo, y := atoi(s[m[2]:m[3]]), atoi(s[m[4]:m[5]]), atoi(s[m[6]:m[7]])
		if t, ok := makeDate(y, mo, d); ok {
			consider(m[2], t)
			break
		}
	}
	for _, m := range wordDateRe.FindAllStringSubmatchIndex(s, -1) {
		mo, ok := monthOf(s[m[4]:m[5]])
		if !ok {
			continue
		}
		if t, ok := makeDate(atoi(s[m[6]:m[7]]), int(mo), atoi(s[m[2]:m[3]])); ok {
			consider(m[2], t)
			break
		}
	}
	for _, m := range kazDateRe.FindAllStringSubmatchIndex(s, -1) {
		mo, ok := monthOf(s[m[6]:m[7]])
		if !ok {
			continue
		}
		if t, ok := makeDate(atoi(s[m[2]:m[3]]), int(mo), atoi(s[m[4]:m[5]])); ok {
			consider(m[0], t)
			break
		}
	}
	if best == nil {
		return time.Time{}, false
	}
	return best.t, true
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// numberAndDate takes the first «№» of the head as the document's number and
// the date written on its line, or on the next lines (a title block often
// puts «г. Алматы  1 ноября 2026 г.» below it), or else the first date of the
// head.
func numberAndDate(head []string) (number string, date time.Time, line, pos int) {
	line = -1
	end := 0
	for i, l := range head {
		for _, m := range numberRe.FindAllStringSubmatchIndex(l, -1) {
			n := strings.TrimRight(l[m[2]:m[3]], ".-_/")
			if strings.IndexFunc(n, unicode.IsDigit) >= 0 {
				number, line, pos, end = n, i, m[0], m[1]
				break
			}
		}
		if line >= 0 {
			break
		}
	}
	if line >= 0 {
		// The date follows the number, up to another «№» (a base
		// document's: «… № 3 к договору № 12 от 01.01.2026»), possibly
		// wrapped onto the next lines.
		rest := head[line][end:]
		if i := strings.Index(rest, "№"); i >= 0 {
			rest = rest[:i]
		}
		if d, ok := dateIn(rest); ok {
			return number, d, line, pos
		}
		if !strings.Contains(head[line][end:], "№") {
			var b strings.Builder
			b.WriteString(rest)
			for i := line + 1; i < len(head) && i <= line+3; i++ {
				b.WriteString(" " + head[i])
			}
			if d, ok := dateIn(b.String()); ok {
				return number, d, line, pos
			}
		}
		for i := line + 1; i < len(head) && i <= line+3; i++ {
			if d, ok := dateIn(head[i]); ok {
				return number, d, line, pos
			}
		}
	}
	for _, l := range head {
		if d, ok := dateIn(l); ok {
			return number, d, line, pos
		}
	}
	return number, time.Time{}, line, pos
}

// ---- parties ----

// digitsRe finds runs of digits, allowing the single spaces some layouts put
// between groups («123 456 789 021»); a longer run is an account or a code.
var digitsRe = regexp.MustCompile(`\d(?:[\d ]*\d)?`)

// orgRe is an organisation with its legal form: «ТОО «Ромашка»», «АО "Банк"»,
// «ЖШС «Ромашка»», «ИП Иванов И.И.».
var (
	orgRe = regexp.MustCompile(`(?:^|[^\p{L}])((?:ТОО|АО|ПАО|ОАО|ЗАО|ООО|ГКП|РГП|КГП|ОФ|ОЮЛ|ЖШС|АҚ|МКК|ШЖҚ|ЖК|ИП)\s*[«"“„][^»"”]{1,80}[»"”](?:\s*[»"”])?)`)
	// Kazakh puts the form after the name: «Ромашка» ЖШС.
	orgAfterRe = regexp.MustCompile(`([«"“„][^»"”«]{1,80}[»"”]\s*(?:ЖШС|АҚ|ТОО|АО|ЖК|ЖАҚ|МКК))(?:[^\p{L}]|$)`)
	ipRe       = regexp.MustCompile(`(?:^|[^\p{L}])((?:ИП|ЖК)\s+\p{Lu}\p{Ll}+(?:\s+\p{Lu}\.\s*\p{Lu}\.?|(?:\s+\p{Lu}\p{Ll}+){1,2}))`)
	// A person: surname, name and, usually, a patronymic.
	personRe = regexp.MustCompile(`(?:^|[^\p{L}])(\p{Lu}\p{Ll}+\s+\p{Lu}\p{Ll}+(?:\s+\p{Lu}\p{Ll}+)?)`)
	phoneRe  = regexp.MustCompile(`(?:\+\s*7|(?:^|[^\d])8)[\s\-(]*(\d{3})[\s\-)]*(\d{3})[\s\-]*(\d{2})[\s\-]*(\d{2})(?:[^\d]|$)`)
	// Words that label a person's name but are not a name themselves.
	notName = regexp.MustCompile(`(?i)^(?:в лице|директор|генеральный|бухгалтер|исполнитель|заказчик|поставщик|покупатель|работник|работодатель|доверитель|поверенный|получатель|отправитель|грузополучатель|грузоотправитель|республика|город|банк)`)
)

// signatory is what precedes the IIN of the person who signs for a party
// («в лице директора Ахметова А.А., ИИН …»): a party's officer, not a party.
var signatory = regexp.MustCompile(`(?i)(?:в лице|директор|руководител|бухгалтер|атынан|басшы)[^,;]*,?\s*(?:иин|жсн)?\s*:?\s*$`)

// numberWindow is how many lines around a number its owner's name and phone
// may be written (a requisites block: name, БИН, address, bank, ИИК, БИК,
// Кбе, phone).
const numberWindow = 8

// found is a 12-digit number in the text: line, byte span on it.
type found struct {
	line, from, to int
	number         string
}

func numbersIn(lines []string) []found {
	var out []found
	for i, l := range lines {
		for _, m := range digitsRe.FindAllStringIndex(l, -1) {
			n := strings.ReplaceAll(l[m[0]:m[1]], " ", "")
			if len(n) != 12 {
				continue
			}
			// Digits glued to letters are part of an IBAN, a code or a
			// reference, not an IIN/BIN.
			if m[0] > 0 && isWord(lastRune(l[:m[0]])) || m[1] < len(l) && isWord([]rune(l[m[1]:])[0]) {
				continue
			}
			out = append(out, found{i, m[0], m[1], n})
		}
	}
	return out
}

func parties(lines []string, own string) []Party {
	nums := numbersIn(lines)
	numberLines := map[int]bool{}
	for _, n := range nums {
		numberLines[n.line] = true
	}
	var out []Party
	seen := map[string]bool{}
	for k, n := range nums {
		kind, err := iinbin.Validate(n.number)
		if err != nil || n.number == own || seen[n.number] {
			continue
		}
		seen[n.number] = true
		before := lines[n.line][:n.from]
		if strings.Count(strings.TrimSpace(before), " ") < 1 && n.line > 0 {
			// «ИИН» alone, the rest wrapped from the line above.
			before = lines[n.line-1] + " " + before
		}
		if signatory.MatchString(before) || ownedBy(lines, nums, k, own) {
			continue
		}
		p := Party{Number: n.number, Kind: kind}
		p.Name = nameNear(lines, n, numberLines, kind)
		p.Phone = phoneNear(lines, n.line, numberLines)
		out = append(out, p)
	}
	return out
}

// ownedBy reports whether the k-th number is in the sender's block: right
// after the sender's number with no other name between them (the sender's
// director's IIN, say).
func ownedBy(lines []string, nums []found, k int, own string) bool {
	if k == 0 || nums[k-1].number != own {
		return false
	}
	prev, cur := nums[k-1], nums[k]
	if cur.line-prev.line > 2 {
		return false
	}
	var between string
	if prev.line == cur.line {
		between = lines[cur.line][prev.to:cur.from]
	} else {
		between = lines[prev.line][prev.to:] + " " + strings.Join(lines[prev.line+1:cur.line], " ") + " " + lines[cur.line][:cur.from]
	}
	return !isOrg(between) && personIn(between) == ""
}

// nameNear finds the name written next to the number: on its own line
// before it (the closest), or on the closest line above within the window,
// stopping at another number's line (another party's block).
func nameNear(lines []string, n found, numberLines map[int]bool, kind iinbin.Kind) string {
	for j := n.line; j >= 0 && j >= n.line-numberWindow; j-- {
		l := lines[j]
		if j < n.line && numberLines[j] {
			break
		}
		if j == n.line {
			l = l[:n.from]
		}
		if name := lastName(l, kind); name != "" {
			return name
		}
	}
	return ""
}

// lastName is the last organisation (or, for an IIN, person) named on l.
func lastName(l string, kind iinbin.Kind) string {
	best, at := "", -1
	for _, re := range []*regexp.Regexp{orgRe, orgAfterRe, ipRe} {
		for _, m := range re.FindAllStringSubmatchIndex(l, -1) {
			if m[2] > at {
				best, at = l[m[2]:m[3]], m[2]
			}
		}
	}
	if best != "" {
		return cleanName(best)
	}
	if kind == iinbin.KindIIN {
		return personIn(l)
	}
	return ""
}

// personIn finds a full name on a line, after a label such as «Работник:».
func personIn(l string) string {
	if _, after, ok := strings.Cut(l, ":"); ok {
		l = after
	}
	for _, m := range personRe.FindAllStringSubmatch(l, -1) {
		name := m[1]
		if notName.MatchString(name) || strings.Count(name, " ") < 1 {
			continue
		}
		words := strings.Fields(name)
		if len(words) == 2 && !surname(words[0]) {
			continue
		}
		return name
	}
	return ""
}

// surname tells a likely surname by its ending, for a two-word name.
func surname(w string) bool {
	for _, e := range []string{"ов", "ев", "ин", "ова", "ева", "ина", "ко", "ук", "ий", "ая", "ұлы", "қызы", "бай", "бек"} {
		if strings.HasSuffix(w, e) {
			return true
		}
	}
	return false
}

// cleanName puts «» quotes around an organisation's name, whatever quotes
// the text used, and squeezes spaces.
func cleanName(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	r := strings.NewReplacer("“", "«", "„", "«", "”", "»")
	s = r.Replace(s)
	if strings.Count(s, `"`) == 2 {
		s = strings.Replace(s, `"`, "«", 1)
		s = strings.Replace(s, `"`, "»", 1)
	}
	if i := strings.IndexAny(s, "«"); i > 0 && s[i-1] != ' ' {
		s = s[:i] + " " + s[i:]
	}
	return s
}

// phoneNear finds a phone in the party's block: from its name above the
// number down to the window's end, stopping at another party's number or
// name line.
func phoneNear(lines []string, i int, numberLines map[int]bool) string {
	from := i
	for j := i - 1; j >= 0 && j >= i-numberWindow; j-- {
		if numberLines[j] {
			break
		}
		from = j
		if startsParty(lines[j]) {
			break
		}
	}
	for j := from; j < len(lines) && j <= i+numberWindow; j++ {
		if j > i && (numberLines[j] || startsParty(lines[j])) {
			break
		}
		if m := phoneRe.FindStringSubmatch(lines[j]); m != nil {
			return "+7" + m[1] + m[2] + m[3] + m[4]
		}
	}
	return ""
}

// startsParty reports whether a line starts a party's block with its name;
// a bank named in a block («Банк: АО «Халык Банк»») does not.
func startsParty(l string) bool {
	for _, re := range []*regexp.Regexp{orgRe, orgAfterRe, ipRe} {
		if loc := re.FindStringSubmatchIndex(l); loc != nil && loc[2] <= 1 {
			return true
		}
	}
	return false
}

func isOrg(l string) bool { return orgRe.MatchString(l) || orgAfterRe.MatchString(l) }
