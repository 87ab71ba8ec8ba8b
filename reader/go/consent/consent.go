// Package consent reads the usagectl consent file: one telemetry decision shared by
// every framework (docs/consent-file.md, schema 1). Standard library only.
//
//	if consent.Allowed("mytool", 1, collectedAt, false) {
//	        send(report)
//	}
//	d := consent.Decide("mytool") // Mode, Level, Source, Reason, Since, ...
//
// It never panics into the host program and fails closed: a consent or policy file
// that exists but can't be trusted turns every framework off. It agrees with the Python
// reader (usagectl.consent, usage_consent) on every case in conformance/vectors.
package consent

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// SchemaVersion is the consent-file schema this reader implements.
const SchemaVersion = 1

// Modes, most restrictive first; "unset" is not a mode but a Decision's state.
const (
	ModeOff   = "off"
	ModeLocal = "local"
	ModeOn    = "on"
	ModeUnset = "unset"
)

// Sources: the layer that decided (stable identifiers, the same in every reader).
const (
	SourcePolicy         = "policy"
	SourceDoNotTrack     = "do-not-track"
	SourceFrameworkEntry = "consent:framework"
	SourceDefaultEntry   = "consent:default"
	SourceDamagedConsent = "damaged:consent"
	SourceDamagedPolicy  = "damaged:policy"
	SourceUnset          = "unset"
	SourceError          = "error"
)

const (
	sealedPrefix = "# usagectl consent file, sealed"
	endLine      = "# end of usagectl consent file"
)

var rank = map[string]int{ModeOff: 0, ModeLocal: 1, ModeOn: 2}

// Problem says why a file can't be trusted. It never quotes the file's content.
type Problem struct {
	Path    string
	Line    int // 0 when unknown
	Message string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s line %d: %s", p.Path, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.Path, p.Message)
}

// Entry is one entry of the consent file (mode) or of the policy (ceiling).
type Entry struct {
	Mode    string
	Level   *int64
	Changed *time.Time // consent entries only
	Message string     // policy entries only
	Send    []string   // with mode (ceiling) "local": the categories that may still be sent; sorted, lower case
}

// Snapshot is what one read of a consent or policy file found.
type Snapshot struct {
	Path       string
	Exists     bool
	Default    *Entry
	Frameworks map[string]Entry
	Problem    *Problem // set: the file exists but can't be trusted (every framework is off)
}

// Decision is the effective consent for one framework, and why.
type Decision struct {
	Framework string
	Mode      string     // off, local, on, or unset (the framework's own default applies)
	Level     *int64     // the highest level allowed; nil: no cap; 0 when off
	Source    string     // one of the Source* constants
	Reason    string     // one sentence for humans
	Since     *time.Time // when the deciding entry changed (for on: the latest opt-in)
	Locked    bool       // a policy ceiling applies
	Ceiling   string     // the policy's ceiling mode, "" if none
	Problems  []Problem
	// Send: while Mode is local, the categories that may still be sent (sorted; often
	// empty); empty when off; nil when on or unset (consent holds no category back).
	Send []string
}

// Sends says whether consent lets this category ("": everything) be sent. It ignores
// levels and times (see Allowed); unset is false: the framework's own default decides.
func (d Decision) Sends(category string) bool {
	if d.Mode == ModeOn {
		return true
	}
	if d.Mode != ModeLocal || category == "" {
		return false
	}
	category = strings.ToLower(category)
	for _, c := range d.Send {
		if c == category {
			return true
		}
	}
	return false
}

// Options moves the files and the environment a decision reads (tests, tools).
type Options struct {
	Getenv      Getenv // default: os.Getenv
	ConsentPath string // default: ConsentPath(Getenv)
	PolicyPath  string // default: PolicyPath(Getenv)
}

func (o Options) getenv() Getenv {
	if o.Getenv != nil {
		return o.Getenv
	}
	return os.Getenv
}

// Decide returns the effective consent for framework, from the user's consent file,
// the system policy and DO_NOT_TRACK.
func Decide(framework string) Decision { return DecideWith(framework, Options{}) }

// DecideWith is Decide with other files or another environment.
func DecideWith(framework string, o Options) (d Decision) {
	defer func() {
		if r := recover(); r != nil { // never into the host program
			d = Decision{Framework: framework, Mode: ModeOff, Level: int64p(0), Send: []string{}, Source: SourceError,
				Reason: fmt.Sprintf("the consent reader failed (%v), so telemetry is off", r)}
		}
	}()
	env := o.getenv()
	consentPath, policyPath := o.ConsentPath, o.PolicyPath
	if consentPath == "" {
		consentPath = ConsentPath(env)
	}
	if policyPath == "" {
		policyPath = PolicyPath(env)
	}
	return decide(normalizeName(framework), env, ReadConsent(consentPath), ReadPolicy(policyPath))
}

// Allowed says whether framework may send a report of this level now. collectedAt is
// when the data was collected (the zero time: unknown); data from before the latest
// opt-in is never allowed. def is the answer when nobody has chosen.
func Allowed(framework string, level int64, collectedAt time.Time, def bool) bool {
	return AllowedWith(framework, level, collectedAt, def, Options{})
}

// AllowedWith is Allowed with other files or another environment.
func AllowedWith(framework string, level int64, collectedAt time.Time, def bool, o Options) (ok bool) {
	return AllowedCategory(framework, "", level, collectedAt, def, o)
}

// AllowedCategory is AllowedWith for a report of one category (e.g. "metrics"): a user
// may allow some categories only (mode "local" with a send list), and a report without
// a category ("") is then refused.
func AllowedCategory(framework, category string, level int64, collectedAt time.Time, def bool, o Options) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	d := DecideWith(framework, o)
	if d.Level != nil && level > *d.Level {
		return false
	}
	if d.Mode == ModeUnset {
		return def
	}
	if !d.Sends(category) {
		return false
	}
	if !collectedAt.IsZero() && d.Since != nil && collectedAt.Before(*d.Since) {
		return false
	}
	return true
}

// DoNotTrack reports whether DO_NOT_TRACK asks for off: any value but "", "0", "false".
func DoNotTrack(env Getenv) bool {
	v := strings.ToLower(strings.TrimSpace(env("DO_NOT_TRACK")))
	return v != "" && v != "0" && v != "false"
}

func normalizeName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// ValidName: ASCII letters, digits, '-', '_', '.'; starts with a letter or digit; at
// most 64 characters.
func ValidName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if i == 0 && !alnum {
			return false
		}
		if !alnum && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// ReadConsent reads and validates a consent file. It never fails: see Snapshot.Problem.
func ReadConsent(path string) Snapshot { return readEntries(path, "mode") }

// ReadPolicy reads and validates a system policy file.
//
// A policy another user could have written (owner, mode, or a directory above it) is
// damaged: every framework is off.
func ReadPolicy(path string) Snapshot { return readEntries(path, "ceiling") }

func readEntries(path, modeKey string) (s Snapshot) {
	defer func() {
		if r := recover(); r != nil {
			s = Snapshot{Path: path, Exists: true, Problem: &Problem{Path: path, Message: fmt.Sprintf("unexpected error: %v", r)}}
		}
	}()
	data, problem := readFile(path)
	if problem != nil {
		return Snapshot{Path: path, Exists: true, Problem: problem}
	}
	if data == nil {
		return Snapshot{Path: path, Frameworks: map[string]Entry{}}
	}
	if modeKey == "ceiling" {
		if problem := untrustedPolicy(path); problem != nil {
			return Snapshot{Path: path, Exists: true, Problem: problem}
		}
	}
	return parseEntries(data, path, modeKey)
}

// ParseConsent validates consent-file bytes.
func ParseConsent(data []byte, path string) Snapshot { return parseEntries(data, path, "mode") }

// ParsePolicy validates policy-file bytes.
func ParsePolicy(data []byte, path string) Snapshot { return parseEntries(data, path, "ceiling") }

func parseEntries(data []byte, path, modeKey string) Snapshot {
	damaged := func(line int, format string, args ...any) Snapshot {
		return Snapshot{Path: path, Exists: true, Problem: &Problem{Path: path, Line: line, Message: fmt.Sprintf(format, args...)}}
	}
	if !utf8.Valid(data) {
		return damaged(0, "not UTF-8 text (binary or damaged content)")
	}
	text := string(data)
	doc, err := ParseTOML(text)
	if err != nil {
		if te, ok := err.(*TOMLError); ok {
			return damaged(te.Line, "not valid TOML: %s", te.Message)
		}
		return damaged(0, "not valid TOML: %v", err)
	}
	schema, ok := doc["schema"]
	if !ok {
		return damaged(0, "no 'schema' key (the file may be truncated)")
	}
	if n, isInt := schema.(int64); !isInt {
		return damaged(0, "'schema' must be an integer")
	} else if n != SchemaVersion {
		return damaged(0, "schema %d is not one this reader understands (it knows %d)", n, SchemaVersion)
	}
	if strings.HasPrefix(text, sealedPrefix) {
		trimmed := strings.TrimRightFunc(text, unicode.IsSpace)
		last := trimmed[strings.LastIndexByte(trimmed, '\n')+1:]
		if strings.TrimSpace(last) != endLine {
			return damaged(0, "its last line is not %q: the file was cut short, or edited after that line", endLine)
		}
	}
	s := Snapshot{Path: path, Exists: true, Frameworks: map[string]Entry{}}
	if raw, ok := doc["default"]; ok {
		entry, problem := makeEntry(raw, "default", modeKey)
		if problem != "" {
			return damaged(0, "%s", problem)
		}
		s.Default = &entry
	}
	if raw, ok := doc["frameworks"]; ok {
		section, isTable := raw.(map[string]any)
		if !isTable {
			return damaged(0, "'frameworks' must be a table")
		}
		for rawName, value := range section {
			name := strings.ToLower(rawName) // never trimmed: " ray" is not a valid name
			if !ValidName(name) {
				return damaged(0, "%q is not a valid framework name", rawName)
			}
			if _, twice := s.Frameworks[name]; twice {
				return damaged(0, "framework %q appears twice", name)
			}
			entry, problem := makeEntry(value, "frameworks."+rawName, modeKey)
			if problem != "" {
				return damaged(0, "%s", problem)
			}
			s.Frameworks[name] = entry
		}
	}
	return s
}

func makeEntry(raw any, where, modeKey string) (Entry, string) {
	table, ok := raw.(map[string]any)
	if !ok {
		return Entry{}, fmt.Sprintf("[%s] must be a table", where)
	}
	mode, present := table[modeKey]
	if !present {
		return Entry{}, fmt.Sprintf("[%s] has no '%s'", where, modeKey)
	}
	modeText, isString := mode.(string)
	if _, known := rank[modeText]; !isString || !known {
		return Entry{}, fmt.Sprintf("[%s] %s is not one of off, local, on", where, modeKey)
	}
	entry := Entry{Mode: modeText}
	if level, present := table["level"]; present {
		n, isInt := level.(int64)
		if !isInt || n < 1 {
			return Entry{}, fmt.Sprintf("[%s] level must be a positive integer", where)
		}
		entry.Level = &n
	}
	if raw, present := table["send"]; present {
		send, problem := sendList(raw, where, modeKey, modeText)
		if problem != "" {
			return Entry{}, problem
		}
		entry.Send = send
	}
	if modeKey == "mode" {
		if changed, present := table["changed"]; present {
			when, isTime := changed.(time.Time)
			if !isTime {
				return Entry{}, fmt.Sprintf("[%s] changed must be a date-time with offset (e.g. 2026-01-31T12:00:00Z)", where)
			}
			entry.Changed = &when
		}
	} else if message, present := table["message"]; present {
		text, isString := message.(string)
		if !isString {
			return Entry{}, fmt.Sprintf("[%s] message must be a string", where)
		}
		entry.Message = text
	}
	return entry, ""
}

// sendList validates an entry's send array: category names, and only with local ("on"
// already sends every category; a list there was meant to narrow, so fail closed).
func sendList(raw any, where, modeKey, mode string) ([]string, string) {
	items, isArray := raw.([]any)
	if !isArray {
		return nil, fmt.Sprintf("[%s] send must be an array of category names (letters, digits, '-', '_' and '.')", where)
	}
	seen := map[string]bool{}
	for _, item := range items {
		name, isString := item.(string)
		if !isString || !ValidName(name) {
			return nil, fmt.Sprintf("[%s] send must be an array of category names (letters, digits, '-', '_' and '.')", where)
		}
		seen[strings.ToLower(name)] = true
	}
	if mode == ModeOn {
		return nil, fmt.Sprintf("[%s] send only narrows %s = \"local\"; with \"on\" every category is sent", where, modeKey)
	}
	return sortedKeys(seen), ""
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sendable is the set of categories a layer lets be sent: nil for all ("on").
func sendable(mode string, send []string) map[string]bool {
	if mode == ModeOn {
		return nil
	}
	set := map[string]bool{}
	if mode == ModeLocal {
		for _, c := range send {
			set[c] = true
		}
	}
	return set
}

// meet is what every layer lets be sent (nil: all).
func meet(sets ...map[string]bool) map[string]bool {
	var result map[string]bool
	for _, set := range sets {
		if set == nil {
			continue
		}
		if result == nil {
			result = map[string]bool{}
			for k := range set {
				result[k] = true
			}
			continue
		}
		for k := range result {
			if !set[k] {
				delete(result, k)
			}
		}
	}
	return result
}

type layer struct {
	mode   string
	level  *int64
	source string
	when   *time.Time
	reason string
	send   []string
}

func int64p(n int64) *int64 { return &n }

func decide(name string, env Getenv, consent, policy Snapshot) Decision {
	if policy.Problem != nil {
		return Decision{Framework: name, Mode: ModeOff, Level: int64p(0), Send: []string{}, Source: SourceDamagedPolicy,
			Reason: "the policy file can't be trusted, so every framework is off", Locked: true,
			Ceiling: ModeOff, Problems: []Problem{*policy.Problem}}
	}
	if consent.Problem != nil {
		return Decision{Framework: name, Mode: ModeOff, Level: int64p(0), Send: []string{}, Source: SourceDamagedConsent,
			Reason: "the consent file can't be trusted, so every framework is off", Problems: []Problem{*consent.Problem}}
	}
	// The policy ceiling: the most restrictive of the default and the framework's.
	var ceiling *Entry
	var ceilingSets []map[string]bool
	for _, c := range []*Entry{policy.Default, entryPtr(policy.Frameworks, name)} {
		if c == nil {
			continue
		}
		ceilingSets = append(ceilingSets, sendable(c.Mode, c.Send))
		if ceiling == nil {
			copied := *c
			ceiling = &copied
			continue
		}
		if rank[c.Mode] < rank[ceiling.Mode] {
			ceiling.Mode = c.Mode
		}
		if c.Level != nil && (ceiling.Level == nil || *c.Level < *ceiling.Level) {
			ceiling.Level = c.Level
		}
	}
	if ceiling != nil {
		ceiling.Send = nil
		if ceiling.Mode == ModeLocal {
			ceiling.Send = sortedKeys(meet(ceilingSets...))
		}
	}
	locked := ceiling != nil && (ceiling.Mode != ModeOn || ceiling.Level != nil)
	ceilingMode := ""
	var layers, user []layer
	if ceiling != nil {
		ceilingMode = ceiling.Mode
		layers = append(layers, layer{ceiling.Mode, ceiling.Level, SourcePolicy, nil,
			fmt.Sprintf("the system policy %s caps %s at %s", policy.Path, name, ceiling.Mode), ceiling.Send})
	}
	if DoNotTrack(env) {
		layers = append(layers, layer{ModeOff, nil, SourceDoNotTrack, nil,
			fmt.Sprintf("DO_NOT_TRACK=%s is set in the environment", env("DO_NOT_TRACK")), nil})
	}
	if e := entryPtr(consent.Frameworks, name); e != nil {
		user = append(user, layer{e.Mode, e.Level, SourceFrameworkEntry, e.Changed,
			fmt.Sprintf("the consent file's entry for %s says %s", name, e.Mode), e.Send})
	}
	if d := consent.Default; d != nil {
		user = append(user, layer{d.Mode, d.Level, SourceDefaultEntry, d.Changed,
			fmt.Sprintf("the consent file's default entry says %s", d.Mode), d.Send})
	}
	layers = append(layers, user...)

	restricting := false
	for _, l := range layers {
		if l.mode != ModeOn {
			restricting = true
		}
	}
	if len(user) == 0 && !restricting {
		var level *int64
		if ceiling != nil {
			level = ceiling.Level
		}
		return Decision{Framework: name, Mode: ModeUnset, Level: level, Source: SourceUnset,
			Reason: fmt.Sprintf("no choice recorded; %s's own default applies", name), Locked: locked, Ceiling: ceilingMode}
	}
	mode := ModeOn
	for _, l := range layers {
		if rank[l.mode] < rank[mode] {
			mode = l.mode
		}
	}
	var deciding layer
	for _, l := range layers {
		if l.mode == mode {
			deciding = l
			break
		}
	}
	d := Decision{Framework: name, Mode: mode, Source: deciding.source, Reason: deciding.reason, Locked: locked, Ceiling: ceilingMode}
	if mode == ModeOff {
		d.Level = int64p(0)
		d.Since = deciding.when
		d.Send = []string{}
		return d
	}
	if mode == ModeLocal {
		// Only what every layer lets through, and only what a consent entry names: a
		// policy's list caps what a user may send, it never opts anyone in.
		d.Send = []string{}
		if len(user) > 0 {
			sets := []map[string]bool{}
			for _, l := range layers {
				sets = append(sets, sendable(l.mode, l.send))
			}
			d.Send = sortedKeys(meet(sets...))
		}
		if len(d.Send) > 0 {
			d.Reason += "; of its categories only " + strings.Join(d.Send, ", ") + " may be sent"
		}
	}
	var lowest int64 = math.MaxInt64
	capped := false
	for _, l := range layers {
		if l.level != nil && *l.level <= lowest {
			lowest, capped = *l.level, true
		}
	}
	if capped {
		d.Level = int64p(lowest)
	}
	// Data collected before the latest opt-in must not be sent: report that moment.
	for _, l := range user {
		if l.when != nil && (d.Since == nil || l.when.After(*d.Since)) {
			d.Since = l.when
		}
	}
	return d
}

func entryPtr(m map[string]Entry, name string) *Entry {
	if e, ok := m[name]; ok {
		return &e
	}
	return nil
}
