package sqlstore

import (
	"fmt"
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

// BenchmarkAppendAudit appends batches of audit records of the size an
// AssumeRoleWithWebIdentity event has, one synced transaction per batch;
// ns/op is per record.
func BenchmarkAppendAudit(b *testing.B) {
	event := []byte(`{"eventVersion":"1.08","userIdentity":{"type":"WebIdentityUser","principalId":"arn:aws:iam::000000000000:oidc-provider/oidc.irsa.local/id/0123456789ABCDEF:sts.amazonaws.com:system:serviceaccount:production:s3-reader","userName":"system:serviceaccount:production:s3-reader","identityProvider":"arn:aws:iam::000000000000:oidc-provider/oidc.irsa.local/id/0123456789ABCDEF"},"eventTime":"2026-11-23T10:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRoleWithWebIdentity","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.1","userAgent":"aws-sdk-go-v2/1.39.0 os/linux lang/go#1.26","requestParameters":{"roleArn":"arn:aws:iam::000000000000:role/s3-reader","roleSessionName":"1763891234567890123","durationSeconds":3600},"responseElements":{"credentials":{"accessKeyId":"ASIAAAAAAAAAAAAAAAAA","expiration":"Nov 23, 2026, 11:00:00 AM"},"subjectFromWebIdentityToken":"system:serviceaccount:production:s3-reader","assumedRoleUser":{"assumedRoleId":"AROA0123456789ABCDEFG:1763891234567890123","arn":"arn:aws:sts::000000000000:assumed-role/s3-reader/1763891234567890123"},"provider":"arn:aws:iam::000000000000:oidc-provider/oidc.irsa.local/id/0123456789ABCDEF","audience":"sts.amazonaws.com"},"requestID":"0b8d4c6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f","eventID":"0b8d4c6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"000000000000","eventCategory":"Management","tokenHash":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}`)
	for _, batch := range []int{1, 8, 32, 128} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := benchStore(b)
			recs := make([]store.AuditRecord, batch)
			for i := range recs {
				recs[i] = store.AuditRecord{Event: event, EventTime: time.Now(), EventSource: "sts.amazonaws.com", EventName: "AssumeRoleWithWebIdentity",
					SourceIP: "10.0.0.1", AccountID: "000000000000", Principal: "system:serviceaccount:production:s3-reader", RoleARN: "arn:aws:iam::000000000000:role/s3-reader"}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				if _, err := s.AppendAudit(b.Context(), recs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
