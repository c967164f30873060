package iam

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
)

const (
	acct  = "000000000000"
	other = "111111111111"
)

var t0 = time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC)

// counter is a deterministic source of "random" bytes.
type counter struct{ n byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

// newService returns a Service on a fresh SQLite database holding two
// accounts.
func newService(t *testing.T) *Service {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, a := range []string{acct, other} {
		if err := st.CreateAccount(ctx, store.Account{ID: a, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	now := t0
	return &Service{
		Store: st,
		Now: func() time.Time {
			now = now.Add(time.Second)
			return now
		},
		Rand: &counter{},
	}
}

func ptr[T any](v T) *T { return &v }

// awsErr is the code and message of an error, "" for nil; an error that is
// not an *awserr.Error shows as its text.
func awsErr(err error) string {
	if err == nil {
		return ""
	}
	var ae *awserr.Error
	if !errors.As(err, &ae) {
		return "not an AWS error: " + err.Error()
	}
	return ae.Code + ": " + ae.Message
}

// must fails the test when err is not nil.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr checks an error's code and message.
func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if got := awsErr(err); got != want {
		t.Errorf("error:\n got %s\nwant %s", got, want)
	}
}

const (
	trustDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::000000000000:oidc-provider/oidc.example.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`
	s3Read   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]}`
	s3Write  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}`
)

func createRole(t *testing.T, s *Service, name string) store.Role {
	t.Helper()
	out, err := s.CreateRole(context.Background(), acct, &CreateRoleInput{RoleName: ptr(name), AssumeRolePolicyDocument: ptr(trustDoc)})
	must(t, err)
	return out.Role
}

func createPolicy(t *testing.T, s *Service, name, doc string) string {
	t.Helper()
	out, err := s.CreatePolicy(context.Background(), acct, &CreatePolicyInput{PolicyName: ptr(name), PolicyDocument: ptr(doc)})
	must(t, err)
	return out.Policy.ARN
}
