//go:build !unix

package consent

// untrustedPolicy: no owners to compare here (Windows); ACLs are the administrator's.
func untrustedPolicy(path string) *Problem { return nil }
