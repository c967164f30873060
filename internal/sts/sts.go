package sts

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/irsa-dev/irsa/internal/arn"
	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/reqctx"
	"github.com/irsa-dev/irsa/internal/session"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

// TokenVerifier checks web identity tokens.
type TokenVerifier interface {
	Verify(ctx context.Context, accountID, token string) (*webidentity.Identity, error)
}

// Roles reads roles and managed policies.
type Roles interface {
	GetRole(ctx context.Context, accountID, name string) (store.Role, error)
	GetPolicy(ctx context.Context, arn string) (store.ManagedPolicy, error)
}

// RolePolicies compiles a role's permission policies.
type RolePolicies interface {
	RolePolicies(ctx context.Context, accountID, roleName string) (identity []*policy.Policy, boundary *policy.Policy, err error)
}

// SealerSource gives the current session sealer.
type SealerSource interface {
	Sealer(ctx context.Context) (*session.Sealer, error)
}

// Service is the STS.
type Service struct {
	Roles    Roles
	Policies RolePolicies
	Verifier TokenVerifier
	Sealers  SealerSource
	Now      func() time.Time
	Rand     io.Reader
	// Partition is "aws" unless configured.
	Partition string
	// Region is reported in condition keys (aws:RequestedRegion) when the
	// request does not carry one.
	Region string

	trustMu    sync.Mutex
	trustCache map[string]*cachedTrust
}

type cachedTrust struct {
	version int64
	doc     string
	p       *policy.Policy
}

// Limits of STS.
const (
	DefaultDuration      = 3600
	MinDuration          = 900
	MaxDuration          = 43200
	ChainedMaxDuration   = 3600
	MaxSessionPolicyARNs = 10
	MaxSessionTags       = 50
	// packedBudget is the compressed size, in bytes, that session policies
	// and tags may take; PackedPolicySize is their share of it in percent.
	packedBudget = 1536
)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) rnd() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

func (s *Service) partition() string {
	if s.Partition != "" {
		return s.Partition
	}
	return "aws"
}

// Credentials are temporary credentials.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// AssumedRoleUser names the new session.
type AssumedRoleUser struct {
	AssumedRoleID string
	ARN           string
}

// AssumeRoleWithWebIdentityInput is the request.
type AssumeRoleWithWebIdentityInput struct {
	RoleArn          *string
	RoleSessionName  *string
	WebIdentityToken *string
	ProviderID       *string
	PolicyArns       []string
	Policy           *string
	DurationSeconds  *int32
}

// AssumeRoleWithWebIdentityOutput is the result.
type AssumeRoleWithWebIdentityOutput struct {
	Credentials                 Credentials
	SubjectFromWebIdentityToken string
	AssumedRoleUser             AssumedRoleUser
	PackedPolicySize            *int
	Provider                    string
	Audience                    string
	SourceIdentity              string
	// Identity is the verified token, for the audit record.
	Identity *webidentity.Identity
}

// notAuthorizedWebIdentity is AWS's answer for every trust failure: it
// never says why, so that a caller cannot probe roles.
func notAuthorizedWebIdentity() error {
	return awserr.New(awserr.AccessDenied, "Not authorized to perform sts:AssumeRoleWithWebIdentity")
}

// AssumeRoleWithWebIdentity exchanges a web identity token for a role
// session: the parameters are validated, the token is verified against the
// OIDC provider of the role's account that issued it, the role's trust
// policy must allow the federated principal, and then a sealed session is
// minted. A refusal after the token verified comes with an output that
// holds only Identity, so the audit record can name the caller.
func (s *Service) AssumeRoleWithWebIdentity(ctx context.Context, in *AssumeRoleWithWebIdentityInput) (*AssumeRoleWithWebIdentityOutput, *policy.Result, error) {
	var v violations
	v.length(in.RoleArn, "roleArn", 20, 2048, false)
	if v.length(in.RoleSessionName, "roleSessionName", 2, 64, false) {
		v.pattern(in.RoleSessionName, "roleSessionName", sessionNameRE, sessionNameText)
	}
	if in.WebIdentityToken == nil {
		v.add(nil, "webIdentityToken", "Member must not be null")
	} else {
		v.length(in.WebIdentityToken, "webIdentityToken", 4, 20000, true)
	}
	v.intRange(in.DurationSeconds, "durationSeconds", MinDuration, MaxDuration)
	if in.Policy != nil {
		if v.length(in.Policy, "policy", 1, 2048, true) {
			if !policyCharsRE.MatchString(*in.Policy) {
				v.addSensitive("policy", "Member must satisfy regular expression pattern: "+policyCharsText)
			}
		}
	}
	if len(in.PolicyArns) > MaxSessionPolicyARNs {
		v.addSensitive("policyArns", fmt.Sprintf("Member must have length less than or equal to %d", MaxSessionPolicyARNs))
	}
	if err := v.err(); err != nil {
		return nil, nil, err
	}
	if in.ProviderID != nil {
		// ProviderId is only for OAuth 2.0 access tokens of Amazon and
		// Facebook, which irsa does not federate with.
		return nil, nil, awserr.New(awserr.InvalidParameterValue, "ProviderId is only supported for OAuth 2.0 access tokens from www.amazon.com and graph.facebook.com, which are not federated here; omit it for OpenID Connect ID tokens.")
	}
	account, roleName, err := s.parseRoleARN(*in.RoleArn)
	if err != nil {
		return nil, nil, err
	}
	id, err := s.Verifier.Verify(ctx, account, *in.WebIdentityToken)
	if err != nil {
		return nil, nil, err
	}
	// Past this point a refusal still names the verified token, for the
	// audit record; the output holds nothing else.
	failed := &AssumeRoleWithWebIdentityOutput{Identity: id}
	role, err := s.Roles.GetRole(ctx, account, roleName)
	if errors.Is(err, store.ErrNotFound) {
		return failed, &policy.Result{Decision: policy.ImplicitDeny, Explanation: []policy.Reason{{Message: "role " + *in.RoleArn + " does not exist"}}}, notAuthorizedWebIdentity()
	}
	if err != nil {
		return failed, nil, awserr.Internal(err)
	}
	if !sameRole(role, *in.RoleArn) {
		return failed, &policy.Result{Decision: policy.ImplicitDeny, Explanation: []policy.Reason{{Message: "role " + *in.RoleArn + " does not exist (the role with that name has another path)"}}}, notAuthorizedWebIdentity()
	}
	trust, err := s.trustPolicy(role)
	if err != nil {
		return failed, nil, err
	}

	prefix := strings.TrimPrefix(id.Provider.URL, "https://")
	prefix = strings.TrimPrefix(prefix, "http://")
	ctxKeys := s.baseContext(ctx)
	ctxKeys.Add(prefix+":sub", id.Subject)
	ctxKeys.Add(prefix+":aud", id.MatchedAudience)
	if len(id.AMR) > 0 {
		ctxKeys.Set(prefix+":amr", id.AMR...)
		ctxKeys.SetType(prefix+":amr", policy.TypeStringList)
	}
	ctxKeys.Add("aws:FederatedProvider", id.Provider.ARN)
	ctxKeys.Add("sts:RoleSessionName", *in.RoleSessionName)
	tags := make([]session.Tag, 0, len(id.PrincipalTags))
	for _, t := range id.PrincipalTags {
		tags = append(tags, session.Tag{Key: t.Key, Value: t.Value})
	}
	addTagContext(ctxKeys, tags, id.TransitiveTagKeys)
	if id.SourceIdentity != "" {
		ctxKeys.Add("sts:SourceIdentity", id.SourceIdentity)
	}
	req := &policy.Request{Action: "sts:AssumeRoleWithWebIdentity", Resource: role.ARN, Principal: id.Provider.ARN, Context: ctxKeys}
	set := &policy.Set{Resource: trust}
	result := policy.Explain(set, req)
	if result.Decision != policy.Allowed {
		return failed, result, notAuthorizedWebIdentity()
	}
	if len(tags) > 0 {
		if r := policy.Explain(set, withAction(req, "sts:TagSession")); r.Decision != policy.Allowed {
			return failed, r, notAuthorizedWebIdentity()
		}
	}
	if id.SourceIdentity != "" {
		if r := policy.Explain(set, withAction(req, "sts:SetSourceIdentity")); r.Decision != policy.Allowed {
			return failed, r, notAuthorizedWebIdentity()
		}
	}

	duration, err := s.duration(in.DurationSeconds, role, false)
	if err != nil {
		return failed, result, err
	}
	docs, err := s.sessionPolicies(ctx, account, in.Policy, in.PolicyArns)
	if err != nil {
		return failed, result, err
	}
	packed, err := packedSize(docs, tags)
	if err != nil {
		return failed, result, err
	}
	sess := &session.Session{
		AccountID: account, RoleID: role.ID, RoleName: role.Name, RoleARN: role.ARN,
		SessionName: *in.RoleSessionName, SessionPolicies: docs, PolicyARNs: in.PolicyArns,
		Tags: tags, TransitiveTagKeys: id.TransitiveTagKeys, SourceIdentity: id.SourceIdentity,
		FederatedProvider: id.Provider.ARN, Subject: id.Subject,
	}
	creds, err := s.mint(ctx, sess, duration)
	if err != nil {
		return failed, result, err
	}
	out := &AssumeRoleWithWebIdentityOutput{
		Credentials:                 creds,
		SubjectFromWebIdentityToken: id.Subject,
		AssumedRoleUser:             AssumedRoleUser{AssumedRoleID: sess.UserID(), ARN: sess.ARN(s.partition())},
		Provider:                    id.Provider.ARN,
		Audience:                    id.MatchedAudience,
		SourceIdentity:              id.SourceIdentity,
		Identity:                    id,
	}
	if len(docs) > 0 || len(tags) > 0 {
		out.PackedPolicySize = &packed
	}
	return out, result, nil
}

func withAction(r *policy.Request, action string) *policy.Request {
	c := *r
	c.Action = action
	return &c
}

// sameRole reports whether the role ARN of the request names the role
// found by name: a path in the request must be the role's path.
func sameRole(role store.Role, requested string) bool {
	a, err := arn.Parse(requested)
	if err != nil {
		return false
	}
	res := strings.TrimPrefix(a.Resource, "role")
	if !strings.Contains(res, "/") {
		return false
	}
	// "role/name" names the role whatever its path; "role/p/name" must match.
	if strings.Count(res, "/") == 1 {
		return true
	}
	return strings.EqualFold(res, role.Path+role.Name)
}

// parseRoleARN reads arn:PARTITION:iam::ACCOUNT:role/[path/]NAME.
func (s *Service) parseRoleARN(roleARN string) (account, name string, err error) {
	a, perr := arn.Parse(roleARN)
	if perr != nil || a.Service != "iam" || !arn.IsAccountID(a.Account) || a.Region != "" {
		return "", "", awserr.New(awserr.ValidationError, fmt.Sprintf("%s is invalid", roleARN))
	}
	name, ok := arn.RoleName(a)
	if !ok || name == "" {
		return "", "", awserr.New(awserr.ValidationError, fmt.Sprintf("%s is invalid", roleARN))
	}
	return a.Account, name, nil
}

// trustPolicy compiles a role's trust policy, caching it per role version.
func (s *Service) trustPolicy(role store.Role) (*policy.Policy, error) {
	key := role.AccountID + "/" + strings.ToLower(role.Name)
	s.trustMu.Lock()
	if s.trustCache == nil {
		s.trustCache = map[string]*cachedTrust{}
	}
	c := s.trustCache[key]
	s.trustMu.Unlock()
	if c != nil && c.version == role.Version && c.doc == role.TrustPolicy {
		return c.p, nil
	}
	// Stored trust policies were validated when saved; the size check is
	// the one in force then, so parse without a quota here.
	p, err := policy.ParseWithLimits([]byte(role.TrustPolicy), policy.KindTrust, policy.Limits{Size: policy.MaxDocumentBytes})
	if err != nil {
		return nil, awserr.Internal(fmt.Errorf("stored trust policy of role %s does not parse: %w", role.ARN, err))
	}
	p.Name = "trust policy of " + role.Name
	s.trustMu.Lock()
	if len(s.trustCache) > 10000 {
		s.trustCache = map[string]*cachedTrust{}
	}
	s.trustCache[key] = &cachedTrust{version: role.Version, doc: role.TrustPolicy, p: p}
	s.trustMu.Unlock()
	return p, nil
}

// baseContext holds the global condition keys of every request.
func (s *Service) baseContext(ctx context.Context) *policy.Context {
	info := reqctx.From(ctx)
	now := s.now().UTC()
	c := policy.NewContextSize(16)
	c.Add("aws:CurrentTime", now.Format(time.RFC3339))
	c.Add("aws:EpochTime", strconv.FormatInt(now.Unix(), 10))
	c.Add("aws:SecureTransport", "false")
	if info.SourceIP != "" {
		c.Add("aws:SourceIp", info.SourceIP)
	}
	if info.UserAgent != "" {
		c.Add("aws:UserAgent", info.UserAgent)
	}
	region := info.Region
	if region == "" {
		region = s.Region
	}
	if region != "" {
		c.Add("aws:RequestedRegion", region)
	}
	return c
}

func addTagContext(c *policy.Context, tags []session.Tag, transitive []string) {
	if len(tags) == 0 {
		return
	}
	keys := make([]string, 0, len(tags))
	for _, t := range tags {
		c.Add("aws:RequestTag/"+t.Key, t.Value)
		keys = append(keys, t.Key)
	}
	c.Set("aws:TagKeys", keys...)
	c.SetType("aws:TagKeys", policy.TypeStringList)
	if len(transitive) > 0 {
		c.Set("sts:TransitiveTagKeys", transitive...)
		c.SetType("sts:TransitiveTagKeys", policy.TypeStringList)
	}
}

// duration applies the default and the role's maximum.
func (s *Service) duration(requested *int32, role store.Role, chained bool) (time.Duration, error) {
	d := int32(DefaultDuration)
	if requested != nil {
		d = *requested
	}
	if chained && requested != nil && d > ChainedMaxDuration {
		return 0, awserr.New(awserr.ValidationError, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	maxDur := int32(role.MaxSessionDuration) //nolint:gosec // stored values are validated to 3600..43200 by iam on create and update
	if maxDur == 0 {
		maxDur = DefaultDuration
	}
	if d > maxDur {
		return 0, awserr.New(awserr.ValidationError, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	if chained && d > ChainedMaxDuration {
		d = ChainedMaxDuration
	}
	return time.Duration(d) * time.Second, nil
}

// sessionPolicies validates the inline session policy and reads the
// documents of the managed session policies.
func (s *Service) sessionPolicies(ctx context.Context, account string, inline *string, arns []string) ([]string, error) {
	var docs []string
	if inline != nil {
		if _, err := policy.Parse([]byte(*inline), policy.KindSession); err != nil {
			var pe *policy.Error
			if errors.As(err, &pe) {
				return nil, awserr.New(pe.Code, pe.Message)
			}
			return nil, awserr.New(awserr.MalformedPolicyDocument, err.Error())
		}
		docs = append(docs, *inline)
	}
	for _, a := range arns {
		parsed, err := arn.Parse(a)
		if err != nil || parsed.Service != "iam" || !strings.HasPrefix(parsed.Resource, "policy/") {
			return nil, awserr.New(awserr.ValidationError, fmt.Sprintf("%s is invalid", a))
		}
		if parsed.Account != account {
			return nil, awserr.New(awserr.MalformedPolicyDocument, fmt.Sprintf("Policy %s does not exist or is not attachable.", a))
		}
		mp, err := s.Roles.GetPolicy(ctx, a)
		if errors.Is(err, store.ErrNotFound) {
			return nil, awserr.New(awserr.MalformedPolicyDocument, fmt.Sprintf("Policy %s does not exist or is not attachable.", a))
		}
		if err != nil {
			return nil, awserr.Internal(err)
		}
		for _, pv := range mp.Versions {
			if pv.ID == mp.DefaultVersion {
				docs = append(docs, pv.Document)
			}
		}
	}
	return docs, nil
}

// packedSize is the share, in percent, of the packed-policy budget that
// the session policies and tags take. AWS packs them in an undocumented
// binary form; irsa compresses them with DEFLATE, which grows the same way.
// flateWriters are reused: a compressor at BestCompression allocates
// about 800 KB of tables, which every session with tags would pay.
var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(io.Discard, flate.BestCompression)
	return w
}}

func packedSize(docs []string, tags []session.Tag) (int, error) {
	if len(docs) == 0 && len(tags) == 0 {
		return 0, nil
	}
	var buf bytes.Buffer
	w := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(w)
	w.Reset(&buf)
	for _, d := range docs {
		_, _ = w.Write(compactJSON(d))
	}
	for _, t := range tags {
		_, _ = io.WriteString(w, t.Key+"="+t.Value+";")
	}
	_ = w.Close()
	pct := (buf.Len()*100 + packedBudget - 1) / packedBudget
	if pct > 100 {
		what := "session policies"
		if len(docs) == 0 {
			what = "session tags"
		} else if len(tags) > 0 {
			what = "session policies and tags"
		}
		return pct, awserr.Newf(awserr.PackedPolicyTooLarge, "Packed size of %s consumes %d%% of allotted space.", what, pct)
	}
	return pct, nil
}

// compactJSON drops whitespace outside strings.
func compactJSON(s string) []byte {
	out := make([]byte, 0, len(s))
	inStr, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr:
			out = append(out, c)
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
			out = append(out, c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			out = append(out, c)
		}
	}
	return out
}

// mint issues the credentials of a session.
func (s *Service) mint(ctx context.Context, sess *session.Session, d time.Duration) (Credentials, error) {
	now := s.now().UTC().Truncate(time.Second)
	akid, err := session.NewAccessKeyID(session.PrefixTemporary, sess.AccountID, s.rnd())
	if err != nil {
		return Credentials{}, awserr.Internal(err)
	}
	secret, err := session.NewSecretAccessKey(s.rnd())
	if err != nil {
		return Credentials{}, awserr.Internal(err)
	}
	sess.AccessKeyID, sess.SecretAccessKey = akid, secret
	sess.IssuedAt, sess.Expiration = now, now.Add(d)
	sealer, err := s.Sealers.Sealer(ctx)
	if err != nil {
		return Credentials{}, awserr.Internal(err)
	}
	tok, err := sealer.Seal(sess)
	if err != nil {
		return Credentials{}, awserr.Internal(err)
	}
	return Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: tok, Expiration: sess.Expiration}, nil
}
