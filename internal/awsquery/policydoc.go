package awsquery

import "strings"

// EncodePolicyDocument percent-encodes a policy document the way IAM
// returns documents (AssumeRolePolicyDocument, PolicyDocument, Document):
// per RFC 3986, every byte except the unreserved A–Z a–z 0–9 - . _ ~ becomes
// %XX with upper-case hex. The document's own bytes, whitespace included,
// are kept: {"a": "*"} becomes %7B%22a%22%3A%20%22%2A%22%7D.
func EncodePolicyDocument(doc string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(doc); i++ {
		if !unreserved(doc[i]) {
			n++
		}
	}
	if n == 0 {
		return doc
	}
	var b strings.Builder
	b.Grow(len(doc) + 2*n)
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xF])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
