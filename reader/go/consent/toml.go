package consent

// A TOML 1.0 parser, standard library only, for reading consent and policy files.
//
// Consent files are small, but a reader must accept every valid TOML document (people
// edit them by hand: inline tables, escapes, dotted keys) and reject every invalid one,
// since an invalid file means "off". This parser implements the whole of TOML 1.0 and
// returns plain Go values: map[string]any, []any, string, int64, float64, bool,
// time.Time (offset date-times), and LocalDateTime, LocalDate, LocalTime.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// LocalDateTime, LocalDate and LocalTime are TOML's date-times without an offset.
type LocalDateTime struct{ Text string }
type LocalDate struct{ Text string }
type LocalTime struct{ Text string }

// TOMLError is a syntax or structure error, with the 1-based line where it was found.
// Its message names keys but never quotes a value: the line may hold a secret.
type TOMLError struct {
	Line    int
	Message string
}

func (e *TOMLError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

type tableKind int

const (
	kindImplicit tableKind = iota // created as the parent of a [header]
	kindHeader                    // defined by its own [header] (or [[header]])
	kindDotted                    // created by a dotted key
	kindInline                    // an inline table: closed once written
)

type table struct {
	kind tableKind
	keys map[string]any // values: *table, *tableArray, []any, scalars
}

type tableArray struct{ tables []*table }

func newTable(kind tableKind) *table { return &table{kind: kind, keys: map[string]any{}} }

type parser struct {
	src  string
	pos  int
	line int
	// Tables made by a dotted key inside the inline table being read: later dotted keys
	// of the same inline table may extend them ({a.b = 1, a.c = 2}); nothing else may.
	inlineOpen map[*table]bool
}

// ParseTOML parses a TOML 1.0 document.
func ParseTOML(text string) (doc map[string]any, err error) {
	p := &parser{src: text, line: 1, inlineOpen: map[*table]bool{}}
	defer func() {
		if r := recover(); r != nil {
			if te, ok := r.(*TOMLError); ok {
				doc, err = nil, te
				return
			}
			panic(r)
		}
	}()
	root := newTable(kindHeader)
	current := root
	for {
		p.skipWhitespace()
		if p.eof() {
			break
		}
		switch c := p.peek(); {
		case c == '#':
			p.comment()
		case c == '\n' || c == '\r':
			p.newline()
			continue
		case c == '[':
			if strings.HasPrefix(p.src[p.pos:], "[[") {
				p.pos += 2
				current = p.arrayTableHeader(root)
			} else {
				p.pos++
				current = p.tableHeader(root)
			}
		default:
			p.keyValue(current)
		}
		p.endOfLine()
	}
	return plain(root), nil
}

func (p *parser) fail(format string, args ...any) {
	panic(&TOMLError{Line: p.line, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) eof() bool  { return p.pos >= len(p.src) }
func (p *parser) peek() byte { return p.src[p.pos] }

func (p *parser) skipWhitespace() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.pos++
	}
}

func (p *parser) newline() {
	if p.peek() == '\r' {
		if p.pos+1 >= len(p.src) || p.src[p.pos+1] != '\n' {
			p.fail("a carriage return not followed by a newline")
		}
		p.pos++
	}
	p.pos++
	p.line++
}

func (p *parser) comment() {
	p.pos++ // '#'
	for !p.eof() {
		c := p.peek()
		if c == '\n' || (c == '\r' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '\n') {
			return
		}
		r, size := utf8.DecodeRuneInString(p.src[p.pos:])
		if isControl(r) && r != '\t' {
			p.fail("a control character in a comment")
		}
		p.pos += size
	}
}

// endOfLine: after a key/value or a header only whitespace and a comment may follow.
func (p *parser) endOfLine() {
	p.skipWhitespace()
	if p.eof() {
		return
	}
	if p.peek() == '#' {
		p.comment()
	}
	if p.eof() {
		return
	}
	if c := p.peek(); c == '\n' || c == '\r' {
		p.newline()
		return
	}
	p.fail("unexpected text after a value or header")
}

func isControl(r rune) bool { return (r < 0x20) || r == 0x7f }

func isBareKeyChar(c byte) bool {
	return c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// key reads a (possibly dotted) key.
func (p *parser) key() []string {
	var parts []string
	for {
		p.skipWhitespace()
		if p.eof() {
			p.fail("a key was expected")
		}
		switch c := p.peek(); {
		case c == '"':
			if strings.HasPrefix(p.src[p.pos:], `"""`) {
				p.fail("a multi-line string can't be a key")
			}
			parts = append(parts, p.basicString())
		case c == '\'':
			if strings.HasPrefix(p.src[p.pos:], "'''") {
				p.fail("a multi-line string can't be a key")
			}
			parts = append(parts, p.literalString())
		case isBareKeyChar(c):
			start := p.pos
			for !p.eof() && isBareKeyChar(p.peek()) {
				p.pos++
			}
			parts = append(parts, p.src[start:p.pos])
		default:
			p.fail("an invalid character in a key")
		}
		p.skipWhitespace()
		if !p.eof() && p.peek() == '.' {
			p.pos++
			continue
		}
		return parts
	}
}

func (p *parser) tableHeader(root *table) *table {
	path := p.key()
	if p.eof() || p.peek() != ']' {
		p.fail("a table header must end with ]")
	}
	p.pos++
	parent := p.walk(root, path[:len(path)-1])
	last := path[len(path)-1]
	switch existing := parent.keys[last].(type) {
	case nil:
		t := newTable(kindHeader)
		parent.keys[last] = t
		return t
	case *table:
		if existing.kind != kindImplicit {
			p.fail("table %q is defined twice", strings.Join(path, "."))
		}
		existing.kind = kindHeader
		return existing
	default:
		p.fail("key %q is already a value, not a table", strings.Join(path, "."))
	}
	return nil
}

func (p *parser) arrayTableHeader(root *table) *table {
	path := p.key()
	if !strings.HasPrefix(p.src[p.pos:], "]]") {
		p.fail("an array-of-tables header must end with ]]")
	}
	p.pos += 2
	parent := p.walk(root, path[:len(path)-1])
	last := path[len(path)-1]
	t := newTable(kindHeader)
	switch existing := parent.keys[last].(type) {
	case nil:
		parent.keys[last] = &tableArray{tables: []*table{t}}
	case *tableArray:
		existing.tables = append(existing.tables, t)
	default:
		p.fail("key %q is not an array of tables", strings.Join(path, "."))
	}
	return t
}

// walk descends from root through the tables a header names, creating the missing
// ones; the last table of an array of tables is the one a header extends.
func (p *parser) walk(root *table, path []string) *table {
	t := root
	for _, k := range path {
		switch next := t.keys[k].(type) {
		case nil:
			created := newTable(kindImplicit)
			t.keys[k] = created
			t = created
		case *table:
			if next.kind == kindInline {
				p.fail("an inline table can't be extended")
			}
			t = next
		case *tableArray:
			t = next.tables[len(next.tables)-1]
		default:
			p.fail("key %q is already a value, not a table", k)
		}
	}
	return t
}

func (p *parser) keyValue(t *table) {
	path := p.key()
	if p.eof() || p.peek() != '=' {
		p.fail("a key must be followed by =")
	}
	p.pos++
	p.skipWhitespace()
	value := p.value()
	p.assign(t, path, value, nil)
}

// assign sets a (possibly dotted) key. Outside an inline table (opened nil) a dotted key
// may extend only tables made by dotted keys; inside one, only those its own earlier
// dotted keys made, which are collected in opened and closed when it ends.
func (p *parser) assign(t *table, path []string, value any, opened *[]*table) {
	for _, k := range path[:len(path)-1] {
		switch next := t.keys[k].(type) {
		case nil:
			created := newTable(kindDotted)
			if opened != nil {
				created.kind = kindInline
				p.inlineOpen[created] = true
				*opened = append(*opened, created)
			}
			t.keys[k] = created
			t = created
		case *table:
			if (opened == nil && next.kind != kindDotted) || (opened != nil && !p.inlineOpen[next]) {
				p.fail("key %q can't be extended with a dotted key", k)
			}
			t = next
		default:
			p.fail("key %q is already a value, not a table", k)
		}
	}
	last := path[len(path)-1]
	if _, exists := t.keys[last]; exists {
		p.fail("key %q is defined twice", strings.Join(path, "."))
	}
	t.keys[last] = value
}

func (p *parser) value() any {
	if p.eof() {
		p.fail("a value was expected")
	}
	switch c := p.peek(); {
	case c == '"':
		if strings.HasPrefix(p.src[p.pos:], `"""`) {
			return p.multilineBasicString()
		}
		return p.basicString()
	case c == '\'':
		if strings.HasPrefix(p.src[p.pos:], "'''") {
			return p.multilineLiteralString()
		}
		return p.literalString()
	case c == '[':
		p.pos++
		return p.array()
	case c == '{':
		p.pos++
		return p.inlineTable()
	}
	return p.scalar()
}

func (p *parser) basicString() string {
	p.pos++ // opening quote
	var b strings.Builder
	for {
		if p.eof() {
			p.fail("a string without its closing quote")
		}
		c := p.peek()
		switch {
		case c == '"':
			p.pos++
			return b.String()
		case c == '\\':
			p.escape(&b)
		case c == '\n' || c == '\r':
			p.fail("a string without its closing quote")
		default:
			p.stringRune(&b)
		}
	}
}

func (p *parser) escape(b *strings.Builder) {
	p.pos++ // backslash
	if p.eof() {
		p.fail("an escape at the end of the document")
	}
	c := p.peek()
	p.pos++
	switch c {
	case 'b':
		b.WriteByte('\b')
	case 't':
		b.WriteByte('\t')
	case 'n':
		b.WriteByte('\n')
	case 'f':
		b.WriteByte('\f')
	case 'r':
		b.WriteByte('\r')
	case '"':
		b.WriteByte('"')
	case '\\':
		b.WriteByte('\\')
	case 'u', 'U':
		n := 4
		if c == 'U' {
			n = 8
		}
		if p.pos+n > len(p.src) {
			p.fail("a short unicode escape")
		}
		hex := p.src[p.pos : p.pos+n]
		for i := 0; i < len(hex); i++ {
			if !strings.ContainsRune("0123456789abcdefABCDEF", rune(hex[i])) {
				p.fail("an invalid unicode escape")
			}
		}
		code, _ := strconv.ParseUint(hex, 16, 32)
		if code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF) {
			p.fail("an escape that is not a unicode scalar value")
		}
		b.WriteRune(rune(code))
		p.pos += n
	default:
		p.fail("an invalid escape")
	}
}

func (p *parser) multilineBasicString() string {
	p.pos += 3
	p.trimFirstNewline()
	var b strings.Builder
	for {
		if p.eof() {
			p.fail("a multi-line string without its closing quotes")
		}
		if strings.HasPrefix(p.src[p.pos:], `"""`) {
			// Up to two quotes may sit right before the closing three.
			extra := 0
			for extra < 2 && p.pos+3+extra < len(p.src) && p.src[p.pos+3+extra] == '"' {
				extra++
			}
			b.WriteString(strings.Repeat(`"`, extra))
			p.pos += 3 + extra
			return b.String()
		}
		c := p.peek()
		switch {
		case c == '\\':
			// A line-ending backslash trims the newline and the whitespace after it.
			rest := p.pos + 1
			for rest < len(p.src) && (p.src[rest] == ' ' || p.src[rest] == '\t') {
				rest++
			}
			if rest < len(p.src) && (p.src[rest] == '\n' || p.src[rest] == '\r') {
				p.pos = rest
				for !p.eof() {
					switch p.peek() {
					case ' ', '\t':
						p.pos++
					case '\n', '\r':
						p.newline()
					default:
						goto trimmed
					}
				}
			trimmed:
				continue
			}
			p.escape(&b)
		case c == '\n' || c == '\r':
			p.newline()
			b.WriteByte('\n')
		default:
			p.stringRune(&b)
		}
	}
}

// stringRune consumes one character of a string's body, refusing control characters
// (tab excepted), and copies it to b unless b is nil (literal strings are sliced whole).
func (p *parser) stringRune(b *strings.Builder) {
	r, size := utf8.DecodeRuneInString(p.src[p.pos:])
	if isControl(r) && r != '\t' {
		p.fail("a control character in a string")
	}
	if b != nil {
		b.WriteRune(r)
	}
	p.pos += size
}

func (p *parser) trimFirstNewline() {
	if strings.HasPrefix(p.src[p.pos:], "\n") || strings.HasPrefix(p.src[p.pos:], "\r\n") {
		p.newline()
	}
}

func (p *parser) literalString() string {
	p.pos++
	start := p.pos
	for {
		if p.eof() {
			p.fail("a string without its closing quote")
		}
		c := p.peek()
		if c == '\'' {
			s := p.src[start:p.pos]
			p.pos++
			return s
		}
		if c == '\n' || c == '\r' {
			p.fail("a string without its closing quote")
		}
		p.stringRune(nil)
	}
}

func (p *parser) multilineLiteralString() string {
	p.pos += 3
	p.trimFirstNewline()
	var b strings.Builder
	for {
		if p.eof() {
			p.fail("a multi-line string without its closing quotes")
		}
		if strings.HasPrefix(p.src[p.pos:], "'''") {
			extra := 0
			for extra < 2 && p.pos+3+extra < len(p.src) && p.src[p.pos+3+extra] == '\'' {
				extra++
			}
			b.WriteString(strings.Repeat("'", extra))
			p.pos += 3 + extra
			return b.String()
		}
		c := p.peek()
		if c == '\n' || c == '\r' {
			p.newline()
			b.WriteByte('\n')
			continue
		}
		p.stringRune(&b)
	}
}

// skipArraySpace skips whitespace, newlines and comments between array items.
func (p *parser) skipArraySpace() {
	for !p.eof() {
		switch p.peek() {
		case ' ', '\t':
			p.pos++
		case '\n', '\r':
			p.newline()
		case '#':
			p.comment()
		default:
			return
		}
	}
}

func (p *parser) array() []any {
	items := []any{}
	for {
		p.skipArraySpace()
		if p.eof() {
			p.fail("an array without its closing ]")
		}
		if p.peek() == ']' {
			p.pos++
			return items
		}
		items = append(items, p.value())
		p.skipArraySpace()
		if p.eof() {
			p.fail("an array without its closing ]")
		}
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return items
		default:
			p.fail("array items must be separated by commas")
		}
	}
}

func (p *parser) inlineTable() *table {
	t := newTable(kindInline)
	p.skipWhitespace()
	if !p.eof() && p.peek() == '}' {
		p.pos++
		return t
	}
	var opened []*table
	for {
		path := p.key()
		if p.eof() || p.peek() != '=' {
			p.fail("a key must be followed by =")
		}
		p.pos++
		p.skipWhitespace()
		value := p.value()
		p.assign(t, path, value, &opened)
		p.skipWhitespace()
		if p.eof() {
			p.fail("an inline table without its closing }")
		}
		switch p.peek() {
		case ',':
			p.pos++
			p.skipWhitespace()
			if !p.eof() && p.peek() == '}' {
				p.fail("a trailing comma in an inline table")
			}
		case '}':
			p.pos++
			for _, o := range opened {
				delete(p.inlineOpen, o)
			}
			return t
		default:
			p.fail("inline table entries must be separated by commas, on one line")
		}
	}
}

// scalar reads a boolean, number or date-time.
func (p *parser) scalar() any {
	start := p.pos
	for !p.eof() && !strings.ContainsRune(" \t\r\n#,]}", rune(p.peek())) {
		p.pos++
	}
	token := p.src[start:p.pos]
	// A date and a time separated by a space: "2026-01-01 12:00:00Z".
	if isDate(token) && p.pos+2 < len(p.src) && p.src[p.pos] == ' ' && isDigit(p.src[p.pos+1]) && isDigit(p.src[p.pos+2]) {
		p.pos++
		for !p.eof() && !strings.ContainsRune(" \t\r\n#,]}", rune(p.peek())) {
			p.pos++
		}
		token = p.src[start:p.pos]
	}
	switch token {
	case "":
		p.fail("a value was expected")
	case "true":
		return true
	case "false":
		return false
	case "inf", "+inf":
		return math.Inf(1)
	case "-inf":
		return math.Inf(-1)
	case "nan", "+nan", "-nan":
		return math.NaN()
	}
	if len(token) >= 5 && isDigit(token[0]) && (token[2] == ':' || (len(token) >= 10 && token[4] == '-')) {
		return p.dateTime(token)
	}
	return p.number(token)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isDate(s string) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-' && allDigits(s[0:4]) && allDigits(s[5:7]) && allDigits(s[8:10])
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func (p *parser) dateTime(token string) any {
	date, clock := "", token
	if token[2] != ':' {
		date, clock = token[:10], token[10:]
		if !isDate(date) {
			p.fail("an invalid date")
		}
		if clock == "" {
			p.checkDate(date)
			return LocalDate{Text: date}
		}
		if c := clock[0]; c != 'T' && c != 't' && c != ' ' {
			p.fail("an invalid date-time")
		}
		clock = clock[1:]
	}
	// HH:MM:SS[.fraction][offset]
	if len(clock) < 8 || clock[2] != ':' || clock[5] != ':' || !allDigits(clock[0:2]) || !allDigits(clock[3:5]) || !allDigits(clock[6:8]) {
		p.fail("an invalid time in")
	}
	hour, _ := strconv.Atoi(clock[0:2])
	minute, _ := strconv.Atoi(clock[3:5])
	second, _ := strconv.Atoi(clock[6:8])
	if hour > 23 || minute > 59 || second > 59 {
		p.fail("an invalid time in")
	}
	rest := clock[8:]
	nanos := 0
	if strings.HasPrefix(rest, ".") {
		end := 1
		for end < len(rest) && isDigit(rest[end]) {
			end++
		}
		if end == 1 {
			p.fail("a fraction without digits in")
		}
		digits := rest[1:end]
		if len(digits) > 9 {
			digits = digits[:9] // finer than nanoseconds: truncated, as TOML allows
		}
		nanos, _ = strconv.Atoi(digits + strings.Repeat("0", 9-len(digits)))
		rest = rest[end:]
	}
	if date == "" {
		if rest != "" {
			p.fail("a time of day can't have an offset:")
		}
		return LocalTime{Text: token}
	}
	year, month, day := p.checkDate(date)
	if rest == "" {
		return LocalDateTime{Text: token}
	}
	var loc *time.Location
	switch {
	case rest == "Z" || rest == "z":
		loc = time.UTC
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' && allDigits(rest[1:3]) && allDigits(rest[4:6]):
		oh, _ := strconv.Atoi(rest[1:3])
		om, _ := strconv.Atoi(rest[4:6])
		if oh > 23 || om > 59 {
			p.fail("an invalid offset in")
		}
		offset := oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
		loc = time.FixedZone(rest, offset)
	default:
		p.fail("an invalid offset in")
	}
	return time.Date(year, time.Month(month), day, hour, minute, second, nanos, loc)
}

func (p *parser) checkDate(date string) (int, int, int) {
	year, _ := strconv.Atoi(date[0:4])
	month, _ := strconv.Atoi(date[5:7])
	day, _ := strconv.Atoi(date[8:10])
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if month < 1 || month > 12 || day < 1 || t.Day() != day || int(t.Month()) != month {
		p.fail("an invalid date")
	}
	return year, month, day
}

// digitsWithUnderscores: each underscore between two digits of the given base.
func digitsWithUnderscores(s string, isDigitOf func(byte) bool) (string, bool) {
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' {
			if s[i-1] == '_' {
				return "", false
			}
			continue
		}
		if !isDigitOf(c) {
			return "", false
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

func (p *parser) number(token string) any {
	if len(token) > 2 && token[0] == '0' && (token[1] == 'x' || token[1] == 'o' || token[1] == 'b') {
		base, check := 16, func(c byte) bool { return strings.IndexByte("0123456789abcdefABCDEF", c) >= 0 }
		switch token[1] {
		case 'o':
			base, check = 8, func(c byte) bool { return c >= '0' && c <= '7' }
		case 'b':
			base, check = 2, func(c byte) bool { return c == '0' || c == '1' }
		}
		digits, ok := digitsWithUnderscores(token[2:], check)
		if !ok {
			p.fail("an invalid integer")
		}
		value, err := strconv.ParseInt(digits, base, 64)
		if err != nil {
			p.fail("an integer out of range")
		}
		return value
	}
	body := token
	sign := ""
	if body != "" && (body[0] == '+' || body[0] == '-') {
		sign, body = body[:1], body[1:]
	}
	intPart, frac, exp := body, "", ""
	isFloat := false
	if i := strings.IndexAny(intPart, "eE"); i >= 0 {
		intPart, exp = intPart[:i], intPart[i+1:]
		isFloat = true
		if exp == "" {
			p.fail("an invalid number")
		}
	}
	if i := strings.IndexByte(intPart, '.'); i >= 0 {
		intPart, frac = intPart[:i], intPart[i+1:]
		isFloat = true
		if frac == "" {
			p.fail("an invalid number")
		}
	}
	digits, ok := digitsWithUnderscores(intPart, isDigit)
	if !ok || (len(digits) > 1 && digits[0] == '0') {
		p.fail("an invalid number")
	}
	if !isFloat {
		value, err := strconv.ParseInt(sign+digits, 10, 64)
		if err != nil {
			p.fail("an integer out of range")
		}
		return value
	}
	text := sign + digits
	if frac != "" {
		f, ok := digitsWithUnderscores(frac, isDigit)
		if !ok {
			p.fail("an invalid number")
		}
		text += "." + f
	}
	if exp != "" {
		esign := ""
		if exp[0] == '+' || exp[0] == '-' {
			esign, exp = exp[:1], exp[1:]
		}
		e, ok := digitsWithUnderscores(exp, isDigit)
		if !ok {
			p.fail("an invalid number")
		}
		text += "e" + esign + e
	}
	value, err := strconv.ParseFloat(text, 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		p.fail("an invalid number")
	}
	return value
}

// plain turns the parser's tables into map[string]any and []any.
func plain(v any) map[string]any {
	return convert(v).(map[string]any)
}

func convert(v any) any {
	switch x := v.(type) {
	case *table:
		m := make(map[string]any, len(x.keys))
		for k, item := range x.keys {
			m[k] = convert(item)
		}
		return m
	case *tableArray:
		out := make([]any, len(x.tables))
		for i, t := range x.tables {
			out[i] = convert(t)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = convert(item)
		}
		return out
	}
	return v
}
