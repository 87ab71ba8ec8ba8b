//go:build !unix

package consent

const nonBlocking = 0
