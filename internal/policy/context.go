package policy

import (
	"fmt"
	"strings"
)

// ContextType is the type of a context key, in the words of IAM's
// ContextKeyType. A list type makes the key multi-valued even when it holds
// one value.
type ContextType int

const (
	TypeString ContextType = iota
	TypeStringList
	TypeNumeric
	TypeNumericList
	TypeBoolean
	TypeBooleanList
	TypeDate
	TypeDateList
	TypeIP
	TypeIPList
	TypeBinary
	TypeBinaryList
)

var contextTypeNames = [...]string{
	TypeString:      "string",
	TypeStringList:  "stringList",
	TypeNumeric:     "numeric",
	TypeNumericList: "numericList",
	TypeBoolean:     "boolean",
	TypeBooleanList: "booleanList",
	TypeDate:        "date",
	TypeDateList:    "dateList",
	TypeIP:          "ip",
	TypeIPList:      "ipList",
	TypeBinary:      "binary",
	TypeBinaryList:  "binaryList",
}

func (t ContextType) String() string {
	if t >= 0 && int(t) < len(contextTypeNames) {
		return contextTypeNames[t]
	}
	return fmt.Sprintf("ContextType(%d)", int(t))
}

// IsList reports whether keys of this type are multi-valued.
func (t ContextType) IsList() bool { return t%2 == 1 }

// ParseContextType reads a ContextType from its IAM name, case-insensitively.
func ParseContextType(s string) (ContextType, error) {
	for t, n := range contextTypeNames {
		if strings.EqualFold(n, s) {
			return ContextType(t), nil
		}
	}
	return 0, fmt.Errorf("unknown context key type %q: want one of %s", s, strings.Join(contextTypeNames[:], ", "))
}

// Context is the set of condition keys of a request. Key names are
// case-insensitive. A key with two or more values, or declared with a list
// type, is multi-valued. A Context is built once per request and only read
// during evaluation.
type Context struct {
	idx     map[string]int
	entries []contextEntry
}

type contextEntry struct {
	key    string // as first given
	values []string
	typ    ContextType
	typed  bool
	multi  bool
}

// NewContext returns an empty context.
func NewContext() *Context { return &Context{idx: map[string]int{}} }

// NewContextSize returns an empty context with room for n keys.
func NewContextSize(n int) *Context {
	return &Context{idx: make(map[string]int, n), entries: make([]contextEntry, 0, n)}
}

func (c *Context) entry(key string) *contextEntry {
	if c.idx == nil {
		c.idx = map[string]int{}
	}
	lk := strings.ToLower(key)
	if i, ok := c.idx[lk]; ok {
		return &c.entries[i]
	}
	c.idx[lk] = len(c.entries)
	c.entries = append(c.entries, contextEntry{key: key})
	return &c.entries[len(c.entries)-1]
}

// Add appends one value to key. A key given two or more values is
// multi-valued.
func (c *Context) Add(key, value string) {
	e := c.entry(key)
	e.values = append(e.values, value)
	if len(e.values) > 1 {
		e.multi = true
	}
}

// Set replaces the values of key. Two or more values, or none, make the key
// multi-valued (an empty list is a present, empty multi-valued key).
func (c *Context) Set(key string, values ...string) {
	e := c.entry(key)
	e.values = append([]string(nil), values...)
	e.multi = len(values) != 1 || (e.typed && e.typ.IsList())
}

// SetType declares the type of key. A list type makes it multi-valued.
func (c *Context) SetType(key string, t ContextType) {
	e := c.entry(key)
	e.typ, e.typed = t, true
	if t.IsList() {
		e.multi = true
	}
}

// Get returns the values of key and whether it is present.
func (c *Context) Get(key string) ([]string, bool) {
	e := c.lookup(key)
	if e == nil {
		return nil, false
	}
	return e.values, true
}

// Type returns the declared type of key, and whether one was declared.
func (c *Context) Type(key string) (ContextType, bool) {
	e := c.lookup(key)
	if e == nil {
		return 0, false
	}
	return e.typ, e.typed
}

// Keys returns the keys in the order they were first given.
func (c *Context) Keys() []string {
	if c == nil {
		return nil
	}
	out := make([]string, len(c.entries))
	for i, e := range c.entries {
		out[i] = e.key
	}
	return out
}

// lookup finds key, which must already be lower case on the hot path; it
// falls back to lowering for callers outside the evaluator.
func (c *Context) lookup(key string) *contextEntry {
	if c == nil || c.idx == nil {
		return nil
	}
	if i, ok := c.idx[key]; ok {
		return &c.entries[i]
	}
	if i, ok := c.idx[strings.ToLower(key)]; ok {
		return &c.entries[i]
	}
	return nil
}
