package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSpoolHelperProcess is not a test: TestSpoolOfAKilledProcessIsRemoved
// runs the test binary as a process that claims a spool directory, spools a
// file into it and waits to be killed.
func TestSpoolHelperProcess(t *testing.T) {
	base := os.Getenv("EDOBOT_SPOOL_HELPER")
	if base == "" {
		t.Skip("helper process only")
	}
	d, _, err := claimSpoolDir(base)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	if err := os.WriteFile(filepath.Join(d.path, "edobot-upload-123"), []byte("%PDF-half"), 0o600); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(d.path)
	for {
		time.Sleep(time.Hour) // until killed
	}
}

// A process killed with SIGKILL leaves its spooled files; the next start
// removes them, and nothing of a live instance sharing the directory, nor
// anything that is not a spool.
func TestSpoolOfAKilledProcessIsRemoved(t *testing.T) {
	base := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolHelperProcess$")
	cmd.Env = append(os.Environ(), "EDOBOT_SPOOL_HELPER="+base)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, base) {
		cmd.Process.Kill()
		t.Fatalf("helper: %q %v", line, err)
	}
	deadDir := strings.TrimSpace(line)

	// While the helper lives, its spool is its own.
	live, removed, err := claimSpoolDir(base)
	if err != nil || len(removed) != 0 {
		t.Fatalf("with the helper alive: removed %v, %v", removed, err)
	}
	if _, err := os.Stat(filepath.Join(deadDir, "edobot-upload-123")); err != nil {
		t.Fatalf("a live process's spool was touched: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // the kernel has released its lock once it is reaped

	// Not ours, or not a spool: left alone.
	foreign := []string{"edobot-pages", "pdfintake-1.pdf", "other-program.tmp"}
	for _, n := range foreign {
		if err := os.WriteFile(filepath.Join(base, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(live.path, "edobot-upload-456"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	next, removed, err := claimSpoolDir(base)
	if err != nil || len(removed) != 1 || removed[0] != deadDir {
		t.Fatalf("after the kill: removed %v, %v; want %s", removed, err, deadDir)
	}
	for _, gone := range []string{deadDir, deadDir + ".lock"} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", gone, err)
		}
	}
	for _, kept := range append(foreign, filepath.Base(live.path), filepath.Base(live.path)+".lock", filepath.Base(next.path)) {
		if _, err := os.Stat(filepath.Join(base, kept)); err != nil {
			t.Errorf("%s was removed: %v", kept, err)
		}
	}
	if _, err := os.Stat(filepath.Join(live.path, "edobot-upload-456")); err != nil {
		t.Errorf("the live instance's upload was removed: %v", err)
	}

	// A clean stop takes its spool with it.
	for _, d := range []*spoolDir{live, next} {
		if err := d.release(); err != nil {
			t.Fatal(err)
		}
	}
	left, _ := os.ReadDir(base)
	if len(left) != len(foreign) {
		t.Fatalf("left behind: %v", left)
	}
}
