package issuer

import (
	"context"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // name-based (version 5) UUIDs are defined with SHA-1
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/irsa-dev/irsa/internal/keys"
)

// Issuer is the built-in OIDC issuer.
type Issuer struct {
	// URL is the issuer identifier, the iss claim of every token.
	URL  string
	Keys *keys.Manager
	Now  func() time.Time
	Rand io.Reader
	// MaxAge is the Cache-Control max-age of the discovery document and
	// key set. Default 5 minutes, shorter than the publish lead of a new key.
	MaxAge time.Duration
}

// JWKSPath is where the key set is served, below the issuer URL's path and
// at the root, as kube-apiserver serves it.
const JWKSPath = "/openid/v1/jwks"

// DiscoveryPath is the OpenID discovery document below the issuer URL.
const DiscoveryPath = "/.well-known/openid-configuration"

// Discovery is the OpenID provider configuration document.
type Discovery struct {
	Issuer                           string   `json:"issuer"`
	JWKSURI                          string   `json:"jwks_uri"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                  []string `json:"claims_supported,omitempty"`
}

// Document returns the discovery document.
func (i *Issuer) Document(ctx context.Context) (Discovery, error) {
	set, err := i.Keys.KeySet(ctx)
	if err != nil {
		return Discovery{}, err
	}
	algs := []string{}
	seen := map[string]bool{}
	for _, k := range set.Keys {
		if !seen[k.Algorithm] {
			seen[k.Algorithm] = true
			algs = append(algs, k.Algorithm)
		}
	}
	return Discovery{
		Issuer:                           i.URL,
		JWKSURI:                          strings.TrimSuffix(i.URL, "/") + JWKSPath,
		ResponseTypesSupported:           []string{"id_token"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: algs,
	}, nil
}

// Routes returns the paths the issuer serves on irsa's listener: the
// discovery document and key set below the issuer URL's path, and at the
// root for clients that reach the listener by its own address.
func (i *Issuer) Routes() []string {
	base := ""
	if u, err := url.Parse(i.URL); err == nil {
		base = strings.TrimSuffix(u.Path, "/")
	}
	paths := []string{DiscoveryPath, JWKSPath}
	if base != "" {
		paths = append(paths, base+DiscoveryPath, base+JWKSPath)
	}
	return paths
}

// ServeHTTP serves the discovery document or the key set, by path suffix.
func (i *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var body any
	var ctype string
	var err error
	switch {
	case strings.HasSuffix(r.URL.Path, DiscoveryPath):
		body, err = i.Document(r.Context())
		ctype = "application/json"
	case strings.HasSuffix(r.URL.Path, JWKSPath):
		body, err = i.Keys.KeySet(r.Context())
		ctype = "application/jwk-set+json"
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, "key set unavailable", http.StatusInternalServerError)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "key set unavailable", http.StatusInternalServerError)
		return
	}
	maxAge := i.MaxAge
	if maxAge == 0 {
		maxAge = 5 * time.Minute
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(maxAge.Seconds())))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(b)
	}
}

// TokenRequest describes a projected service-account token.
type TokenRequest struct {
	Namespace      string
	ServiceAccount string
	// ServiceAccountUID defaults to a UID derived from the namespace and
	// name, stable across tokens.
	ServiceAccountUID string
	Audiences         []string // default sts.amazonaws.com
	ExpiresIn         time.Duration
	PodName, PodUID   string
	NodeName, NodeUID string
}

// Limits of minted tokens, as kube-apiserver's TokenRequest has them.
const (
	MinTokenLifetime = 10 * time.Minute
	MaxTokenLifetime = 48 * time.Hour
)

type kubernetesClaims struct {
	Namespace      string     `json:"namespace"`
	ServiceAccount objectRef  `json:"serviceaccount"`
	Pod            *objectRef `json:"pod,omitempty"`
	Node           *objectRef `json:"node,omitempty"`
}

type objectRef struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// claims are written field by field rather than with jwt.Claims, whose
// audience becomes a bare string when it has one value: kube-apiserver
// always writes aud as an array.
type claims struct {
	Issuer     string           `json:"iss"`
	Subject    string           `json:"sub"`
	Audience   []string         `json:"aud"`
	Expiry     int64            `json:"exp"`
	IssuedAt   int64            `json:"iat"`
	NotBefore  int64            `json:"nbf"`
	ID         string           `json:"jti"`
	Kubernetes kubernetesClaims `json:"kubernetes.io"`
}

// Mint signs a token with the claims kube-apiserver puts in a projected
// service-account token.
func (i *Issuer) Mint(ctx context.Context, req TokenRequest) (string, error) {
	if err := validName(req.Namespace); err != nil {
		return "", fmt.Errorf("namespace: %w", err)
	}
	if err := validName(req.ServiceAccount); err != nil {
		return "", fmt.Errorf("service account: %w", err)
	}
	if req.ExpiresIn == 0 {
		req.ExpiresIn = time.Hour
	}
	if req.ExpiresIn < MinTokenLifetime || req.ExpiresIn > MaxTokenLifetime {
		return "", fmt.Errorf("token lifetime %s is outside %s to %s", req.ExpiresIn, MinTokenLifetime, MaxTokenLifetime)
	}
	if len(req.Audiences) == 0 {
		req.Audiences = []string{"sts.amazonaws.com"}
	}
	if req.ServiceAccountUID == "" {
		req.ServiceAccountUID = stableUID(req.Namespace + "/" + req.ServiceAccount)
	}
	signer, _, err := i.Keys.Signer(ctx)
	if err != nil {
		return "", err
	}
	rnd := i.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	jti, err := randomUID(rnd)
	if err != nil {
		return "", err
	}
	now := i.Now().UTC().Truncate(time.Second)
	c := claims{
		Issuer:     i.URL,
		Subject:    "system:serviceaccount:" + req.Namespace + ":" + req.ServiceAccount,
		Audience:   req.Audiences,
		Expiry:     now.Add(req.ExpiresIn).Unix(),
		IssuedAt:   now.Unix(),
		NotBefore:  now.Unix(),
		ID:         jti,
		Kubernetes: kubernetesClaims{Namespace: req.Namespace, ServiceAccount: objectRef{Name: req.ServiceAccount, UID: req.ServiceAccountUID}},
	}
	if req.PodName != "" {
		if err := validName(req.PodName); err != nil {
			return "", fmt.Errorf("pod: %w", err)
		}
		uid := req.PodUID
		if uid == "" {
			if uid, err = randomUID(rnd); err != nil {
				return "", err
			}
		}
		c.Kubernetes.Pod = &objectRef{Name: req.PodName, UID: uid}
	}
	if req.NodeName != "" {
		uid := req.NodeUID
		if uid == "" {
			uid = stableUID("node/" + req.NodeName)
		}
		c.Kubernetes.Node = &objectRef{Name: req.NodeName, UID: uid}
	}
	return jwt.Signed(signer).Claims(c).Serialize()
}

// validName accepts Kubernetes DNS subdomain names (lower-case
// alphanumerics, '-' and '.', at most 253 characters).
func validName(s string) error {
	if s == "" || len(s) > 253 {
		return errors.New("must be 1 to 253 characters")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("%q must consist of lower-case letters, digits, '-' and '.'", s)
		}
	}
	if s[0] == '-' || s[0] == '.' || s[len(s)-1] == '-' || s[len(s)-1] == '.' {
		return fmt.Errorf("%q must start and end with a letter or digit", s)
	}
	return nil
}

func randomUID(rnd io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b[:]), nil
}

// stableUID derives a name-based UUID (version 5 layout) from s.
func stableUID(s string) string {
	sum := sha1.Sum([]byte("irsa/" + s)) //nolint:gosec // name-based (version 5) UUIDs are defined with SHA-1
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func formatUUID(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// PublicKeys is the key set as a JSON document, for tests and tools.
func (i *Issuer) PublicKeys(ctx context.Context) (jose.JSONWebKeySet, error) {
	return i.Keys.KeySet(ctx)
}
