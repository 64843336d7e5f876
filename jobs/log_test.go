package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"edobot/core"
	"edobot/storage/storagetest"
)

// lines is a log destination that hands each JSON line to a channel.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
	out chan map[string]any
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadBytes('\n')
		if err != nil {
			l.buf.Write(line) // the rest of a line still coming
			return len(p), nil
		}
		var rec map[string]any
		if json.Unmarshal(line, &rec) == nil {
			select {
			case l.out <- rec:
			default: // nobody is reading any more
			}
		}
	}
}

// A failed attempt is logged with the task's id, so an operator can find
// the task in asynq's tools.
func TestFailedTaskLoggedWithItsID(t *testing.T) {
	f := storagetest.NewFixture(t)
	drainOutbox(t, f.DB)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer hook.Close()
	if err := f.DB.SetWebhook(context.Background(), core.Webhook{OrgID: f.Sender.OrgID, URL: hook.URL, Secret: core.NewToken()}); err != nil {
		t.Fatal(err)
	}
	logs := &lines{out: make(chan map[string]any, 100)}
	cfg := testConfig(t)
	cfg.RetryBase = time.Hour // one attempt is enough
	startRunner(t, New(cfg, Deps{Store: f.DB, Logger: slog.New(slog.NewJSONHandler(logs, nil))}))
	doc := f.Create(t)
	ids := outboxIDs(t, f.DB, doc.ID)
	if len(ids) != 1 {
		t.Fatalf("events of the new document: %v", ids)
	}
	deadline := time.After(patience)
	for {
		select {
		case rec := <-logs.out:
			if rec["msg"] != "task failed" || rec["type"] != TaskWebhook {
				continue
			}
			if rec["id"] != "webhook:"+ids[0] {
				t.Fatalf("the failed task is logged with id %q, want %q: %v", rec["id"], "webhook:"+ids[0], rec)
			}
			return
		case <-deadline:
			t.Fatal("no failed webhook task was logged")
		}
	}
}
