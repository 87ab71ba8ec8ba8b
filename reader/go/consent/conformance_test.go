package consent

// The shared conformance vectors (conformance/vectors, described in
// conformance/README.md): the Python reader, `usagectl status --json` and this reader
// must agree with every one; CI runs `go test` on them.

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

var vectorsDir = filepath.Join("..", "..", "..", "conformance", "vectors")

type fileSpec struct {
	Text    *string `json:"text"`
	Base64  *string `json:"base64"`
	Special string  `json:"special"`
	Cuts    bool    `json:"cuts"`
	Repeat  *struct {
		Head  string `json:"head"`
		Line  string `json:"line"`
		Count int    `json:"count"`
		Tail  string `json:"tail"`
	} `json:"repeat"`
}

type expectation struct {
	Mode    string          `json:"mode"`
	Level   *int64          `json:"level"`
	Source  string          `json:"source"`
	Since   *string         `json:"since"`
	Locked  bool            `json:"locked"`
	Ceiling *string         `json:"ceiling"`
	Send    json.RawMessage `json:"send"`
}

type allowedCheck struct {
	Framework   string  `json:"framework"`
	Level       int64   `json:"level"`
	CollectedAt *string `json:"collected_at"`
	Default     bool    `json:"default"`
	Category    string  `json:"category"`
	Expect      bool    `json:"expect"`
}

type vectorCase struct {
	Name    string                 `json:"name"`
	About   string                 `json:"about"`
	Consent *fileSpec              `json:"consent"`
	Policy  *fileSpec              `json:"policy"`
	Env     map[string]string      `json:"env"`
	Expect  map[string]expectation `json:"expect"`
	Allowed []allowedCheck         `json:"allowed"`
}

type vectorFile struct {
	Frameworks []string     `json:"frameworks"`
	Cases      []vectorCase `json:"cases"`
}

func (s *fileSpec) content(t *testing.T) []byte {
	switch {
	case s.Text != nil:
		return []byte(*s.Text)
	case s.Base64 != nil:
		data, err := base64.StdEncoding.DecodeString(*s.Base64)
		if err != nil {
			t.Fatal(err)
		}
		return data
	case s.Repeat != nil:
		return []byte(s.Repeat.Head + strings.Repeat(s.Repeat.Line, s.Repeat.Count) + s.Repeat.Tail)
	}
	return nil
}

// place creates the file; false when this runner can't (the unreadable case as root).
func place(t *testing.T, path string, spec *fileSpec, data []byte) bool {
	if spec == nil {
		return true
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	var err error
	switch spec.Special {
	case "":
		err = os.WriteFile(path, data, 0o600)
	case "directory":
		err = os.Mkdir(path, 0o700)
	case "fifo":
		err = syscall.Mkfifo(path, 0o600)
	case "symlink-loop":
		err = os.Symlink(path, path)
	case "dangling-link":
		err = os.Symlink("/nonexistent/usagectl-conformance/x.toml", path)
	case "unreadable":
		if os.Geteuid() == 0 {
			return false
		}
		if err = os.WriteFile(path, []byte("schema = 1\n[default]\nmode = \"on\"\n"), 0o600); err == nil {
			err = os.Chmod(path, 0)
		}
	default:
		t.Fatalf("unknown special file %q", spec.Special)
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func instant(t *testing.T, text *string) *time.Time {
	if text == nil {
		return nil
	}
	when, err := time.Parse(time.RFC3339Nano, strings.ToUpper(*text))
	if err != nil {
		t.Fatalf("vector time %q: %v", *text, err)
	}
	return &when
}

func run(t *testing.T, frameworks []string, c vectorCase, consentData, policyData []byte) {
	root := t.TempDir()
	env := map[string]string{
		"HOME":                 filepath.Join(root, "home"),
		"USAGECTL_CONFIG_DIR":  filepath.Join(root, "config"),
		"USAGECTL_STATE_DIR":   filepath.Join(root, "state"),
		"USAGECTL_POLICY_FILE": filepath.Join(root, "policy.toml"),
	}
	for k, v := range c.Env {
		env[k] = v
	}
	getenv := func(name string) string { return env[name] }
	if !place(t, ConsentPath(getenv), c.Consent, consentData) || !place(t, PolicyPath(getenv), c.Policy, policyData) {
		t.Skip("this runner can't set up the case (root reads every file)")
	}
	options := Options{Getenv: getenv}
	for _, fw := range frameworks {
		want, ok := c.Expect[fw]
		if !ok {
			want = c.Expect["*"]
		}
		got := DecideWith(fw, options)
		if got.Mode != want.Mode || got.Source != want.Source || got.Locked != want.Locked {
			t.Errorf("%s: mode/source/locked %s/%s/%v, want %s/%s/%v (%v)", fw, got.Mode, got.Source, got.Locked,
				want.Mode, want.Source, want.Locked, got.Problems)
		}
		if (got.Level == nil) != (want.Level == nil) || (got.Level != nil && *got.Level != *want.Level) {
			t.Errorf("%s: level %v, want %v", fw, show(got.Level), show(want.Level))
		}
		wantCeiling := ""
		if want.Ceiling != nil {
			wantCeiling = *want.Ceiling
		}
		if got.Ceiling != wantCeiling {
			t.Errorf("%s: ceiling %q, want %q", fw, got.Ceiling, wantCeiling)
		}
		// null in the vector: no category held back (a nil Send); a list: exactly those.
		var wantSend []string
		if len(want.Send) == 0 || json.Unmarshal(want.Send, &wantSend) != nil {
			t.Fatalf("%s: the vector's expectation has no valid send (null or a list)", fw)
		}
		if (wantSend == nil) != (got.Send == nil) || strings.Join(wantSend, ",") != strings.Join(got.Send, ",") {
			t.Errorf("%s: send %#v, want %s", fw, got.Send, want.Send)
		}
		wantSince := instant(t, want.Since)
		if (got.Since == nil) != (wantSince == nil) || (got.Since != nil && !got.Since.Equal(*wantSince)) {
			t.Errorf("%s: since %v, want %v", fw, got.Since, wantSince)
		}
	}
	for _, check := range c.Allowed {
		var collected time.Time
		if when := instant(t, check.CollectedAt); when != nil {
			collected = *when
		}
		if got := AllowedCategory(check.Framework, check.Category, check.Level, collected, check.Default, options); got != check.Expect {
			t.Errorf("AllowedCategory(%q, %q, %d, %v, %v) = %v, want %v", check.Framework, check.Category, check.Level,
				check.CollectedAt, check.Default, got, check.Expect)
		}
	}
}

func show(n *int64) any {
	if n == nil {
		return "none"
	}
	return *n
}

func TestConformanceVectors(t *testing.T) {
	names, err := filepath.Glob(filepath.Join(vectorsDir, "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no vectors in %s (%v)", vectorsDir, err)
	}
	sort.Strings(names)
	total := 0
	for _, name := range names {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var file vectorFile
		if err := json.Unmarshal(raw, &file); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		group := strings.TrimSuffix(filepath.Base(name), ".json")
		for _, c := range file.Cases {
			c := c
			var consentData, policyData []byte
			if c.Consent != nil {
				consentData = c.Consent.content(t)
			}
			if c.Policy != nil {
				policyData = c.Policy.content(t)
			}
			cutting := c.Consent != nil && c.Consent.Cuts
			if !cutting {
				total++
				t.Run(group+"/"+c.Name, func(t *testing.T) { run(t, file.Frameworks, c, consentData, policyData) })
				continue
			}
			// Every prefix that loses a byte of the text before its trailing whitespace.
			whole := consentData
			keep := len(strings.TrimRightFunc(string(whole), func(r rune) bool { return strings.ContainsRune(" \t\n\r\f\v", r) }))
			for length := 0; length < keep; length++ {
				total++
				prefix := whole[:length]
				cut := &fileSpec{Base64: new(string)}
				c2 := c
				c2.Consent = cut
				t.Run(group+"/"+c.Name+"@"+itoa(length), func(t *testing.T) { run(t, file.Frameworks, c2, prefix, policyData) })
			}
		}
	}
	if total < 700 {
		t.Errorf("only %d cases ran", total)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestLocationVectors(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the location vectors are Linux's")
	}
	raw, err := os.ReadFile(filepath.Join(vectorsDir, "locations.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []struct {
			Name        string            `json:"name"`
			Env         map[string]string `json:"env"`
			ConsentPath string            `json:"consent_path"`
			PolicyPath  string            `json:"policy_path"`
			LedgerPath  string            `json:"ledger_path"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 8 {
		t.Fatalf("only %d location cases", len(file.Cases))
	}
	for _, c := range file.Cases {
		c := c
		t.Run(c.Name, func(t *testing.T) {
			root := t.TempDir()
			fill := func(s string) string { return strings.ReplaceAll(s, "{root}", root) }
			getenv := func(name string) string { return fill(c.Env[name]) }
			got := []string{ConsentPath(getenv), PolicyPath(getenv), LedgerPath(getenv)}
			want := []string{fill(c.ConsentPath), fill(c.PolicyPath), fill(c.LedgerPath)}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s: got %s, want %s", c.Name, got[i], want[i])
				}
			}
		})
	}
}
