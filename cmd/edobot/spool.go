package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Every file serve spools (uploads while they arrive and are checked, cards
// and ezSigner versions while they are made) goes into a directory of the
// process's own under EDOBOT_TMPDIR, edobot-spool-<id>/, beside a lock file,
// edobot-spool-<id>.lock, that the process holds locked (flock) as long as
// it lives. The kernel lets go of the lock when the process dies, however it
// dies (kill -9 included), so at start every spool directory whose lock can
// be taken is what a dead process left, and goes; those of live instances
// sharing the directory stay locked and are left alone, however old. Nothing
// else in EDOBOT_TMPDIR is touched.

const spoolPrefix = "edobot-spool-"

// spoolDir is the process's own spool directory.
type spoolDir struct {
	path string
	lock *os.File
}

// claimSpoolDir removes the spool directories of dead processes under base
// ("" = the system's temporary directory) and makes this process's own. It
// returns the directories removed.
func claimSpoolDir(base string) (*spoolDir, []string, error) {
	if base == "" {
		base = os.TempDir()
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, nil, fmt.Errorf("EDOBOT_TMPDIR %s: %w", base, err)
	}
	removed, err := clearDeadSpools(base)
	if err != nil {
		return nil, removed, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := filepath.Join(base, fmt.Sprintf("%s%d-%s", spoolPrefix, os.Getpid(), hex.EncodeToString(b[:])))
	// The lock is taken on a file under a name nobody looks at and then
	// renamed into view: a lock file others can see is always held.
	tmp := name + ".lock.new"
	lock, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, removed, fmt.Errorf("spool lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		os.Remove(tmp)
		return nil, removed, fmt.Errorf("spool lock: %w", err)
	}
	if err := os.Rename(tmp, name+".lock"); err != nil {
		lock.Close()
		os.Remove(tmp)
		return nil, removed, fmt.Errorf("spool lock: %w", err)
	}
	if err := os.Mkdir(name, 0o700); err != nil {
		lock.Close()
		os.Remove(name + ".lock")
		return nil, removed, fmt.Errorf("spool directory: %w", err)
	}
	return &spoolDir{path: name, lock: lock}, removed, nil
}

// clearDeadSpools removes every spool directory under base whose lock is
// free, and its lock file.
func clearDeadSpools(base string) ([]string, error) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return nil, fmt.Errorf("EDOBOT_TMPDIR %s: %w", base, err)
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, spoolPrefix) || !strings.HasSuffix(name, ".lock") || e.IsDir() {
			continue
		}
		lockPath := filepath.Join(base, name)
		dead, err := takeLock(lockPath)
		if err != nil {
			return removed, err
		}
		if dead == nil {
			continue // a live process holds it
		}
		dir := strings.TrimSuffix(lockPath, ".lock")
		err = os.RemoveAll(dir)
		if err == nil {
			err = os.Remove(lockPath)
		}
		dead.Close()
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("remove %s: %w", dir, err)
		}
		removed = append(removed, dir)
	}
	return removed, nil
}

// takeLock locks a lock file without waiting; nil when another process
// holds it or it is gone meanwhile.
func takeLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("spool lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("spool lock %s: %w", path, err)
	}
	return f, nil
}

// release removes the directory with what is left in it, and the lock.
func (d *spoolDir) release() error {
	err := os.RemoveAll(d.path)
	if rerr := os.Remove(d.path + ".lock"); err == nil {
		err = rerr
	}
	if cerr := d.lock.Close(); err == nil {
		err = cerr
	}
	return err
}
