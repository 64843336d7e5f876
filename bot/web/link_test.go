package web

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"edobot/core"
	"edobot/core/coretest"
	"edobot/storage/storagetest"
)

func TestLinkPage(t *testing.T) {
	f := storagetest.NewFixture(t)
	f.Wire(func(deps *core.Deps) { deps.Egov = f.DB })
	clock := coretest.NewClock()
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc, Clock: clock}
	srv := serve(t, s)
	ctx := context.Background()
	d := f.Create(t)
	get := func(path string) (int, string) { return httpGet(t, srv.URL+path) }

	code, page := get("/d/" + d.LinkToken)
	for _, want := range []string{"Договор №" + d.Number + " от 01.11.2026", "Создан", "Құрылды", "ТОО «Контрагент»", "eGov Mobile", d.File.SHA256} {
		if code != 200 || !strings.Contains(page, want) {
			t.Fatalf("link page lacks %q: %d", want, code)
		}
	}
	if code, _ := get("/d/" + d.LinkToken[:20]); code != http.StatusNotFound {
		t.Fatalf("a wrong token: %d", code)
	}
	code, file := get("/d/" + d.LinkToken + "/file")
	if code != 200 || !bytes.Equal([]byte(file), f.PDF) {
		t.Fatalf("the PDF through the link: %d", code)
	}

	// The long poll answers at once for an old version, and on its next
	// look after a change, not at the end of its wait: the test's clock
	// never gets there.
	status := func(version int64) (int, map[string]any) {
		code, body := get("/d/" + d.LinkToken + "/status?version=" + strconv.FormatInt(version, 10))
		var m map[string]any
		_ = json.Unmarshal([]byte(body), &m)
		return code, m
	}
	cur, _ := f.DB.Document(ctx, d.ID)
	if code, m := status(0); code != 200 || m["status"] != "created" {
		t.Fatalf("status: %d %v", code, m)
	}
	type answer struct {
		code int
		m    map[string]any
	}
	polled := make(chan answer, 1)
	go func() {
		code, m := status(cur.Version)
		polled <- answer{code, m}
	}()
	clock.BlockUntil(t, 1) // the poll saw the version it was given, and waits
	f.Sign(t, d.ID, core.SideRecipient)
	clock.Advance(statusPollEvery)
	select {
	case a := <-polled:
		if a.code != 200 || a.m["status"] != "signing" {
			t.Fatalf("long poll answered %d %v", a.code, a.m)
		}
	case <-time.After(coretest.Patience):
		t.Fatal("the long poll did not answer the signature")
	}
	_, page = get("/d/" + d.LinkToken)
	if !strings.Contains(page, "На подписании") || !strings.Contains(page, "ИВАНОВ ИВАН") {
		t.Fatal("the page does not show the signature")
	}

	// Status polls are not visits; page views are, counted, and audited
	// once a visitor a day.
	var audited, views int
	_ = f.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE document_id = $1 AND kind = 'link_opened'`, d.ID).Scan(&audited)
	_ = f.DB.Pool.QueryRow(ctx, `SELECT sum(count) FROM link_visits WHERE document_id = $1 AND what = 'page'`, d.ID).Scan(&views)
	if audited != 1 || views != 2 {
		t.Fatalf("%d visits audited, %d counted; want 1 and 2", audited, views)
	}

	// Revoked: 410 «Документ отозван», nothing of the document.
	if _, err := f.Svc.Revoke(ctx, f.Sender, d.ID); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/d/" + d.LinkToken, "/d/" + d.LinkToken + "/file"} {
		code, page := get(path)
		if code != http.StatusGone || !strings.Contains(page, "Документ отозван") || strings.Contains(page, d.Number) || strings.Contains(page, "%PDF") {
			t.Fatalf("%s after revoke: %d %.200s", path, code, page)
		}
	}
	if code, _ := status(0); code != http.StatusGone {
		t.Fatalf("status after revoke: %d", code)
	}
}

func TestPageImages(t *testing.T) {
	f := storagetest.NewFixture(t)
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc, PageCache: t.TempDir()}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	d := f.Create(t)
	get := func(path string) (int, []byte) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	_, page := get("/d/" + d.LinkToken)
	if !strings.Contains(string(page), "/d/"+d.LinkToken+"/page/2") {
		t.Fatal("the link page does not show page images")
	}
	for n := 1; n <= 2; n++ {
		code, body := get("/d/" + d.LinkToken + "/page/" + strconv.Itoa(n))
		img, err := png.Decode(bytes.NewReader(body))
		if code != 200 || err != nil {
			t.Fatalf("page %d: %d %v", n, code, err)
		}
		// The page has text on it: not every pixel is white.
		b, dark := img.Bounds(), 0
		for y := b.Min.Y; y < b.Max.Y; y += 2 {
			for x := b.Min.X; x < b.Max.X; x += 2 {
				if r, _, _, _ := img.At(x, y).RGBA(); r < 0x8000 {
					dark++
				}
			}
		}
		if b.Dx() < 500 || dark == 0 {
			t.Fatalf("page %d renders blank (%v, %d dark pixels)", n, b, dark)
		}
	}
	for _, bad := range []string{"0", "3", "x"} {
		if code, _ := get("/d/" + d.LinkToken + "/page/" + bad); code != http.StatusNotFound {
			t.Fatalf("page %s: %d", bad, code)
		}
	}
	f.Sign(t, d.ID, core.SideSender)
	if _, err := f.Svc.Revoke(context.Background(), f.Sender, d.ID); err != nil {
		t.Fatal(err)
	}
	if code, _ := get("/d/" + d.LinkToken + "/page/1"); code != http.StatusGone {
		t.Fatalf("a page of a revoked document: %d", code)
	}
}
