package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Credentials are the temporary credentials of a pod's association role.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	AccountID       string
	Expiration      time.Time

	// From the rest of the EKS Auth answer, for logs.
	AssumedRoleARN string
	AssociationID  string
	Namespace      string
	ServiceAccount string
}

// Upstream exchanges a pod's service-account token for credentials: EKS
// Auth's AssumeRoleForPodIdentity.
type Upstream interface {
	AssumeRoleForPodIdentity(ctx context.Context, token string) (*Credentials, error)
}

// UpstreamError is an error answer of EKS Auth: its HTTP status, the code
// of X-Amzn-ErrorType (or the body's __type or code), the message and the
// request ID.
type UpstreamError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *UpstreamError) Error() string {
	s := fmt.Sprintf("EKS Auth answered %d %s", e.Status, e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// Irrecoverable says whether the error is about the token or the
// association, so that trying again with the same token cannot succeed:
// the cached credentials of the token are evicted.
func (e *UpstreamError) Irrecoverable() bool {
	switch e.Code {
	case "AccessDeniedException", "ExpiredTokenException", "InvalidTokenException",
		"ResourceNotFoundException", "InvalidParameterException", "InvalidRequestException":
		return true
	}
	return false
}

// irrecoverable reports whether err evicts a token's cached credentials.
func irrecoverable(err error) bool {
	var ue *UpstreamError
	return errors.As(err, &ue) && ue.Irrecoverable()
}

// Defaults of EKSAuthConfig.
const (
	DefaultDialTimeout    = 500 * time.Millisecond
	DefaultRequestTimeout = time.Second
	DefaultAttempts       = 2
	// maxResponseBytes bounds what is read of an EKS Auth answer.
	maxResponseBytes = 1 << 20
)

// EKSAuthConfig configures an EKSAuth client.
type EKSAuthConfig struct {
	// Endpoint is the EKS Auth base URL, e.g. https://eks-auth.eu-west-1.api.aws
	// or irsa's http://127.0.0.1:8080.
	Endpoint string
	// ClusterName is the cluster whose associations apply.
	ClusterName string
	// Region signs the requests.
	Region string
	// Credentials of the agent (the node role); they sign the requests.
	Credentials aws.CredentialsProvider
	// DialTimeout and RequestTimeout bound one attempt; defaults above.
	DialTimeout, RequestTimeout time.Duration
	// Attempts is how many times a transient failure (network, 5xx, 429) is
	// tried in total while the caller's context allows; DefaultAttempts
	// when zero.
	Attempts int
	// Transport, when set, replaces the HTTP transport (tests).
	Transport http.RoundTripper
	// UserAgent of the requests.
	UserAgent string
	// Now is the signing clock; time.Now when nil.
	Now func() time.Time
}

// EKSAuth calls EKS Auth AssumeRoleForPodIdentity over rest-json with
// SigV4 (signing name eks-auth).
type EKSAuth struct {
	cfg    EKSAuthConfig
	url    string
	client *http.Client
	signer *v4.Signer
}

// EndpointFor resolves the EKS Auth URL as the SDKs do: the explicit
// endpoint, else AWS_ENDPOINT_URL_EKS_AUTH, else AWS_ENDPOINT_URL, else
// the regional AWS endpoint.
func EndpointFor(explicit, getenvEKSAuth, getenvAll, region string) string {
	for _, e := range []string{explicit, getenvEKSAuth, getenvAll} {
		if e != "" {
			return e
		}
	}
	if region == "" {
		return ""
	}
	return "https://eks-auth." + region + ".api.aws"
}

// NewEKSAuth checks cfg and returns a client.
func NewEKSAuth(cfg EKSAuthConfig) (*EKSAuth, error) {
	if !validClusterName(cfg.ClusterName) {
		return nil, fmt.Errorf("cluster name %q: must be 1 to 100 characters of letters, digits, - and _, starting with a letter or digit", cfg.ClusterName)
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("EKS Auth endpoint %q: must be an http or https URL without query", cfg.Endpoint)
	}
	if cfg.Region == "" {
		return nil, errors.New("no region to sign EKS Auth requests with")
	}
	if cfg.Credentials == nil {
		return nil, errors.New("no credentials to sign EKS Auth requests with")
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rt := cfg.Transport
	if rt == nil {
		dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
		rt = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   cfg.RequestTimeout,
			ResponseHeaderTimeout: cfg.RequestTimeout,
			MaxIdleConns:          16,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		}
	}
	base := strings.TrimRight(u.String(), "/")
	return &EKSAuth{
		cfg:    cfg,
		url:    base + "/clusters/" + url.PathEscape(cfg.ClusterName) + "/assume-role-for-pod-identity",
		client: &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		signer: v4.NewSigner(),
	}, nil
}

// validClusterName is EKS's pattern [0-9A-Za-z][A-Za-z0-9\-_]*, 1 to 100.
func validClusterName(s string) bool {
	if len(s) < 1 || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || (c != '-' && c != '_')) {
			return false
		}
	}
	return true
}

// AssumeRoleForPodIdentity implements Upstream.
func (c *EKSAuth) AssumeRoleForPodIdentity(ctx context.Context, token string) (*Credentials, error) {
	body, err := json.Marshal(struct {
		Token string `json:"token"`
	}{token})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	var lastErr error
	for attempt := 1; attempt <= c.cfg.Attempts; attempt++ {
		creds, err := c.attempt(ctx, body, payloadHash)
		if err == nil {
			return creds, nil
		}
		lastErr = err
		if !transient(err) || ctx.Err() != nil {
			break
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < c.cfg.RequestTimeout/4 {
			break
		}
	}
	return nil, lastErr
}

// transient says whether another attempt may succeed.
func transient(err error) bool {
	var ue *UpstreamError
	if errors.As(err, &ue) {
		return ue.Status >= 500 || ue.Status == http.StatusTooManyRequests
	}
	var de *decodeError
	return !errors.As(err, &de)
}

// decodeError is a 200 answer that is not the documented document.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return "EKS Auth answered 200 with " + e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

func (c *EKSAuth) attempt(ctx context.Context, body []byte, payloadHash string) (*Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	// The URL is the operator's --endpoint, checked by NewEKSAuth.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body)) //nolint:gosec // not user input
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", c.cfg.UserAgent)
	}
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("retrieving the agent's AWS credentials: %w", err)
	}
	if err := c.signer.SignHTTP(ctx, creds, req, payloadHash, "eks-auth", c.cfg.Region, c.cfg.Now()); err != nil {
		return nil, fmt.Errorf("signing the EKS Auth request: %w", err)
	}
	resp, err := c.client.Do(req) //nolint:gosec // the operator's endpoint
	if err != nil {
		return nil, fmt.Errorf("calling EKS Auth: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the EKS Auth answer: %w", err)
	}
	if len(data) > maxResponseBytes {
		return nil, &UpstreamError{Status: http.StatusBadGateway, Code: "InternalServerException", Message: "answer larger than 1 MiB"}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, ParseErrorResponse(resp.StatusCode, resp.Header, data)
	}
	out, err := ParseResponse(data)
	if err != nil {
		return nil, &decodeError{err}
	}
	return out, nil
}

// ParseErrorResponse reads a rest-json error answer: the code from the
// X-Amzn-ErrorType header (up to the first colon), else the body's __type
// (after any '#') or code; the message from the body's message or Message.
func ParseErrorResponse(status int, h http.Header, body []byte) *UpstreamError {
	e := &UpstreamError{Status: status, RequestID: h.Get("X-Amzn-Requestid")}
	var doc struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	if json.Unmarshal(body, &doc) == nil {
		e.Message = doc.Message
		if e.Message == "" {
			e.Message = doc.MessageU
		}
	}
	code := h.Get("X-Amzn-Errortype")
	if code == "" {
		code = doc.Type
	}
	if code == "" {
		code = doc.Code
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	e.Code = sanitize(code, 128)
	e.Message = sanitize(e.Message, 1024)
	e.RequestID = sanitize(e.RequestID, 128)
	if e.Code == "" {
		switch {
		case status == http.StatusTooManyRequests:
			e.Code = "ThrottlingException"
		case status >= 500:
			e.Code = "InternalServerException"
		default:
			e.Code = "UnknownError"
		}
	}
	return e
}

// sanitize keeps printable ASCII and bounds the length, so that an answer
// cannot inject control characters into logs or headers.
func sanitize(s string, limit int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= limit {
			break
		}
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ParseResponse reads EKS Auth's 200 answer. The credentials and their
// expiration (epoch seconds, possibly fractional) are required; AccountId
// comes from the assumed role's ARN.
func ParseResponse(body []byte) (*Credentials, error) {
	var doc struct {
		Subject struct {
			Namespace      string `json:"namespace"`
			ServiceAccount string `json:"serviceAccount"`
		} `json:"subject"`
		Association struct {
			ARN string `json:"associationArn"`
			ID  string `json:"associationId"`
		} `json:"podIdentityAssociation"`
		AssumedRoleUser struct {
			ARN string `json:"arn"`
		} `json:"assumedRoleUser"`
		Credentials *struct {
			SessionToken    string          `json:"sessionToken"`
			SecretAccessKey string          `json:"secretAccessKey"`
			AccessKeyID     string          `json:"accessKeyId"`
			Expiration      json.RawMessage `json:"expiration"`
		} `json:"credentials"`
	}
	if err := strictObject(body, &doc); err != nil {
		return nil, err
	}
	c := doc.Credentials
	if c == nil || c.AccessKeyID == "" || c.SecretAccessKey == "" || c.SessionToken == "" || c.Expiration == nil {
		return nil, errors.New("no credentials (accessKeyId, secretAccessKey, sessionToken, expiration)")
	}
	exp, ok := epochSeconds(c.Expiration)
	if !ok || exp.Unix() == 0 {
		return nil, errors.New("an expiration that is not epoch seconds")
	}
	out := &Credentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		Expiration:      exp,
		AssumedRoleARN:  doc.AssumedRoleUser.ARN,
		AssociationID:   doc.Association.ID,
		Namespace:       doc.Subject.Namespace,
		ServiceAccount:  doc.Subject.ServiceAccount,
	}
	out.AccountID = accountOf(doc.AssumedRoleUser.ARN)
	return out, nil
}

// accountOf is the account field of an ARN, when it is 12 digits.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || len(parts[4]) != 12 {
		return ""
	}
	for _, c := range parts[4] {
		if c < '0' || c > '9' {
			return ""
		}
	}
	return parts[4]
}
