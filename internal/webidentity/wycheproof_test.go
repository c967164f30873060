package webidentity

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

// Wycheproof's JOSE vectors (testdata/wycheproof, see SOURCE there). The
// payloads are the bytes "foo", so they exercise the JWS layer (parseJWS
// and verify) and the key-set loader (ValidateKeySet), not the claims.

type wycheproofTest struct {
	TcID    int             `json:"tcId"`
	Comment string          `json:"comment"`
	JWS     json.RawMessage `json:"jws"`
	Result  string          `json:"result"`
	Flags   []string        `json:"flags"`
}

type wycheproofJWSFile struct {
	NumberOfTests int `json:"numberOfTests"`
	TestGroups    []struct {
		Comment string           `json:"comment"`
		Private json.RawMessage  `json:"private"`
		Public  json.RawMessage  `json:"public"`
		Tests   []wycheproofTest `json:"tests"`
	} `json:"testGroups"`
}

type wycheproofKeySet struct {
	Keys []json.RawMessage `json:"keys"`
}

type wycheproofJWKFile struct {
	NumberOfTests int `json:"numberOfTests"`
	TestGroups    []struct {
		Comment string           `json:"comment"`
		Private wycheproofKeySet `json:"private"`
		Public  wycheproofKeySet `json:"public"`
		Tests   []wycheproofTest `json:"tests"`
	} `json:"testGroups"`
}

// The files are used as published; a changed byte fails here first.
var wycheproofSums = map[string]string{
	"testdata/wycheproof/json_web_signature_test.json": "8e687a06fe8359f4ec51480f1a9f73c8faebd6f4c01b818b843b44eee54fd5d9",
	"testdata/wycheproof/json_web_key_test.json":       "be983255bce26406f97020ec5458b33930a90d5f868e604fcd569c300aba2862",
}

func loadWycheproof(t testing.TB, name string, out any) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != wycheproofSums[name] {
		t.Fatalf("%s: SHA-256 %s, want %s (see testdata/wycheproof/SOURCE)", name, got, wycheproofSums[name])
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
}

func loadWycheproofJWK(t testing.TB) *wycheproofJWKFile {
	var f wycheproofJWKFile
	loadWycheproof(t, "testdata/wycheproof/json_web_key_test.json", &f)
	return &f
}

// tokenText is the test's jws: a compact string, or (JSON serialization
// cases) an object given to the verifier as its JSON text.
func tokenText(t testing.TB, raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(raw)
}

// verifyWithKeySet runs a JWS through irsa's layers with a key set, as the
// verifier does once the provider is known: the set passes ValidateKeySet,
// the token parseJWS, the key is chosen by kid (the only key when the
// token has none), and the signature is verified. stage names the layer
// that refused it ("" when accepted).
func verifyWithKeySet(jwks []byte, token string) (stage string, err error) {
	set, err := ValidateKeySet(jwks)
	if err != nil {
		return "keyset", err
	}
	parsed, aerr := parseJWS(token)
	if aerr != nil {
		return "parse", fmt.Errorf("%v: %v", aerr, aerr.Cause)
	}
	var key *jose.JSONWebKey
	for i := range set.Keys {
		if set.Keys[i].KeyID == parsed.kid || (!parsed.hasKid && len(set.Keys) == 1) {
			key = &set.Keys[i]
		}
	}
	if key == nil {
		return "kid", fmt.Errorf("no key with kid %q", parsed.kid)
	}
	if aerr := parsed.verify(key); aerr != nil {
		return "signature", fmt.Errorf("%v: %v", aerr, aerr.Cause)
	}
	return "", nil
}

// wycheproofMislabelled are JWS cases whose label is wrong or
// contradictory (shared/reference/security-attacks-corpora.md §1.2, and
// the README of shared/testdata). irsa refuses all of them; each would be
// refused by policy anyway (HS* and PS* are never accepted, and a key's alg
// must be a valid allowlisted algorithm).
var wycheproofMislabelled = map[int]string{
	346: "Figure 20: the key says alg PS256, the token PS384; a verifier pinning the key's alg refuses it (and PS* is not allowed)",
	347: "Figure 27: the key says alg ES521, which is no JOSE algorithm (ES512 is); irsa refuses the key",
	350: "Figure 20 with key_ops: same key/token alg mismatch as 346",
	351: "Figure 27 with key_ops: same invalid key alg ES521 as 347",
	357: "byte-identical to 367 and 370, labeled valid while they are invalid (C2SP/wycheproof#236); HS256, never accepted",
	367: "byte-identical to 357 (labeled valid) and 370; HS256, never accepted",
	370: "byte-identical to 357 (labeled valid) and 367; HS256, never accepted",
	372: "labeled valid but a '?' is inserted in the header and the MAC does not verify; refused as invalid base64url",
	373: "labeled valid but a '?' is inserted in the payload and the MAC does not verify; refused as invalid base64url",
}

// policyRejects says why irsa's stricter policy refuses a case Wycheproof
// labels valid: HMAC and RSA-PSS are not in the allowlist.
func policyRejects(keyJSON []byte, token string) string {
	var k struct{ Kty, Alg string }
	_ = json.Unmarshal(keyJSON, &k)
	var h struct{ Alg string }
	if head, _, ok := strings.Cut(token, "."); ok {
		if b, err := strictB64.DecodeString(head); err == nil {
			_ = json.Unmarshal(b, &h)
		}
	}
	switch {
	case k.Kty == "oct" || strings.HasPrefix(h.Alg, "HS"):
		return "HS* is never accepted (symmetric keys are refused)"
	case strings.HasPrefix(k.Alg, "PS") || strings.HasPrefix(h.Alg, "PS"):
		return "PS* is not in the allowlist"
	}
	return ""
}

func TestWycheproofJWS(t *testing.T) {
	var f wycheproofJWSFile
	loadWycheproof(t, "testdata/wycheproof/json_web_signature_test.json", &f)
	var accepted []int
	total := 0
	mislabelledSeen := map[int]bool{}
	for _, g := range f.TestGroups {
		key := g.Public
		if len(key) == 0 {
			key = g.Private // HMAC groups have only the secret key
		}
		jwks := []byte(`{"keys":[` + string(key) + `]}`)
		for _, tc := range g.Tests {
			total++
			token := tokenText(t, tc.JWS)
			stage, err := verifyWithKeySet(jwks, token)
			name := fmt.Sprintf("tc%d_%s_%s", tc.TcID, g.Comment, tc.Comment)
			if len(g.Public) == 0 && stage != "keyset" {
				// HMAC groups: the symmetric key is refused whatever the
				// token, so no HS* case can get further.
				t.Errorf("%s: HMAC group case reached stage %q (err %v); the key set must be refused", name, stage, err)
			}
			if why, ok := wycheproofMislabelled[tc.TcID]; ok {
				mislabelledSeen[tc.TcID] = true
				if err == nil {
					t.Errorf("%s: accepted; irsa refuses this mislabelled case (%s)", name, why)
				}
				continue
			}
			if tc.Result != "valid" {
				if err == nil {
					t.Errorf("%s (%s, flags %v): accepted, Wycheproof says %s", name, g.Comment, tc.Flags, tc.Result)
				}
				continue
			}
			if why := policyRejects(key, token); why != "" {
				// Wycheproof says valid; irsa's policy refuses it, and must
				// refuse it before the signature: at the key set or the
				// header.
				if err == nil || (stage != "keyset" && stage != "parse") {
					t.Errorf("%s: stage %q err %v; want refused by policy (%s) at the key set or header", name, stage, err, why)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: refused at %s: %v; Wycheproof says valid", name, stage, err)
				continue
			}
			accepted = append(accepted, tc.TcID)
		}
	}
	if total != f.NumberOfTests || total != 401 {
		t.Errorf("ran %d cases, file says %d, want 401", total, f.NumberOfTests)
	}
	if len(mislabelledSeen) != len(wycheproofMislabelled) {
		t.Errorf("mislabelled cases seen %v, want all of %v", mislabelledSeen, wycheproofMislabelled)
	}
	// What irsa accepts: the valid RS256/384/512 and ES256 cases.
	want := []int{18, 33, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270, 271, 345, 349, 378}
	sort.Ints(accepted)
	if diff := cmp.Diff(want, accepted); diff != "" {
		t.Errorf("accepted cases (-want +got):\n%s", diff)
	}
}

func TestWycheproofJWK(t *testing.T) {
	f := loadWycheproofJWK(t)
	total := 0
	var accepted []int
	for _, g := range f.TestGroups {
		set := g.Public
		if len(set.Keys) == 0 {
			set = g.Private
		}
		keys := make([]string, len(set.Keys))
		for i, k := range set.Keys {
			keys[i] = string(k)
		}
		jwks := []byte(`{"keys":[` + strings.Join(keys, ",") + `]}`)
		for _, tc := range g.Tests {
			total++
			name := fmt.Sprintf("tc%d_%s_%s", tc.TcID, g.Comment, tc.Comment)
			token := tokenText(t, tc.JWS)
			stage, err := verifyWithKeySet(jwks, token)
			switch {
			case tc.Result != "valid":
				if err == nil {
					t.Errorf("%s: accepted, Wycheproof says %s", name, tc.Result)
				}
			case policyRejects(set.Keys[0], token) != "":
				if stage != "keyset" {
					t.Errorf("%s: stage %q err %v; want the key set refused (%s)", name, stage, err, policyRejects(set.Keys[0], token))
				}
			case err != nil:
				t.Errorf("%s: refused at %s: %v; Wycheproof says valid", name, stage, err)
			default:
				accepted = append(accepted, tc.TcID)
			}
		}
	}
	if total != f.NumberOfTests || total != 26 {
		t.Errorf("ran %d cases, file says %d, want 26", total, f.NumberOfTests)
	}
	if diff := cmp.Diff([]int{5}, accepted); diff != "" {
		t.Errorf("accepted cases (-want +got):\n%s", diff)
	}
}

// TestWycheproofJWKReasons pins why each invalid key set is refused, so a
// set is not refused by accident for the wrong reason.
func TestWycheproofJWKReasons(t *testing.T) {
	f := loadWycheproofJWK(t)
	reasons := map[int]string{}
	for _, g := range f.TestGroups {
		set := g.Public
		if len(set.Keys) == 0 {
			set = g.Private
		}
		keys := make([]string, len(set.Keys))
		for i, k := range set.Keys {
			keys[i] = string(k)
		}
		for _, tc := range g.Tests {
			stage, err := verifyWithKeySet([]byte(`{"keys":[`+strings.Join(keys, ",")+`]}`), tokenText(t, tc.JWS))
			switch {
			case err == nil:
				reasons[tc.TcID] = "accepted"
			case stage == "keyset":
				reasons[tc.TcID] = err.Error()
			default:
				reasons[tc.TcID] = stage
			}
		}
	}
	wantContains := map[int]string{
		1:  "private or symmetric key material (k)", // mixed symmetric/EC set
		2:  "private or symmetric key material (k)",
		3:  "private or symmetric key material (k)",
		4:  "private or symmetric key material (k)", // duplicate kid, and symmetric
		5:  "accepted",
		6:  `use is not "sig"`,
		7:  "ROCA",
		8:  "1024 bits",
		9:  "bad e value",
		10: "private or symmetric key material (k)",
		13: "private or symmetric key material (k)",
		16: "private or symmetric key material (k)",
		19: `alg "ES521" is not allowed`,
		20: `alg "ES224" is not allowed`,
		21: `use is not "sig"`,
		22: "not on declared curve",
		23: "wrong length",
		24: "missing n/e",
		25: "private or symmetric key material (k)",
		26: "private or symmetric key material (k)",
	}
	for id, want := range wantContains {
		if !strings.Contains(reasons[id], want) {
			t.Errorf("tc%d: %q, want it to mention %q", id, reasons[id], want)
		}
	}
}

// TestWycheproofDuplicateKid checks tc 4's other reason on its own: a
// public key set with a duplicate kid.
func TestWycheproofDuplicateKid(t *testing.T) {
	f := loadWycheproofJWK(t)
	for _, g := range f.TestGroups {
		if g.Comment != "rs256" || len(g.Public.Keys) == 0 {
			continue
		}
		k := string(g.Public.Keys[0])
		_, err := ValidateKeySet([]byte(`{"keys":[` + k + `,` + k + `]}`))
		if err == nil || !strings.Contains(err.Error(), "duplicate kid") {
			t.Fatalf("ValidateKeySet: %v, want a duplicate kid error", err)
		}
		return
	}
	t.Fatal("no rs256 group")
}
