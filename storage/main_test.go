package storage_test

import (
	"testing"

	"edobot/storage/storagetest"
)

// TestMain drops the test binary's database when its tests end.
func TestMain(m *testing.M) { storagetest.Main(m) }
