//go:build unix

package consent

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// untrustedPolicy returns a Problem when someone other than root (or the reader) could
// have written the policy at path: its owner, its mode, or a directory above it or
// above a link to it. A sticky directory (/tmp) is allowed: others can't replace what
// root owns in it. The same rule as the Python reader (docs/consent-file.md).
func untrustedPolicy(path string) *Problem {
	euid := uint32(os.Geteuid())
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return &Problem{Path: path, Message: fmt.Sprintf("cannot check who may write %s (%v)", path, unwrap(err))}
	}
	real, _ = filepath.Abs(real)
	components := []string{real}
	seen := map[string]bool{real: true}
	abs, _ := filepath.Abs(path)
	for _, start := range []string{real, abs} {
		probe := start
		for {
			parent := filepath.Dir(probe)
			if parent == probe {
				break
			}
			if !seen[parent] {
				seen[parent] = true
				components = append(components, parent)
			}
			probe = parent
		}
	}
	for index, component := range components {
		var st syscall.Stat_t
		if err := syscall.Stat(component, &st); err != nil {
			return &Problem{Path: path, Message: fmt.Sprintf("cannot check who may write %s (%v)", component, err)}
		}
		what := "it"
		if index > 0 {
			what = "its directory " + component
		}
		if st.Uid != 0 && st.Uid != euid {
			return &Problem{Path: path, Message: fmt.Sprintf("%s is owned by uid %d, not by root: another user could have written this policy", what, st.Uid)}
		}
		mode := uint32(st.Mode) & 0o7777
		if index > 0 && mode&0o1000 != 0 {
			continue
		}
		if mode&0o022 != 0 {
			who := "its group"
			if mode&0o002 != 0 {
				who = "every user"
			}
			return &Problem{Path: path, Message: fmt.Sprintf("%s is writable by %s (mode %04o): another user could have written this policy", what, who, mode)}
		}
	}
	return nil
}
