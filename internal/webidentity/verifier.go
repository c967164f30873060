package webidentity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/store"
)

// Providers lists the OIDC providers of an account. store.Store satisfies
// it.
type Providers interface {
	ListOIDCProviders(ctx context.Context, accountID string) ([]store.OIDCProvider, error)
}

// KeySource returns the verification key kid of provider p. With kid ""
// (a token without kid) it returns the provider's only key, and fails when
// the provider has several. Keys must be public. Errors are *awserr.Error
// (InvalidIdentityToken when the key is unknown or the key set unusable,
// IDPCommunicationError when the provider cannot be reached).
type KeySource interface {
	Key(ctx context.Context, p *store.OIDCProvider, kid string) (*jose.JSONWebKey, error)
}

// Token length limits of the WebIdentityToken parameter (STS API model).
const (
	MinTokenLength = 4
	MaxTokenLength = 20000
)

// DefaultSkew is the clock skew AWS tolerates on exp (IAM user guide, OIDC
// federation), applied to nbf and iat as well.
const DefaultSkew = 5 * time.Minute

// Verifier verifies web identity tokens.
type Verifier struct {
	Providers Providers
	Keys      KeySource
	Now       func() time.Time // default time.Now
	Skew      time.Duration    // default DefaultSkew; zero or negative means the default
}

// Identity is a verified web identity token.
type Identity struct {
	Provider        store.OIDCProvider // the provider whose URL is the token's iss
	Issuer          string
	Subject         string
	Audience        []string // every aud value, in token order
	MatchedAudience string   // the first aud value that is a client ID of the provider
	Expiry          time.Time
	IssuedAt        time.Time // zero when the token has no iat
	NotBefore       time.Time // zero when the token has no nbf
	AMR             []string
	// Session tags from the claim https://aws.amazon.com/tags, sorted by
	// key; TransitiveTagKeys in token order.
	PrincipalTags     []store.Tag
	TransitiveTagKeys []string
	SourceIdentity    string // claim https://aws.amazon.com/source_identity
	JTI               string
	KeyID             string // the header's kid ("" when absent)
	Algorithm         string // the header's alg
	// TokenID is the hex SHA-256 of the token's raw "header.payload". It
	// names the signed content, for audit and replay tracking: the
	// canonical-base64 rule means the same content has one spelling, and
	// the signature is left out, so re-signing malleability (a second
	// valid ECDSA signature) does not give the same content a new ID.
	TokenID    string
	Kubernetes *KubernetesClaims // nil when the token has no kubernetes.io claim
}

// KubernetesClaims are the kubernetes.io claims of a projected service
// account token.
type KubernetesClaims struct {
	Namespace          string
	ServiceAccountName string
	ServiceAccountUID  string
	PodName            string
	PodUID             string
	NodeName           string
	NodeUID            string
}

// Claim names of AWS's session tags and source identity.
const (
	TagsClaim           = "https://aws.amazon.com/tags"
	SourceIdentityClaim = "https://aws.amazon.com/source_identity"
)

// maxNumericDate is 9999-12-31T23:59:59Z; later dates are refused as
// nonsense.
const maxNumericDate = 253402300799

// Verify verifies token for a role of accountID. The checks run in AWS's
// order: the token's form, its issuer (a registered OIDC provider of the
// account, byte for byte), its audience (one of the provider's client
// IDs), its signature (with the provider's key named by kid), then its
// lifetime (exp required, nbf and iat optional, with Skew). A bad signature
// is always reported as such, never hidden behind an expiry. Errors are
// *awserr.Error.
func (v *Verifier) Verify(ctx context.Context, accountID, token string) (*Identity, error) {
	// Model validation applies to the parameter as sent; AWS never echoes
	// the (sensitive) value.
	if n := utf8.RuneCountInString(token); n < MinTokenLength {
		return nil, lengthError("greater than or equal to 4")
	} else if n > MaxTokenLength {
		return nil, lengthError("less than or equal to 20000")
	}
	// SDKs send the token file as written, trailing newline included.
	token = strings.Trim(token, " \t\n\r\f\v")

	t, aerr := parseJWS(token)
	if aerr != nil {
		return nil, aerr
	}
	raw, aerr := t.claims()
	if aerr != nil {
		return nil, aerr
	}
	c, aerr := parseClaims(raw)
	if aerr != nil {
		return nil, aerr
	}

	if !c.hasIss {
		return nil, missingClaim("iss")
	}
	providers, err := v.Providers.ListOIDCProviders(ctx, accountID)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	var provider *store.OIDCProvider
	for i := range providers {
		if providers[i].URL == c.iss {
			provider = &providers[i]
			break
		}
	}
	if provider == nil {
		return nil, noProvider(c.iss)
	}

	if !c.hasAud {
		return nil, missingClaim("aud")
	}
	matched, ok := matchAudience(c.aud, provider.ClientIDs)
	if !ok {
		return nil, awserr.New(awserr.InvalidIdentityToken, MsgIncorrectAudience)
	}

	key, err := v.Keys.Key(ctx, provider, t.kid)
	if err != nil {
		return nil, awserr.As(err)
	}
	if aerr := t.verify(key); aerr != nil {
		return nil, aerr
	}

	// The lifetime comes after the signature: an expired forgery is a
	// forgery.
	if !c.hasExp {
		return nil, missingClaim("exp")
	}
	now := v.now()
	skew := v.Skew
	if skew <= 0 {
		skew = DefaultSkew
	}
	exp := time.Unix(c.exp, 0)
	if now.After(exp.Add(skew)) {
		return nil, expired(now.Unix(), c.exp)
	}
	if c.hasNbf && time.Unix(c.nbf, 0).After(now.Add(skew)) {
		return nil, notYetValid("not-before", now.Unix(), c.nbf)
	}
	if c.hasIat && time.Unix(c.iat, 0).After(now.Add(skew)) {
		return nil, notYetValid("issued-at", now.Unix(), c.iat)
	}
	if c.hasIat && c.iat > c.exp {
		return nil, malformed("iat %d is after exp %d", c.iat, c.exp)
	}
	if c.hasNbf && c.nbf > c.exp {
		return nil, malformed("nbf %d is after exp %d", c.nbf, c.exp)
	}

	if !c.hasSub {
		return nil, missingClaim("sub")
	}
	id := &Identity{
		Provider:          *provider,
		Issuer:            c.iss,
		Subject:           c.sub,
		Audience:          c.aud,
		MatchedAudience:   matched,
		Expiry:            exp.UTC(),
		AMR:               c.amr,
		PrincipalTags:     c.tags,
		TransitiveTagKeys: c.transitive,
		SourceIdentity:    c.sourceIdentity,
		JTI:               c.jti,
		KeyID:             t.kid,
		Algorithm:         t.alg,
		TokenID:           tokenID(t.signingInput),
		Kubernetes:        c.kubernetes,
	}
	if c.hasIat {
		id.IssuedAt = time.Unix(c.iat, 0).UTC()
	}
	if c.hasNbf {
		id.NotBefore = time.Unix(c.nbf, 0).UTC()
	}
	return id, nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func tokenID(signingInput string) string {
	sum := sha256.Sum256([]byte(signingInput))
	return hex.EncodeToString(sum[:])
}

// matchAudience returns the first aud value that is a client ID.
func matchAudience(aud, clientIDs []string) (string, bool) {
	for _, a := range aud {
		for _, id := range clientIDs {
			if a == id {
				return a, true
			}
		}
	}
	return "", false
}

// claims are the decoded claims irsa uses; has* say whether the claim was
// present.
type claims struct {
	iss, sub, jti          string
	hasIss, hasSub         bool
	aud                    []string
	hasAud                 bool
	exp, nbf, iat          int64
	hasExp, hasNbf, hasIat bool
	amr                    []string
	tags                   []store.Tag
	transitive             []string
	sourceIdentity         string
	kubernetes             *KubernetesClaims
}

// parseClaims checks the types of the claims irsa reads. Any claim of the
// wrong type refuses the token; claims irsa does not read are ignored.
func parseClaims(m map[string]json.RawMessage) (*claims, *awserr.Error) {
	c := &claims{}
	var ok bool
	if raw, present := m["iss"]; present {
		if c.iss, ok = jsonString(raw); !ok {
			return nil, malformed("claims: iss is not a string")
		}
		c.hasIss = true
	}
	if raw, present := m["sub"]; present {
		if c.sub, ok = jsonString(raw); !ok {
			return nil, malformed("claims: sub is not a string")
		}
		c.hasSub = true
	}
	if raw, present := m["jti"]; present {
		if c.jti, ok = jsonString(raw); !ok {
			return nil, malformed("claims: jti is not a string")
		}
	}
	if raw, present := m["aud"]; present {
		if c.aud, ok = jsonStrings(raw); !ok {
			return nil, malformed("claims: aud is not a string or an array of strings")
		}
		c.hasAud = true
	}
	if raw, present := m["amr"]; present {
		if c.amr, ok = jsonStrings(raw); !ok {
			return nil, malformed("claims: amr is not a string or an array of strings")
		}
	}
	for _, d := range []struct {
		name string
		v    *int64
		has  *bool
	}{{"exp", &c.exp, &c.hasExp}, {"nbf", &c.nbf, &c.hasNbf}, {"iat", &c.iat, &c.hasIat}} {
		raw, present := m[d.name]
		if !present {
			continue
		}
		n, ok := numericDate(raw)
		if !ok {
			return nil, malformed("claims: %s is not an integer NumericDate between 0 and %d", d.name, maxNumericDate)
		}
		*d.v, *d.has = n, true
	}
	if raw, present := m[TagsClaim]; present {
		var aerr *awserr.Error
		if c.tags, c.transitive, aerr = parseTags(raw); aerr != nil {
			return nil, aerr
		}
	}
	if raw, present := m[SourceIdentityClaim]; present {
		s, ok := jsonString(raw)
		if !ok || !validSourceIdentity(s) {
			return nil, awserr.New(awserr.InvalidIdentityToken, "The source identity in the token must be 2 to 64 characters of [\\w+=,.@-] and must not start with aws:")
		}
		c.sourceIdentity = s
	}
	if raw, present := m["kubernetes.io"]; present {
		k, err := parseKubernetes(raw)
		if err != nil {
			return nil, err
		}
		c.kubernetes = k
	}
	return c, nil
}

// numericDate accepts a JSON integer from 0 to maxNumericDate: no sign, no
// fraction, no exponent, no string. STS documents that timestamps in the
// token must be integers.
func numericDate(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 || len(raw) > 12 {
		return 0, false
	}
	var n int64
	for _, b := range raw {
		if b < '0' || b > '9' {
			return 0, false
		}
		n = n*10 + int64(b-'0')
	}
	return n, n <= maxNumericDate
}

func validSourceIdentity(s string) bool {
	if len(s) < 2 || len(s) > 64 || strings.HasPrefix(strings.ToLower(s), "aws:") {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("_+=,.@-", b) >= 0) {
			return false
		}
	}
	return true
}

// Session tag limits (IAM user guide, "Passing session tags in
// AssumeRoleWithWebIdentity").
const (
	MaxSessionTags    = 50
	MaxTagKeyLength   = 128
	MaxTagValueLength = 256
	tagClaimMessage   = "The session tags in the token (claim https://aws.amazon.com/tags) are not valid: "
)

func tagError(why string) *awserr.Error {
	return awserr.New(awserr.InvalidIdentityToken, tagClaimMessage+why)
}

// parseTags reads {"principal_tags": {"k": ["v"]}, "transitive_tag_keys":
// ["k"]}. Each tag value is an array of exactly one string (STS has no
// multi-valued tags).
func parseTags(raw json.RawMessage) ([]store.Tag, []string, *awserr.Error) {
	m, err := members(raw)
	if err != nil {
		return nil, nil, tagError("the claim is not an object")
	}
	var tags []store.Tag
	if pt, ok := m["principal_tags"]; ok {
		pm, err := members(pt)
		if err != nil {
			return nil, nil, tagError("principal_tags is not an object")
		}
		if len(pm) > MaxSessionTags {
			return nil, nil, tagError("more than 50 tags")
		}
		for k, v := range pm {
			vals, ok := jsonStrings(v)
			if !ok || v[0] != '[' || len(vals) != 1 {
				return nil, nil, tagError("each tag value must be an array of one string")
			}
			if !validTag(k, 1, MaxTagKeyLength) {
				return nil, nil, tagError("a tag key must be 1 to 128 characters of letters, digits, spaces and _.:/=+-@, and must not start with aws:")
			}
			if !validTag(vals[0], 0, MaxTagValueLength) {
				return nil, nil, tagError("a tag value must be at most 256 characters of letters, digits, spaces and _.:/=+-@")
			}
			tags = append(tags, store.Tag{Key: k, Value: vals[0]})
		}
		sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	}
	var transitive []string
	if tt, ok := m["transitive_tag_keys"]; ok {
		keys, ok := jsonStrings(tt)
		if !ok || tt[0] != '[' {
			return nil, nil, tagError("transitive_tag_keys is not an array of strings")
		}
		if len(keys) > MaxSessionTags {
			return nil, nil, tagError("more than 50 transitive tag keys")
		}
		seen := make(map[string]bool, len(keys))
		for _, k := range keys {
			lk := strings.ToLower(k)
			if seen[lk] {
				return nil, nil, tagError("a transitive tag key is listed twice")
			}
			seen[lk] = true
			found := false
			for _, t := range tags {
				if strings.EqualFold(t.Key, k) {
					found = true
					break
				}
			}
			if !found {
				return nil, nil, tagError("each transitive tag key must be one of the principal tags")
			}
		}
		transitive = keys
	}
	return tags, transitive, nil
}

// validTag checks a tag key or value: [\p{L}\p{Z}\p{N}_.:/=+\-@], with the
// length in characters; keys may not use the aws: prefix.
func validTag(s string, minLen, maxLen int) bool {
	n := utf8.RuneCountInString(s)
	if n < minLen || n > maxLen {
		return false
	}
	if minLen > 0 && strings.HasPrefix(strings.ToLower(s), "aws:") {
		return false
	}
	for _, r := range s {
		if !tagRune(r) {
			return false
		}
	}
	return true
}

// parseKubernetes reads the kubernetes.io claim of a projected service
// account token. Members must be strings or objects of strings where
// kube-apiserver puts them; unknown members are ignored.
func parseKubernetes(raw json.RawMessage) (*KubernetesClaims, *awserr.Error) {
	m, err := members(raw)
	if err != nil {
		return nil, malformed("claims: kubernetes.io is not an object")
	}
	k := &KubernetesClaims{}
	if v, ok := m["namespace"]; ok {
		if k.Namespace, ok = jsonString(v); !ok {
			return nil, malformed("claims: kubernetes.io.namespace is not a string")
		}
	}
	for _, ref := range []struct {
		name                string
		nameField, uidField *string
	}{
		{"serviceaccount", &k.ServiceAccountName, &k.ServiceAccountUID},
		{"pod", &k.PodName, &k.PodUID},
		{"node", &k.NodeName, &k.NodeUID},
	} {
		v, ok := m[ref.name]
		if !ok {
			continue
		}
		obj, err := members(v)
		if err != nil {
			return nil, malformed("claims: kubernetes.io.%s is not an object", ref.name)
		}
		if s, ok := obj["name"]; ok {
			if *ref.nameField, ok = jsonString(s); !ok {
				return nil, malformed("claims: kubernetes.io.%s.name is not a string", ref.name)
			}
		}
		if s, ok := obj["uid"]; ok {
			if *ref.uidField, ok = jsonString(s); !ok {
				return nil, malformed("claims: kubernetes.io.%s.uid is not a string", ref.name)
			}
		}
	}
	return k, nil
}

func tagRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.In(r, unicode.Z) || unicode.IsNumber(r) || strings.ContainsRune("_.:/=+-@", r)
}
