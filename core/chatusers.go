package core

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Identity is the people behind the chats: who they are, what they read
// and where they are in a conversation, how they prove their IIN and BIN
// (auth.go), and the documents and parties a chat reaches.
type Identity struct {
	*records
	chats    ChatStore
	inbox    InboxStore
	verifier SignatureVerifier
	orgs     *Organisations
	log      *slog.Logger
}

// Channels a chat user can come from.
const (
	ChannelTelegram = "telegram"
	ChannelWhatsApp = "whatsapp"
)

// Languages users can read.
var Languages = []string{"ru", "kk", "en"}

func validLanguage(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// ChatUser returns the person behind a messenger account who wrote to the
// bot, registering them on first contact in the language their messenger
// reports (Russian otherwise). aliases are other ids the messenger knows the
// same person by (WhatsApp's phone-number JID beside the hidden one): a
// person stored under one of them before is the same chat user, now keyed on
// externalID, with one conversation, language and binding.
func (s *Identity) ChatUser(ctx context.Context, channel, externalID, name, lang string, aliases ...string) (*ChatUser, error) {
	now := s.now()
	return s.ensureChatUser(ctx, channel, externalID, name, lang, &now, aliases)
}

// ReachedChatUser returns the chat of a person the bot is about to write to
// first (a WhatsApp number reached by phone), without counting it as the
// person having written. aliases are as for ChatUser.
func (s *Identity) ReachedChatUser(ctx context.Context, channel, externalID, name, lang string, aliases ...string) (*ChatUser, error) {
	return s.ensureChatUser(ctx, channel, externalID, name, lang, nil, aliases)
}

func (s *Identity) ensureChatUser(ctx context.Context, channel, externalID, name, lang string, wrote *time.Time, aliases []string) (*ChatUser, error) {
	if channel != ChannelTelegram && channel != ChannelWhatsApp || externalID == "" {
		return nil, fmt.Errorf("chat user: bad channel %q or empty id", channel)
	}
	if !validLanguage(lang) {
		lang = "ru"
	}
	u := &ChatUser{Channel: channel, ExternalID: externalID, Name: TextPersonName.Sanitize(name), Language: lang, WroteAt: wrote}
	if err := s.store.EnsureChatUser(ctx, u, aliases...); err != nil {
		return nil, err
	}
	return u, nil
}

// SetLanguage changes the language a chat user reads (/lang).
func (s *Identity) SetLanguage(ctx context.Context, u *ChatUser, lang string) error {
	if !validLanguage(lang) {
		return &Refusal{Code: CodeInvalidLanguage, Detail: lang}
	}
	if err := s.store.SetChatLanguage(ctx, u.ID, lang); err != nil {
		return err
	}
	u.Language = lang
	return nil
}
