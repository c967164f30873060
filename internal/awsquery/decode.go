package awsquery

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// Decode fills the struct that out points to from Query parameters.
//
// Only fields tagged `query:"Name"` are filled (an untagged field is never
// set from the wire); embedded structs contribute their tagged fields.
// Supported field types:
//
//   - string, *string; bool, *bool ("true" or "false", any case);
//     int, int8…int64 and pointers to them (int is read as 32 bits, the
//     width of AWS integers; "+900" and "0900" parse like AWS parses them);
//   - a struct or *struct, read from Name.Field;
//   - []string from Name.member.N, and []T for a struct T from
//     Name.member.N.Field, where T's fields carry their own tags (STS's
//     PolicyArns.member.N.arn is `query:"arn"`).
//
// A list's indices must run 1, 2, … n without gaps or leading zeros and
// stay within MaxListMembers; "Name=" (the empty value SDKs send for an empty
// list) gives an empty, non-nil slice, so callers can tell "given empty"
// from "absent" (nil). Parameters with no field are ignored, as AWS ignores
// them.
//
// Errors are *awserr.Error: MalformedInput for a value that does not parse
// (the message is "missing value for decimal type" for an empty number and
// absent otherwise, as with AWS) or a malformed list; InvalidParameterValue
// for a parameter given more than once (AWS would take the first; irsa
// refuses). On error out may be partly filled and should be discarded. A
// bad out is a programming error and comes back as InternalFailure.
func Decode(params url.Values, out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return awserr.Internal(fmt.Errorf("awsquery.Decode: want a non-nil pointer to a struct, got %T", out))
	}
	p, err := planFor(rv.Elem().Type())
	if err != nil {
		return awserr.Internal(err)
	}
	return decodeStruct(params, "", p, rv.Elem())
}

type fieldKind int

const (
	kindString fieldKind = iota
	kindBool
	kindInt
	kindStruct
	kindStringList
	kindStructList
)

type fieldPlan struct {
	name  string
	index []int
	kind  fieldKind
	ptr   bool // *string, *bool, *intN, *struct
	bits  int  // for kindInt
	elem  *plan
}

type plan struct {
	fields []fieldPlan
}

var plans sync.Map // reflect.Type → *plan

// maxNesting bounds how deep request structs may nest, which also stops a
// self-referencing type from recursing forever.
const maxNesting = 8

func planFor(t reflect.Type) (*plan, error) {
	if p, ok := plans.Load(t); ok {
		return p.(*plan), nil
	}
	p, err := buildPlan(t, 0)
	if err != nil {
		return nil, err
	}
	plans.Store(t, p)
	return p, nil
}

func buildPlan(t reflect.Type, depth int) (*plan, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("awsquery: %s nests more than %d levels", t, maxNesting)
	}
	p := &plan{}
	if err := addFields(p, t, nil, depth); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, f := range p.fields {
		if seen[f.name] {
			return nil, fmt.Errorf("awsquery: %s has two fields named %q", t, f.name)
		}
		seen[f.name] = true
	}
	return p, nil
}

func addFields(p *plan, t reflect.Type, index []int, depth int) error {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		tag, tagged := sf.Tag.Lookup("query")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if !tagged || name == "" {
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				if err := addFields(p, sf.Type, idx, depth); err != nil {
					return err
				}
			}
			continue
		}
		if !sf.IsExported() {
			return fmt.Errorf("awsquery: %s.%s is tagged but unexported", t, sf.Name)
		}
		if strings.Contains(name, ".") {
			return fmt.Errorf("awsquery: %s.%s: name %q contains a dot", t, sf.Name, name)
		}
		f := fieldPlan{name: name, index: idx}
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			f.ptr = true
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.String:
			f.kind = kindString
		case ft.Kind() == reflect.Bool:
			f.kind = kindBool
		case isSignedInt(ft.Kind()):
			f.kind = kindInt
			f.bits = ft.Bits()
			if ft.Kind() == reflect.Int {
				f.bits = 32
			}
		case ft.Kind() == reflect.Struct:
			f.kind = kindStruct
			sub, err := buildPlan(ft, depth+1)
			if err != nil {
				return err
			}
			f.elem = sub
		case !f.ptr && ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			f.kind = kindStringList
		case !f.ptr && ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			f.kind = kindStructList
			sub, err := buildPlan(ft.Elem(), depth+1)
			if err != nil {
				return err
			}
			f.elem = sub
		default:
			return fmt.Errorf("awsquery: %s.%s: type %s is not supported", t, sf.Name, sf.Type)
		}
		p.fields = append(p.fields, f)
	}
	return nil
}

func isSignedInt(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

// decodeStruct fills v from vals, whose names are relative to path (the
// prefix used in error messages).
func decodeStruct(vals url.Values, path string, p *plan, v reflect.Value) error {
	for i := range p.fields {
		f := &p.fields[i]
		fv := v.FieldByIndex(f.index)
		full := path + f.name
		switch f.kind {
		case kindString, kindBool, kindInt:
			vs, ok := vals[f.name]
			if !ok {
				continue
			}
			if len(vs) > 1 {
				return repeated(full)
			}
			if err := setScalar(f, fv, full, vs[0]); err != nil {
				return err
			}
		case kindStruct:
			sub := subValues(vals, f.name+".")
			if len(sub) == 0 {
				continue
			}
			if f.ptr {
				fv.Set(reflect.New(fv.Type().Elem()))
				fv = fv.Elem()
			}
			if err := decodeStruct(sub, full+".", f.elem, fv); err != nil {
				return err
			}
		case kindStringList, kindStructList:
			if err := decodeList(vals, full, f, fv); err != nil {
				return err
			}
		}
	}
	return nil
}

func setScalar(f *fieldPlan, fv reflect.Value, full, s string) error {
	if f.ptr {
		fv.Set(reflect.New(fv.Type().Elem()))
		fv = fv.Elem()
	}
	switch f.kind {
	case kindString:
		fv.SetString(s)
	case kindBool:
		switch {
		case strings.EqualFold(s, "true"):
			fv.SetBool(true)
		case strings.EqualFold(s, "false"):
			fv.SetBool(false)
		default:
			return malformedValue(full, s, "boolean")
		}
	case kindInt:
		if s == "" {
			return &awserr.Error{Code: CodeMalformedInput, Message: "missing value for decimal type",
				Cause: fmt.Errorf("parameter %s is empty", full)}
		}
		n, err := strconv.ParseInt(s, 10, f.bits)
		if err != nil {
			return malformedValue(full, s, fmt.Sprintf("%d-bit integer", f.bits))
		}
		fv.SetInt(n)
	}
	return nil
}

// malformedValue is AWS's answer to a value that does not parse: the code
// alone, with no message. The cause says what went wrong, for the log.
func malformedValue(full, s, what string) error {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return &awserr.Error{Code: CodeMalformedInput, Cause: fmt.Errorf("parameter %s: %q is not a %s", full, s, what)}
}

func malformedList(full, format string, args ...any) error {
	return &awserr.Error{Code: CodeMalformedInput, Message: fmt.Sprintf("List parameter %s: ", full) + fmt.Sprintf(format, args...)}
}

// subValues returns the parameters under prefix, with the prefix removed.
func subValues(vals url.Values, prefix string) url.Values {
	var sub url.Values
	for k, vs := range vals {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			if sub == nil {
				sub = make(url.Values)
			}
			sub[rest] = vs
		}
	}
	return sub
}

func decodeList(vals url.Values, full string, f *fieldPlan, fv reflect.Value) error {
	empty := false
	if vs, ok := vals[f.name]; ok {
		if len(vs) > 1 {
			return repeated(full)
		}
		if vs[0] != "" {
			return malformedList(full, "give members as %s.member.N, or an empty value for an empty list.", full)
		}
		empty = true
	}

	prefix := f.name + ".member."
	var keys []string
	for k := range vals {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)

	var (
		strs    map[int]string
		structs map[int]url.Values
	)
	for _, k := range keys {
		idxText, sub, hasSub := strings.Cut(k[len(prefix):], ".")
		idx, err := listIndex(idxText)
		if err != nil {
			return malformedList(full, "%q: %v", k, err)
		}
		vs := vals[k]
		if f.kind == kindStringList {
			if hasSub {
				continue // not a member of a string list: ignored like any unknown parameter
			}
			if len(vs) > 1 {
				return repeated(k)
			}
			if strs == nil {
				strs = make(map[int]string)
			}
			strs[idx] = vs[0]
			continue
		}
		if !hasSub {
			continue
		}
		if structs == nil {
			structs = make(map[int]url.Values)
		}
		m := structs[idx]
		if m == nil {
			m = make(url.Values)
			structs[idx] = m
		}
		m[sub] = vs
	}

	n := len(strs) + len(structs)
	if n == 0 {
		if empty {
			fv.Set(reflect.MakeSlice(fv.Type(), 0, 0))
		}
		return nil
	}
	if empty {
		return malformedList(full, "it is given both empty and with members.")
	}
	for i := 1; i <= n; i++ {
		_, a := strs[i]
		_, b := structs[i]
		if !a && !b {
			return malformedList(full, "member %d is missing; members must be numbered 1 to %d without gaps.", i, n)
		}
	}
	out := reflect.MakeSlice(fv.Type(), n, n)
	for i := 1; i <= n; i++ {
		if f.kind == kindStringList {
			out.Index(i - 1).SetString(strs[i])
			continue
		}
		if err := decodeStruct(structs[i], fmt.Sprintf("%s.member.%d.", full, i), f.elem, out.Index(i-1)); err != nil {
			return err
		}
	}
	fv.Set(out)
	return nil
}

var (
	errIndex      = errors.New("the member index must be a number from 1 without leading zeros")
	errIndexAbove = fmt.Errorf("the member index is above %d", MaxListMembers)
)

func listIndex(s string) (int, error) {
	if !isDigits(s) || s[0] == '0' {
		return 0, errIndex
	}
	if len(s) > 4 {
		return 0, errIndexAbove
	}
	n, _ := strconv.Atoi(s)
	if n > MaxListMembers {
		return 0, errIndexAbove
	}
	return n, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
