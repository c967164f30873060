package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// partKind is one element of a compiled pattern.
type partKind uint8

const (
	partLit   partKind = iota // literal text
	partStar                  // '*': any run of characters
	partQmark                 // '?': exactly one character
	partVar                   // ${key} or ${key, 'default'}: literal text from the context
)

type part struct {
	kind   partKind
	text   string // literal text, or the lower-case context key of a variable
	def    string // default of a variable
	hasDef bool
}

// pattern is a compiled string pattern: literal text, wildcards and policy
// variables. Matching is O(len(pattern) × len(text)) for every input.
type pattern struct {
	raw   string
	parts []part
	// lit is set when the pattern is one literal (no wildcard, no variable),
	// for a fast equality check.
	lit     bool
	hasVars bool
}

// compilePattern reads raw. wild enables '*' and '?' as wildcards; vars
// enables ${…} policy variables.
func compilePattern(raw string, wild, vars bool) pattern {
	p := pattern{raw: raw}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.parts = append(p.parts, part{kind: partLit, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case wild && c == '*':
			flush()
			// Consecutive stars are one star.
			if n := len(p.parts); n == 0 || p.parts[n-1].kind != partStar {
				p.parts = append(p.parts, part{kind: partStar})
			}
			i++
		case wild && c == '?':
			flush()
			p.parts = append(p.parts, part{kind: partQmark})
			i++
		case vars && c == '$' && i+1 < len(raw) && raw[i+1] == '{':
			v, n, ok := parseVariable(raw[i:])
			if !ok {
				lit.WriteByte(c)
				i++
				continue
			}
			if v.kind == partLit {
				lit.WriteString(v.text)
			} else {
				flush()
				p.parts = append(p.parts, v)
				p.hasVars = true
			}
			i += n
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	p.lit = len(p.parts) == 0 || (len(p.parts) == 1 && p.parts[0].kind == partLit)
	return p
}

// parseVariable reads a policy variable at the start of s ("${…}") and
// returns it with the number of bytes read. ${*}, ${?} and ${$} are the
// literal characters. A malformed variable is not a variable (ok false) and
// stays literal text.
func parseVariable(s string) (v part, n int, ok bool) {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return part{}, 0, false
	}
	body := s[2:end]
	n = end + 1
	switch body {
	case "*", "?", "$":
		return part{kind: partLit, text: body}, n, true
	}
	key, def, hasDef := body, "", false
	if comma := strings.IndexByte(body, ','); comma >= 0 {
		key = body[:comma]
		rest := strings.TrimSpace(body[comma+1:])
		if len(rest) < 2 || rest[0] != '\'' || rest[len(rest)-1] != '\'' {
			return part{}, 0, false
		}
		def, hasDef = rest[1:len(rest)-1], true
		// A default must not contain a quote; the closing brace search
		// above already excludes '}'.
		if strings.ContainsRune(def, '\'') {
			return part{}, 0, false
		}
	}
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " ${") {
		return part{}, 0, false
	}
	return part{kind: partVar, text: strings.ToLower(key), def: def, hasDef: hasDef}, n, true
}

// resolve supplies the value of a policy variable. It returns false when the
// variable cannot be resolved (absent, or a multi-valued key).
func (c *Context) resolve(lowerKey string) (string, bool) {
	e := c.lookup(lowerKey)
	if e == nil || e.multi || len(e.values) != 1 {
		return "", false
	}
	return e.values[0], true
}

// value returns the literal text of a literal or variable part.
func (pt *part) value(r *Context) (string, bool) {
	if pt.kind == partLit {
		return pt.text, true
	}
	if v, ok := r.resolve(pt.text); ok {
		return v, true
	}
	if pt.hasDef {
		return pt.def, true
	}
	return "", false
}

// resolvable reports whether every variable of p has a value.
func (p *pattern) resolvable(ctx *Context) bool {
	if !p.hasVars {
		return true
	}
	for i := range p.parts {
		if p.parts[i].kind == partVar {
			if _, ok := p.parts[i].value(ctx); !ok {
				return false
			}
		}
	}
	return true
}

// match reports whether text matches p. fold compares letters without
// regard to case. An unresolvable variable makes the pattern match nothing.
func (p *pattern) match(text string, fold bool, ctx *Context) bool {
	if p.lit {
		lit := ""
		if len(p.parts) == 1 {
			lit = p.parts[0].text
		}
		if fold {
			return strings.EqualFold(lit, text)
		}
		return lit == text
	}
	if !p.resolvable(ctx) {
		return false
	}
	return globMatch(p.parts, text, fold, ctx)
}

// globMatch matches parts against text in O(len(parts) × len(text)): the
// pattern is cut at its stars into chunks; the first chunk is anchored at the
// start, the last at the end, and every chunk between is matched at its
// leftmost occurrence, which is always a correct choice when stars separate
// the chunks.
func globMatch(parts []part, text string, fold bool, ctx *Context) bool {
	// First chunk: anchored at the start.
	i := 0
	for i < len(parts) && parts[i].kind != partStar {
		i++
	}
	end, ok := matchChunk(parts[:i], text, 0, fold, ctx)
	if !ok {
		return false
	}
	if i == len(parts) {
		return end == len(text)
	}
	pos := end
	// parts[i] is a star. Middle chunks.
	for {
		j := i + 1
		for j < len(parts) && parts[j].kind != partStar {
			j++
		}
		chunk := parts[i+1 : j]
		if j == len(parts) {
			// Last chunk: must end exactly at the end of text.
			if len(chunk) == 0 {
				return true
			}
			for start := pos; start <= len(text); {
				if e, ok := matchChunk(chunk, text, start, fold, ctx); ok && e == len(text) {
					return true
				}
				if start == len(text) {
					break
				}
				_, size := utf8.DecodeRuneInString(text[start:])
				start += size
			}
			return false
		}
		found := false
		for start := pos; start <= len(text); {
			if e, ok := matchChunk(chunk, text, start, fold, ctx); ok {
				pos, found = e, true
				break
			}
			if start == len(text) {
				break
			}
			_, size := utf8.DecodeRuneInString(text[start:])
			start += size
		}
		if !found {
			return false
		}
		i = j
	}
}

// matchChunk matches a star-free run of parts at text[pos:] and returns where
// the match ends.
func matchChunk(chunk []part, text string, pos int, fold bool, ctx *Context) (int, bool) {
	for k := range chunk {
		pt := &chunk[k]
		switch pt.kind {
		case partQmark:
			if pos >= len(text) {
				return 0, false
			}
			_, size := utf8.DecodeRuneInString(text[pos:])
			pos += size
		default:
			lit, _ := pt.value(ctx)
			n, ok := hasPrefix(text[pos:], lit, fold)
			if !ok {
				return 0, false
			}
			pos += n
		}
	}
	return pos, true
}

// hasPrefix reports whether s starts with prefix, and how many bytes of s the
// prefix covers (with fold, case variants may differ in length).
func hasPrefix(s, prefix string, fold bool) (int, bool) {
	if !fold {
		if strings.HasPrefix(s, prefix) {
			return len(prefix), true
		}
		return 0, false
	}
	i := 0
	for _, pr := range prefix {
		if i >= len(s) {
			return 0, false
		}
		sr, size := utf8.DecodeRuneInString(s[i:])
		if sr != pr && !equalFoldRune(sr, pr) {
			return 0, false
		}
		i += size
	}
	return i, true
}

func equalFoldRune(a, b rune) bool {
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	// SimpleFold walks the orbit of case variants of a rune.
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// Match reports whether text matches the IAM wildcard pattern ('*' any run of
// characters, '?' one character). It is exported for tools that need IAM's
// matching outside a policy, such as the linter. Its cost is linear in
// len(pattern) × len(text).
func Match(pattern, text string) bool {
	p := compilePattern(pattern, true, false)
	return p.match(text, false, nil)
}
