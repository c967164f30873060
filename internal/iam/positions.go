package iam

import (
	"bytes"
	"encoding/json"
)

// Position is a place in a policy document: 1-based line and column,
// columns counted in characters, as AWS's simulator reports it.
type Position struct {
	Line   int
	Column int
}

// span is where one statement object is, as AWS reports it: the place just
// after its opening brace and the place just after its closing brace. (AWS's
// recorded answer for a statement whose braces are the 40th and 112th
// characters of line 1 says 1:41 and 1:113.)
type span struct {
	Start, End Position
}

// statementSpans finds the statements of a policy document in the order the
// policy package numbers them: the Statement object, or each object of the
// Statement array. It returns nil when the document cannot be read, so a
// caller can leave positions out.
func statementSpans(doc string) []span {
	dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil
		}
		if key != "Statement" {
			if skipValue(dec) != nil {
				return nil
			}
			continue
		}
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		switch tok {
		case json.Delim('{'):
			s, ok := objectSpan(doc, dec)
			if !ok {
				return nil
			}
			return []span{s}
		case json.Delim('['):
			var out []span
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return nil
				}
				if tok != json.Delim('{') {
					return nil
				}
				s, ok := objectSpan(doc, dec)
				if !ok {
					return nil
				}
				out = append(out, s)
			}
			return out
		default:
			return nil
		}
	}
	return nil
}

// objectSpan is called just after an object's '{' was read; it reads the
// rest of the object. The decoder's offset after a delimiter is the byte
// that follows it.
func objectSpan(doc string, dec *json.Decoder) (span, bool) {
	start := int(dec.InputOffset())
	if err := skipRest(dec); err != nil {
		return span{}, false
	}
	end := int(dec.InputOffset())
	if start < 1 || end < start || end > len(doc) {
		return span{}, false
	}
	return span{Start: position(doc, start), End: position(doc, end)}, true
}

// skipValue reads one whole value.
func skipValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); ok && (d == '{' || d == '[') {
		return skipRest(dec)
	}
	return nil
}

// skipRest reads up to and including the delimiter that closes the
// innermost open object or array.
func skipRest(dec *json.Decoder) error {
	depth := 1
	for depth > 0 {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
		}
	}
	return nil
}

// position turns a byte offset into the 1-based line and column of the
// character there, columns counted in characters.
func position(doc string, off int) Position {
	line, col := 1, 1
	for _, r := range doc[:off] {
		if r == '\n' {
			line++
			col = 1
			continue
		}
		col++
	}
	return Position{Line: line, Column: col}
}
