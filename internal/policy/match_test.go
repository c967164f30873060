package policy

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// refMatch is the textbook dynamic-programming glob matcher over runes: slow
// but obviously right, the oracle for the fast matcher.
func refMatch(pattern, text string) bool {
	p, s := []rune(pattern), []rune(text)
	// dp[j] reports whether p[:i] matches s[:j].
	dp := make([]bool, len(s)+1)
	dp[0] = true
	for i := 1; i <= len(p); i++ {
		next := make([]bool, len(s)+1)
		switch p[i-1] {
		case '*':
			next[0] = dp[0]
			for j := 1; j <= len(s); j++ {
				next[j] = next[j-1] || dp[j]
			}
		case '?':
			for j := 1; j <= len(s); j++ {
				next[j] = dp[j-1]
			}
		default:
			for j := 1; j <= len(s); j++ {
				next[j] = dp[j-1] && p[i-1] == s[j-1]
			}
		}
		dp = next
	}
	return dp[len(s)]
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, text string
		want          bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything:at/all", true},
		{"?", "", false},
		{"?", "é", true}, // one character, two bytes
		{"??", "é", false},
		{"a*", "a", true},
		{"*a", "ba", true},
		{"*a", "ab", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXcYb", false},
		{"system:serviceaccount:team-a*", "system:serviceaccount:team-a-evil:app", true},
		{"system:serviceaccount:team-a:*", "system:serviceaccount:team-a-evil:app", false},
		{"iam:*AccessKey*", "iam:ListAccessKeys", true},
		{"*a*a*a*b", "aaaaaaaaab", true},
		{"*a*a*a*b", "aaaaaaaaaa", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"**", "x", true},
		{"*?", "", false},
		{"*?", "x", true},
		{"?*?", "x", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.text); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.text, got, tt.want)
		}
		if ref := refMatch(tt.pattern, tt.text); ref != tt.want {
			t.Errorf("reference matcher disagrees with the table for (%q, %q)", tt.pattern, tt.text)
		}
	}
}

// TestMatchAgreesWithReference compares the fast matcher with the oracle on
// every pattern and text of a small alphabet up to a fixed length.
func TestMatchAgreesWithReference(t *testing.T) {
	alphabet := []string{"a", "b", "*", "?"}
	var patterns []string
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		patterns = append(patterns, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(prefix+c, n-1)
		}
	}
	gen("", 5)
	texts := []string{"", "a", "b", "ab", "ba", "aa", "aab", "abab", "bbbb", "aaaaab", "abba"}
	for _, p := range patterns {
		for _, s := range texts {
			if got, want := Match(p, s), refMatch(p, s); got != want {
				t.Fatalf("Match(%q, %q) = %v, reference %v", p, s, got, want)
			}
		}
	}
}

func TestMatchFold(t *testing.T) {
	p := compilePattern("iam:listaccess*", true, false)
	for text, want := range map[string]bool{
		"IAM:ListAccessKeys": true,
		"iam:LISTACCESS":     true,
		"iam:ListUsers":      false,
	} {
		if got := p.match(text, true, nil); got != want {
			t.Errorf("fold match %q = %v, want %v", text, got, want)
		}
	}
	q := compilePattern("Ǆ?", true, false)
	if !q.match("ǆx", true, nil) {
		t.Error("fold must compare Unicode case variants")
	}
}

// TestMatchPathological is the case that stalls backtracking matchers:
// nine stars against 10 KB of 'a' with no 'b' at the end.
func TestMatchPathological(t *testing.T) {
	pattern := "*a*a*a*a*a*a*a*a*a*b"
	text := strings.Repeat("a", 10*1024)
	start := time.Now()
	if Match(pattern, text) {
		t.Fatal("must not match: the text has no b")
	}
	if !Match(pattern, text+"b") {
		t.Fatal("must match with a trailing b")
	}
	// A generous bound that only a super-linear matcher can exceed; the
	// benchmark records the real figure.
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("pathological pattern took %v", d)
	}
}

func TestVariables(t *testing.T) {
	ctx := NewContext()
	ctx.Add("aws:username", "alice")
	ctx.Add("aws:PrincipalTag/Team", "a*")
	ctx.Add("aws:TagKeys", "x")
	ctx.Add("aws:TagKeys", "y")
	tests := []struct {
		pattern string
		wild    bool
		text    string
		want    bool
	}{
		{"home/${aws:username}/*", true, "home/alice/file", true},
		{"home/${AWS:UserName}/*", true, "home/alice/file", true},
		{"home/${aws:username}/*", true, "home/bob/file", false},
		{"team/${aws:principaltag/team}", true, "team/a*", true},
		{"team/${aws:principaltag/team}", true, "team/abc", false}, // substituted '*' is literal
		{"${aws:missing}", true, "", false},
		{"${aws:missing, 'dflt'}/x", true, "dflt/x", true},
		{"${aws:TagKeys}", true, "x", false}, // multi-valued keys are not variables
		{"a${*}b", true, "a*b", true},
		{"a${*}b", true, "aXb", false},
		{"a${?}b", true, "a?b", true},
		{"a${$}b", true, "a$b", true},
		{"${unterminated", true, "${unterminated", true},
		{"${aws:username}", false, "alice", true},
		{"x*", false, "x*", true},
		{"x*", false, "xy", false},
	}
	for _, tt := range tests {
		p := compilePattern(tt.pattern, tt.wild, true)
		if got := p.match(tt.text, false, ctx); got != tt.want {
			t.Errorf("pattern %q against %q = %v, want %v", tt.pattern, tt.text, got, tt.want)
		}
	}
	// Without variables enabled the text is literal.
	p := compilePattern("home/${aws:username}", true, false)
	if !p.match("home/${aws:username}", false, ctx) || p.match("home/alice", false, ctx) {
		t.Error("variables must stay literal when disabled")
	}
}

func TestParseDate(t *testing.T) {
	want := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"2020-01-01", "2020-01-01T00:00:00Z", "2020-01-01T00:00Z", "2020-01-01T00:00:00.000Z", "1577836800", "2020-01-01T01:00:00+01:00", "2019-12-31T23:00:00-01:00", "2020-01-01T00:00:00", "2020-01-01t00:00:00z"} {
		got, ok := parseDate(s)
		if !ok || !got.Equal(want) {
			t.Errorf("parseDate(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "2020-13-01", "2020-02-30", "2020-01-01T24:00:00Z", "yesterday", "2020/01/01", "2020-01-01T00:00:00.Z", "99999999999999"} {
		if _, ok := parseDate(s); ok {
			t.Errorf("parseDate(%q) accepted", s)
		}
	}
}

func TestParseNumber(t *testing.T) {
	for s, ok := range map[string]bool{"10": true, "-3": true, "1.5": true, ".5": true, "1e3": true, "Inf": false, "NaN": false, "0x10": false, "": false, "1e": false, "9223372036854775808": true} {
		if _, got := parseNumber(s); got != ok {
			t.Errorf("parseNumber(%q) ok = %v, want %v", s, got, ok)
		}
	}
	a, _ := parseNumber("9007199254740993")
	b, _ := parseNumber("9007199254740992")
	if a.cmp(b) != 1 {
		t.Error("integers beyond float precision must still compare exactly")
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("*a*b?c", "xxaybzc")
	f.Add("system:serviceaccount:*", "system:serviceaccount:ns:sa")
	f.Add("?*?", "é")
	f.Fuzz(func(t *testing.T, pattern, text string) {
		if len(pattern) > 64 || len(text) > 64 || !utf8.ValidString(pattern) || !utf8.ValidString(text) {
			return
		}
		if got, want := Match(pattern, text), refMatch(pattern, text); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference %v", pattern, text, got, want)
		}
	})
}
