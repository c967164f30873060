package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

var fuzzSeeds = []string{
	`{"Version":"2012-10-17","Statement":[{"Sid":"IrsaTrust","Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE:sub":"system:serviceaccount:default:app","oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE:aud":"sts.amazonaws.com"}}}]}`,
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":["arn:aws:s3:::bucket","arn:aws:s3:::bucket/${aws:username}/*"],"Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},"NumericLessThan":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":true}}}}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:iam::*:role/x","Condition":{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"},"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"},"Null":{"aws:MultiFactorAuthAge":"true"}}}]}`,
	`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:t"}}}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:role/r"],"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`,
	`not json`, `[]`, `{"Statement":[]}`,
}

// FuzzParse checks that no document panics the parser, that every kind
// agrees on well-formedness of JSON, and that an accepted document survives
// a round trip through its canonical form.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, doc []byte, k uint8) {
		kind := Kind(int(k) % len(kindNames))
		p, err := Parse(doc, kind)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse returned %T, want *Error", err)
			}
			return
		}
		out, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		q, err := Parse(out, kind)
		if err != nil {
			t.Fatalf("canonical form %s does not parse: %v", out, err)
		}
		if diff := cmp.Diff(p.Statements, q.Statements); diff != "" {
			t.Fatalf("round trip changed the statements (-first +second):\n%s", diff)
		}
	})
}

// FuzzEvaluate checks that evaluation never panics and that Evaluate and
// Explain always agree.
func FuzzEvaluate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "sts:AssumeRoleWithWebIdentity", "arn:aws:iam::111122223333:role/r", "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE", "aws:SourceIp", "10.1.2.3")
	}
	f.Fuzz(func(t *testing.T, doc []byte, action, resource, principal, key, value string) {
		ctx := NewContext()
		ctx.Add(key, value)
		req := &Request{Action: action, Resource: resource, Principal: principal, Context: ctx}
		for k := Kind(0); int(k) < len(kindNames); k++ {
			p, err := Parse(doc, k)
			if err != nil {
				continue
			}
			var set Set
			switch k {
			case KindResource, KindTrust:
				set.Resource = p
			case KindBoundary:
				set.Identity, set.Boundary = []*Policy{p}, p
			case KindSession:
				set.Identity, set.Session = []*Policy{p}, []*Policy{p}
			case KindSCP:
				set.Identity, set.SCPs = []*Policy{p}, [][]*Policy{{p}}
			default:
				set.Identity = []*Policy{p}
			}
			d := Evaluate(&set, req)
			r := Explain(&set, req)
			if r.Decision != d {
				t.Fatalf("Evaluate %s, Explain %s", d, r.Decision)
			}
			if d == ImplicitDeny && len(r.Explanation) == 0 {
				t.Fatal("an implicit deny must be explained")
			}
		}
	})
}
