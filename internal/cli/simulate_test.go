package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/policy"
)

func TestReasonText(t *testing.T) {
	stmt := policy.StatementRef{PolicyType: "trust", PolicyName: "trust.json", Index: 0, Sid: "IrsaTrust", Effect: "Allow"}
	tests := []struct {
		name string
		r    policy.Reason
		want string
	}{
		{
			name: "condition with both values",
			r: policy.Reason{StatementRef: stmt, Element: "Condition", Operator: "StringEquals", Key: "oidc/id/X:sub",
				Expected: []string{"system:serviceaccount:production:s3-reader"}, Actual: []string{"system:serviceaccount:staging:s3-reader"}},
			want: `trust.json statement 0 (Sid "IrsaTrust", Allow): Condition StringEquals oidc/id/X:sub: expected "system:serviceaccount:production:s3-reader", got "system:serviceaccount:staging:s3-reader"`,
		},
		{
			name: "several values on both sides",
			r: policy.Reason{StatementRef: stmt, Element: "Condition", Operator: "ForAnyValue:StringLike", Key: "aws:TagKeys",
				Expected: []string{"a*", "b"}, Actual: []string{"c", "d"}},
			want: `trust.json statement 0 (Sid "IrsaTrust", Allow): Condition ForAnyValue:StringLike aws:TagKeys: expected ["a*", "b"], got ["c", "d"]`,
		},
		{
			name: "no request value: the engine's message says why",
			r: policy.Reason{StatementRef: stmt, Element: "Condition", Operator: "StringEquals", Key: "k",
				Expected: []string{"v"}, Message: "key k is not present in the request"},
			want: `trust.json statement 0 (Sid "IrsaTrust", Allow): Condition StringEquals k: expected "v"; key k is not present in the request`,
		},
		{
			name: "no request value and no message",
			r:    policy.Reason{StatementRef: stmt, Element: "Resource", Expected: []string{"arn:aws:s3:::b/*"}},
			want: `trust.json statement 0 (Sid "IrsaTrust", Allow): Resource: expected "arn:aws:s3:::b/*", got no value`,
		},
		{
			name: "element mismatch",
			r:    policy.Reason{StatementRef: stmt, Element: "Action", Expected: []string{"s3:GetObject"}, Actual: []string{"s3:PutObject"}},
			want: `trust.json statement 0 (Sid "IrsaTrust", Allow): Action: expected "s3:GetObject", got "s3:PutObject"`,
		},
		{
			name: "statement reason in words",
			r:    policy.Reason{StatementRef: stmt, Message: "allowed by statement 0"},
			want: `trust.json statement 0 (Sid "IrsaTrust", Allow): allowed by statement 0`,
		},
		{
			name: "element named in words only",
			r:    policy.Reason{StatementRef: stmt, Element: "NotPrincipal", Message: "the caller is excluded"},
			want: `trust.json statement 0 (Sid "IrsaTrust", Allow): NotPrincipal: the caller is excluded`,
		},
		{
			name: "statement without Sid or policy name",
			r:    policy.Reason{StatementRef: policy.StatementRef{PolicyType: "identity", Index: 2, Effect: "Deny"}, Message: "explicitly denied"},
			want: `identity policy statement 2 (Deny): explicitly denied`,
		},
		{
			name: "a whole policy type",
			r:    policy.Reason{StatementRef: policy.StatementRef{PolicyType: "boundary", Index: -1}, Message: "no statement in the permissions boundary allows the request"},
			want: `no statement in the permissions boundary allows the request`,
		},
	}
	for _, tt := range tests {
		if got := reasonText(tt.r); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestBuildContext(t *testing.T) {
	ctx, err := buildContext(
		[]string{"aws:TagKeys=a", "AWS:tagkeys=b", "k=v=w", "empty=", "one=x"},
		[]string{"one=stringList", "declared=numericList"},
	)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Values  []string
		Present bool
		Type    string
	}
	get := func(k string) entry {
		v, ok := ctx.Get(k)
		typ, typed := ctx.Type(k)
		e := entry{Values: v, Present: ok}
		if typed {
			e.Type = typ.String()
		}
		return e
	}
	got := map[string]entry{
		"aws:TagKeys": get("aws:tagkeys"),
		"k":           get("k"),
		"empty":       get("empty"),
		"one":         get("one"),
		"declared":    get("declared"),
		"absent":      get("absent"),
	}
	want := map[string]entry{
		"aws:TagKeys": {Values: []string{"a", "b"}, Present: true},
		"k":           {Values: []string{"v=w"}, Present: true},
		"empty":       {Values: []string{""}, Present: true},
		"one":         {Values: []string{"x"}, Present: true, Type: "stringList"},
		"declared":    {Present: true, Type: "numericList"},
		"absent":      {},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("context (-want +got):\n%s", diff)
	}

	for _, bad := range [][2][]string{
		{{"novalue"}, nil},
		{{"=v"}, nil},
		{nil, {"k"}},
		{nil, {"=string"}},
		{nil, {"k=cidr"}},
	} {
		if _, err := buildContext(bad[0], bad[1]); err == nil {
			t.Errorf("buildContext(%q, %q) succeeded, want a usage error", bad[0], bad[1])
		}
	}
}

func TestIsRoleARN(t *testing.T) {
	tests := map[string]bool{
		"arn:aws:iam::000000000000:role/s3-reader":          true,
		"arn:aws:iam::000000000000:role/path/to/r":          true,
		"arn:aws-cn:iam::000000000000:role/r":               true,
		"arn:aws:iam::000000000000:user/u":                  false,
		"arn:aws:sts::000000000000:assumed-role/r/s":        false,
		"arn:aws:s3:::bucket/role/x":                        false,
		"*":                                                 false,
		"role/r":                                            false,
		"arn:aws:iam::000000000000:oidc-provider/role/fake": false,
	}
	for in, want := range tests {
		if got := isRoleARN(in); got != want {
			t.Errorf("isRoleARN(%q) = %v, want %v", in, got, want)
		}
	}
}
