// Command usage-consent prints the consent decision for each framework named, as JSON:
// the Go reader from a shell (and the differential test against the Python reader).
//
//	usage-consent ray parsl     # [{"framework": "ray", "mode": "off", ...}, ...]
//
// The files and environment are the usual ones (docs/consent-file.md, "Location").
//
//	usage-consent -cases LIST ray parsl
//
// decides for each directory named in the file LIST (one per line), from DIR/consent.toml
// and DIR/policy.toml with an empty environment, and prints one JSON line per directory:
// how tests/test_reader_differential.py compares this reader with the Python one.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/usagectl/usagectl/reader/go/consent"
)

type decision struct {
	Framework string   `json:"framework"`
	Mode      string   `json:"mode"`
	Level     *int64   `json:"level"`
	Source    string   `json:"source"`
	Reason    string   `json:"reason"`
	Since     *string  `json:"since"`
	Locked    bool     `json:"locked"`
	Ceiling   *string  `json:"ceiling"`
	Problems  []string `json:"problems"`
	Send      []string `json:"send"`
}

func main() {
	if len(os.Args) > 3 && os.Args[1] == "-cases" {
		os.Exit(cases(os.Args[2], os.Args[3:]))
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: usage-consent FRAMEWORK... | usage-consent -cases LIST FRAMEWORK...")
		os.Exit(2)
	}
	out := []decision{}
	for _, name := range os.Args[1:] {
		out = append(out, row(consent.Decide(name)))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		os.Exit(1)
	}
}

func cases(list string, frameworks []string) int {
	data, err := os.ReadFile(list)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	enc := json.NewEncoder(os.Stdout)
	for _, dir := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		options := consent.Options{Getenv: func(string) string { return "" },
			ConsentPath: filepath.Join(dir, "consent.toml"), PolicyPath: filepath.Join(dir, "policy.toml")}
		rows := []decision{}
		for _, name := range frameworks {
			rows = append(rows, row(consent.DecideWith(name, options)))
		}
		if err := enc.Encode(map[string]any{"dir": dir, "decisions": rows}); err != nil {
			return 1
		}
	}
	return 0
}

func row(d consent.Decision) decision {
	out := decision{Framework: d.Framework, Mode: d.Mode, Level: d.Level, Source: d.Source, Reason: d.Reason,
		Locked: d.Locked, Problems: []string{}, Send: d.Send}
	if d.Since != nil {
		s := d.Since.UTC().Format(time.RFC3339Nano)
		out.Since = &s
	}
	if d.Ceiling != "" {
		c := d.Ceiling
		out.Ceiling = &c
	}
	for _, p := range d.Problems {
		out.Problems = append(out.Problems, p.String())
	}
	return out
}
