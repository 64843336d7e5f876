package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"

	"edobot/bot/telegram/tgtest"
	"edobot/core/coretest"
	"edobot/storage/storagetest"
)

// TestDeviceStore: whatsmeow's tables are created in the service's
// PostgreSQL, opening again upgrades nothing and loses nothing, and a
// saved device is read back as it was: the session survives a restart.
func TestDeviceStore(t *testing.T) {
	ctx := context.Background()
	url := storagetest.URL(t) + "&pool_max_conns=4" // the pool setting must not reach PostgreSQL
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := openDeviceStore(ctx, url, log)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := c.GetFirstDevice(ctx)
	if err != nil || fresh.ID != nil {
		t.Fatalf("first device of an empty store = %+v, %v", fresh, err)
	}
	device := c.NewDevice()
	jid := types.NewADJID("77000000042", 0, 7)
	device.ID = &jid
	device.PushName = "edobot"
	device.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte{1, 2, 3}, AccountSignatureKey: make([]byte, 32),
		AccountSignature: make([]byte, 64), DeviceSignature: make([]byte, 64)}
	if err := device.Save(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	again, err := openDeviceStore(ctx, url, log)
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	defer again.Close()
	got, err := again.GetFirstDevice(ctx)
	if err != nil || got.ID == nil || *got.ID != jid {
		t.Fatalf("reloaded device = %+v, %v", got, err)
	}
	if *got.NoiseKey.Priv != *device.NoiseKey.Priv || *got.IdentityKey.Priv != *device.IdentityKey.Priv ||
		got.RegistrationID != device.RegistrationID || !bytes.Equal(got.AdvSecretKey, device.AdvSecretKey) || got.PushName != "edobot" {
		t.Fatal("the reloaded device's keys differ")
	}
	// The library's own stores work on the reloaded device.
	if err := got.Identities.PutIdentity(ctx, "77011234567@s.whatsapp.net:0", [32]byte{1}); err != nil {
		t.Fatal(err)
	}
	if ok, err := got.Identities.IsTrustedIdentity(ctx, "77011234567@s.whatsapp.net:0", [32]byte{1}); err != nil || !ok {
		t.Fatalf("identity: %v %v", ok, err)
	}
	// The store is empty again for the next run (go test -count=N).
	if err := again.DeleteDevice(ctx, got); err != nil {
		t.Fatal(err)
	}
}

// TestAdminQR: the pairing QR is served only to a holder of the admin token.
func TestAdminQR(t *testing.T) {
	w := &whatsappFront{}
	mux := http.NewServeMux()
	w.adminRoutes("s3cret-admin-token")(mux)
	get := func(auth string) int {
		r := httptest.NewRequest(http.MethodGet, "/admin/whatsapp/qr.png", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		return rec.Code
	}
	if c := get(""); c != http.StatusUnauthorized {
		t.Fatalf("no token: %d", c)
	}
	if c := get("Bearer wrong"); c != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", c)
	}
	// Linked: there is no QR to show.
	if c := get("Bearer s3cret-admin-token"); c != http.StatusNotFound {
		t.Fatalf("linked account: %d", c)
	}
	off := http.NewServeMux()
	w.adminRoutes("")(off)
	rec := httptest.NewRecorder()
	off.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/whatsapp/qr.png", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("no admin token configured: %d", rec.Code)
	}
}

// TestWhatsAppSwitch: EDOBOT_WHATSAPP turns the bot on with on, TRUE (in
// any case) or yes, and leaves it off with off, unset or blank.
func TestWhatsAppSwitch(t *testing.T) {
	on := func(v string) bool {
		t.Helper()
		c, err := loadConfig(envOf("EDOBOT_WHATSAPP", v))
		if err != nil {
			t.Fatalf("EDOBOT_WHATSAPP=%q: %v", v, err)
		}
		return c.WhatsApp
	}
	if !on("on") || !on("TRUE") || !on("On") || !on("yes") || on("off") || on("OFF") || on("") || on("  ") {
		t.Fatal("EDOBOT_WHATSAPP switch")
	}
}

// Deliveries that cannot start are tried again, on the bot's clock, with a
// growing wait, until they run; when ctx ends whileHeld returns.
func TestWhileHeldRetriesTheDeliveries(t *testing.T) {
	clock := coretest.NewClock()
	var attempts atomic.Int32
	running := make(chan struct{})
	w := &whatsappFront{log: slog.New(slog.DiscardHandler), clock: clock, deliveries: func(ctx context.Context) error {
		if attempts.Add(1) <= 2 {
			return errors.New("redis away")
		}
		close(running)
		<-ctx.Done()
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.whileHeld(ctx) }()
	clock.BlockUntil(t, 1)
	if d := clock.LastWait(); d != deliveriesRetryMin {
		t.Fatalf("first wait %v", d)
	}
	clock.Advance(deliveriesRetryMin)
	clock.BlockUntil(t, 1)
	if d := clock.LastWait(); d != 2*deliveriesRetryMin {
		t.Fatalf("second wait %v", d)
	}
	clock.Advance(2 * deliveriesRetryMin)
	select {
	case <-running:
	case <-time.After(coretest.Patience):
		t.Fatal("the deliveries were not started again")
	}
	cancel()
	<-done
	if n := attempts.Load(); n != 3 {
		t.Fatalf("%d attempts", n)
	}
}

// EDOBOT_WHATSAPP=on with a device store that cannot be opened leaves the
// rest serving but not ready: /readyz says why.
func TestWhatsAppStoreFailureIsNotReady(t *testing.T) {
	tg := tgtest.New(t)
	serveEnv(t, tg)
	t.Setenv("EDOBOT_WHATSAPP", "on")
	// A database of its own (serve migrates it), where whatsmeow's version
	// table has a shape whatsmeow cannot read.
	ctx0 := context.Background()
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	name := "edobot_wa_broken_" + hex.EncodeToString(rb[:])
	admin, err := pgx.Connect(ctx0, storagetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(ctx0, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close(ctx0)
	})
	if _, err := admin.Exec(ctx0, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(storagetest.URL(t))
	u.Path = "/" + name
	t.Setenv("DATABASE_URL", u.String())
	own, err := pgx.Connect(ctx0, u.String())
	if err != nil {
		t.Fatal(err)
	}
	_, err = own.Exec(ctx0, `CREATE TABLE whatsmeow_version (broken text)`)
	own.Close(ctx0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs coretest.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, io.Discard, &logs) }()
	base := "http://" + os.Getenv("HTTP_ADDR")
	deadline := time.Now().Add(2 * coretest.Patience)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), `"redis":"ok"`) {
				if resp.StatusCode == http.StatusOK || !strings.Contains(string(body), `"whatsapp"`) {
					t.Fatalf("readyz with the device store broken: %d %s", resp.StatusCode, body)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer; logs:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	waitServeExit(t, done, &logs)
}

// gate is a Lease held once the test opens it.
type gate chan struct{}

func (g gate) Acquire(ctx context.Context) (context.Context, func(), error) {
	select {
	case <-g:
		return ctx, func() {}, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// Only the instance that takes the session announces WhatsApp Web's
// version, before it connects; one that never holds it does not.
func TestVersionAnnouncedByTheHolder(t *testing.T) {
	var announced atomic.Int32
	g := make(gate)
	l := announcingLease{Lease: g, announce: func(context.Context) { announced.Add(1) }}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // gives up waiting at once
	if _, _, err := l.Acquire(ctx); err == nil || announced.Load() != 0 {
		t.Fatalf("not holding: %v, announced %d times", err, announced.Load())
	}
	close(g)
	if _, _, err := l.Acquire(context.Background()); err != nil || announced.Load() != 1 {
		t.Fatalf("holding: %v, announced %d times", err, announced.Load())
	}
}
