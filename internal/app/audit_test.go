package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/app"
	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/issuer"
	"github.com/irsa-dev/irsa/internal/sigv4"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
)

// eventSummary is the part of an event each kind of call must get right.
type eventSummary struct {
	Source, Name, ErrorCode string
	IdentityType            string
	IdentityARN             string // userIdentity.arn
	IdentityUser            string // userIdentity.userName (the sub of a web identity)
	IdentityKey             string // userIdentity.accessKeyId
	FederatedProvider       string // webIdFederationData, of the caller or its session
	FederatedIdentity       string
	SessionIssuer           string // sessionContext.sessionIssuer.arn
	Recipient               string
	ReadOnly                bool
	RoleArnParam            string
	TokenHash               string
	ResponseKey             string // responseElements.credentials.accessKeyId
	ResponseRole            string // responseElements.role.roleName (IAM)
	Explained               bool
}

func summarize(t *testing.T, raw []byte) eventSummary {
	t.Helper()
	var e audit.Event
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("event does not parse: %v\n%s", err, raw)
	}
	s := eventSummary{Source: e.EventSource, Name: e.EventName, ErrorCode: e.ErrorCode, Recipient: e.RecipientAccountID,
		ReadOnly: e.ReadOnly, TokenHash: e.TokenHash, Explained: len(e.Explanation) > 0}
	if u := e.UserIdentity; u != nil {
		s.IdentityType, s.IdentityARN, s.IdentityUser, s.IdentityKey = u.Type, u.ARN, u.UserName, u.AccessKeyID
		f := u.WebIDFederationData
		if sc := u.SessionContext; sc != nil {
			if sc.SessionIssuer != nil {
				s.SessionIssuer = sc.SessionIssuer.ARN
			}
			if sc.WebIDFederationData != nil {
				f = sc.WebIDFederationData
			}
		}
		if f != nil {
			s.FederatedProvider, s.FederatedIdentity = f.FederatedProvider, f.FederatedIdentity
		}
	}
	s.RoleArnParam, _ = e.RequestParameters["roleArn"].(string)
	if c, ok := e.ResponseElements["credentials"].(map[string]any); ok {
		s.ResponseKey, _ = c["accessKeyId"].(string)
		if _, ok := c["expiration"].(string); !ok {
			t.Errorf("credentials element without expiration: %s", raw)
		}
	}
	if r, ok := e.ResponseElements["role"].(map[string]any); ok {
		s.ResponseRole, _ = r["roleName"].(string)
	}
	if e.EventID == "" || e.RequestID == "" || e.EventTime.IsZero() || e.EventVersion != "1.08" || e.SourceIPAddress != "127.0.0.1" || e.UserAgent == "" {
		t.Errorf("event lacks a fixed field: %s", raw)
	}
	if e.ErrorCode != "" && (e.ErrorMessage == "" || e.ResponseElements != nil) {
		t.Errorf("a failed call's event has no errorMessage or has responseElements: %s", raw)
	}
	return s
}

// trail reads the events recorded since the last call.
type trail struct {
	st   store.Audit
	last int64
}

func (tr *trail) next(t *testing.T) [][]byte {
	t.Helper()
	recs, err := tr.st.ListAudit(context.Background(), tr.last, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, r := range recs {
		out = append(out, r.Event)
		tr.last = r.Seq
	}
	return out
}

// Each kind of call leaves exactly one event with the right fields, and no
// token, secret access key or session token the test saw appears in the
// trail.
func TestAuditEventOfEachCall(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	b := s.a.Bootstrap
	const account = "000000000000"
	rootARN := "arn:aws:iam::" + account + ":root"
	roleARN := "arn:aws:iam::" + account + ":role/app"
	sub := "system:serviceaccount:production:app"
	secrets := []string{b.RootSecretKey}
	tr := &trail{st: s.a.Store}

	iamc := awsiam.NewFromConfig(s.awsConfig(b.RootAccessKeyID, b.RootSecretKey, ""))
	anonCfg := s.awsConfig("", "", "")
	anonCfg.Credentials = nil
	anon := awssts.NewFromConfig(anonCfg)
	mint := func(ns string, d time.Duration) string {
		tok, err := s.a.Issuer.Mint(ctx, issuer.TokenRequest{Namespace: ns, ServiceAccount: "app", ExpiresIn: d})
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, tok, strings.SplitN(tok, ".", 3)[2])
		return tok
	}
	arwwi := func(tok string) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
		return anon.AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(roleARN), RoleSessionName: aws.String("pod"), WebIdentityToken: aws.String(tok)})
	}
	var sessionKey string
	var sessionSTS *awssts.Client

	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + b.IssuerProviderARN + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.irsa.test/id/APPTEST:sub":"` + sub + `"}}},` +
		`{"Effect":"Allow","Principal":{"AWS":"` + rootARN + `"},"Action":"sts:AssumeRole"}]}`
	good := mint("production", time.Hour)
	staging := mint("staging", time.Hour)

	tests := []struct {
		name string
		do   func(t *testing.T) error
		want eventSummary
	}{
		{"IAM CreateRole", func(t *testing.T) error {
			_, err := iamc.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trust)})
			return err
		}, eventSummary{Source: "iam.amazonaws.com", Name: "CreateRole", IdentityType: "Root", IdentityARN: rootARN, IdentityKey: b.RootAccessKeyID,
			Recipient: account, ResponseRole: "app"}},
		{"AssumeRoleWithWebIdentity", func(t *testing.T) error {
			out, err := arwwi(good)
			if err != nil {
				return err
			}
			c := out.Credentials
			sessionKey = aws.ToString(c.AccessKeyId)
			secrets = append(secrets, aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
			sessionSTS = s.stsClient(sessionKey, aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
			return nil
		}, eventSummary{Source: "sts.amazonaws.com", Name: "AssumeRoleWithWebIdentity", IdentityType: "WebIdentityUser", IdentityUser: sub,
			FederatedProvider: b.IssuerProviderARN, FederatedIdentity: sub, Recipient: account, ReadOnly: true, RoleArnParam: roleARN,
			TokenHash: audit.TokenHash(good), ResponseKey: "<session key>"}},
		{"AssumeRoleWithWebIdentity from another namespace", func(t *testing.T) error {
			_, err := arwwi(staging)
			return wantCode(err, "AccessDenied")
		}, eventSummary{Source: "sts.amazonaws.com", Name: "AssumeRoleWithWebIdentity", ErrorCode: "AccessDenied", IdentityType: "WebIdentityUser",
			IdentityUser: "system:serviceaccount:staging:app", FederatedProvider: b.IssuerProviderARN, FederatedIdentity: "system:serviceaccount:staging:app",
			Recipient: account, ReadOnly: true, RoleArnParam: roleARN, TokenHash: audit.TokenHash(staging), Explained: true}},
		{"AssumeRoleWithWebIdentity with a garbage token", func(t *testing.T) error {
			_, err := arwwi("not-a-jwt-at-all")
			return wantCode(err, "InvalidIdentityToken")
		}, eventSummary{Source: "sts.amazonaws.com", Name: "AssumeRoleWithWebIdentity", ErrorCode: "InvalidIdentityToken", IdentityType: "Unknown",
			Recipient: account, ReadOnly: true, RoleArnParam: roleARN, TokenHash: audit.TokenHash("not-a-jwt-at-all")}},
		{"AssumeRoleWithWebIdentity with a bad session name", func(t *testing.T) error {
			status, body := s.rawQuery(t, url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {roleARN},
				"RoleSessionName": {"a b"}, "WebIdentityToken": {good}}, nil)
			if status != 400 || !strings.Contains(body, "<Code>ValidationError</Code>") {
				return errors.New(body)
			}
			return nil
		}, eventSummary{Source: "sts.amazonaws.com", Name: "AssumeRoleWithWebIdentity", ErrorCode: "ValidationError", IdentityType: "Unknown",
			Recipient: account, ReadOnly: true, RoleArnParam: roleARN, TokenHash: audit.TokenHash(good)}},
		{"GetCallerIdentity of the web identity session", func(t *testing.T) error {
			_, err := sessionSTS.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
			return err
		}, eventSummary{Source: "sts.amazonaws.com", Name: "GetCallerIdentity", IdentityType: "AssumedRole",
			IdentityARN: "arn:aws:sts::" + account + ":assumed-role/app/pod", IdentityKey: "<session key>", SessionIssuer: roleARN,
			FederatedProvider: b.IssuerProviderARN, FederatedIdentity: sub, Recipient: account, ReadOnly: true}},
		{"AssumeRole by the root", func(t *testing.T) error {
			out, err := s.stsClient(b.RootAccessKeyID, b.RootSecretKey, "").AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("admin")})
			if err != nil {
				return err
			}
			sessionKey = aws.ToString(out.Credentials.AccessKeyId)
			secrets = append(secrets, aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
			return nil
		}, eventSummary{Source: "sts.amazonaws.com", Name: "AssumeRole", IdentityType: "Root", IdentityARN: rootARN, IdentityKey: b.RootAccessKeyID,
			Recipient: account, ReadOnly: true, RoleArnParam: roleARN, ResponseKey: "<session key>"}},
		{"unsigned GetCallerIdentity", func(t *testing.T) error {
			status, body := s.rawQuery(t, url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, nil)
			if status != 403 || !strings.Contains(body, "MissingAuthenticationToken") {
				return errors.New(body)
			}
			return nil
		}, eventSummary{Source: "sts.amazonaws.com", Name: "GetCallerIdentity", ErrorCode: "MissingAuthenticationToken", IdentityType: "Unknown",
			Recipient: account, ReadOnly: true}},
		{"a bad signature", func(t *testing.T) error {
			wrong := "wrong-secret-wrong-secret-wrong-secret-"
			secrets = append(secrets, wrong)
			_, err := s.stsClient(b.RootAccessKeyID, wrong, "").GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
			return wantCode(err, "SignatureDoesNotMatch")
		}, eventSummary{Source: "sts.amazonaws.com", Name: "GetCallerIdentity", ErrorCode: "SignatureDoesNotMatch", IdentityType: "Unknown",
			IdentityKey: b.RootAccessKeyID, Recipient: account, ReadOnly: true}},
		{"AssumeRoleWithWebIdentity with an expired token", func(t *testing.T) error {
			tok := mint("production", 10*time.Minute)
			s.clock.Add(30 * time.Minute) // the last case: signed calls would now fail the clock check
			_, err := arwwi(tok)
			return wantCode(err, "ExpiredTokenException")
		}, eventSummary{Source: "sts.amazonaws.com", Name: "AssumeRoleWithWebIdentity", ErrorCode: "ExpiredTokenException", IdentityType: "Unknown",
			Recipient: account, ReadOnly: true, RoleArnParam: roleARN, TokenHash: "<last token>"}},
	}
	for _, tt := range tests {
		if !t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(t); err != nil {
				t.Fatal(err)
			}
			events := tr.next(t)
			if len(events) != 1 {
				t.Fatalf("%d events, want exactly 1", len(events))
			}
			want := tt.want
			if want.ResponseKey == "<session key>" {
				want.ResponseKey = sessionKey
			}
			if want.IdentityKey == "<session key>" {
				want.IdentityKey = sessionKey
			}
			if want.TokenHash == "<last token>" {
				want.TokenHash = audit.TokenHash(secrets[len(secrets)-2])
			}
			if diff := cmp.Diff(want, summarize(t, events[0])); diff != "" {
				t.Errorf("event (-want +got):\n%s\n%s", diff, events[0])
			}
		}) {
			break
		}
	}

	// No secret anywhere in the trail, and the chain verifies.
	recs, err := s.a.Store.ListAudit(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(tests) {
		t.Errorf("%d events in the trail, want %d", len(recs), len(tests))
	}
	for _, r := range recs {
		for _, sec := range secrets {
			if sec != "" && bytes.Contains(r.Event, []byte(sec)) {
				t.Errorf("event %d holds a secret (%.12s…): %s", r.Seq, sec, r.Event)
			}
		}
	}
	rep, err := audit.VerifyStore(ctx, s.a.Store)
	if err != nil || !rep.OK() || rep.Records != int64(len(recs)) {
		t.Errorf("verify: %+v, %v", rep, err)
	}
}

// Concurrent calls each get their own event, in one gapless chain that
// verifies, and every credential handed out is in the trail.
func TestAuditConcurrentCalls(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	b := s.a.Bootstrap
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + b.IssuerProviderARN + `"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`
	if _, err := awsiam.NewFromConfig(s.awsConfig(b.RootAccessKeyID, b.RootSecretKey, "")).CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	tok, err := s.a.Issuer.Mint(ctx, issuer.TokenRequest{Namespace: "production", ServiceAccount: "app"})
	if err != nil {
		t.Fatal(err)
	}
	anonCfg := s.awsConfig("", "", "")
	anonCfg.Credentials = nil
	anon := awssts.NewFromConfig(anonCfg)
	const n = 50
	keys := make(chan string, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			out, err := anon.AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
				RoleArn: aws.String("arn:aws:iam::000000000000:role/app"), RoleSessionName: aws.String("pod"), WebIdentityToken: aws.String(tok)})
			if err != nil {
				errs <- err
				return
			}
			keys <- aws.ToString(out.Credentials.AccessKeyId)
		}()
	}
	issued := map[string]bool{}
	for i := 0; i < n; i++ {
		select {
		case k := <-keys:
			issued[k] = true
		case err := <-errs:
			t.Fatal(err)
		}
	}
	recs, err := s.a.Store.ListAudit(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n+1 {
		t.Fatalf("%d events, want %d", len(recs), n+1)
	}
	for i, r := range recs {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
		if r.EventName != "AssumeRoleWithWebIdentity" {
			continue
		}
		var e audit.Event
		if err := json.Unmarshal(r.Event, &e); err != nil {
			t.Fatal(err)
		}
		c, _ := e.ResponseElements["credentials"].(map[string]any)
		k, _ := c["accessKeyId"].(string)
		if !issued[k] {
			t.Errorf("event %d names key %q, not one handed out (or twice)", r.Seq, k)
		}
		delete(issued, k)
	}
	if len(issued) != 0 {
		t.Errorf("credentials handed out without an event: %v", issued)
	}
	if rep, err := audit.VerifyStore(ctx, s.a.Store); err != nil || !rep.OK() {
		t.Errorf("verify: %+v %v", rep, err)
	}
}

func newTestServer(t *testing.T, a *app.App) *server {
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &server{t: t, a: a, url: srv.URL}
}

func wantCode(err error, code string) error {
	if got := apiCode(err); got != code {
		return errors.New("got " + got + ", want " + code)
	}
	return nil
}

// flakyStore fails every audit append while failing is set, and holds
// every append until gate is closed when gate is set.
type flakyStore struct {
	store.Store
	failing atomic.Bool
	gate    atomic.Pointer[chan struct{}]
}

func (f *flakyStore) AppendAudit(ctx context.Context, recs []store.AuditRecord) ([]store.AuditRecord, error) {
	if g := f.gate.Load(); g != nil {
		<-*g
	}
	if f.failing.Load() {
		return nil, errors.New("disk full")
	}
	return f.Store.AppendAudit(ctx, recs)
}

// When the event cannot be made durable the call fails with
// InternalFailure and returns no credentials; once the store recovers the
// server serves again.
func TestAuditFailureFailsTheCall(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fs := &flakyStore{Store: st}
	a, err := app.NewWithStore(ctx, app.Config{DataDir: dir, IssuerURL: "https://oidc.irsa.test/id/APPTEST"}, fs)
	if err != nil {
		t.Fatal(err)
	}
	srv := newTestServer(t, a)
	b := a.Bootstrap
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + b.IssuerProviderARN + `"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`
	if _, err := awsiam.NewFromConfig(srv.awsConfig(b.RootAccessKeyID, b.RootSecretKey, "")).CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	tok, err := a.Issuer.Mint(ctx, issuer.TokenRequest{Namespace: "production", ServiceAccount: "app"})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::000000000000:role/app"},
		"RoleSessionName": {"pod"}, "WebIdentityToken": {tok}}

	fs.failing.Store(true)
	status, body := srv.rawQuery(t, form, nil)
	if status != 500 || !strings.Contains(body, "<Code>InternalFailure</Code>") || strings.Contains(body, "AccessKeyId") || strings.Contains(body, "ASIA") {
		t.Errorf("with the trail failing: %d %s", status, body)
	}
	status, body = srv.rawQuery(t, url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, func(r *http.Request, body []byte) {
		sigv4.Sign(r, body, b.RootAccessKeyID, b.RootSecretKey, "", "us-east-1", "sts", time.Now())
	})
	if status != 500 || !strings.Contains(body, "InternalFailure") || strings.Contains(body, "<Arn>") {
		t.Errorf("GetCallerIdentity with the trail failing: %d %s", status, body)
	}

	fs.failing.Store(false)
	// The answer waits for the event: while the append is held, no
	// response comes.
	gate := make(chan struct{})
	fs.gate.Store(&gate)
	type answer struct {
		status int
		body   string
	}
	answered := make(chan answer, 1)
	go func() {
		st, b := srv.rawQuery(t, form, nil)
		answered <- answer{st, b}
	}()
	select {
	case a := <-answered:
		t.Fatalf("answered before the event was durable: %d %s", a.status, a.body)
	case <-time.After(200 * time.Millisecond):
	}
	fs.gate.Store(nil)
	close(gate)
	got := <-answered
	if got.status != 200 || !strings.Contains(got.body, "<AccessKeyId>ASIA") {
		t.Fatalf("after the store recovered: %d %s", got.status, got.body)
	}
	recs, err := st.ListAudit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	// CreateRole, then the one call that succeeded after recovery.
	var names []string
	for _, r := range recs {
		names = append(names, r.EventName+"/"+r.ErrorCode)
	}
	if diff := cmp.Diff([]string{"CreateRole/", "AssumeRoleWithWebIdentity/"}, names); diff != "" {
		t.Errorf("trail (-want +got):\n%s", diff)
	}
}

// BenchmarkAssumeRoleWithWebIdentityParallel is the handler under 64
// concurrent callers per core: group commit shares each synced audit
// write among the calls waiting for it.
func BenchmarkAssumeRoleWithWebIdentityParallel(b *testing.B) {
	b.Run("audit=on", func(b *testing.B) { benchParallel(b, false) })
	b.Run("audit=off", func(b *testing.B) { benchParallel(b, true) })
}

func benchParallel(b *testing.B, noAudit bool) {
	t := &testing.T{}
	s := newServerWith(t, func(c *app.Config) { c.InsecureDisableAudit = noAudit })
	ctx := context.Background()
	bs := s.a.Bootstrap
	iamc := awsiam.NewFromConfig(s.awsConfig(bs.RootAccessKeyID, bs.RootSecretKey, ""))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + bs.IssuerProviderARN + `"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`
	if _, err := iamc.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		b.Fatal(err)
	}
	tok, err := s.a.Issuer.Mint(ctx, issuer.TokenRequest{Namespace: "production", ServiceAccount: "app"})
	if err != nil {
		b.Fatal(err)
	}
	body := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::000000000000:role/app"}, "RoleSessionName": {"bench"}, "WebIdentityToken": {tok}}.Encode()
	h := s.a.Handler()
	b.ReportAllocs()
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Errorf("%d %s", rec.Code, rec.Body.String())
				return
			}
		}
	})
	if !noAudit {
		b.ReportMetric(float64(b.N)/float64(s.a.Recorder().Batches()), "events/batch")

	}
}
