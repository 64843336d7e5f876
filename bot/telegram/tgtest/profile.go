package tgtest

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/go-telegram/bot/models"
)

// profile holds the commands and descriptions the bot set for each
// language_code ("" for every language without its own).
type profile struct {
	mu           sync.Mutex
	commands     map[string][]models.BotCommand
	descriptions map[string]string
}

func (s *Server) profile() *profile { return &s.prof }

// setMyCommandsByLanguage is setMyCommands, kept per language_code too.
func (s *Server) setMyCommandsByLanguage(r *http.Request, p *params) (any, *apiError) {
	res, aerr := s.setMyCommands(r, p)
	if aerr != nil {
		return nil, aerr
	}
	var cmds []models.BotCommand
	_ = json.Unmarshal([]byte(p.v["commands"]), &cmds)
	pr := s.profile()
	pr.mu.Lock()
	pr.commands[p.v["language_code"]] = cmds
	pr.mu.Unlock()
	return res, nil
}

func (s *Server) setMyDescription(_ *http.Request, p *params) (any, *apiError) {
	d := p.v["description"]
	if utf16Len(d) > 512 {
		return nil, badRequest("BOT_DESCRIPTION_INVALID")
	}
	pr := s.profile()
	pr.mu.Lock()
	pr.descriptions[p.v["language_code"]] = d
	pr.mu.Unlock()
	return true, nil
}

// CommandsFor is the command menu the bot set for a language_code.
func (s *Server) CommandsFor(lang string) []models.BotCommand {
	pr := s.profile()
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.commands[lang]
}

// DescriptionFor is the description the bot set for a language_code.
func (s *Server) DescriptionFor(lang string) string {
	pr := s.profile()
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.descriptions[lang]
}
