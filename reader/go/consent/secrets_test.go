package consent

import (
	"strings"
	"testing"
)

// A damaged file's Problem names the file and line, never a value from it: a consent
// file edited by hand may hold a token on the broken line.
func TestProblemsNeverQuoteTheFile(t *testing.T) {
	secret := "hunter2-s3cr3t"
	for _, text := range []string{
		"schema = 1\n[default]\nmode = \"on\"\ntoken = " + secret + "\n",
		"schema = 1\n[default]\nmode = \"" + secret + "\"\n",
		"schema = 1\n[default]\nmode = \"on\"\nlevel = \"" + secret + "\"\n",
		"schema = 1\ntoken = \"\\q" + secret + "\"\n",
		"schema = 1\nchanged = 2026-13-01T00:00:00Z" + secret + "\n",
	} {
		s := ParseConsent([]byte(text), "/x/consent.toml")
		if s.Problem == nil {
			t.Fatalf("no problem found in %q", text)
		}
		if strings.Contains(s.Problem.String(), secret) {
			t.Errorf("the problem quotes the file: %s", s.Problem)
		}
	}
}

func TestDecisionOfANonsenseFrameworkNameIsStillADecision(t *testing.T) {
	d := DecideWith("  RaY ", Options{Getenv: func(string) string { return "" }, ConsentPath: "/nonexistent/c.toml", PolicyPath: "/nonexistent/p.toml"})
	if d.Framework != "ray" || d.Mode != ModeUnset {
		t.Errorf("got %+v", d)
	}
}
