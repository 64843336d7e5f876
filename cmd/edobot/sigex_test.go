package main

import (
	"strings"
	"testing"

	"edobot/core/sigex/sigextest"
)

// A bad EDOBOT_EGOV_VIA or EDOBOT_SIGEX_URL stops serve before it touches
// anything, naming the variable.
func TestEgovViaIsChecked(t *testing.T) {
	for _, c := range []struct{ via, url, want string }{
		{"sigx", "", "EDOBOT_EGOV_VIA"},
		{"sigex", "sigex.kz", "EDOBOT_SIGEX_URL"},
	} {
		t.Setenv("EDOBOT_EGOV_VIA", c.via)
		t.Setenv("EDOBOT_SIGEX_URL", c.url)
		if _, errOut, code := runCmd(t, "serve"); code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s %q: %d %q", c.via, c.url, code, errOut)
		}
	}
}

// serve starts, is ready and stops cleanly with signing through SIGEX.
func TestServeThroughSIGEX(t *testing.T) {
	t.Setenv("EDOBOT_EGOV_VIA", "sigex")
	t.Setenv("EDOBOT_SIGEX_URL", sigextest.NewServer(t).URL)
	TestServe(t)
}
