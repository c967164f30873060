package webidentity

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// FuzzVerify feeds arbitrary tokens to the verifier: it must not panic,
// must answer with an *awserr.Error, must answer fast, and may accept only
// a token of the test provider with a matching audience.
func FuzzVerify(f *testing.F) {
	f.Add(goodToken(f))
	f.Add(signRaw(f, testKeys().ec256, "ES256", header("ES256", "e256"), payload(nil)))
	f.Add(signRaw(f, testKeys().rsa, "RS256", header("RS256", "k1", `"typ":"JWT"`), payload(map[string]string{
		TagsClaim: `{"principal_tags":{"a":["b"]},"transitive_tag_keys":["a"]}`, "kubernetes.io": `{"namespace":"n","pod":{"name":"p","uid":"u"}}`,
	})))
	f.Add(strings.Repeat(".", 100))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(`{"payload":"e30","protected":"eyJhbGciOiJSUzI1NiJ9","signature":"AA"}`)
	v, _ := fixture(f)
	f.Fuzz(func(t *testing.T, token string) {
		start := time.Now()
		id, err := v.Verify(context.Background(), testAccount, token)
		if d := time.Since(start); d > time.Second {
			t.Errorf("Verify took %v", d)
		}
		if err != nil {
			var e *awserr.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *awserr.Error", err)
			}
			if e.Code == awserr.InternalFailure {
				t.Fatalf("internal failure: %v", e.Cause)
			}
			return
		}
		if id.Issuer != testIssuer || id.Provider.URL != testIssuer {
			t.Fatalf("accepted a token of issuer %q", id.Issuer)
		}
		if id.MatchedAudience != testClientID && id.MatchedAudience != "other-client" {
			t.Fatalf("accepted audience %q", id.MatchedAudience)
		}
		if id.Expiry.Add(DefaultSkew).Before(testNow) {
			t.Fatalf("accepted a token expired at %v", id.Expiry)
		}
	})
}

// FuzzCheckJSON compares the strict checker with encoding/json: whatever
// it accepts is valid JSON, and valid UTF-8 JSON it refuses must have a
// duplicate name or too deep a nesting.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `{"a":1,"b":[true,false,null,"x\u0041",-0.5e+3]}`, `{"a":1,"A":2}`, `{"a":{"b":1,"b":2}}`,
		`{"s\u0075b":1,"sub":2}`, `"\ud800"`, `01`, `1.`, `{"a" : [ 1 , 2 ] }`, strings.Repeat("[", 40) + strings.Repeat("]", 40),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := checkJSON(data)
		valid := json.Valid(data) && utf8.Valid(data)
		if err == nil && !valid {
			t.Fatalf("checkJSON accepted invalid JSON %q", data)
		}
		if err != nil && valid && !strings.Contains(err.Error(), "duplicate member name") && !strings.Contains(err.Error(), "nesting too deep") {
			t.Fatalf("checkJSON refused valid JSON %q: %v", data, err)
		}
	})
}

// manyMembers is an object with n members m0…, and extra at the end.
func manyMembers(n int, extra string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"m` + itoa(int64(i)) + `":1`
	}
	if extra != "" {
		parts = append(parts, extra)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestCheckJSON(t *testing.T) {
	for _, tc := range []struct {
		in, err string
	}{
		{`{"a":1}`, ""},
		{` {"a" : "\"\\\/\b\f\n\r\t\u00e9" } `, ""},
		{`[1,-1,0,0.5,1e5,1E-5,-0.0e+0]`, ""},
		{`{"a":1,"a":1}`, `duplicate member name "a"`},
		{`{"a":1,"A":1}`, `duplicate member name "A"`},
		{`{"é":1,"É":1}`, `duplicate member name "É"`},
		{`{"\u0061":1,"a":1}`, `duplicate member name "a"`},
		{`[{"a":1},{"a":1}]`, ""},
		{`{"a":{"a":1}}`, ""},
		{`01`, "trailing data"},
		{`1.`, "bad fraction"},
		{`1e`, "bad exponent"},
		{`-`, "bad number"},
		{`+1`, "unexpected character"},
		{`"a`, "unterminated string"},
		{"\"a\tb\"", "control character"},
		{`"\x"`, "bad escape"},
		{`"\u12"`, `bad \u escape`},
		{`{"a" 1}`, "expected ':'"},
		{`{"a":1,}`, "expected member name"},
		{`[1,]`, "unexpected character"},
		{`[1 2]`, "expected ',' or ']'"},
		{`{"a":1 "b":2}`, "expected ',' or '}'"},
		{`tru`, "bad literal"},
		{``, "unexpected end"},
		{"\xff", "UTF-8"},
		{strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth), ""},
		{manyMembers(40, ""), ""},
		{manyMembers(40, `"M7":0`), `duplicate member name "M7"`},
		{manyMembers(40, `"m39":0`), `duplicate member name "m39"`},
		{manyMembers(31, `"M30":0`), `duplicate member name "M30"`},
		{strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1), "nesting too deep"},
	} {
		t.Run(truncate(tc.in, 40), func(t *testing.T) {
			err := checkJSON([]byte(tc.in))
			if tc.err == "" {
				if err != nil {
					t.Fatalf("checkJSON: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("checkJSON: %v, want %q", err, tc.err)
			}
		})
	}
}
