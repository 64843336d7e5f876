package tgtest

import (
	"encoding/json"
	"strings"
)

// RefuseEmptyCopyText makes the server refuse an inline button carrying a
// copy_text without text, which the Bot API describes as optional and a
// bot has no reason to send (github.com/go-telegram/bot's own types send
// one on every button).
func (s *Server) RefuseEmptyCopyText() { s.strict.Store(true) }

// checkStrict refuses a request with an empty copy_text on a server that
// asked for it.
func (s *Server) checkStrict(p *params) *apiError {
	if !s.strict.Load() || p == nil {
		return nil
	}
	raw := p.v["reply_markup"]
	if !strings.Contains(raw, "copy_text") {
		return nil
	}
	var kb struct {
		InlineKeyboard [][]map[string]json.RawMessage `json:"inline_keyboard"`
	}
	if json.Unmarshal([]byte(raw), &kb) != nil {
		return nil // parseMarkup tells
	}
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			c, ok := b["copy_text"]
			if !ok {
				continue
			}
			var ct struct {
				Text string `json:"text"`
			}
			if json.Unmarshal(c, &ct) != nil || ct.Text == "" {
				return badRequest("can't parse inline keyboard button: copy_text must have non-empty text")
			}
		}
	}
	return nil
}
