package web

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"edobot/core/pdfintake/pdftest"
	"edobot/storage/storagetest"
)

func TestPace(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	p := pace{start: start, grace: 10 * time.Second, rate: 1000, max: time.Minute}
	if got := p.deadline(0); !got.Equal(start.Add(10 * time.Second)) {
		t.Fatalf("nothing moved yet: %v", got)
	}
	p.n = 5000 // 5 s worth at 1000 B/s
	if got := p.deadline(1000); !got.Equal(start.Add(16 * time.Second)) {
		t.Fatalf("after 5000 bytes, for 1000 more: %v", got)
	}
	// A write is given the grace and its own size from when it starts.
	if got := p.writeDeadline(start.Add(20*time.Second), 2000); !got.Equal(start.Add(32 * time.Second)) {
		t.Fatalf("a write of 2000 bytes at 20 s: %v", got)
	}
	p.n = 1 << 30
	if got := p.deadline(0); !got.Equal(start.Add(time.Minute)) {
		t.Fatalf("never beyond the maximum: %v", got)
	}
	if got := p.writeDeadline(start.Add(55*time.Second), 1000); !got.Equal(start.Add(time.Minute)) {
		t.Fatalf("a write never beyond the maximum: %v", got)
	}
}

// liveServer runs s as serve does, on a loopback port, and reports each
// connection the server closes.
func liveServer(t testing.TB, s *Server) (url string, closed <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := s.NewHTTPServer("")
	ch := make(chan string, 1024)
	hs.ConnState = func(c net.Conn, state http.ConnState) {
		if state == http.StateClosed {
			ch <- c.RemoteAddr().String()
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(s.LimitListener(ln))
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		_ = hs.Close()
		<-done
	})
	return "http://" + ln.Addr().String(), ch
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestSlowAndStalledClients opens more hostile connections than the server
// holds (slow headers, bodies trickling in, idle keep-alives, downloads
// nobody reads) and checks that a normal client is still answered, that
// the server closes every hostile connection itself, and that the memory
// the stalled downloads held is freed.
func TestSlowAndStalledClients(t *testing.T) {
	f := storagetest.NewFixture(t)
	big, err := f.Svc.CreateDocument(context.Background(), f.Sender, f.NewDocument(), bytes.NewReader(pdftest.PDFOfSize(20, 15<<20)))
	if err != nil {
		t.Fatal(err)
	}
	// Short deadlines, so that the server gives up on the hostile clients
	// soon; the test waits for it to do so, however long it takes. The
	// normal clients send their headers at once and read as fast as they
	// can; RequestTimeout, which is what each piece of a download gets, is
	// longer, so that a loaded machine does not cut them.
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc, Limits: Limits{
		MaxConns: 32, HeaderTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second, RequestTimeout: 10 * time.Second,
		MinRate: 4 << 20, TransferMax: time.Minute, Rates: NoRateLimits()}}
	url, closed := liveServer(t, s)
	addr := url[len("http://"):]
	client := &http.Client{Timeout: 2 * time.Minute}
	get := func(path string) (int, int64) {
		t.Helper()
		resp, err := client.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n, _ := io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, n
	}
	// Whole downloads, as many at once as will stall below, warm up what
	// they use (the database connections' buffers among it).
	const each = 8
	var warm sync.WaitGroup
	for range each {
		warm.Go(func() {
			if code, n := get("/d/" + big.LinkToken + "/file"); code != 200 || n != 15<<20 {
				t.Errorf("download: %d, %d bytes", code, n)
			}
		})
	}
	warm.Wait()
	client.CloseIdleConnections()
	// The database connections keep read buffers as big as the chunks they
	// read, bounded by the pool's size and not by the clients: both
	// measures are taken without them.
	f.DB.Pool.Reset()
	idle := liveHeap()

	var mu sync.Mutex
	hostile := map[string]string{} // local address → what it does
	open := func(what, request string, readAnswer bool) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		mu.Lock()
		hostile[c.LocalAddr().String()] = what
		mu.Unlock()
		if _, err := io.WriteString(c, request); err != nil {
			t.Fatal(err)
		}
		if readAnswer {
			go func() { // read the answer, then sit idle
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
				}
			}()
		}
	}
	for i := range each {
		open("slow headers", "GET /healthz HTTP/1.1\r\nHost: edobot\r\nX-Slow: ", false)
		open("slow body, unauthenticated", "POST /api/v1/documents HTTP/1.1\r\nHost: edobot\r\nContent-Type: multipart/form-data; boundary=x\r\n"+
			"Content-Length: 1000000\r\n\r\n--x\r\n", false)
		open("slow body to a handler that reads it", fmt.Sprintf("POST /d/%s/sign HTTP/1.1\r\nHost: edobot\r\nContent-Type: application/json\r\n"+
			"Content-Length: 1000000\r\n\r\n{\"cms\":\"%d", big.LinkToken, i), false)
		open("idle keep-alive", "GET /healthz HTTP/1.1\r\nHost: edobot\r\n\r\n", true)
		open("stalled download", "GET /d/"+big.LinkToken+"/file HTTP/1.1\r\nHost: edobot\r\n\r\n", false)
	}
	// 40 hostile connections for 32 places: a normal client waits for the
	// server to drop some, and is answered.
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("a normal client during the attack: %d", code)
	}
	// The server closes every hostile connection itself.
	wait := time.After(2 * time.Minute)
	for left := len(hostile); left > 0; {
		select {
		case a := <-closed:
			mu.Lock()
			if _, ok := hostile[a]; ok {
				delete(hostile, a)
				left--
			}
			mu.Unlock()
		case <-wait:
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("the server never closed %d connections: %v", left, hostile)
		}
	}
	if code, n := get("/d/" + big.LinkToken + "/file"); code != 200 || n != 15<<20 {
		t.Fatalf("download after the attack: %d, %d bytes", code, n)
	}
	client.CloseIdleConnections()
	// What the stalled downloads held is freed: the heap is back near idle.
	f.DB.Pool.Reset()
	after := liveHeap()
	t.Logf("live heap: %d KiB idle, %d KiB after the attack", idle>>10, after>>10)
	if after > idle+4<<20 {
		t.Fatalf("live heap %d MiB after the clients were dropped, %d MiB idle", after>>20, idle>>20)
	}
}
