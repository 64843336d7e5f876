package core

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestVerifyChain(t *testing.T) {
	build := func() (*Document, []Event) {
		d := &Document{ID: uuid.New()}
		var evs []Event
		for i, k := range []EventKind{EventCreated, EventLinkOpened, EventSigned, EventSigned} {
			e := Event{Kind: k, Actor: "a", At: time.Unix(1700000000+int64(i), 123456789), Details: details(map[string]string{"i": string(rune('0' + i))})}
			chain(d, &e)
			evs = append(evs, e)
		}
		return d, evs
	}
	d, evs := build()
	if err := VerifyChain(d.AuditSeq, d.AuditHead, evs); err != nil {
		t.Fatalf("intact chain: %v", err)
	}
	mutations := map[string]func(evs []Event) []Event{
		"changed actor":   func(evs []Event) []Event { evs[1].Actor = "b"; return evs },
		"changed details": func(evs []Event) []Event { evs[2].Details = []byte(`{"i":"9"}`); return evs },
		"changed time":    func(evs []Event) []Event { evs[0].At = evs[0].At.Add(time.Microsecond); return evs },
		"removed middle":  func(evs []Event) []Event { return append(evs[:1:1], evs[2:]...) },
		"removed last":    func(evs []Event) []Event { return evs[:3] },
		"reordered":       func(evs []Event) []Event { evs[1], evs[2] = evs[2], evs[1]; return evs },
		"rehashed row": func(evs []Event) []Event {
			evs[1].Actor = "b"
			evs[1].Hash = eventHash(&evs[1]) // a consistent row no longer fits the next one
			return evs
		},
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			d, evs := build()
			if err := VerifyChain(d.AuditSeq, d.AuditHead, mutate(evs)); !errors.Is(err, ErrAuditTampered) {
				t.Fatalf("VerifyChain = %v, want ErrAuditTampered", err)
			}
		})
	}
}
