package policy

import (
	"fmt"
	"strings"
	"testing"
)

// benchPolicy builds an identity policy of n statements in which only the
// last statement allows the benchmark request, so every statement is
// evaluated: the worst case for a policy of that size.
func benchPolicy(tb testing.TB, n int) *Policy {
	tb.Helper()
	var stmts []string
	for i := 0; i < n-1; i++ {
		stmts = append(stmts, fmt.Sprintf(`{"Sid":"S%d","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"arn:aws:s3:::bucket-%d/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"team-%d"}}}`, i, i, i))
	}
	stmts = append(stmts, `{"Sid":"Reads","Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"arn:aws:s3:::data/${aws:PrincipalTag/team}/*","Condition":{"StringLike":{"aws:PrincipalTag/team":"team-*"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`)
	doc := `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	p, err := ParseWithLimits([]byte(doc), KindIdentity, Limits{Size: len(doc)})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func benchRequest() *Request {
	ctx := NewContext()
	ctx.Add("aws:PrincipalTag/team", "team-x")
	ctx.Add("aws:SourceIp", "10.1.2.3")
	ctx.Add("aws:username", "alice")
	return &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::data/team-x/report.csv", Principal: "arn:aws:sts::111122223333:assumed-role/reader/s", Context: ctx}
}

func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{1, 5, 10, 100} {
		b.Run(fmt.Sprintf("statements=%d", n), func(b *testing.B) {
			set := &Set{Identity: []*Policy{benchPolicy(b, n)}}
			req := benchRequest()
			if d := Evaluate(set, req); d != Allowed {
				b.Fatalf("decision %s", d)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				Evaluate(set, req)
			}
		})
	}
}

// BenchmarkEvaluateIRSATrust is the decision STS makes for every
// AssumeRoleWithWebIdentity call.
func BenchmarkEvaluateIRSATrust(b *testing.B) {
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE:sub":"system:serviceaccount:production:s3-reader","oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE:aud":"sts.amazonaws.com"}}}]}`
	p, err := Parse([]byte(doc), KindTrust)
	if err != nil {
		b.Fatal(err)
	}
	ctx := NewContext()
	ctx.Add("oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE:sub", "system:serviceaccount:production:s3-reader")
	ctx.Add("oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE:aud", "sts.amazonaws.com")
	req := &Request{Action: "sts:AssumeRoleWithWebIdentity", Resource: "arn:aws:iam::111122223333:role/s3-reader", Principal: "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE", Context: ctx}
	set := &Set{Resource: p}
	if d := Evaluate(set, req); d != Allowed {
		b.Fatalf("decision %s", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(set, req)
	}
}

func BenchmarkExplain(b *testing.B) {
	set := &Set{Identity: []*Policy{benchPolicy(b, 5)}}
	req := benchRequest()
	b.ReportAllocs()
	for b.Loop() {
		Explain(set, req)
	}
}

func BenchmarkParse(b *testing.B) {
	p := benchPolicy(b, 10)
	doc, _ := p.MarshalJSON()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseWithLimits(doc, KindIdentity, Limits{Size: len(doc)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPathologicalWildcard is the input that takes backtracking
// matchers seconds to minutes: nine stars against 10 KB of 'a'.
func BenchmarkPathologicalWildcard(b *testing.B) {
	pattern := compilePattern("*a*a*a*a*a*a*a*a*a*b", true, false)
	text := strings.Repeat("a", 10*1024)
	b.ReportAllocs()
	for b.Loop() {
		if pattern.match(text, false, nil) {
			b.Fatal("must not match")
		}
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	for _, n := range []int{1, 5, 100} {
		set := &Set{Identity: []*Policy{benchPolicy(t, n)}}
		req := benchRequest()
		if allocs := testing.AllocsPerRun(50, func() { Evaluate(set, req) }); allocs != 0 {
			t.Errorf("%d statements: %v allocations per evaluation, want 0", n, allocs)
		}
	}
}
