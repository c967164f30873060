package sigv4

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// mutation changes one part of a signed request on the wire. want is the
// error code Verify (or Parse) must answer, "" when the request must still
// verify because the part is not covered by the signature.
type mutation struct {
	name   string
	mutate func(rr *rawRequest)
	want   string
}

const ok = ""

// TestVectorMutations changes every signed part of every case, in both
// forms, one at a time, and expects the request to be refused.
func TestVectorMutations(t *testing.T) {
	total := 0
	for _, v := range loadVectors(t) {
		for _, form := range forms {
			base := parseRaw(t, v.file(t, form+"-signed-request.txt"))
			ms := mutations(t, v, form, base)
			total += len(ms)
			for _, m := range ms {
				t.Run(v.name+"/"+form+"/"+m.name, func(t *testing.T) {
					rr := base.clone()
					m.mutate(rr)
					r := rr.request(t)
					sig, err := Parse(r)
					if err == nil {
						err = sig.Verify(r, rr.body, v.ctx.Credentials.SecretAccessKey, v.ctx.Timestamp)
					}
					switch {
					case m.want == ok && err != nil:
						t.Fatalf("got %v, want the request to verify", err)
					case m.want == ok:
					case err == nil:
						t.Fatalf("the mutated request verified, want %s", m.want)
					default:
						if e := asError(t, err); e.Code != m.want {
							t.Fatalf("got %v, want %s", e, m.want)
						}
					}
				})
			}
		}
	}
	// Guard against the table quietly shrinking.
	if total < 38*2*20 {
		t.Errorf("only %d mutations generated", total)
	}
}

func mutations(t *testing.T, v vector, form string, base *rawRequest) []mutation {
	t.Helper()
	var ms []mutation
	add := func(name string, want string, f func(rr *rawRequest)) {
		ms = append(ms, mutation{name, f, want})
	}

	// Request line.
	add("method", CodeSignatureDoesNotMatch, func(rr *rawRequest) {
		if rr.method == "GET" {
			rr.method = "POST"
		} else {
			rr.method = "GET"
		}
	})
	add("method case", CodeSignatureDoesNotMatch, func(rr *rawRequest) { rr.method = strings.ToLower(rr.method) })
	add("path", CodeSignatureDoesNotMatch, func(rr *rawRequest) { rr.path += "a" })
	add("path encoded", CodeSignatureDoesNotMatch, func(rr *rawRequest) { rr.path += "%41" })
	add("new query parameter", CodeSignatureDoesNotMatch, func(rr *rawRequest) {
		rr.query = append(rr.query, rawParam{key: "Action", value: "GetCallerIdentity"})
	})

	// Each query parameter: its value, its key, its removal, a second copy.
	for i, p := range base.query {
		i, p := i, p
		add(fmt.Sprintf("query %s value", p.key), queryWant(v, form, p.key, "value"), func(rr *rawRequest) {
			rr.query[i].value += "x"
			rr.query[i].noEquals = false
		})
		add(fmt.Sprintf("query %s key", p.key), queryWant(v, form, p.key, "key"), func(rr *rawRequest) { rr.query[i].key += "x" })
		add(fmt.Sprintf("query %s dropped", p.key), queryWant(v, form, p.key, "drop"), func(rr *rawRequest) {
			rr.query = append(rr.query[:i:i], rr.query[i+1:]...)
		})
		add(fmt.Sprintf("query %s repeated", p.key), queryWant(v, form, p.key, "repeat"), func(rr *rawRequest) {
			rr.query = append(rr.query, p)
		})
	}

	// Each signed header: its value, its removal, a second copy; and an
	// unsigned header, which may come and go.
	signed := signedHeaderNames(t, base, form)
	for _, name := range signed {
		name := name
		valueWant, dropWant, repeatWant := CodeSignatureDoesNotMatch, CodeSignatureDoesNotMatch, CodeSignatureDoesNotMatch
		switch name {
		case "x-amz-date":
			dropWant, repeatWant = CodeIncompleteSignature, CodeIncompleteSignature // required, and single
		case "x-amz-security-token":
			repeatWant = CodeIncompleteSignature // single: the caller compares it with the session's
		}
		add("header "+name+" value", valueWant, func(rr *rawRequest) {
			i, _ := rr.header(name)
			if name == "x-amz-date" {
				rr.headers[i].value = shiftDate(t, rr.headers[i].value, time.Second)
				return
			}
			rr.headers[i].value += "x"
		})
		add("header "+name+" dropped", dropWant, func(rr *rawRequest) {
			i, _ := rr.header(name)
			rr.headers = append(rr.headers[:i:i], rr.headers[i+1:]...)
		})
		if name != "host" { // net/http refuses a second Host header itself
			add("header "+name+" repeated", repeatWant, func(rr *rawRequest) {
				i, _ := rr.header(name)
				rr.headers = append(rr.headers, rr.headers[i])
			})
		}
		if name != "host" && name != "x-amz-date" && name != "x-amz-content-sha256" {
			add("header "+name+" inner blank", CodeSignatureDoesNotMatch, func(rr *rawRequest) {
				i, _ := rr.header(name)
				rr.headers[i].value = rr.headers[i].value[:1] + " " + rr.headers[i].value[1:]
			})
		}
	}
	add("unsigned header added", ok, func(rr *rawRequest) {
		rr.headers = append(rr.headers, rawHeader{"X-Unsigned", "anything"})
	})
	add("header value padded", ok, func(rr *rawRequest) {
		rr.headers[0].value = "  " + rr.headers[0].value + "  "
	})
	if i, found := base.header("X-Amz-Security-Token"); found && !contains(signed, "x-amz-security-token") {
		// post-sts-header-after: the token is not signed. The caller must
		// still match it to the access key; the signature cannot.
		add("unsigned token changed", ok, func(rr *rawRequest) { rr.headers[i].value += "x" })
	}

	// Body.
	add("body", CodeSignatureDoesNotMatch, func(rr *rawRequest) {
		if len(rr.body) == 0 {
			rr.body = []byte("Action=GetCallerIdentity")
		} else {
			rr.body[len(rr.body)-1] ^= 1
		}
	})
	add("body appended", CodeSignatureDoesNotMatch, func(rr *rawRequest) { rr.body = append(rr.body, '&') })

	// Date and credential scope, wherever the form carries them.
	add("date one second later", CodeSignatureDoesNotMatch, func(rr *rawRequest) { setDate(t, rr, form, time.Second) })
	// A day-old presigned request is past its X-Amz-Expires before the scope
	// date is even looked at.
	dayWant := CodeSignatureDoesNotMatch
	if form == "query" {
		dayWant = CodeRequestExpired
	}
	add("date one day earlier", dayWant, func(rr *rawRequest) { setDate(t, rr, form, -24*time.Hour) })
	add("date one day later", CodeSignatureDoesNotMatch, func(rr *rawRequest) { setDate(t, rr, form, 24*time.Hour) })
	for _, c := range []struct {
		name string
		idx  int
		to   string
	}{
		{"scope region", 2, "us-west-2"},
		{"scope service", 3, "sts"},
		{"scope terminator", 4, "aws4_requesx"},
		{"scope date", 1, "20150831"},
		{"scope region case", 2, "US-EAST-1"},
	} {
		c := c
		add(c.name, CodeSignatureDoesNotMatch, func(rr *rawRequest) { editCredential(t, rr, form, c.idx, c.to) })
	}
	// The access key ID is not part of the string to sign: a header-form
	// signature stays valid under another key ID with the same secret, which
	// is why the caller must look the secret up by Signature.AccessKeyID. In
	// the presigned form the credential is a signed query parameter.
	akidWant := ok
	if form == "query" {
		akidWant = CodeSignatureDoesNotMatch
	}
	add("access key id", akidWant, func(rr *rawRequest) { editCredential(t, rr, form, 0, "AKIDEXAMPLF") })

	// The signature itself.
	add("signature last digit", CodeSignatureDoesNotMatch, func(rr *rawRequest) {
		editSignature(t, rr, form, func(s string) string { return s[:len(s)-1] + flipHex(s[len(s)-1]) })
	})
	add("signature first digit", CodeSignatureDoesNotMatch, func(rr *rawRequest) {
		editSignature(t, rr, form, func(s string) string { return flipHex(s[0]) + s[1:] })
	})
	add("signature upper case", CodeSignatureDoesNotMatch, func(rr *rawRequest) {
		editSignature(t, rr, form, func(s string) string { return strings.ToUpper(s) })
	})
	add("signature truncated", CodeSignatureDoesNotMatch, func(rr *rawRequest) {
		editSignature(t, rr, form, func(s string) string { return s[:len(s)-2] })
	})
	add("signature extended", CodeSignatureDoesNotMatch, func(rr *rawRequest) {
		editSignature(t, rr, form, func(s string) string { return s + "00" })
	})
	add("signature empty", CodeIncompleteSignature, func(rr *rawRequest) {
		editSignature(t, rr, form, func(string) string { return "" })
	})
	if len(signed) > 1 {
		add("signed header list shortened", CodeSignatureDoesNotMatch, func(rr *rawRequest) {
			editSignedHeaders(t, rr, form, func(names []string) []string {
				for i, n := range names {
					if n != "host" {
						return append(names[:i:i], names[i+1:]...)
					}
				}
				return names
			})
		})
	}
	add("signed header list without host", CodeSignatureDoesNotMatch, func(rr *rawRequest) {
		editSignedHeaders(t, rr, form, func(names []string) []string {
			var out []string
			for _, n := range names {
				if n != "host" {
					out = append(out, n)
				}
			}
			if len(out) == 0 {
				out = []string{"x-amz-date"}
			}
			return out
		})
	})
	if form == "header" {
		add("algorithm", CodeIncompleteSignature, func(rr *rawRequest) {
			i, _ := rr.header("Authorization")
			rr.headers[i].value = strings.Replace(rr.headers[i].value, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1)
		})
		add("authorization dropped", CodeMissingAuthenticationToken, func(rr *rawRequest) {
			i, _ := rr.header("Authorization")
			rr.headers = append(rr.headers[:i:i], rr.headers[i+1:]...)
		})
	}
	return ms
}

// queryWant is the answer to a change of one query parameter. Ordinary
// parameters are signed; the presigned form's own parameters each have
// their own failure.
func queryWant(v vector, form, key, change string) string {
	if form == "header" || !strings.HasPrefix(key, "X-Amz-") {
		return CodeSignatureDoesNotMatch
	}
	if change == "repeat" {
		return CodeIncompleteSignature
	}
	tokenUnsigned := v.ctx.OmitSessionToken
	switch key {
	case "X-Amz-Algorithm":
		if change == "value" {
			return CodeIncompleteSignature // unsupported algorithm
		}
		return CodeMissingAuthenticationToken // no longer a presigned request
	case "X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature":
		if change == "value" {
			return CodeSignatureDoesNotMatch
		}
		return CodeIncompleteSignature
	case "X-Amz-Date":
		return CodeIncompleteSignature // malformed or missing
	case "X-Amz-Expires":
		if change == "value" {
			return CodeIncompleteSignature // not a number
		}
		return CodeSignatureDoesNotMatch
	case "X-Amz-Security-Token":
		if tokenUnsigned && change != "key" {
			return ok
		}
		return CodeSignatureDoesNotMatch
	}
	return CodeSignatureDoesNotMatch
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func signedHeaderNames(t *testing.T, rr *rawRequest, form string) []string {
	t.Helper()
	var list string
	if form == "header" {
		i, _ := rr.header("Authorization")
		_, after, _ := strings.Cut(rr.headers[i].value, "SignedHeaders=")
		list, _, _ = strings.Cut(after, ",")
	} else {
		i, _ := rr.param("X-Amz-SignedHeaders")
		list = strings.ReplaceAll(rr.query[i].value, "%3B", ";")
	}
	return strings.Split(list, ";")
}

func shiftDate(t *testing.T, v string, d time.Duration) string {
	t.Helper()
	tm, err := time.Parse(isoLayout, v)
	if err != nil {
		t.Fatal(err)
	}
	return tm.Add(d).Format(isoLayout)
}

func setDate(t *testing.T, rr *rawRequest, form string, d time.Duration) {
	t.Helper()
	if form == "header" {
		i, _ := rr.header("X-Amz-Date")
		rr.headers[i].value = shiftDate(t, rr.headers[i].value, d)
		return
	}
	i, _ := rr.param("X-Amz-Date")
	rr.query[i].value = shiftDate(t, rr.query[i].value, d)
}

// editCredential replaces element idx of keyid/date/region/service/term.
func editCredential(t *testing.T, rr *rawRequest, form string, idx int, to string) {
	t.Helper()
	if form == "header" {
		i, _ := rr.header("Authorization")
		h := rr.headers[i].value
		start := strings.Index(h, "Credential=") + len("Credential=")
		end := start + strings.IndexByte(h[start:], ',')
		parts := strings.Split(h[start:end], "/")
		parts[idx] = to
		rr.headers[i].value = h[:start] + strings.Join(parts, "/") + h[end:]
		return
	}
	i, _ := rr.param("X-Amz-Credential")
	parts := strings.Split(rr.query[i].value, "%2F")
	parts[idx] = to
	rr.query[i].value = strings.Join(parts, "%2F")
}

func editSignature(t *testing.T, rr *rawRequest, form string, f func(string) string) {
	t.Helper()
	if form == "header" {
		i, _ := rr.header("Authorization")
		h := rr.headers[i].value
		start := strings.Index(h, "Signature=") + len("Signature=")
		rr.headers[i].value = h[:start] + f(h[start:])
		return
	}
	i, _ := rr.param("X-Amz-Signature")
	rr.query[i].value = f(rr.query[i].value)
}

func editSignedHeaders(t *testing.T, rr *rawRequest, form string, f func([]string) []string) {
	t.Helper()
	names := signedHeaderNames(t, rr, form)
	joined := strings.Join(f(append([]string(nil), names...)), ";")
	if form == "header" {
		i, _ := rr.header("Authorization")
		rr.headers[i].value = strings.Replace(rr.headers[i].value, "SignedHeaders="+strings.Join(names, ";"), "SignedHeaders="+joined, 1)
		return
	}
	i, _ := rr.param("X-Amz-SignedHeaders")
	rr.query[i].value = strings.ReplaceAll(joined, ";", "%3B")
}

func flipHex(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}
