package prefill_test

import (
	"os"
	"testing"

	"edobot/core/prefill/prefilltest"
)

func TestZZGen(t *testing.T) {
	s := contract(0, false, false)
	os.WriteFile("/tmp/large.pdf", prefilltest.Large(s.pages[0], s.pages[len(s.pages)-1], 200, 15<<20), 0o644)
}
