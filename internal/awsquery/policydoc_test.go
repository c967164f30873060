package awsquery

import (
	"net/url"
	"testing"
)

func TestEncodePolicyDocument(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"", ""},
		{"AZaz09-._~", "AZaz09-._~"},
		{`{"a": "*"}`, "%7B%22a%22%3A%20%22%2A%22%7D"},
		{"a+b%3A/c?d#e&f=g", "a%2Bb%253A%2Fc%3Fd%23e%26f%3Dg"},
		{"\t\r\n", "%09%0D%0A"},
		{"é€😀", "%C3%A9%E2%82%AC%F0%9F%98%80"},
		{"\x00\xff", "%00%FF"},
	} {
		if got := EncodePolicyDocument(tc.doc); got != tc.want {
			t.Errorf("EncodePolicyDocument(%q) = %q, want %q", tc.doc, got, tc.want)
		}
	}
}

// TestEncodePolicyDocumentMatchesAWS re-encodes documents as IAM returned
// them and requires the same bytes.
func TestEncodePolicyDocumentMatchesAWS(t *testing.T) {
	for source, encoded := range map[string]string{
		// GetRole, from a botocore debug log of a real IAM call (2020).
		"GetRole": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22%2A%22%2C%22Service%22%3A%22s3.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D",
		// CreateRole's responseElements in a CloudTrail record: the
		// document keeps the caller's newlines and indentation.
		"CloudTrail CreateRole": "%7B%0A%20%20%22Version%22%3A%20%222012-10-17%22%2C%0A%20%20%22Statement%22%3A%20%5B%0A%20%20%20%20%7B%0A%20%20%20%20%20%20%22Effect%22%3A%20%22Allow%22%2C%0A%20%20%20%20%20%20%22Principal%22%3A%20%7B%0A%20%20%20%20%20%20%20%20%22AWS%22%3A%20%22arn%3Aaws%3Aiam%3A%3A193672423079%3Aroot%22%0A%20%20%20%20%20%20%7D%2C%0A%20%20%20%20%20%20%22Action%22%3A%20%22sts%3AAssumeRole%22%0A%20%20%20%20%7D%0A%20%20%5D%0A%7D",
	} {
		doc, err := url.PathUnescape(encoded)
		if err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		if got := EncodePolicyDocument(doc); got != encoded {
			t.Errorf("%s: re-encoded as\n%s\nAWS sent\n%s", source, got, encoded)
		}
	}
}

func FuzzEncodePolicyDocument(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":[]}`)
	f.Add("%41+ \x00\xff")
	f.Fuzz(func(t *testing.T, doc string) {
		enc := EncodePolicyDocument(doc)
		for i := 0; i < len(enc); i++ {
			if c := enc[i]; !unreserved(c) && c != '%' {
				t.Fatalf("byte %q left unencoded in %q", c, enc)
			}
		}
		back, err := url.PathUnescape(enc)
		if err != nil || back != doc {
			t.Fatalf("%q encoded as %q decodes to %q (%v)", doc, enc, back, err)
		}
	})
}
