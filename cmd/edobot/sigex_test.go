package main

import (
	"testing"

	"edobot/core/sigex/sigextest"
)

// serve starts, is ready and stops cleanly with signing through SIGEX.
func TestServeThroughSIGEX(t *testing.T) {
	t.Setenv("EDOBOT_EGOV_VIA", "sigex")
	t.Setenv("EDOBOT_SIGEX_URL", sigextest.NewServer(t).URL)
	TestServe(t)
}
