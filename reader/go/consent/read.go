package consent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxFileBytes: a consent or policy file is a few hundred bytes; anything far larger is
// refused (fail closed, fast) instead of parsed.
const MaxFileBytes = 1 << 20

// readFile returns the file's bytes; (nil, nil) when it is absent; a Problem when it
// exists and can't be read. It never blocks: anything that is not a regular file (a
// FIFO, socket, device or directory) is refused before a byte is read.
func readFile(path string) ([]byte, *Problem) {
	f, err := os.OpenFile(path, os.O_RDONLY|nonBlocking, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			if info, lerr := os.Lstat(path); lerr == nil && info.Mode()&fs.ModeSymlink != 0 {
				target, _ := os.Readlink(path)
				return nil, &Problem{Path: path, Message: fmt.Sprintf("it is a symlink to %s, which does not exist", target)}
			}
			return nil, nil
		}
		return nil, &Problem{Path: path, Message: fmt.Sprintf("cannot read it (%v)", unwrap(err))}
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, &Problem{Path: path, Message: fmt.Sprintf("cannot read it (%v)", unwrap(err))}
	}
	if info.IsDir() {
		return nil, &Problem{Path: path, Message: "it is a directory"}
	}
	if !info.Mode().IsRegular() {
		return nil, &Problem{Path: path, Message: "it is not a regular file (a FIFO, socket or device)"}
	}
	if info.Size() > MaxFileBytes {
		return nil, &Problem{Path: path, Message: fmt.Sprintf("it is %d bytes, more than the %d this file may hold", info.Size(), MaxFileBytes)}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, &Problem{Path: path, Message: fmt.Sprintf("cannot read it (%v)", unwrap(err))}
	}
	if len(data) > MaxFileBytes {
		return nil, &Problem{Path: path, Message: fmt.Sprintf("it grew past %d bytes while being read", MaxFileBytes)}
	}
	return data, nil
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
