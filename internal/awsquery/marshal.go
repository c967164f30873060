package awsquery

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// TimeFormat is how timestamps appear in XML: ISO 8601 in UTC with whole
// seconds, e.g. 2014-10-24T23:00:23Z.
const TimeFormat = "2006-01-02T15:04:05Z"

// MarshalResult renders a successful response:
//
//	<{action}Response xmlns="{xmlns}">
//	  <{action}Result>…</{action}Result>
//	  <ResponseMetadata>
//	    <RequestId>{requestID}</RequestId>
//	  </ResponseMetadata>
//	</{action}Response>
//
// or, when asJSON, {"{action}Response":{"{action}Result":{…},
// "ResponseMetadata":{"RequestId":…}}}. A nil result leaves the Result
// element out, as AWS does for actions without output (AttachRolePolicy).
//
// result is a struct (or pointer to one) described with encoding/xml tags,
// whose declaration order is the element order:
//
//   - `xml:"Name"` names an element (the field name when empty); `xml:"-"`
//     skips a field; embedded structs contribute their fields;
//   - a nil pointer or interface is always left out; `,omitempty` also
//     leaves out "", 0, false, a zero time.Time, an empty slice or map, and a
//     struct with nothing to render; anything else is written, an empty
//     value as a self-closing element (<Description/>, <Roles/>);
//   - a slice tagged `xml:"Roles>member"` is wrapped (<Roles><member>…);
//     a slice with a plain name repeats that element; in JSON both are
//     arrays under the name;
//   - time.Time is written as TimeFormat in XML and epoch seconds in JSON;
//   - a map with string keys is written as <entry><key/><value/></entry>
//     in key order, and as an object in JSON.
//
// Attributes, chardata and the xml.Marshaler interface are not supported;
// using them is an error. The content type returned is ContentTypeXML or
// ContentTypeJSON.
func MarshalResult(action, xmlns, requestID string, result any, asJSON bool) ([]byte, string, error) {
	if !isName(action) || strings.ContainsAny(action, ".-") {
		return nil, "", fmt.Errorf("awsquery: action %q is not a plain name", action)
	}
	var children []node
	if result != nil {
		rv := reflect.ValueOf(result)
		for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
			if rv.IsNil() {
				break
			}
			rv = rv.Elem()
		}
		switch {
		case (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) && rv.IsNil():
		case rv.Kind() == reflect.Struct:
			fields, err := structNodes(rv, 0)
			if err != nil {
				return nil, "", err
			}
			children = append(children, node{name: action + "Result", kind: nodeStruct, children: fields})
		default:
			return nil, "", fmt.Errorf("awsquery: result of %s is a %s, not a struct", action, rv.Type())
		}
	}
	children = append(children, node{name: "ResponseMetadata", kind: nodeStruct, children: []node{
		{name: "RequestId", kind: nodeText, text: requestID},
	}})
	root := node{name: action + "Response", kind: nodeStruct, children: children}
	if asJSON {
		return renderJSON(root), ContentTypeJSON, nil
	}
	return renderXML(root, xmlns), ContentTypeXML, nil
}

// MarshalError renders an error:
//
//	<ErrorResponse xmlns="{xmlns}">
//	  <Error>
//	    <Type>Sender</Type>
//	    <Code>…</Code>
//	    <Message>…</Message>
//	  </Error>
//	  <RequestId>…</RequestId>
//	</ErrorResponse>
//
// or, when asJSON, {"Error":{"Code":…,"Message":…,"Type":…},"RequestId":…}.
// The Message element is left out when e has no message, as AWS leaves it
// out. InvalidAction is always rendered in FaultNamespace, as AWS renders
// it. A nil e renders as InternalFailure. The caller sets the HTTP status
// from e.Status().
func MarshalError(xmlns string, e *awserr.Error, requestID string, asJSON bool) ([]byte, string) {
	if e == nil {
		e = awserr.Internal(nil)
	}
	if e.Code == awserr.InvalidAction {
		xmlns = FaultNamespace
	}
	typ := node{name: "Type", kind: nodeText, text: e.Fault()}
	code := node{name: "Code", kind: nodeText, text: e.Code}
	msg := node{name: "Message", kind: nodeText, text: e.Message}
	var inner []node
	if asJSON {
		inner = []node{code}
		if e.Message != "" {
			inner = append(inner, msg)
		}
		inner = append(inner, typ)
	} else {
		inner = []node{typ, code}
		if e.Message != "" {
			inner = append(inner, msg)
		}
	}
	reqID := node{name: "RequestId", kind: nodeText, text: requestID}
	errNode := node{name: "Error", kind: nodeStruct, children: inner}
	if asJSON {
		var b bytes.Buffer
		writeJSONObject(&b, []node{errNode, reqID})
		return b.Bytes(), ContentTypeJSON
	}
	root := node{name: "ErrorResponse", kind: nodeStruct, children: []node{errNode, reqID}}
	return renderXML(root, xmlns), ContentTypeXML
}

type nodeKind uint8

const (
	nodeText   nodeKind = iota // a string
	nodeNumber                 // a number: text in XML, a JSON number
	nodeBool                   // true or false
	nodeTime                   // text is TimeFormat; json is epoch seconds
	nodeStruct                 // children in order
	nodeList                   // children are the members
	nodeMap                    // children are the values, named by their keys
)

// node is one element of a response, independent of the rendering.
type node struct {
	name     string
	kind     nodeKind
	text     string
	json     string // nodeTime only
	children []node
	flat     bool // nodeList: members repeat the list's name, no wrapper
}

type marshalField struct {
	name      string
	item      string // member element name of a wrapped list
	index     []int
	omitEmpty bool
}

var marshalPlans sync.Map // reflect.Type → []marshalField

func marshalPlan(t reflect.Type) ([]marshalField, error) {
	if p, ok := marshalPlans.Load(t); ok {
		return p.([]marshalField), nil
	}
	var fields []marshalField
	if err := addMarshalFields(&fields, t, nil); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, f := range fields {
		if seen[f.name] {
			return nil, fmt.Errorf("awsquery: %s renders two elements named %q", t, f.name)
		}
		seen[f.name] = true
	}
	marshalPlans.Store(t, fields)
	return fields, nil
}

var timeType = reflect.TypeFor[time.Time]()

func addMarshalFields(fields *[]marshalField, t reflect.Type, index []int) error {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		if sf.Name == "XMLName" {
			continue
		}
		tag, tagged := sf.Tag.Lookup("xml")
		if tag == "-" {
			continue
		}
		if sf.Anonymous && !tagged {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != timeType {
				if !sf.IsExported() {
					return fmt.Errorf("awsquery: %s embeds the unexported %s; embed an exported type", t, sf.Type)
				}
				if err := addMarshalFields(fields, ft, idx); err != nil {
					return err
				}
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := marshalField{name: name, index: idx}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "":
			case "omitempty":
				f.omitEmpty = true
			default:
				return fmt.Errorf("awsquery: %s.%s: xml option %q is not supported", t, sf.Name, o)
			}
		}
		if f.name == "" {
			f.name = sf.Name
		}
		if wrapper, item, ok := strings.Cut(f.name, ">"); ok {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() != reflect.Slice && ft.Kind() != reflect.Array {
				return fmt.Errorf("awsquery: %s.%s: a>b names are for lists only", t, sf.Name)
			}
			f.name, f.item = wrapper, item
		}
		if !isName(f.name) || (f.item != "" && !isName(f.item)) {
			return fmt.Errorf("awsquery: %s.%s: %q is not an element name", t, sf.Name, tag)
		}
		*fields = append(*fields, f)
	}
	return nil
}

// isName reports whether s is a safe XML element name.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', c == '_':
		case '0' <= c && c <= '9', c == '-', c == '.':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// maxDepth bounds nesting, so a self-referencing value cannot recurse
// forever.
const maxDepth = 32

func structNodes(v reflect.Value, depth int) ([]node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("awsquery: %s nests more than %d levels", v.Type(), maxDepth)
	}
	plan, err := marshalPlan(v.Type())
	if err != nil {
		return nil, err
	}
	out := make([]node, 0, len(plan))
	for i := range plan {
		f := &plan[i]
		fv, ok := fieldByIndex(v, f.index)
		if !ok {
			continue // inside a nil embedded pointer
		}
		n, keep, err := valueNode(f.name, f.item, fv, f.omitEmpty, depth)
		if err != nil {
			return nil, err
		}
		if keep {
			out = append(out, n)
		}
	}
	return out, nil
}

func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

func valueNode(name, item string, v reflect.Value, omitEmpty bool, depth int) (node, bool, error) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return node{}, false, nil
		}
		v = v.Elem()
	}
	n := node{name: name}
	if v.Type() == timeType {
		t := v.Interface().(time.Time)
		if omitEmpty && t.IsZero() {
			return n, false, nil
		}
		n.kind = nodeTime
		n.text = t.UTC().Format(TimeFormat)
		n.json = strconv.FormatInt(t.Unix(), 10)
		return n, true, nil
	}
	if v.Type().Implements(marshalerType) || reflect.PointerTo(v.Type()).Implements(marshalerType) {
		return n, false, fmt.Errorf("awsquery: %s implements xml.Marshaler, which is not supported", v.Type())
	}
	switch v.Kind() {
	case reflect.String:
		n.kind, n.text = nodeText, v.String()
		return n, !(omitEmpty && n.text == ""), nil
	case reflect.Bool:
		n.kind, n.text = nodeBool, strconv.FormatBool(v.Bool())
		return n, !(omitEmpty && !v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n.kind, n.text = nodeNumber, strconv.FormatInt(v.Int(), 10)
		return n, !(omitEmpty && v.Int() == 0), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n.kind, n.text = nodeNumber, strconv.FormatUint(v.Uint(), 10)
		return n, !(omitEmpty && v.Uint() == 0), nil
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return n, false, fmt.Errorf("awsquery: element %s is %v, which has no rendering", name, f)
		}
		n.kind, n.text = nodeNumber, strconv.FormatFloat(f, 'f', -1, v.Type().Bits())
		return n, !(omitEmpty && f == 0), nil
	case reflect.Struct:
		children, err := structNodes(v, depth+1)
		if err != nil {
			return n, false, err
		}
		n.kind, n.children = nodeStruct, children
		return n, !(omitEmpty && len(children) == 0), nil
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return n, false, fmt.Errorf("awsquery: element %s is a byte slice; convert it to a string", name)
		}
		if omitEmpty && v.Len() == 0 {
			return n, false, nil
		}
		n.kind = nodeList
		n.flat = item == ""
		if n.flat {
			item = name
		}
		for i := 0; i < v.Len(); i++ {
			m, keep, err := valueNode(item, "", v.Index(i), false, depth+1)
			if err != nil {
				return n, false, err
			}
			if keep {
				n.children = append(n.children, m)
			}
		}
		return n, true, nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return n, false, fmt.Errorf("awsquery: element %s is a map with %s keys; only string keys are supported", name, v.Type().Key())
		}
		if omitEmpty && v.Len() == 0 {
			return n, false, nil
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		n.kind = nodeMap
		for _, k := range keys {
			m, keep, err := valueNode("value", "", v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())), false, depth+1)
			if err != nil {
				return n, false, err
			}
			if keep {
				m.name = k
				n.children = append(n.children, m)
			}
		}
		return n, true, nil
	}
	return n, false, fmt.Errorf("awsquery: element %s has type %s, which is not supported", name, v.Type())
}

var marshalerType = reflect.TypeFor[xml.Marshaler]()

// renderXML writes the document the way AWS does: no XML declaration, two
// spaces of indentation per level, a newline at the end.
func renderXML(root node, xmlns string) []byte {
	var b bytes.Buffer
	b.Grow(4096)
	b.WriteByte('<')
	b.WriteString(root.name)
	if xmlns != "" {
		b.WriteString(` xmlns="`)
		escapeXML(&b, xmlns, true)
		b.WriteByte('"')
	}
	b.WriteString(">\n")
	for i := range root.children {
		writeXML(&b, &root.children[i], 1)
	}
	b.WriteString("</")
	b.WriteString(root.name)
	b.WriteString(">\n")
	return b.Bytes()
}

func indent(b *bytes.Buffer, depth int) {
	for i := 0; i < depth; i++ {
		b.WriteString("  ")
	}
}

func openTag(b *bytes.Buffer, name string, depth int) {
	indent(b, depth)
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteByte('>')
}

func closeTag(b *bytes.Buffer, name string) {
	b.WriteString("</")
	b.WriteString(name)
	b.WriteString(">\n")
}

func emptyTag(b *bytes.Buffer, name string, depth int) {
	indent(b, depth)
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteString("/>\n")
}

func writeXML(b *bytes.Buffer, n *node, depth int) {
	switch n.kind {
	case nodeStruct, nodeList, nodeMap:
		if n.kind == nodeList && n.flat {
			for i := range n.children {
				writeXML(b, &n.children[i], depth)
			}
			return
		}
		if len(n.children) == 0 {
			emptyTag(b, n.name, depth)
			return
		}
		openTag(b, n.name, depth)
		b.WriteByte('\n')
		for i := range n.children {
			c := &n.children[i]
			if n.kind != nodeMap {
				writeXML(b, c, depth+1)
				continue
			}
			openTag(b, "entry", depth+1)
			b.WriteByte('\n')
			writeXML(b, &node{name: "key", kind: nodeText, text: c.name}, depth+2)
			v := *c
			v.name = "value"
			writeXML(b, &v, depth+2)
			indent(b, depth+1)
			closeTag(b, "entry")
		}
		indent(b, depth)
		closeTag(b, n.name)
	default:
		if n.text == "" {
			emptyTag(b, n.name, depth)
			return
		}
		openTag(b, n.name, depth)
		escapeXML(b, n.text, false)
		closeTag(b, n.name)
	}
}

// escapeXML writes s as XML character data (or an attribute value): the
// markup characters are escaped, a carriage return is kept as &#xD; so
// parsers do not fold it, and anything XML cannot carry (invalid UTF-8,
// most control characters) becomes U+FFFD.
func escapeXML(b *bytes.Buffer, s string, attr bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"' && attr:
			b.WriteString("&quot;")
		case r == '\r':
			b.WriteString("&#xD;")
		case (r == '\n' || r == '\t') && attr:
			fmt.Fprintf(b, "&#x%X;", r)
		case r == utf8.RuneError && size == 1, !isXMLChar(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
}

func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

func renderJSON(root node) []byte {
	var b bytes.Buffer
	b.Grow(512)
	writeJSONObject(&b, []node{root})
	return b.Bytes()
}

func writeJSONObject(b *bytes.Buffer, fields []node) {
	b.WriteByte('{')
	for i := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, fields[i].name)
		b.WriteByte(':')
		writeJSONValue(b, &fields[i])
	}
	b.WriteByte('}')
}

func writeJSONValue(b *bytes.Buffer, n *node) {
	switch n.kind {
	case nodeText:
		writeJSONString(b, n.text)
	case nodeNumber, nodeBool:
		b.WriteString(n.text)
	case nodeTime:
		b.WriteString(n.json)
	case nodeStruct, nodeMap:
		writeJSONObject(b, n.children)
	case nodeList:
		b.WriteByte('[')
		for i := range n.children {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONValue(b, &n.children[i])
		}
		b.WriteByte(']')
	}
}

// writeJSONString writes s as a JSON string. Unlike encoding/json it leaves
// <, > and & alone (AWS does), and it turns invalid UTF-8 into U+FFFD.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xF])
		case r == '\u2028' || r == '\u2029':
			fmt.Fprintf(b, `\u%04x`, r)
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\ufffd`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
