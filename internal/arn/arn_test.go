package arn

import "testing"

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want [6]string
		ok   bool
	}{
		{"arn:aws:s3:::bucket/key:with:colons", [6]string{"arn", "aws", "s3", "", "", "bucket/key:with:colons"}, true},
		{"arn:aws:iam::123456789012:role/a/b", [6]string{"arn", "aws", "iam", "", "123456789012", "role/a/b"}, true},
		{"arn:aws:iam::123456789012", [6]string{}, false},
		{"nra:aws:iam::123456789012:root", [6]string{"nra", "aws", "iam", "", "123456789012", "root"}, false},
		{"", [6]string{}, false},
	}
	for _, tt := range tests {
		got, ok := Split(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("Split(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseAndNames(t *testing.T) {
	a, err := Parse("arn:aws:iam::123456789012:role/path/to/reader")
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := RoleName(a); !ok || name != "reader" {
		t.Errorf("RoleName = %q, %v", name, ok)
	}
	if a.String() != "arn:aws:iam::123456789012:role/path/to/reader" {
		t.Errorf("String = %q", a.String())
	}
	s, err := Parse("arn:aws:sts::123456789012:assumed-role/reader/my-session")
	if err != nil {
		t.Fatal(err)
	}
	if r, sess, ok := AssumedRole(s); !ok || r != "reader" || sess != "my-session" {
		t.Errorf("AssumedRole = %q %q %v", r, sess, ok)
	}
	if _, _, ok := AssumedRole(a); ok {
		t.Error("a role ARN is not an assumed-role ARN")
	}
	if _, err := Parse("arn:aws::::x"); err == nil {
		t.Error("an ARN without a service must not parse")
	}
	for s, want := range map[string]bool{"123456789012": true, "12345678901": false, "12345678901a": false} {
		if IsAccountID(s) != want {
			t.Errorf("IsAccountID(%q) != %v", s, want)
		}
	}
}
