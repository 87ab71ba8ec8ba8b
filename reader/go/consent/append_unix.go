//go:build unix

package consent

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// appendLocked appends under an flock on the ledger itself (it is only appended to, or
// replaced whole by usagectl under the same lock): never through a symlink, never
// blocking on a FIFO, and never into a file that was replaced while this waited.
func appendLocked(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	for attempt := 0; attempt < 100; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
		if err != nil {
			return err
		}
		replaced, err := appendOnce(f, path, data)
		f.Close()
		if err != nil || !replaced {
			return err
		}
	}
	return errors.New("the ledger kept being replaced: not appended")
}

func appendOnce(f *os.File, path string, data []byte) (replaced bool, err error) {
	info, err := f.Stat()
	if err != nil {
		return false, err
	}
	if !info.Mode().IsRegular() {
		return false, errors.New("the ledger is not a regular file")
	}
	fd := int(f.Fd())
	deadline := time.Now().Add(2 * time.Second)
	delay := time.Millisecond
	for {
		err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			return false, err
		}
		time.Sleep(delay)
		if delay < 50*time.Millisecond {
			delay *= 2
		}
	}
	defer syscall.Flock(fd, syscall.LOCK_UN)
	now, err := os.Stat(path)
	if err != nil || !os.SameFile(now, info) {
		return true, nil // rotated or rewritten while this waited: append to the new file
	}
	if _, err = f.Write(data); err != nil {
		return false, err
	}
	return false, f.Sync()
}
