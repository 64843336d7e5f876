package prefill_test

import (
	"fmt"
	"strings"
	"time"

	"edobot/core/iinbin"
	"edobot/core/prefill"
	"edobot/core/prefill/prefilltest"
)

// number makes a checksum-valid IIN/BIN from its first 11 digits' seed:
// prefix is the structural part, seed varies the rest until the check
// digit exists.
func number(prefix string, seed int) string {
	for s := seed; ; s++ {
		base := fmt.Sprintf("%s%0*d", prefix, 11-len(prefix), s%pow10(11-len(prefix)))
		var d [11]int
		for i := range d {
			d[i] = int(base[i] - '0')
		}
		if c, ok := iinbin.CheckDigit(d); ok {
			n := base + string(rune('0'+c))
			if _, err := iinbin.Validate(n); err == nil {
				return n
			}
		}
	}
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

// badCheck turns a valid number into one with a wrong check digit.
func badCheck(n string) string {
	last := n[11] - '0'
	return n[:11] + string(rune('0'+(last+1)%10))
}

func bin(seed int) string { return number("1905400", seed) } // registered 2019-05, legal entity
func iin(seed int) string { return number("9003153", seed) } // born 1990-03-15, a man of the 20th century

// ownBIN is the sender's, written in every document and never proposed.
var ownBIN = bin(1)

const ownName = "ТОО «Эдобот Сервис»"

// sample is one document of the corpus with what a reader should propose.
type sample struct {
	name  string
	pages []prefilltest.Page
	want  prefill.Proposal // Parties holds just the expected first
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// dateForms are the ways documents write 1 November 2026 and its like.
type dateForm func(t time.Time, kk bool) string

var ruMonths = []string{"", "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}
var kkMonths = []string{"", "қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз", "қыркүйек", "қазан", "қараша", "желтоқсан"}

var dateForms = []dateForm{
	func(t time.Time, kk bool) string { return t.Format("02.01.2006") },
	func(t time.Time, kk bool) string {
		if kk {
			return fmt.Sprintf("%d жылғы %d %s", t.Year(), t.Day(), kkMonths[t.Month()])
		}
		return fmt.Sprintf("%d %s %d г.", t.Day(), ruMonths[t.Month()], t.Year())
	},
	func(t time.Time, kk bool) string { return t.Format("02.01.06") },
	func(t time.Time, kk bool) string {
		if kk {
			return fmt.Sprintf("%d ж. «%02d» %s", t.Year(), t.Day(), kkMonths[t.Month()])
		}
		return fmt.Sprintf("«%02d» %s %d года", t.Day(), ruMonths[t.Month()], t.Year())
	},
}

// numberForms are the ways documents write a number.
var numberForms = []func(n string) string{
	func(n string) string { return "№ " + n },
	func(n string) string { return "№" + n },
	func(n string) string { return "N " + n },
}

var orgs = []string{"Ромашка", "Береке Трейд", "Алтын Дән", "KazLogistic", "Шаңырақ Құрылыс", "Нұр Сауда", "Степной ветер", "Табыс"}
var people = []string{"Сериков Ержан Болатович", "Иванова Анна Сергеевна", "Жұмабаева Әйгерім Нұрланқызы", "Ким Виктор Петрович"}
var phones = []struct{ text, e164 string }{
	{"+7 701 555 12 34", "+77015551234"},
	{"8 (727) 250-10-20", "+77272501020"},
	{"+7 (777) 123-45-67", "+77771234567"},
	{"", ""},
}

// requisites is a party's block at the end of a document.
func requisites(name, label, num, phone string, kk bool) []string {
	bank := "Банк: АО «Халык Банк»"
	if kk {
		bank = "Банк: «Қазақстан Халық Банкі» АҚ"
	}
	out := []string{name, label + " " + num, "Адрес: г. Алматы, ул. Абая, 150",
		"ИИК KZ926010131000123456", bank, "БИК HSBKKZKX", "Кбе 17"}
	if phone != "" {
		out = append(out, "Тел.: "+phone)
	}
	return out
}

func contract(i int, kk, onec bool) sample {
	num := []string{"12/2026", "45-П", "7", "2026/118", "ДП-031"}[i%5]
	date := day(2026, time.Month(1+i%12), 1+(i*7)%28)
	cp := orgs[i%len(orgs)]
	cpBIN := bin(1000 + i*37)
	ph := phones[i%len(phones)]
	cpName := "ТОО «" + cp + "»"
	title := "ДОГОВОР ПОСТАВКИ " + numberForms[i%3](num)
	city := "г. Алматы"
	preamble := ownName + ", именуемое в дальнейшем «Поставщик», в лице директора Ахметова Асхата Аскаровича, действующего на основании Устава, с одной стороны, и " +
		cpName + ", именуемое в дальнейшем «Покупатель», с другой стороны, заключили настоящий договор о нижеследующем:"
	body := []string{"1. ПРЕДМЕТ ДОГОВОРА", "1.1. Поставщик обязуется передать в собственность Покупателя товар, а Покупатель принять и оплатить его.",
		"2. ЦЕНА И ПОРЯДОК РАСЧЕТОВ", "2.1. Оплата производится на расчетный счет Поставщика ИИК KZ12 3456 7890 1234 5678 в течение 10 банковских дней.",
		"2.2. Код ОКПО " + badCheck(bin(5000+i)) + ", регистрационный номер " + badCheck(cpBIN) + "."}
	label := "БИН"
	if kk {
		cpName = "«" + cp + "» ЖШС"
		title = "ЖЕТКІЗУ ШАРТЫ " + numberForms[i%3](num)
		city = "Алматы қ."
		preamble = "«Эдобот Сервис» ЖШС, бұдан әрі «Жеткізуші», Жарғы негізінде әрекет ететін директор Ахметов А.А. атынан, бір тараптан, және " +
			cpName + ", бұдан әрі «Сатып алушы», екінші тараптан, осы шартты жасасты:"
		body = []string{"1. ШАРТТЫҢ МӘНІ", "1.1. Жеткізуші тауарды Сатып алушының меншігіне беруге міндеттенеді.",
			"2. ЕСЕП АЙЫРЫСУ ТӘРТІБІ", "2.1. Төлем Жеткізушінің ИИК KZ12 3456 7890 1234 5678 шотына 10 банктік күн ішінде жүргізіледі."}
		label = "БСН"
	}
	first := prefilltest.Page{Title: title, Lines: append([]string{city + "    " + dateForms[i%4](date, kk), preamble}, body...)}
	last := prefilltest.Page{Lines: []string{"10. РЕКВИЗИТЫ И ПОДПИСИ СТОРОН"},
		Left:  requisites(ownName, label, ownBIN, "+7 727 300 00 00", kk),
		Right: requisites(cpName, label, cpBIN, ph.text, kk)}
	if onec {
		first.Layout, last.Layout = prefilltest.OneC, prefilltest.OneC
	}
	if i%2 == 1 {
		// The counterparty's column first.
		last.Left, last.Right = last.Right, last.Left
	}
	return sample{
		name:  fmt.Sprintf("contract-%d-kk=%v-1c=%v", i, kk, onec),
		pages: []prefilltest.Page{first, {Lines: []string{"3. ОТВЕТСТВЕННОСТЬ СТОРОН", "3.1. За неисполнение обязательств стороны несут ответственность."}}, last},
		want: prefill.Proposal{Type: prefill.TypeContract, Number: num, Date: date,
			Parties: []prefill.Party{{Number: cpBIN, Kind: iinbin.KindBIN, Name: cpName, Phone: ph.e164}}},
	}
}

func act(i int, kk bool) sample {
	num := fmt.Sprintf("%d", 40+i)
	date := day(2026, time.Month(1+i%12), 28)
	cp := orgs[(i+3)%len(orgs)]
	cpBIN := bin(2000 + i*53)
	ph := phones[(i+1)%len(phones)]
	cpName := "ТОО «" + cp + "»"
	title := "Акт выполненных работ (оказанных услуг) " + numberForms[i%2](num) + " от " + dateForms[i%4](date, false)
	lines := []string{
		"Исполнитель:\t" + ownName + ", БИН " + ownBIN + ", тел. +7 727 300 00 00",
		"Заказчик:\t" + cpName + ", БИН " + cpBIN + phoneSuffix(ph.text),
		"Договор:\tДоговор поставки № 7 от 01.01.2026",
		"Счет:\tИИК KZ926010131000123456 в АО «Халык Банк», БИК HSBKKZKX",
		"1. Услуги по доставке груза, 1 усл., 150 000,00",
		"Итого: 150 000,00 тенге, в том числе НДС 16 071,43",
	}
	if kk {
		cpName = "«" + cp + "» ЖШС"
		title = "Орындалған жұмыстар (көрсетілген қызметтер) актісі " + numberForms[i%2](num)
		lines = []string{
			"Жасалған күні: " + dateForms[i%4](date, true),
			"Орындаушы:\t«Эдобот Сервис» ЖШС, БСН " + ownBIN,
			"Тапсырыс беруші:\t" + cpName + ", БСН " + cpBIN + phoneSuffix(ph.text),
			"Шарт:\t2026 жылғы 1 қаңтардағы № 7 шарт",
			"1. Жүкті жеткізу қызметтері, 1 қызм., 150 000,00",
		}
	}
	return sample{
		name:  fmt.Sprintf("act-%d-kk=%v", i, kk),
		pages: []prefilltest.Page{{Title: title, Lines: lines, Layout: prefilltest.OneC}},
		want: prefill.Proposal{Type: prefill.TypeActWaybill, Number: num, Date: date,
			Parties: []prefill.Party{{Number: cpBIN, Kind: iinbin.KindBIN, Name: cpName, Phone: ph.e164}}},
	}
}

func phoneSuffix(p string) string {
	if p == "" {
		return ""
	}
	return ", тел. " + p
}

func waybill(i int, kk bool) sample {
	num := fmt.Sprintf("%06d", 120+i)
	date := day(2026, 10, 1+i)
	cp := orgs[(i+5)%len(orgs)]
	cpBIN := bin(3000 + i*71)
	cpName := "ТОО «" + cp + "»"
	title := "НАКЛАДНАЯ НА ОТПУСК ЗАПАСОВ НА СТОРОНУ " + numberForms[i%3](num) + " от " + dateForms[(i+2)%4](date, false)
	lines := []string{
		"Организация (индивидуальный предприниматель) - отправитель:\t" + ownName + " ИИН/БИН " + ownBIN,
		"Организация (индивидуальный предприниматель) - получатель:\t" + cpName + " ИИН/БИН " + cpBIN,
		"Ответственный за поставку (Ф.И.О.):\tКасымов Б.Б.",
		"Транспортная организация:\tТОО «Жол Транс»",
		"1. Цемент М400, мешок, 100, 2 500,00, 250 000,00",
		"Отпуск разрешил: директор Ахметов А.А.   Главный бухгалтер: Омарова Г.К.",
	}
	if kk {
		cpName = "«" + cp + "» ЖШС"
		title = "ҚОРЛАРДЫ ЖАҚҚА БОСАТУҒА АРНАЛҒАН ЖҮКҚҰЖАТ " + numberForms[i%3](num)
		lines = []string{
			"Құжат жасалған күн: " + dateForms[(i+2)%4](date, true),
			"Жіберуші ұйым:\t«Эдобот Сервис» ЖШС ЖСН/БСН " + ownBIN,
			"Алушы ұйым:\t" + cpName + " ЖСН/БСН " + cpBIN,
			"1. Цемент М400, қап, 100, 2 500,00, 250 000,00",
		}
	}
	header := []string{"Приложение 26 к приказу Министра финансов Республики Казахстан от 20 декабря 2012 года № 562", "Форма З-2"}
	return sample{
		name:  fmt.Sprintf("waybill-%d-kk=%v", i, kk),
		pages: []prefilltest.Page{{Lines: append(header, append([]string{title}, lines...)...), Layout: prefilltest.OneC}},
		want: prefill.Proposal{Type: prefill.TypeWaybill, Number: num, Date: date,
			Parties: []prefill.Party{{Number: cpBIN, Kind: iinbin.KindBIN, Name: cpName}}},
	}
}

func powerOfAttorney(i int, kk bool) sample {
	num := fmt.Sprintf("%d", 15+i)
	date := day(2026, 12, 1+i)
	person := people[i%len(people)]
	personIIN := iin(100 + i*13)
	directorIIN := iin(900 + i)
	ph := phones[(i+2)%len(phones)]
	title := "ДОВЕРЕННОСТЬ " + numberForms[i%3](num)
	lines := []string{
		"г. Астана, " + dateForms[i%4](date, false),
		ownName + ", БИН " + ownBIN + ", в лице директора Ахметова Асхата Аскаровича, ИИН " + directorIIN + ", действующего на основании Устава, настоящей доверенностью уполномочивает:",
		"Кому: " + person,
		"ИИН " + personIIN + phoneSuffix(ph.text),
		"Удостоверение личности № 041234567 выдано МВД РК 01.02.2020",
		"получать от ТОО «Береке Трейд» товарно-материальные ценности по накладным.",
		"Доверенность действительна по 31.12.2026.",
	}
	if kk {
		title = "СЕНІМХАТ " + numberForms[i%3](num)
		lines = []string{
			"Астана қ., " + dateForms[i%4](date, true),
			"«Эдобот Сервис» ЖШС, БСН " + ownBIN + ", директор Ахметов Асхат Аскарұлы атынан, ЖСН " + directorIIN + ", осы сенімхатпен уәкілеттік береді:",
			"Кімге: " + person,
			"ЖСН " + personIIN + phoneSuffix(ph.text),
			"Жеке куәлік № 041234567, ҚР ІІМ 01.02.2020 берген.",
		}
	}
	return sample{
		name:  fmt.Sprintf("poa-%d-kk=%v", i, kk),
		pages: []prefilltest.Page{{Title: title, Lines: lines}},
		want: prefill.Proposal{Type: prefill.TypePowerOfAttorney, Number: num, Date: date,
			Parties: []prefill.Party{{Number: personIIN, Kind: iinbin.KindIIN, Name: person, Phone: ph.e164}}},
	}
}

func employment(i int, kk bool) sample {
	num := fmt.Sprintf("%d-ТД", 7+i)
	date := day(2026, time.Month(2+i), 10)
	person := people[(i+1)%len(people)]
	personIIN := iin(300 + i*17)
	ph := phones[i%len(phones)]
	title := "ТРУДОВОЙ ДОГОВОР " + numberForms[i%3](num)
	lines := []string{
		"г. Шымкент    " + dateForms[(i+1)%4](date, false),
		ownName + ", БИН " + ownBIN + ", именуемое в дальнейшем «Работодатель», в лице директора Ахметова А.А., с одной стороны, и",
		"Работник: " + person + ", ИИН " + personIIN + phoneSuffix(ph.text) + ",",
		"с другой стороны, заключили настоящий трудовой договор о нижеследующем:",
		"1. Работник принимается на должность менеджера по продажам.",
		"2. Должностной оклад составляет 350 000 тенге в месяц, перечисляется на счет KZ926010131000123456.",
	}
	if kk {
		title = "ЕҢБЕК ШАРТЫ " + numberForms[i%3](num)
		lines = []string{
			"Шымкент қ.    " + dateForms[(i+1)%4](date, true),
			"«Эдобот Сервис» ЖШС, БСН " + ownBIN + ", бұдан әрі «Жұмыс беруші», бір тараптан, және",
			"Жұмыскер: " + person + ", ЖСН " + personIIN + phoneSuffix(ph.text) + ",",
			"екінші тараптан, осы еңбек шартын жасасты:",
			"1. Жұмыскер сату жөніндегі менеджер лауазымына қабылданады.",
		}
	}
	return sample{
		name:  fmt.Sprintf("employment-%d-kk=%v", i, kk),
		pages: []prefilltest.Page{{Title: title, Lines: lines}},
		want: prefill.Proposal{Type: prefill.TypeEmploymentContract, Number: num, Date: date,
			Parties: []prefill.Party{{Number: personIIN, Kind: iinbin.KindIIN, Name: person, Phone: ph.e164}}},
	}
}

func reconciliation(i int, kk bool) sample {
	date := day(2026, 9, 30)
	cp := orgs[(i+1)%len(orgs)]
	cpBIN := bin(4000 + i*29)
	cpName := "ТОО «" + cp + "»"
	num := fmt.Sprintf("С-%d", 3+i)
	title := "АКТ СВЕРКИ ВЗАИМНЫХ РАСЧЕТОВ " + numberForms[i%2](num) + " от " + dateForms[i%4](date, false)
	lines := []string{
		"за период: 01.07.2026 - 30.09.2026",
		"между " + ownName + " (БИН " + ownBIN + ")",
		"и " + cpName + " (БИН " + cpBIN + ")",
		"по договору № 12/2026 от 01.01.2026",
		"Сальдо начальное\t0,00",
		"Реализация (01.08.2026)\t150 000,00",
		"Сальдо конечное\t150 000,00",
		"По данным " + ownName + " на 30.09.2026 задолженность в пользу " + ownName + " 150 000,00 тенге.",
	}
	if kk {
		cpName = "«" + cp + "» ЖШС"
		title = "ӨЗАРА ЕСЕП АЙЫРЫСУЛАРДЫ САЛЫСТЫРУ АКТІСІ " + numberForms[i%2](num) + " " + dateForms[i%4](date, true)
		lines = []string{
			"кезең: 01.07.2026 - 30.09.2026",
			"«Эдобот Сервис» ЖШС (БСН " + ownBIN + ")",
			"және " + cpName + " (БСН " + cpBIN + ") арасында",
			"Бастапқы сальдо\t0,00",
			"Соңғы сальдо\t150 000,00",
		}
	}
	return sample{
		name:  fmt.Sprintf("reconciliation-%d-kk=%v", i, kk),
		pages: []prefilltest.Page{{Title: title, Lines: lines, Layout: prefilltest.OneC}},
		want: prefill.Proposal{Type: prefill.TypeReconciliationAct, Number: num, Date: date,
			Parties: []prefill.Party{{Number: cpBIN, Kind: iinbin.KindBIN, Name: cpName}}},
	}
}

// other is a document outside the catalogue that mentions a contract.
func other(i int) sample {
	date := day(2026, 11, 3+i)
	cpBIN := bin(6000 + i*11)
	cpName := "АО «" + orgs[(i+2)%len(orgs)] + "»"
	num := fmt.Sprintf("%d", 3+i)
	return sample{
		name: fmt.Sprintf("other-%d", i),
		pages: []prefilltest.Page{{Title: "ДОПОЛНИТЕЛЬНОЕ СОГЛАШЕНИЕ № " + num + " к договору № 12/2026 от 01.01.2026", Lines: []string{
			"г. Алматы    " + date.Format("02.01.2006"),
			ownName + ", БИН " + ownBIN + ", и " + cpName + ", БИН " + cpBIN + ", договорились о следующем:",
			"1. Продлить срок действия договора до 31.12.2027.",
		}}},
		want: prefill.Proposal{Type: prefill.TypeOther, Number: num, Date: date,
			Parties: []prefill.Party{{Number: cpBIN, Kind: iinbin.KindBIN, Name: cpName}}},
	}
}

// corpus is every sample: contracts (Word and 1C, Russian and Kazakh), acts,
// waybills, powers of attorney, employment contracts, reconciliation acts
// and documents outside the catalogue.
func corpus() []sample {
	var out []sample
	for i := range 4 {
		out = append(out, contract(i, false, false), contract(i+4, true, false))
	}
	for i := range 2 {
		out = append(out, contract(i+8, false, true), contract(i+10, true, true))
	}
	for i := range 4 {
		out = append(out, act(i, false), act(i+4, true))
	}
	for i := range 3 {
		out = append(out, waybill(i, false), waybill(i+3, true))
	}
	for i := range 3 {
		out = append(out, powerOfAttorney(i, false), powerOfAttorney(i+3, true))
	}
	for i := range 3 {
		out = append(out, employment(i, false), employment(i+3, true))
	}
	for i := range 2 {
		out = append(out, reconciliation(i, false), reconciliation(i+2, true))
	}
	for i := range 2 {
		out = append(out, other(i))
	}
	return out
}

// compact prints a proposal for a failure message.
func compact(p prefill.Proposal) string {
	var b strings.Builder
	fmt.Fprintf(&b, "type=%s number=%q date=%s", p.Type, p.Number, p.Date.Format("2006-01-02"))
	if q := p.Party(); q != nil {
		fmt.Fprintf(&b, " party=%s %s %q %s", q.Number, q.Kind, q.Name, q.Phone)
	}
	return b.String()
}
