package webidentity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting of objects and arrays in headers, claims
// and key sets. Real tokens nest three levels deep (kubernetes.io → pod →
// name); the bound only stops pathological inputs.
const maxJSONDepth = 32

// checkJSON reports whether data is exactly one JSON value, in valid UTF-8,
// whose objects have no two members with the same name, names that differ
// only in letter case counting as the same. encoding/json keeps the last of
// two duplicates and matches struct fields without regard to case; refusing
// such documents means every reader of the token sees the same claims.
func checkJSON(data []byte) error {
	c := jsonChecker{data: data}
	return c.run()
}

func (c *jsonChecker) run() error {
	if !utf8.Valid(c.data) {
		return errors.New("JSON is not valid UTF-8")
	}
	c.space()
	if err := c.value(0); err != nil {
		return err
	}
	c.space()
	if c.pos != len(c.data) {
		return fmt.Errorf("JSON has trailing data at offset %d", c.pos)
	}
	return nil
}

type jsonChecker struct {
	data []byte
	pos  int
	// collect asks for the members (or elements) of the top-level object
	// (or array), as raw slices of data.
	collect bool
	members map[string]json.RawMessage
	elems   []json.RawMessage
}

func (c *jsonChecker) space() {
	for c.pos < len(c.data) {
		switch c.data[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

func (c *jsonChecker) fail(what string) error {
	return fmt.Errorf("invalid JSON: %s at offset %d", what, c.pos)
}

func (c *jsonChecker) value(depth int) error {
	if c.pos >= len(c.data) {
		return c.fail("unexpected end")
	}
	switch b := c.data[c.pos]; {
	case b == '{':
		return c.object(depth + 1)
	case b == '[':
		return c.array(depth + 1)
	case b == '"':
		_, _, err := c.str()
		return err
	case b == 't':
		return c.literal("true")
	case b == 'f':
		return c.literal("false")
	case b == 'n':
		return c.literal("null")
	case b == '-' || (b >= '0' && b <= '9'):
		return c.number()
	default:
		return c.fail("unexpected character")
	}
}

func (c *jsonChecker) literal(word string) error {
	if !bytes.HasPrefix(c.data[c.pos:], []byte(word)) {
		return c.fail("bad literal")
	}
	c.pos += len(word)
	return nil
}

func (c *jsonChecker) digits() int {
	start := c.pos
	for c.pos < len(c.data) && c.data[c.pos] >= '0' && c.data[c.pos] <= '9' {
		c.pos++
	}
	return c.pos - start
}

// number checks the JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (c *jsonChecker) number() error {
	if c.data[c.pos] == '-' {
		c.pos++
	}
	if c.pos >= len(c.data) {
		return c.fail("bad number")
	}
	if c.data[c.pos] == '0' {
		c.pos++
	} else if c.digits() == 0 {
		return c.fail("bad number")
	}
	if c.pos < len(c.data) && c.data[c.pos] == '.' {
		c.pos++
		if c.digits() == 0 {
			return c.fail("bad fraction")
		}
	}
	if c.pos < len(c.data) && (c.data[c.pos] == 'e' || c.data[c.pos] == 'E') {
		c.pos++
		if c.pos < len(c.data) && (c.data[c.pos] == '+' || c.data[c.pos] == '-') {
			c.pos++
		}
		if c.digits() == 0 {
			return c.fail("bad exponent")
		}
	}
	return nil
}

// str checks a string and returns its raw bytes (quotes included) and
// whether it holds escapes.
func (c *jsonChecker) str() (raw []byte, escaped bool, err error) {
	start := c.pos
	c.pos++ // opening quote
	for c.pos < len(c.data) {
		b := c.data[c.pos]
		switch {
		case b == '"':
			c.pos++
			return c.data[start:c.pos], escaped, nil
		case b == '\\':
			escaped = true
			c.pos++
			if c.pos >= len(c.data) {
				return nil, false, c.fail("unterminated escape")
			}
			switch c.data[c.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				c.pos++
			case 'u':
				c.pos++
				for range 4 {
					if c.pos >= len(c.data) || !isHex(c.data[c.pos]) {
						return nil, false, c.fail("bad \\u escape")
					}
					c.pos++
				}
			default:
				return nil, false, c.fail("bad escape")
			}
		case b < 0x20:
			return nil, false, c.fail("control character in string")
		default:
			c.pos++
		}
	}
	return nil, false, c.fail("unterminated string")
}

func isHex(b byte) bool {
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F')
}

func (c *jsonChecker) object(depth int) error {
	if depth > maxJSONDepth {
		return c.fail("nesting too deep")
	}
	c.pos++ // {
	c.space()
	if c.pos < len(c.data) && c.data[c.pos] == '}' {
		c.pos++
		return nil
	}
	// Names seen so far: a small object compares them in place (no
	// allocation); a large one switches to a map of folded names.
	var (
		small [16][]byte
		names = small[:0]
		many  map[string]struct{}
	)
	for {
		c.space()
		if c.pos >= len(c.data) || c.data[c.pos] != '"' {
			return c.fail("expected member name")
		}
		raw, escaped, err := c.str()
		if err != nil {
			return err
		}
		name := raw[1 : len(raw)-1]
		if escaped {
			// Compare names as the reader sees them: "s\u0075b" is "sub".
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return c.fail("bad member name")
			}
			name = []byte(s)
		}
		if many == nil && len(names) < 32 {
			for _, n := range names {
				if bytes.EqualFold(n, name) {
					return fmt.Errorf("invalid JSON: duplicate member name %q", truncate(string(name), 64))
				}
			}
			names = append(names, name)
		} else {
			if many == nil {
				many = make(map[string]struct{}, 2*len(names))
				for _, n := range names {
					many[foldName(string(n))] = struct{}{}
				}
			}
			folded := foldName(string(name))
			if _, dup := many[folded]; dup {
				return fmt.Errorf("invalid JSON: duplicate member name %q", truncate(string(name), 64))
			}
			many[folded] = struct{}{}
		}
		c.space()
		if c.pos >= len(c.data) || c.data[c.pos] != ':' {
			return c.fail("expected ':'")
		}
		c.pos++
		c.space()
		start := c.pos
		if err := c.value(depth); err != nil {
			return err
		}
		if c.collect && depth == 1 {
			if c.members == nil {
				c.members = make(map[string]json.RawMessage, 8)
			}
			c.members[string(name)] = c.data[start:c.pos]
		}
		c.space()
		if c.pos >= len(c.data) {
			return c.fail("unterminated object")
		}
		switch c.data[c.pos] {
		case ',':
			c.pos++
		case '}':
			c.pos++
			return nil
		default:
			return c.fail("expected ',' or '}'")
		}
	}
}

func (c *jsonChecker) array(depth int) error {
	if depth > maxJSONDepth {
		return c.fail("nesting too deep")
	}
	c.pos++ // [
	c.space()
	if c.pos < len(c.data) && c.data[c.pos] == ']' {
		c.pos++
		return nil
	}
	for {
		c.space()
		start := c.pos
		if err := c.value(depth); err != nil {
			return err
		}
		if c.collect && depth == 1 {
			c.elems = append(c.elems, c.data[start:c.pos])
		}
		c.space()
		if c.pos >= len(c.data) {
			return c.fail("unterminated array")
		}
		switch c.data[c.pos] {
		case ',':
			c.pos++
		case ']':
			c.pos++
			return nil
		default:
			return c.fail("expected ',' or ']'")
		}
	}
}

// foldName maps names that differ only in letter case to one key.
func foldName(s string) string {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b >= utf8.RuneSelf {
			return strings.ToLower(strings.ToUpper(s))
		} else if b >= 'A' && b <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// truncate shortens s for error causes (which go to logs, never to
// clients).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// members checks data as checkJSON does and returns the members of the
// object it must be, keyed by their exact (unescaped) names; the values
// are slices of data.
func members(data []byte) (map[string]json.RawMessage, error) {
	i := firstNonSpace(data)
	if i >= len(data) || data[i] != '{' {
		return nil, errors.New("JSON value is not an object")
	}
	c := jsonChecker{data: data, collect: true}
	if err := c.run(); err != nil {
		return nil, err
	}
	if c.members == nil {
		c.members = map[string]json.RawMessage{}
	}
	return c.members, nil
}

// elements checks data and returns the elements of the array it must be.
func elements(data []byte) ([]json.RawMessage, error) {
	i := firstNonSpace(data)
	if i >= len(data) || data[i] != '[' {
		return nil, errors.New("JSON value is not an array")
	}
	c := jsonChecker{data: data, collect: true}
	if err := c.run(); err != nil {
		return nil, err
	}
	return c.elems, nil
}

func firstNonSpace(data []byte) int {
	for i, b := range data {
		if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
			return i
		}
	}
	return len(data)
}

// jsonString decodes raw when it is a JSON string (not null, not a
// number). raw comes from a checked document, so a string without escapes
// is its own value.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// jsonStrings decodes a JSON string, or an array of strings, as a list. An
// array with a member of any other type is refused.
func jsonStrings(raw json.RawMessage) ([]string, bool) {
	if len(raw) == 0 {
		return nil, false
	}
	if raw[0] == '"' {
		s, ok := jsonString(raw)
		if !ok {
			return nil, false
		}
		return []string{s}, true
	}
	items, err := elements(raw)
	if err != nil {
		return nil, false
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := jsonString(it)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
