package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"edobot/bot/telegram/tgtest"
	"edobot/bot/web"
	"edobot/bot/web/openapitest"
	"edobot/core"
	"edobot/core/coretest"
	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature/sigtest"
	"edobot/jobs"
	"edobot/storage/storagetest"
)

// instancesRedisDB is the Redis database of this test; its keys carry a
// prefix of the run's own and are deleted at the end.
const instancesRedisDB = 9

// The rate the test holds the instances to: tight enough that the
// notifications queue up against it.
const (
	twoRate    = 40 // messages a second over both instances
	twoBurst   = 3
	twoPerChat = 10 * time.Millisecond
)

// TestTwoInstances runs two whole serve wirings (web server, jobs, Telegram
// bot in webhook mode against the fake Bot API) on one PostgreSQL and one
// Redis, and drives 200 status changes through both: 100 documents created
// by the API, each through either instance, and signed by its sender on the
// link page of the other. Every chat is told of every change exactly once,
// every change reaches the webhook exactly once, and the Telegram rate limit
// holds over both instances together: every slot the two limiters granted,
// as the shared Redis script decided it, keeps to the rate, its burst and
// the per-chat spacing, and each message sent had its slot.
func TestTwoInstances(t *testing.T) {
	ctx := context.Background()
	f := storagetest.NewFixture(t)
	if _, err := f.DB.Pool.Exec(ctx, `UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	tg := tgtest.New(t)
	tg.WaitTimeout = 3 * time.Minute

	// Signatures the instances trust: a test CA in EDOBOT_TRUSTED_CA.
	root := sigtest.NewRoot(t, "TWO INSTANCES ROOT")
	nca := root.Intermediate(t, "TWO INSTANCES NCA")
	signer := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: f.Sender.Number, Surname: "ИВАНОВ", Name: "ИВАН",
		Organisation: "ТОО «Отправитель»"}, nca.Cert)
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caPath, root.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}

	var rb [4]byte
	_, _ = rand.Read(rb[:])
	prefix := "two-" + hex.EncodeToString(rb[:]) + ":"
	t.Setenv("DATABASE_URL", storagetest.URL(t))
	if os.Getenv("REDIS_ADDR") == "" {
		t.Setenv("REDIS_ADDR", "127.0.0.1:6379")
	}
	t.Setenv("EDOBOT_REDIS_DB", strconv.Itoa(instancesRedisDB))
	t.Setenv("EDOBOT_QUEUE_PREFIX", prefix)
	t.Setenv("EDOBOT_TELEGRAM_RATE", fmt.Sprintf("%d/s,%s,%d", twoRate, twoPerChat, twoBurst))
	// Every document is signed through its link from this one address.
	t.Setenv("EDOBOT_RATE_SIGN", "off")
	t.Setenv("EDOBOT_OUTBOX_POLL", "50ms")
	t.Setenv("EDOBOT_QUEUE_POLL", "20ms")
	t.Setenv("EDOBOT_TRUSTED_CA", caPath)
	t.Setenv("EDOBOT_NCA", "off")      // the test CA only: NCA's site is out of reach
	t.Setenv("EDOBOT_OCSP_URL", "off") // and so are its responders
	t.Setenv("TELEGRAM_TOKEN", tgtest.Token)
	t.Setenv("TELEGRAM_API_URL", tg.URL)
	t.Setenv("TELEGRAM_WEBHOOK_SECRET", "two-instances-secret")
	t.Cleanup(func() { deleteRedisKeys(t, prefix) })

	// The webhook: every delivery counted by its event id.
	var hookMu sync.Mutex
	hooks := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookMu.Lock()
		hooks[r.Header.Get("X-Edobot-Event")]++
		hookMu.Unlock()
	}))
	defer hook.Close()
	f.Wire(func(deps *core.Deps) { deps.Webhooks = f.DB })
	if _, err := f.Svc.SetWebhook(ctx, f.Sender.Number, hook.URL); err != nil {
		t.Fatal(err)
	}
	key, _, err := f.Svc.CreateAPIKey(ctx, f.Sender.Number)
	if err != nil {
		t.Fatal(err)
	}

	// Two instances; Telegram calls the first one's webhook, as a balancer
	// would pick one.
	addrs := []string{freeAddr(t), freeAddr(t)}
	t.Setenv("TELEGRAM_WEBHOOK_URL", "http://"+addrs[0]+"/telegram/webhook")
	var grantMu sync.Mutex
	var grants []jobs.Grant
	perInstance := make([]int, 2)
	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	var logs [2]coretest.Buffer
	for i, addr := range addrs {
		cfg := mustConfig(t)
		cfg.HTTPAddr, cfg.PublicURL = addr, "http://"+addr
		log := slog.New(slog.NewJSONHandler(&logs[i], &slog.HandlerOptions{Level: slog.LevelWarn}))
		running.Go(func() {
			err := serveWith(runCtx, cfg, log, func(d *jobs.Deps) {
				d.OnRateGrant = func(g jobs.Grant) {
					grantMu.Lock()
					grants = append(grants, g)
					perInstance[i]++
					grantMu.Unlock()
				}
			})
			if err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
		})
	}
	t.Cleanup(func() {
		stop()
		running.Wait()
		if t.Failed() {
			t.Logf("instance logs:\n%s\n%s", logs[0].String(), logs[1].String())
		}
	})
	for _, addr := range addrs {
		waitReady(t, "http://"+addr)
	}

	// A chat of each organisation, known to the fake server.
	chatUsers := map[int64]string{} // Telegram id → chat user id, the limiter's name of the chat
	chat := func(orgID int64, id int64) tgtest.User {
		u := tgtest.User{ID: id, FirstName: "Чат", LanguageCode: "ru"}
		cu := core.ChatUser{Channel: core.ChannelTelegram, ExternalID: strconv.FormatInt(id, 10), Name: "Чат", Language: "ru"}
		if err := f.DB.EnsureChatUser(ctx, &cu); err != nil {
			t.Fatal(err)
		}
		if err := f.DB.BindChatUser(ctx, cu.ID, storagetest.RandomIIN(), orgID, time.Now()); err != nil {
			t.Fatal(err)
		}
		chatUsers[id] = strconv.FormatInt(cu.ID, 10)
		tg.Say(t, u, "/start", func(tgtest.Message) bool { return true })
		return u
	}
	senderChat, recipientChat := chat(f.Sender.OrgID, 7_100_001), chat(f.Recipient.OrgID, 7_100_002)
	before := map[int64]int{senderChat.ID: len(tg.Messages(senderChat.ID)), recipientChat.ID: len(tg.Messages(recipientChat.ID))}
	callsBefore := tg.Calls("sendMessage")

	// 200 status changes across both instances, four clients at a time.
	const docs = 100
	pdf := pdftest.PDF(1)
	cmss := make([][]byte, docs)
	for i := range cmss {
		cmss[i] = signer.SignCMS(t, pdf, sigtest.CMSOptions{})
	}
	work := make(chan int)
	var clients sync.WaitGroup
	for range 4 {
		clients.Go(func() {
			for i := range work {
				link := createDoc(t, "http://"+addrs[i%2], key, f.Recipient.Number, docNumber(i), pdf)
				signByLink(t, "http://"+addrs[(i+1)%2], link, cmss[i])
			}
		})
	}
	for i := range docs {
		work <- i
	}
	close(work)
	clients.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// Wait for every message, then for nothing to be left on its way.
	want := map[int64]int{recipientChat.ID: 2 * docs, senderChat.ID: docs}
	for id, n := range want {
		tg.WaitCount(t, id, before[id]+n)
	}
	waitDrained(t, f, prefix, func() bool {
		hookMu.Lock()
		defer hookMu.Unlock()
		return len(hooks) == 2*docs
	})

	// Each chat: each change exactly once, and nothing else.
	for id, n := range want {
		msgs := tg.Messages(id)[before[id]:]
		notes := 0
		for _, m := range msgs {
			if strings.Contains(m.Text, "подписал(а) документ") || strings.Contains(m.Text, "Новый документ на подпись") {
				notes++
			}
		}
		if len(msgs) != n || notes != n {
			t.Errorf("chat %d got %d messages, %d of them notifications; want %d", id, len(msgs), notes, n)
		}
		for i := range docs {
			title := "№" + docNumber(i) + " от"
			heads := []string{"подписал(а) документ"}
			if id == recipientChat.ID {
				heads = append(heads, "Новый документ на подпись")
			}
			for _, head := range heads {
				got := 0
				for _, m := range msgs {
					if strings.Contains(m.Text, title) && strings.Contains(m.Text, head) {
						got++
					}
				}
				if got != 1 {
					t.Errorf("chat %d: %q of %s %d times", id, head, docNumber(i), got)
				}
			}
		}
	}
	hookMu.Lock()
	for ev, n := range hooks {
		if n != 1 {
			t.Errorf("webhook event %s delivered %d times", ev, n)
		}
	}
	hookMu.Unlock()
	var events int
	if err := f.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox o JOIN documents d ON d.id = o.document_id
		WHERE d.sender_org_id = $1`, f.Sender.OrgID).Scan(&events); err != nil || events != 2*docs {
		t.Fatalf("%d events in the outbox, want %d (%v)", events, 2*docs, err)
	}

	// The rate limit, over both instances.
	grantMu.Lock()
	defer grantMu.Unlock()
	// Every delivery takes its slot before the chat's front end draws it:
	// the sender's chat is told nothing of a document created (it made
	// it), yet that delivery had its slot too.
	if sent := tg.Calls("sendMessage") - callsBefore; sent != 3*docs {
		t.Fatalf("%d messages sent, want %d", sent, 3*docs)
	}
	slots := map[string]int{}
	for _, g := range grants {
		slots[g.Chat]++
	}
	for id, n := range map[int64]int{recipientChat.ID: 2 * docs, senderChat.ID: 2 * docs} {
		if slots[chatUsers[id]] != n {
			t.Errorf("chat %d: %d slots, want one for each of its %d deliveries", id, slots[chatUsers[id]], n)
		}
	}
	if perInstance[0] == 0 || perInstance[1] == 0 {
		t.Errorf("one instance sent everything: %v", perInstance)
	}
	checkGCRA(t, grants, twoRate, twoBurst, twoPerChat)
}

// checkGCRA checks granted slots against the limit: sorted by time, any
// j-i+1 consecutive slots span at least (j-i+1-burst) emission intervals,
// which is what the generic cell rate algorithm guarantees, and one chat's
// slots are at least perChat apart.
func checkGCRA(t *testing.T, grants []jobs.Grant, rate, burst int, perChat time.Duration) {
	t.Helper()
	every := time.Duration(int64(float64(time.Second/time.Microsecond)/float64(rate))) * time.Microsecond
	at := make([]time.Time, len(grants))
	byChat := map[string][]time.Time{}
	for i, g := range grants {
		at[i] = g.At
		byChat[g.Chat] = append(byChat[g.Chat], g.At)
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	tight := 0
	for i := range at {
		for j := i + 1; j < len(at); j++ {
			least := time.Duration(j-i+1-burst) * every
			if span := at[j].Sub(at[i]); span < least {
				t.Fatalf("slots %d..%d span %v, less than %v: %d messages over the rate of %d/s with a burst of %d",
					i, j, span, least, j-i+1, rate, burst)
			} else if span == least && j-i+1 > burst {
				tight++
			}
		}
	}
	// How often the limit bound depends on how fast this machine renders
	// the messages, so it is told, not asserted.
	t.Logf("%d windows of slots exactly at the rate", tight)
	for chat, ts := range byChat {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		for i := 1; i < len(ts); i++ {
			if d := ts[i].Sub(ts[i-1]); d < perChat {
				t.Fatalf("chat %s: two slots %v apart, less than %v", chat, d, perChat)
			}
		}
	}
}

func docNumber(i int) string { return fmt.Sprintf("T-%03d", i) }

// createDoc creates a document through an instance's API and returns its link.
func createDoc(t *testing.T, base, key, recipient, number string, pdf []byte) string {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"type": "contract", "number": number, "date": "2026-11-01",
		"recipient_kind": "counterparty", "recipient_iin_bin": recipient, "recipient_name": "ТОО «Контрагент»"} {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "doc.pdf")
	_, _ = fw.Write(pdf)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", base+"/api/v1/documents", &body)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Idempotency-Key", "two-"+number)
	resp, err := openapitest.New(t, web.OpenAPI(), "/api/v1/").Client(t).Do(req)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	var d struct{ Link string }
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(out, &d) != nil || d.Link == "" {
		t.Errorf("create %s on %s: %d %s", number, base, resp.StatusCode, out)
	}
	return d.Link
}

// signByLink posts the sender's CMS to the link page of an instance.
func signByLink(t *testing.T, base, link string, cms []byte) {
	token := link[strings.LastIndex(link, "/d/")+3:]
	body, _ := json.Marshal(map[string]string{"cms": base64.StdEncoding.EncodeToString(cms)})
	resp, err := http.Post(base+"/d/"+token+"/sign", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"signing"`) {
		t.Errorf("sign %s on %s: %d %s", token, base, resp.StatusCode, out)
	}
}

// waitReady waits for an instance's /readyz.
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready: %v", base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitDrained waits until the outbox is relayed, no task of the run's
// queues is pending, running, scheduled or waiting for a retry, and done
// holds: nothing more can be sent.
func waitDrained(t *testing.T, f *storagetest.Fixture, prefix string, done func() bool) {
	t.Helper()
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: os.Getenv("REDIS_ADDR"), DB: instancesRedisDB})
	defer insp.Close()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		idle := done()
		var pending int
		if err := f.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE sent_at IS NULL`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		idle = idle && pending == 0
		for _, q := range []string{jobs.QueueNotify, jobs.QueueWebhooks} {
			info, err := insp.GetQueueInfo(prefix + q)
			if err != nil || info.Pending+info.Active+info.Scheduled+info.Retry+info.Aggregating > 0 {
				idle = false
			}
		}
		if idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queues did not drain")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func deleteRedisKeys(t *testing.T, prefix string) {
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR"), DB: instancesRedisDB})
	defer rdb.Close()
	ctx := context.Background()
	keys, _ := rdb.Keys(ctx, "*"+prefix+"*").Result()
	if len(keys) > 0 {
		rdb.Del(ctx, keys...)
	}
	for _, q := range []string{jobs.QueueNotify, jobs.QueueWebhooks, jobs.QueuePeriodic} {
		rdb.SRem(ctx, "asynq:queues", prefix+q)
	}
}
