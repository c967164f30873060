package iam

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/irsa-dev/irsa/internal/awsquery"
)

// Patterns of the IAM API model (botocore iam/2010-05-08), anchored: the
// model's patterns must match the whole value.
const (
	patName        = `[\w+=,.@-]+`
	patPath        = `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`
	patPolicyPath  = `((/[A-Za-z0-9\.,\+@=_-]+)*)/`
	patPathPrefix  = `\u002F[\u0021-\u007F]*`
	patRoleDesc    = `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`
	patTagKey      = `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`
	patTagValue    = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`
	patVersionID   = `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`
	patMarker      = `[\u0020-\u00FF]+`
	maxMarkerLen   = 320
	defaultMaxItem = 100
)

var (
	reName       = anchored(patName)
	rePath       = anchored(patPath)
	rePolicyPath = anchored(patPolicyPath)
	rePathPrefix = anchored(patPathPrefix)
	reRoleDesc   = anchored(patRoleDesc)
	reTagKey     = anchored(patTagKey)
	reTagValue   = anchored(patTagValue)
	reVersionID  = anchored(patVersionID)
	reMarker     = anchored(patMarker)
)

// anchored compiles a model pattern, which uses Java's \uXXXX escapes, as a
// whole-string Go regular expression.
func anchored(p string) *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + javaEscapes(p) + `)$`)
}

// javaEscapes rewrites \uXXXX as Go's \x{XXXX}.
func javaEscapes(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '\\' && i+5 < len(p) && p[i+1] == 'u':
			b.WriteString(`\x{` + p[i+2:i+6] + `}`)
			i += 5
		case p[i] == '\\' && i+1 < len(p):
			b.WriteString(p[i : i+2])
			i++
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

// Constraint texts of AWS's model validation, shared with the Query codec.
var (
	cMaxLen  = awsquery.MaxLength
	cMinLen  = awsquery.MinLength
	cPattern = awsquery.Pattern
)

func cMaxVal(n int) string { return awsquery.MaxValue(int64(n)) }
func cMinVal(n int) string { return awsquery.MinValue(int64(n)) }

const cEnum = awsquery.EnumValue

// violations collects model constraint violations of one request, so that
// every one of them is reported at once in AWS's format:
// "1 validation error detected: Value 'x' at 'roleName' failed to satisfy
// constraint: …", or "N validation errors detected: …; …".
type violations struct {
	awsquery.Violations
}

// add records a violation of member with value shown.
func (v *violations) add(value, member, constraint string) {
	v.Add(member, &value, constraint)
}

// addHidden records a violation without echoing the value, as AWS does for
// documents and structured lists.
func (v *violations) addHidden(member, constraint string) {
	v.AddHidden(member, constraint)
}

// null records a missing required member.
func (v *violations) null(member string) {
	v.Add(member, nil, awsquery.NotNull)
}

func (v *violations) err() error { return v.Err() }

// str checks a string member against its length bounds and pattern (re nil:
// no pattern). lo 0 means no lower bound.
func (v *violations) str(value, member string, lo, hi int, re *regexp.Regexp, pattern string) {
	n := utf8.RuneCountInString(value)
	if hi > 0 && n > hi {
		v.add(value, member, cMaxLen(hi))
	}
	if lo > 0 && n < lo {
		v.add(value, member, cMinLen(lo))
	}
	if re != nil && !re.MatchString(value) {
		v.add(value, member, cPattern(pattern))
	}
}

// required checks a required string member: null when absent, then its
// constraints.
func (v *violations) required(value *string, member string, lo, hi int, re *regexp.Regexp, pattern string) {
	if value == nil {
		v.null(member)
		return
	}
	v.str(*value, member, lo, hi, re, pattern)
}

// optional checks an optional string member when given.
func (v *violations) optional(value *string, member string, lo, hi int, re *regexp.Regexp, pattern string) {
	if value != nil {
		v.str(*value, member, lo, hi, re, pattern)
	}
}

// intRange checks an optional integer member.
func (v *violations) intRange(value *int32, member string, lo, hi int) {
	if value == nil {
		return
	}
	if int(*value) > hi {
		v.add(strconv.Itoa(int(*value)), member, cMaxVal(hi))
	}
	if int(*value) < lo {
		v.add(strconv.Itoa(int(*value)), member, cMinVal(lo))
	}
}

// strList checks every element of a list of strings against the element
// constraints; AWS reports such a list once, as a whole, listing the
// element's constraints.
func (v *violations) strList(values []string, member string, lo, hi int, re *regexp.Regexp, pattern string) {
	bad := false
	for _, s := range values {
		n := utf8.RuneCountInString(s)
		if (hi > 0 && n > hi) || (lo > 0 && n < lo) || (re != nil && !re.MatchString(s)) {
			bad = true
			break
		}
	}
	if !bad {
		return
	}
	var cs []string
	if hi > 0 {
		cs = append(cs, cMaxLen(hi))
	}
	if lo > 0 {
		cs = append(cs, cMinLen(lo))
	}
	if re != nil {
		cs = append(cs, cPattern(pattern))
	}
	v.add("["+strings.Join(values, ", ")+"]", member, "Member must satisfy constraint: ["+strings.Join(cs, ", ")+"]")
}

// page checks the Marker and MaxItems pagination members.
func (v *violations) page(marker *string, maxItems *int32) {
	v.optional(marker, "marker", 1, maxMarkerLen, reMarker, patMarker)
	v.intRange(maxItems, "maxItems", 1, 1000)
}

// enum checks an optional enumerated member.
func (v *violations) enum(value *string, member string, allowed ...string) {
	if value == nil {
		return
	}
	for _, a := range allowed {
		if *value == a {
			return
		}
	}
	v.add(*value, member, cEnum)
}
