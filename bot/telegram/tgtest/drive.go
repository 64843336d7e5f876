package tgtest

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// NewUser is a user no earlier test run has seen, for tests whose database
// outlives a run (go test -count=N): a random id, and the username, when
// there is one, made unique with it ("dana" becomes "dana_k3x9f2a1").
func NewUser(firstName, username, lang string) User {
	id := 1_000_000 + rand.Int64N(1<<40)
	if username != "" {
		username += "_" + strconv.FormatInt(id, 36)
	}
	return User{ID: id, FirstName: firstName, Username: username, LanguageCode: lang}
}

// Has reports whether a message's text or caption holds every part.
func Has(parts ...string) func(Message) bool {
	return func(m Message) bool {
		for _, p := range parts {
			if !strings.Contains(m.Text+m.Caption, p) {
				return false
			}
		}
		return true
	}
}

// ButtonOf finds the button of a message whose label holds label.
func ButtonOf(tb testing.TB, m Message, label string) Button {
	tb.Helper()
	for _, row := range m.Buttons {
		for _, b := range row {
			if strings.Contains(b.Text, label) {
				return b
			}
		}
	}
	tb.Fatalf("no button %q in %q: %+v", label, m.Text, m.Buttons)
	return Button{}
}

// After waits for a message of the chat, sent after its first n, that
// satisfies cond.
func (s *Server) After(tb testing.TB, chat int64, n int, cond func(Message) bool) Message {
	tb.Helper()
	return s.Wait(tb, chat, func(m Message) bool {
		ms := s.Messages(chat)
		for i := n; i < len(ms); i++ {
			if ms[i].ID == m.ID {
				return cond(m)
			}
		}
		return false
	})
}

// Say sends text as u and waits for the answer that satisfies cond.
func (s *Server) Say(tb testing.TB, u User, text string, cond func(Message) bool) Message {
	tb.Helper()
	n := len(s.Messages(u.ID))
	s.SendText(u, text)
	return s.After(tb, u.ID, n, cond)
}

// Tap presses the button of m labelled label and waits for the answer that
// satisfies cond: a new message, or m itself redrawn after the press (an
// earlier state of m that happens to satisfy cond is not the answer).
func (s *Server) Tap(tb testing.TB, u User, m Message, label string, cond func(Message) bool) Message {
	tb.Helper()
	ms := s.Messages(u.ID)
	n, edits := len(ms), 0
	for _, x := range ms {
		if x.ID == m.ID {
			edits = x.Edits
		}
	}
	s.Press(u, m.ID, ButtonOf(tb, m, label).Data)
	return s.Wait(tb, u.ID, func(x Message) bool {
		if !cond(x) {
			return false
		}
		ms := s.Messages(u.ID)
		for i := range ms {
			if ms[i].ID == x.ID {
				return i >= n || x.ID == m.ID && x.Edits > edits
			}
		}
		return false
	})
}
