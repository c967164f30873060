package sqlstore

import (
	"strconv"
	"strings"
)

// questionMarks rewrites a statement whose placeholders are $1, $2, … $n,
// each once and in that order, to SQLite's anonymous ? placeholders.
// modernc.org/sqlite looks the name of every numbered parameter up in a
// list on each bind, which makes a statement of n parameters cost O(n²)
// per execution; anonymous parameters bind by position. Any other use of
// placeholders (a number twice, out of order, or $ inside a string
// literal) leaves the statement as it is.
func questionMarks(q string) string {
	var b strings.Builder
	next := 1
	inString := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inString = !inString
		case c == '$' && !inString:
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n, err := strconv.Atoi(q[i+1 : j])
			if err != nil || n != next {
				return q
			}
			next++
			b.WriteByte('?')
			i = j - 1
			continue
		case c == '$' && inString:
			return q
		}
		b.WriteByte(c)
	}
	return b.String()
}
