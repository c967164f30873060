package policy

import (
	"bytes"
	"encoding/json"
)

// MarshalJSON writes the policy in a canonical form: elements in AWS's
// usual order, every list as an array, condition values as strings.
// Parsing the result gives the same statements.
func (p *Policy) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	if p.Version != "" {
		b.WriteString(`"Version":`)
		writeString(&b, p.Version)
		b.WriteByte(',')
	}
	if p.ID != "" {
		b.WriteString(`"Id":`)
		writeString(&b, p.ID)
		b.WriteByte(',')
	}
	b.WriteString(`"Statement":[`)
	for i := range p.Statements {
		if i > 0 {
			b.WriteByte(',')
		}
		writeStatement(&b, &p.Statements[i])
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

func writeString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

func writeList(b *bytes.Buffer, name string, vals []string) {
	if vals == nil {
		return
	}
	b.WriteString(`,"` + name + `":[`)
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, v)
	}
	b.WriteByte(']')
}

func writePrincipal(b *bytes.Buffer, name string, pr map[string][]string) {
	if pr == nil {
		return
	}
	if len(pr) == 1 && len(pr["AWS"]) == 1 && pr["AWS"][0] == "*" {
		b.WriteString(`,"` + name + `":"*"`)
		return
	}
	b.WriteString(`,"` + name + `":{`)
	first := true
	for _, typ := range []string{"AWS", "Federated", "Service", "CanonicalUser"} {
		vals, ok := pr[typ]
		if !ok {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(`"` + typ + `":[`)
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, v)
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
}

func writeStatement(b *bytes.Buffer, s *Statement) {
	b.WriteString(`{"Effect":`)
	writeString(b, s.Effect)
	if s.Sid != "" {
		b.WriteString(`,"Sid":`)
		writeString(b, s.Sid)
	}
	writePrincipal(b, "Principal", s.Principal)
	writePrincipal(b, "NotPrincipal", s.NotPrincipal)
	writeList(b, "Action", s.Action)
	writeList(b, "NotAction", s.NotAction)
	writeList(b, "Resource", s.Resource)
	writeList(b, "NotResource", s.NotResource)
	if len(s.Conditions) > 0 {
		b.WriteString(`,"Condition":{`)
		// Group keys under their operator, operators in first-seen order.
		var ops []string
		byOp := map[string][]Condition{}
		for _, c := range s.Conditions {
			if _, ok := byOp[c.Operator]; !ok {
				ops = append(ops, c.Operator)
			}
			byOp[c.Operator] = append(byOp[c.Operator], c)
		}
		for i, op := range ops {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, op)
			b.WriteString(":{")
			for j, c := range byOp[op] {
				if j > 0 {
					b.WriteByte(',')
				}
				writeString(b, c.Key)
				b.WriteByte(':')
				b.WriteByte('[')
				for k, v := range c.Values {
					if k > 0 {
						b.WriteByte(',')
					}
					writeString(b, v)
				}
				b.WriteByte(']')
			}
			b.WriteByte('}')
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
}
