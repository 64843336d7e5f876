// Package i18n is everything a user reads, in Russian, Kazakh and English,
// and the translation of core's refusals into those words. Messages live in
// locales/*.json, one file per language, loaded by go-i18n.
package i18n

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"edobot/core"
)

//go:embed locales/*.json
var locales embed.FS

// Languages are the languages users can choose, the default first.
var Languages = core.Languages

// Choice is a language as offered to choose: its code and its name in
// itself.
type Choice struct{ Code, Name string }

// Choices are the languages as the chats and pages offer them, Kazakh
// first.
var Choices = []Choice{{"kk", "Қазақша"}, {"ru", "Русский"}, {"en", "English"}}

// Catalog renders messages.
type Catalog struct {
	bundle *goi18n.Bundle
	loc    map[string]*goi18n.Localizer
}

// New loads the embedded catalogue.
func New() (*Catalog, error) {
	b := goi18n.NewBundle(language.Russian)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	c := &Catalog{bundle: b, loc: map[string]*goi18n.Localizer{}}
	for _, lang := range Languages {
		if _, err := b.LoadMessageFileFS(locales, "locales/"+lang+".json"); err != nil {
			return nil, fmt.Errorf("load %s messages: %w", lang, err)
		}
		c.loc[lang] = goi18n.NewLocalizer(b, lang)
	}
	return c, nil
}

// MustNew is New for start-up code; the catalogue is embedded, so a failure
// is a build defect.
func MustNew() *Catalog {
	c, err := New()
	if err != nil {
		panic(err)
	}
	return c
}

// Lang picks a supported language from a messenger's language code ("kk",
// "ru-RU", "en-US"…), falling back to Russian.
func Lang(code string) string {
	tag, err := language.Parse(code)
	if err == nil {
		base, _ := tag.Base()
		for _, l := range Languages {
			if base.String() == l {
				return l
			}
		}
	}
	return "ru"
}

func (c *Catalog) localizer(lang string) *goi18n.Localizer {
	if l, ok := c.loc[lang]; ok {
		return l
	}
	return c.loc["ru"]
}

// Has reports whether the message exists in the language itself, not through
// a fallback.
func (c *Catalog) Has(lang, id string) bool {
	_, tag, err := c.localizer(lang).LocalizeWithTag(&goi18n.LocalizeConfig{MessageID: id})
	return err == nil && tag.String() == lang
}

// Text renders the message id in lang with the template data.
func (c *Catalog) Text(lang, id string, data map[string]any) string {
	s, err := c.localizer(lang).Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// Status is the status's name as users read it.
func (c *Catalog) Status(lang string, s core.Status) string {
	return c.Text(lang, "status."+string(s), nil)
}

// Field is a field's name as people read it; a field the catalogue does not
// name keeps the API's name.
func (c *Catalog) Field(lang, field string) string {
	if field == "" || !c.Has("ru", "field."+field) {
		return field
	}
	return c.Text(lang, "field."+field, nil)
}

// coder is any refusal with a message key: core.Refusal's sub-package kin
// (iinbin.Error, pdfintake.Error) implement it.
type coder interface{ Code() string }

// ErrorCode returns the message key of a user-facing refusal, or "" for an
// internal error that must not be shown as is.
func ErrorCode(err error) string {
	if r, ok := core.AsRefusal(err); ok {
		return string(r.Code)
	}
	var c coder
	if errors.As(err, &c) {
		return c.Code()
	}
	return ""
}

// Error renders err for the user: a refusal says exactly what was refused
// and why; anything else becomes a generic apology, never the raw error.
func (c *Catalog) Error(lang string, err error) string {
	code := ErrorCode(err)
	if code == "" || !c.Has("ru", "error."+code) {
		return c.Text(lang, "error.internal", nil)
	}
	data := map[string]any{}
	if r, ok := core.AsRefusal(err); ok {
		if r.Action != "" {
			data["Action"] = c.Text(lang, "action."+string(r.Action), nil)
		}
		if r.Status != "" {
			data["Status"] = c.Status(lang, r.Status)
		}
		data["Field"] = c.Field(lang, r.Field)
		data["Limit"] = r.Limit
		data["Format"] = r.Format
		data["FirstYear"], data["LastYear"] = core.FirstDocYear, core.LastDocYear
		if r.Format == "" {
			data["Format"] = c.Text(lang, "format.date", nil)
		}
	}
	return c.Text(lang, "error."+code, data)
}
