package policy

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"strings"
	"time"

	"github.com/irsa-dev/irsa/internal/arn"
)

// family is the value type an operator compares.
type family uint8

const (
	famString family = iota
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famArn
	famNull
)

// relation is the comparison of a numeric or date operator.
type relation uint8

const (
	relEq relation = iota
	relLt
	relLte
	relGt
	relGte
)

type operator struct {
	fam     family
	rel     relation
	negated bool
	fold    bool // StringEqualsIgnoreCase
	like    bool // StringLike and the Arn operators: wildcards enabled
}

// operators maps each base operator name, as AWS spells it, to its meaning.
var operators = map[string]operator{
	"StringEquals":              {fam: famString},
	"StringNotEquals":           {fam: famString, negated: true},
	"StringEqualsIgnoreCase":    {fam: famString, fold: true},
	"StringNotEqualsIgnoreCase": {fam: famString, fold: true, negated: true},
	"StringLike":                {fam: famString, like: true},
	"StringNotLike":             {fam: famString, like: true, negated: true},
	"NumericEquals":             {fam: famNumeric, rel: relEq},
	"NumericNotEquals":          {fam: famNumeric, rel: relEq, negated: true},
	"NumericLessThan":           {fam: famNumeric, rel: relLt},
	"NumericLessThanEquals":     {fam: famNumeric, rel: relLte},
	"NumericGreaterThan":        {fam: famNumeric, rel: relGt},
	"NumericGreaterThanEquals":  {fam: famNumeric, rel: relGte},
	"DateEquals":                {fam: famDate, rel: relEq},
	"DateNotEquals":             {fam: famDate, rel: relEq, negated: true},
	"DateLessThan":              {fam: famDate, rel: relLt},
	"DateLessThanEquals":        {fam: famDate, rel: relLte},
	"DateGreaterThan":           {fam: famDate, rel: relGt},
	"DateGreaterThanEquals":     {fam: famDate, rel: relGte},
	"Bool":                      {fam: famBool},
	"BinaryEquals":              {fam: famBinary},
	"IpAddress":                 {fam: famIP},
	"NotIpAddress":              {fam: famIP, negated: true},
	"ArnEquals":                 {fam: famArn, like: true},
	"ArnLike":                   {fam: famArn, like: true},
	"ArnNotEquals":              {fam: famArn, like: true, negated: true},
	"ArnNotLike":                {fam: famArn, like: true, negated: true},
	"Null":                      {fam: famNull},
}

// setOp is a condition set operator.
type setOp uint8

const (
	setNone setOp = iota
	setForAllValues
	setForAnyValue
)

// opSpec is a full operator name taken apart.
type opSpec struct {
	operator
	set      setOp
	ifExists bool
}

// baseOperatorName strips the set prefix and IfExists suffix.
func baseOperatorName(name string) string {
	if rest, ok := strings.CutPrefix(name, "ForAllValues:"); ok {
		name = rest
	} else if rest, ok := strings.CutPrefix(name, "ForAnyValue:"); ok {
		name = rest
	}
	return strings.TrimSuffix(name, "IfExists")
}

// lookupOperator parses a full operator name such as
// "ForAnyValue:StringLikeIfExists". Null takes neither a set operator nor
// IfExists.
func lookupOperator(name string) (opSpec, bool) {
	var spec opSpec
	if rest, ok := strings.CutPrefix(name, "ForAllValues:"); ok {
		spec.set, name = setForAllValues, rest
	} else if rest, ok := strings.CutPrefix(name, "ForAnyValue:"); ok {
		spec.set, name = setForAnyValue, rest
	}
	if rest, ok := strings.CutSuffix(name, "IfExists"); ok {
		spec.ifExists, name = true, rest
	}
	op, ok := operators[name]
	if !ok {
		return opSpec{}, false
	}
	if op.fam == famNull && (spec.ifExists || spec.set != setNone) {
		return opSpec{}, false
	}
	spec.operator = op
	return spec, true
}

// cvalue is one compiled policy value of a condition.
type cvalue struct {
	raw    string
	valid  bool // the policy value parses for the operator's type
	pat    pattern
	arn    arnPattern
	num    number
	date   time.Time
	prefix netip.Prefix
	b      bool
	bin    []byte
}

func compileValue(spec opSpec, raw string, vars bool) cvalue {
	v := cvalue{raw: raw}
	switch spec.fam {
	case famString:
		v.pat = compilePattern(raw, spec.like, vars)
		v.valid = true
	case famArn:
		v.arn = compileARN(raw, vars, false)
		v.valid = v.arn.valid
	case famNumeric:
		v.num, v.valid = parseNumber(raw)
	case famDate:
		v.date, v.valid = parseDate(raw)
	case famBool:
		v.b, v.valid = parseBool(raw)
	case famBinary:
		b, err := base64.StdEncoding.DecodeString(raw)
		v.bin, v.valid = b, err == nil
	case famIP:
		v.prefix, v.valid = parseIPPrefix(raw)
	case famNull:
		v.b, v.valid = parseBool(raw)
	}
	return v
}

func parseIPPrefix(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() {
			bits := p.Bits() - 96
			if bits < 0 {
				return netip.Prefix{}, false
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), bits)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// requestValue is a request value parsed for one operator family.
type requestValue struct {
	s    string
	num  number
	date time.Time
	addr netip.Addr
	b    bool
	bin  []byte
}

// binScratch bounds the stack buffer used to decode binary request values.
const binScratch = 512

// parseRequestValue reads a request value for the operator's family. A
// value of the wrong type makes the condition not match.
func parseRequestValue(fam family, s string, scratch *[binScratch]byte) (requestValue, bool) {
	rv := requestValue{s: s}
	var ok bool
	switch fam {
	case famString, famArn:
		return rv, true
	case famNumeric:
		rv.num, ok = parseNumber(s)
	case famDate:
		rv.date, ok = parseDate(s)
	case famBool:
		rv.b, ok = parseBool(s)
	case famBinary:
		if base64.StdEncoding.DecodedLen(len(s)) <= binScratch {
			n, err := base64.StdEncoding.Decode(scratch[:], []byte(s))
			rv.bin, ok = scratch[:n], err == nil
		} else {
			b, err := base64.StdEncoding.DecodeString(s)
			rv.bin, ok = b, err == nil
		}
	case famIP:
		var err error
		rv.addr, err = netip.ParseAddr(s)
		ok = err == nil
		rv.addr = rv.addr.Unmap()
	}
	return rv, ok
}

// positive reports whether the request value satisfies the positive form of
// the operator against one policy value.
func (op *operator) positive(rv *requestValue, v *cvalue, ctx *Context) bool {
	if !v.valid {
		return false
	}
	switch op.fam {
	case famString:
		return v.pat.match(rv.s, op.fold, ctx)
	case famArn:
		return v.arn.match(rv.s, ctx)
	case famNumeric:
		return op.rel.holds(rv.num.cmp(v.num))
	case famDate:
		return op.rel.holds(rv.date.Compare(v.date))
	case famBool:
		return rv.b == v.b
	case famBinary:
		return bytes.Equal(rv.bin, v.bin)
	case famIP:
		return v.prefix.Contains(rv.addr)
	}
	return false
}

func (r relation) holds(c int) bool {
	switch r {
	case relEq:
		return c == 0
	case relLt:
		return c < 0
	case relLte:
		return c <= 0
	case relGt:
		return c > 0
	case relGte:
		return c >= 0
	}
	return false
}

// arnPattern matches ARNs segment by segment: wildcards in the first five
// segments stay within their segment; in the resource segment they may
// cross ':' and '/'.
type arnPattern struct {
	raw   string
	any   bool // "*"
	valid bool
	segs  [6]pattern
}

// compileARN compiles an ARN pattern. A pattern with fewer than six
// segments is padded with "*" segments when pad is set (identity-side
// policies); otherwise it matches nothing.
func compileARN(raw string, vars, pad bool) arnPattern {
	a := arnPattern{raw: raw}
	if raw == "*" {
		a.any, a.valid = true, true
		return a
	}
	segs := splitPatternSegments(raw)
	if len(segs) < 6 {
		if !pad {
			return a
		}
		for len(segs) < 6 {
			segs = append(segs, "*")
		}
	}
	for i := 0; i < 6; i++ {
		a.segs[i] = compilePattern(segs[i], true, vars)
	}
	a.valid = true
	return a
}

// splitPatternSegments cuts an ARN pattern at its first five colons,
// skipping colons inside ${…} variables.
func splitPatternSegments(raw string) []string {
	var out []string
	start, depth := 0, 0
	for i := 0; i < len(raw) && len(out) < 5; i++ {
		switch {
		case raw[i] == '$' && i+1 < len(raw) && raw[i+1] == '{':
			depth++
			i++
		case raw[i] == '}' && depth > 0:
			depth--
		case raw[i] == ':' && depth == 0:
			out = append(out, raw[start:i])
			start = i + 1
		}
	}
	return append(out, raw[start:])
}

func (a *arnPattern) match(text string, ctx *Context) bool {
	if a.any {
		return true
	}
	if !a.valid {
		return false
	}
	segs, ok := arn.Split(text)
	if !ok {
		return false
	}
	for i := range segs {
		if !a.segs[i].match(segs[i], false, ctx) {
			return false
		}
	}
	return true
}
