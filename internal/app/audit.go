package app

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/irsa-dev/irsa/internal/arn"
	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/awsquery"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/reqctx"
	"github.com/irsa-dev/irsa/internal/session"
	"github.com/irsa-dev/irsa/internal/sigv4"
	"github.com/irsa-dev/irsa/internal/stsapi"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

// AuditTimeout bounds how long a call waits for its event to be durable;
// past it the call fails with InternalFailure.
const AuditTimeout = 10 * time.Second

// AuditMaxDelay is how long, under concurrent load, the recorder waits to
// gather more events into one synced commit (see audit.RecorderConfig).
const AuditMaxDelay = 2 * time.Millisecond

// CheckpointInterval is how often a serving App signs a checkpoint of the
// trail's head, when the trail has grown.
const CheckpointInterval = time.Minute

// Recorder is the App's audit recorder: every STS and IAM call's event
// goes through it, durable before the call answers.
func (a *App) Recorder() *audit.Recorder { return a.recorder }

// startAudit starts the recorder's group commit and the checkpoint signer;
// Close stops them.
func (a *App) startAudit() {
	ctx, cancel := context.WithCancel(context.Background())
	a.recorder = audit.NewRecorder(a.Store, audit.RecorderConfig{MaxDelay: AuditMaxDelay, Timeout: AuditTimeout})
	a.stopAudit = cancel
	a.auditDone = make(chan struct{}, 2)
	go func() { _ = a.recorder.Run(ctx); a.auditDone <- struct{}{} }()
	cp := &audit.Checkpointer{Store: a.Store, Rand: a.cfg.Rand, Now: a.cfg.Now, Interval: CheckpointInterval, Logger: a.log}
	go func() { _ = cp.Run(ctx); a.auditDone <- struct{}{} }()
}

// call is what the Query handler learned about one request, for its event.
type call struct {
	start    time.Time
	service  string // "sts", "iam", or "unknown"/"" when not settled
	action   string
	req      *awsquery.Request // nil when the request did not parse
	sig      *sigv4.Signature  // nil when unsigned or unparsable
	result   any               // the result element (for web identity refusals, only the identity)
	decision *policy.Result
	err      error
}

// record builds the call's event and waits until it is durable.
func (a *App) record(ctx context.Context, info *reqctx.Info, c *call) error {
	if a.cfg.InsecureDisableAudit {
		return nil
	}
	return a.recordEvent(ctx, a.auditEvent(info, c))
}

// recordEvent waits until e is durable, at most AuditTimeout.
func (a *App) recordEvent(ctx context.Context, e *audit.Event) error {
	if a.cfg.InsecureDisableAudit {
		return nil
	}
	return a.Recorder().Record(ctx, e)
}

// setCaller fills in who made a signed (or badly signed) call: the
// authenticated caller, whose account receives the event, or an unknown
// identity with the access key it claimed (never a secret).
func setCaller(e *audit.Event, info *reqctx.Info, sig *sigv4.Signature) {
	if info.Caller != nil {
		e.UserIdentity = callerIdentity(info.Caller)
		e.RecipientAccountID = info.Caller.AccountID
		return
	}
	u := &audit.UserIdentity{Type: audit.IdentityUnknown}
	if sig != nil {
		u.AccessKeyID = sig.AccessKeyID
	}
	e.UserIdentity = u
}

// auditEvent is the CloudTrail record of one call. It never holds a web
// identity token, a secret access key or a session token: parameters go
// through audit.Redact and credentials through audit.CredentialsElement.
func (a *App) auditEvent(info *reqctx.Info, c *call) *audit.Event {
	source := audit.SourceSTS
	switch {
	case c.service == "iam":
		source = audit.SourceIAM
	case c.service == "sts":
	case c.req != nil && c.req.Version == iamVersion, c.sig != nil && c.sig.Service == "iam":
		// The service could not be settled; the request named IAM.
		source = audit.SourceIAM
	}
	name := c.action
	if name == "" || name == "unknown" || metricAction(name) == "invalid" {
		name = "Unknown"
	}
	region := info.Region
	if region == "" {
		region = a.cfg.Region
	}
	e := &audit.Event{
		EventTime:          c.start.UTC(),
		EventSource:        source,
		EventName:          name,
		AWSRegion:          region,
		SourceIPAddress:    info.SourceIP,
		UserAgent:          info.UserAgent,
		RequestID:          info.RequestID,
		ReadOnly:           audit.IsReadOnly(source, name),
		RecipientAccountID: a.cfg.AccountID,
	}
	// The identity of a verified web identity token, whose TokenID is its
	// tokenHash: no need to hash the token again.
	var webID *webidentity.Identity
	if info.Caller == nil && c.action == "AssumeRoleWithWebIdentity" && c.service == "sts" {
		if r, ok := c.result.(*stsapi.AssumeRoleWithWebIdentityResult); ok && r != nil {
			webID = r.Identity
		}
	}
	if c.req != nil {
		if webID != nil && webID.TokenID != "" {
			e.RequestParameters, e.TokenHash = audit.RedactVerified(c.req.Params, webID.TokenID)
		} else {
			e.RequestParameters, e.TokenHash = audit.Redact(c.req.Params)
		}
	}
	if c.err != nil {
		ae := awserr.As(c.err)
		e.ErrorCode, e.ErrorMessage = ae.Code, ae.Message
		if ae.Code == awserr.AccessDenied && c.decision != nil {
			e.Explanation = c.decision.Explanation
		}
	}

	// Who called.
	if info.Caller == nil && c.action == "AssumeRoleWithWebIdentity" && c.service == "sts" {
		if webID != nil {
			e.UserIdentity = audit.WebIdentityUser(webID)
		} else {
			// The token did not verify: nobody is identified, and the
			// token is named only by tokenHash.
			e.UserIdentity = &audit.UserIdentity{Type: audit.IdentityUnknown}
		}
	} else {
		setCaller(e, info, c.sig)
	}
	// The account that owns the role assumed receives the event.
	if c.service == "sts" && (c.action == "AssumeRole" || c.action == "AssumeRoleWithWebIdentity") {
		if roleARN, ok := e.RequestParameters["roleArn"].(string); ok {
			if p, err := arn.Parse(roleARN); err == nil && arn.IsAccountID(p.Account) {
				e.RecipientAccountID = p.Account
			}
		}
	}
	if c.err == nil {
		e.ResponseElements = responseElements(c.action, source, e.ReadOnly, c.result)
	}
	return e
}

// callerIdentity is the userIdentity of an authenticated caller.
func callerIdentity(c *reqctx.Caller) *audit.UserIdentity {
	u := &audit.UserIdentity{Type: c.Type, PrincipalID: c.UserID, ARN: c.ARN, AccountID: c.AccountID, AccessKeyID: c.AccessKeyID}
	sess, ok := c.Session.(*session.Session)
	if c.Type != audit.IdentityAssumedRole || !ok || sess == nil {
		return u
	}
	sc := &audit.SessionContext{
		SessionIssuer: &audit.SessionIssuer{Type: "Role", PrincipalID: sess.RoleID, ARN: sess.RoleARN, AccountID: sess.AccountID, UserName: sess.RoleName},
		Attributes:    &audit.SessionAttributes{CreationDate: sess.IssuedAt.UTC().Format(audit.TimeFormat), MFAAuthenticated: "false"},
	}
	if sess.SourceIdentity != "" {
		sc.SourceIdentity = sess.SourceIdentity
	}
	if sess.FederatedProvider != "" {
		sc.WebIDFederationData = &audit.WebIDFederationData{FederatedProvider: sess.FederatedProvider, FederatedIdentity: sess.Subject}
	}
	u.SessionContext = sc
	return u
}

// responseElements is CloudTrail's responseElements of a successful call:
// null for calls that only read (as CloudTrail does), the credentials'
// access key ID and expiration for STS sessions, and the result element,
// its names in lower camel case, for IAM calls that change something.
func responseElements(action, source string, readOnly bool, result any) map[string]any {
	switch r := result.(type) {
	case *stsapi.AssumeRoleWithWebIdentityResult:
		m := map[string]any{
			"credentials":                 audit.CredentialsElement(r.Credentials.AccessKeyID, r.Credentials.Expiration),
			"subjectFromWebIdentityToken": r.SubjectFromWebIdentityToken,
			"assumedRoleUser":             assumedRoleUser(r.AssumedRoleUser.AssumedRoleID, r.AssumedRoleUser.Arn),
			"provider":                    r.Provider,
			"audience":                    r.Audience,
		}
		if r.PackedPolicySize != nil {
			m["packedPolicySize"] = *r.PackedPolicySize
		}
		if r.SourceIdentity != "" {
			m["sourceIdentity"] = r.SourceIdentity
		}
		return m
	case *stsapi.AssumeRoleResult:
		m := map[string]any{
			"credentials":     audit.CredentialsElement(r.Credentials.AccessKeyID, r.Credentials.Expiration),
			"assumedRoleUser": assumedRoleUser(r.AssumedRoleUser.AssumedRoleID, r.AssumedRoleUser.Arn),
		}
		if r.PackedPolicySize != nil {
			m["packedPolicySize"] = *r.PackedPolicySize
		}
		if r.SourceIdentity != "" {
			m["sourceIdentity"] = r.SourceIdentity
		}
		return m
	}
	if readOnly || source != audit.SourceIAM || result == nil {
		return nil
	}
	// IAM: the JSON rendering of the result element, renamed.
	b, _, err := awsquery.MarshalResult(action, awsquery.IAMNamespace, "", result, true)
	if err != nil {
		return nil
	}
	var doc map[string]map[string]any
	if json.Unmarshal(b, &doc) != nil {
		return nil
	}
	inner, _ := doc[action+"Response"][action+"Result"].(map[string]any)
	if inner == nil {
		return nil
	}
	m, _ := camelKeys("", inner).(map[string]any)
	return m
}

// assumedRoleUser is the assumedRoleUser element of an STS session: a
// map of strings, which the audit encoder writes without boxing each
// value.
func assumedRoleUser(roleID, sessionARN string) map[string]string {
	return map[string]string{"assumedRoleId": roleID, "arn": sessionARN}
}

// camelKeys lowers the first letter of every key, drops any secret-named
// key, and writes the epoch-second *Date values as CloudTrail times.
func camelKeys(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			lk := strings.ToLower(k)
			if strings.Contains(lk, "secret") || strings.Contains(lk, "sessiontoken") || strings.Contains(lk, "password") || strings.Contains(lk, "privatekey") {
				continue
			}
			ck := lowerFirst(k)
			out[ck] = camelKeys(ck, val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = camelKeys(key, val)
		}
		return out
	case float64:
		if strings.HasSuffix(key, "Date") {
			return time.Unix(int64(x), 0).UTC().Format(audit.TimeFormat)
		}
	}
	return v
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}
