package podidentity_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/iam"
	"github.com/irsa-dev/irsa/internal/issuer"
	"github.com/irsa-dev/irsa/internal/keys"
	"github.com/irsa-dev/irsa/internal/podidentity"
	"github.com/irsa-dev/irsa/internal/reqctx"
	"github.com/irsa-dev/irsa/internal/session"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
	"github.com/irsa-dev/irsa/internal/sts"
)

const (
	acct      = "111111111111"
	other     = "222222222222"
	issuerURL = "https://oidc.prod.example/cluster"
	prodARN   = "arn:aws:eks:eu-west-1:111111111111:cluster/prod"
)

// world is pod identity with every real part: SQLite, IAM, the key
// manager, a cluster issuer minting projected tokens, STS and the service.
type world struct {
	t      *testing.T
	now    time.Time
	st     *sqlstore.Store
	keys   *keys.Manager
	issuer *issuer.Issuer
	iam    *iam.Service
	sts    *sts.Service
	svc    *podidentity.Service
}

// issuerKeys is the cluster issuer's key set as a webidentity.KeySource:
// only the cluster's issuer has keys.
type issuerKeys struct{ m *keys.Manager }

func (k issuerKeys) Key(ctx context.Context, p *store.OIDCProvider, kid string) (*jose.JSONWebKey, error) {
	if p.URL != issuerURL {
		return nil, awserr.New(awserr.InvalidIdentityToken, "unknown issuer")
	}
	key, err := k.m.Key(ctx, kid)
	if err != nil {
		return nil, awserr.New(awserr.InvalidIdentityToken, "unknown key")
	}
	return key, nil
}

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{t: t, now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), st: openStore(t)}
	clock := func() time.Time { return w.now }
	w.keys = keys.New(keys.Config{Store: w.st, Now: clock, Algorithm: "ES256"})
	if err := w.keys.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	w.issuer = &issuer.Issuer{URL: issuerURL, Keys: w.keys, Now: clock}
	for _, a := range []string{acct, other} {
		if err := w.st.CreateAccount(ctx, store.Account{ID: a, CreatedAt: w.now}); err != nil {
			t.Fatal(err)
		}
	}
	w.iam = &iam.Service{Store: w.st, Now: clock, Rand: rand.Reader}
	w.sts = &sts.Service{Roles: w.st, Policies: w.iam, Sealers: w.keys, Now: clock, Region: "eu-west-1"}
	w.svc = &podidentity.Service{
		Store: w.st, STS: w.sts, Now: clock, Region: "eu-west-1",
		Verifier: &podidentity.ClusterVerifier{Keys: issuerKeys{w.keys}, Now: clock},
	}
	w.cluster(acct, "prod", issuerURL)
	return w
}

func (w *world) cluster(account, name, iss string) {
	w.t.Helper()
	c := store.Cluster{AccountID: account, Name: name, ARN: w.svc.ClusterARN(account, name), Issuer: iss, CreatedAt: w.now}
	if err := w.st.PutCluster(context.Background(), c); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) role(account, name, trust string, inline ...string) string {
	w.t.Helper()
	ctx := context.Background()
	if _, err := w.iam.CreateRole(ctx, account, &iam.CreateRoleInput{RoleName: &name, AssumeRolePolicyDocument: &trust}); err != nil {
		w.t.Fatalf("CreateRole %s: %v", name, err)
	}
	for i, doc := range inline {
		pn, d := "p"+string(rune('0'+i)), doc
		if err := w.iam.PutRolePolicy(ctx, account, &iam.PutRolePolicyInput{RoleName: &name, PolicyName: &pn, PolicyDocument: &d}); err != nil {
			w.t.Fatalf("PutRolePolicy: %v", err)
		}
	}
	return "arn:aws:iam::" + account + ":role/" + name
}

// token is a projected token of the cluster issuer, bound to a pod.
func (w *world) token(ns, sa, pod string, aud ...string) string {
	w.t.Helper()
	if len(aud) == 0 {
		aud = []string{podidentity.Audience}
	}
	tok, err := w.issuer.Mint(context.Background(), issuer.TokenRequest{
		Namespace: ns, ServiceAccount: sa, Audiences: aud, PodName: pod, PodUID: "0c8f1f5e-6d5b-4d3b-9d43-" + "000000000001",
		ExpiresIn: 24 * time.Hour,
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return tok
}

// as is a context signed by the root of account.
func as(account string) context.Context {
	return reqctx.With(context.Background(), &reqctx.Info{RequestID: "req-1", SourceIP: "10.1.2.3",
		Caller: &reqctx.Caller{Type: "Root", AccountID: account, ARN: "arn:aws:iam::" + account + ":root", UserID: account}})
}

func (w *world) open(creds sts.Credentials) *session.Session {
	w.t.Helper()
	sealer, err := w.keys.Sealer(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	s, err := sealer.Open(creds.SessionToken)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func podTrust() string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
}

func p[T any](v T) *T { return &v }

// wantErr fails unless err is an *awserr.Error with code, message and
// HTTP status.
func wantErr(t *testing.T, op string, err error, code, message string, status int) {
	t.Helper()
	var e *awserr.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %v, want %s", op, err, code)
	}
	if e.Code != code || (message != "" && e.Message != message) || e.Status() != status {
		t.Fatalf("%s: got %s %d %q\nwant %s %d %q", op, e.Code, e.Status(), e.Message, code, status, message)
	}
}
