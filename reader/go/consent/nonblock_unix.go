//go:build unix

package consent

import "syscall"

// Opening a FIFO for reading blocks until a writer comes; O_NONBLOCK returns at once.
const nonBlocking = syscall.O_NONBLOCK
