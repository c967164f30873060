package sqlstore

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/store"
)

// benchStore opens a store holding one role of the size IRSA deployments
// have: a trust policy, a few tags, one inline policy and two attachments.
func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	r := store.Role{
		AccountID: "000000000000", Name: "s3-reader", Path: "/", ID: "AROA0123456789ABCDEFG",
		ARN:                "arn:aws:iam::000000000000:role/s3-reader",
		TrustPolicy:        `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::000000000000:oidc-provider/oidc.irsa.local/id/0123456789ABCDEF0123456789ABCDEF"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.irsa.local/id/0123456789ABCDEF0123456789ABCDEF:sub":"system:serviceaccount:production:s3-reader","oidc.irsa.local/id/0123456789ABCDEF0123456789ABCDEF:aud":"sts.amazonaws.com"}}}]}`,
		MaxSessionDuration: 3600,
		Tags:               []store.Tag{{Key: "team", Value: "data"}, {Key: "env", Value: "production"}},
		InlinePolicies:     []store.InlinePolicy{{Name: "s3", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::data","arn:aws:s3:::data/reports/*"]}]}`}},
		AttachedPolicyARNs: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::000000000000:policy/boundary"},
		CreatedAt:          time.Now(),
	}
	if err := s.CreateRole(b.Context(), r); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkGetRole(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	for b.Loop() {
		if _, err := s.GetRole(ctx, "000000000000", "S3-Reader"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetRoleParallel(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetRole(ctx, "000000000000", "s3-reader"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkUpdateRole is the write of RoleLastUsed: a scalar change, so the
// child rows stay as they are. Every commit is synced to disk.
func BenchmarkUpdateRole(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	now := time.Now()
	i := 0
	for b.Loop() {
		i++
		if _, err := s.UpdateRole(ctx, "000000000000", "s3-reader", func(r *store.Role) error {
			r.LastUsedAt = now.Add(time.Duration(i) * time.Second)
			r.LastUsedRegion = "us-east-1"
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}
