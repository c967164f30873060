package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// jkind is the JSON type of a node.
type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

// jnode is a JSON value that keeps object members in document order, so that
// validation reports the first problem in the order AWS reads the document,
// and so duplicate keys can be refused.
type jnode struct {
	kind    jkind
	str     string // string value, number text, or "true"/"false"
	items   []*jnode
	members []jmember
}

type jmember struct {
	key string
	val *jnode
}

// get returns the member named key, or nil.
func (n *jnode) get(key string) *jnode {
	for _, m := range n.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

var errDuplicateKey = errors.New("duplicate key")

// maxDepth bounds nesting; no valid policy is deeper than five levels.
const maxDepth = 32

// parseJSON reads exactly one JSON value. Duplicate object keys, trailing
// data and nesting beyond maxDepth are errors.
func parseJSON(doc []byte) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	n, err := readNode(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the document")
	}
	return n, nil
}

func readNode(dec *json.Decoder, depth int) (*jnode, error) {
	if depth > maxDepth {
		return nil, errors.New("document nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &jnode{kind: jNull}, nil
	case bool:
		if t {
			return &jnode{kind: jBool, str: "true"}, nil
		}
		return &jnode{kind: jBool, str: "false"}, nil
	case json.Number:
		return &jnode{kind: jNumber, str: string(t)}, nil
	case string:
		return &jnode{kind: jString, str: t}, nil
	case json.Delim:
		switch t {
		case '[':
			n := &jnode{kind: jArray}
			for dec.More() {
				item, err := readNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, item)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		case '{':
			n := &jnode{kind: jObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				if n.get(key) != nil {
					return nil, errDuplicateKey
				}
				val, err := readNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.members = append(n.members, jmember{key: key, val: val})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		}
	}
	return nil, errors.New("unexpected JSON token")
}
