package flow

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"edobot/bot/i18n"
	"edobot/core"
)

// The database out of reach is told as such in the chat; any other fault
// is a plain apology.
func TestFailureTellsTheDatabaseOutOfReach(t *testing.T) {
	f := &Flow{Cat: i18n.MustNew(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	u := &core.ChatUser{ID: 1, Language: "ru"}
	down := f.failure(t.Context(), u, fmt.Errorf("read: %w", core.ErrStoreUnavailable))
	if want := f.Cat.Error("ru", core.ErrUnavailable); len(down) != 1 || !strings.Contains(down[0].Text, want) {
		t.Errorf("database out of reach: %+v, want %q", down, want)
	}
	other := f.failure(t.Context(), u, errors.New("something else"))
	if want := f.Cat.Error("ru", errors.New("x")); len(other) != 1 || !strings.Contains(other[0].Text, want) || other[0].Text == down[0].Text {
		t.Errorf("another fault: %+v", other)
	}
}
