package storetest

import (
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/store"
)

// testTimes stores times with nanoseconds, in other zones and before 1970,
// and expects them back in UTC truncated to the microsecond.
func testTimes(t *testing.T, s store.Store) {
	ctx := t.Context()
	paris := time.FixedZone("CET", 3600)
	west := time.FixedZone("west", -7*3600-30*60)
	nanos := time.Date(2025, time.June, 30, 23, 59, 59, 999999999, paris)
	before1970 := time.Date(1969, time.December, 31, 23, 59, 59, 999999500, time.UTC)
	west2038 := time.Date(2038, time.January, 19, 3, 14, 8, 1500, west)
	norm := func(tm time.Time) time.Time { return tm.Truncate(time.Microsecond).UTC() }

	must(t, "CreateAccount", s.CreateAccount(ctx, store.Account{ID: acctA, CreatedAt: nanos}))
	a, err := s.GetAccount(ctx, acctA)
	must(t, "GetAccount", err)
	diff(t, "account time", a, store.Account{ID: acctA, CreatedAt: norm(nanos)})
	utcOnly(t, "account", a.CreatedAt)

	must(t, "CreateAccessKey", s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIATIMETIMETIMETIME", AccountID: acctA, CreatedAt: west2038}))
	k, err := s.GetAccessKey(ctx, "AKIATIMETIMETIMETIME")
	must(t, "GetAccessKey", err)
	diff(t, "access key time", k.CreatedAt, norm(west2038))
	utcOnly(t, "access key", k.CreatedAt)

	r := store.Role{AccountID: acctA, Name: "Timed", Path: "/", CreatedAt: nanos}
	must(t, "CreateRole", s.CreateRole(ctx, r))
	got := getRole(t, s, acctA, "Timed")
	diff(t, "role CreatedAt", got.CreatedAt, norm(nanos))
	if !got.LastUsedAt.IsZero() {
		t.Errorf("role LastUsedAt = %v, want the zero time it was created with", got.LastUsedAt)
	}
	utcOnly(t, "role", got.CreatedAt)

	// Update returns the times as Get will: truncated and in UTC.
	upd, err := s.UpdateRole(ctx, acctA, "Timed", func(c *store.Role) error {
		c.LastUsedAt = west2038
		return nil
	})
	must(t, "UpdateRole", err)
	diff(t, "UpdateRole LastUsedAt", upd.LastUsedAt, norm(west2038))
	utcOnly(t, "UpdateRole result", upd.CreatedAt, upd.LastUsedAt)
	got = getRole(t, s, acctA, "Timed")
	diff(t, "GetRole after update", got, upd)
	utcOnly(t, "role after update", got.CreatedAt, got.LastUsedAt)

	// And back to zero.
	upd, err = s.UpdateRole(ctx, acctA, "Timed", func(c *store.Role) error {
		c.LastUsedAt = time.Time{}
		return nil
	})
	must(t, "UpdateRole zeroing", err)
	got = getRole(t, s, acctA, "Timed")
	if !upd.LastUsedAt.IsZero() || !got.LastUsedAt.IsZero() {
		t.Errorf("LastUsedAt after zeroing: update returned %v, get %v, want zero", upd.LastUsedAt, got.LastUsedAt)
	}

	p := store.ManagedPolicy{AccountID: acctA, Name: "Timed", Path: "/", ARN: policyARN(acctA, "/", "Timed"),
		Versions: []store.PolicyVersion{{ID: "v1", Document: "{}", CreatedAt: west2038}}, CreatedAt: before1970, UpdatedAt: nanos}
	must(t, "CreatePolicy", s.CreatePolicy(ctx, p))
	gotP := getPolicy(t, s, p.ARN)
	diff(t, "policy times",
		[]time.Time{gotP.CreatedAt, gotP.UpdatedAt, gotP.Versions[0].CreatedAt},
		[]time.Time{norm(before1970), norm(nanos), norm(west2038)})
	utcOnly(t, "policy", gotP.CreatedAt, gotP.UpdatedAt, gotP.Versions[0].CreatedAt)

	must(t, "CreateOIDCProvider", s.CreateOIDCProvider(ctx, store.OIDCProvider{AccountID: acctA, ARN: providerARN(acctA, "t.example.com"), CreatedAt: nanos}))
	gotO, err := s.GetOIDCProvider(ctx, providerARN(acctA, "t.example.com"))
	must(t, "GetOIDCProvider", err)
	diff(t, "provider time", gotO.CreatedAt, norm(nanos))
	utcOnly(t, "provider", gotO.CreatedAt)

	must(t, "PutSigningKey", s.PutSigningKey(ctx, store.SigningKey{ID: "k", PublishAt: nanos, ActiveAt: west2038, RetireAt: before1970, CreatedAt: nanos}))
	keys, err := s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys", err)
	diff(t, "signing key times", keys, []store.SigningKey{{ID: "k", PublishAt: norm(nanos), ActiveAt: norm(west2038), RetireAt: norm(before1970), CreatedAt: norm(nanos)}})
	for _, k := range keys {
		utcOnly(t, "signing key", k.PublishAt, k.ActiveAt, k.RetireAt, k.ExpireAt, k.CreatedAt)
	}

	must(t, "PutSealingKey", s.PutSealingKey(ctx, store.SealingKey{ID: "s", Key: []byte("k"), CreatedAt: west2038, RetireAt: nanos}))
	seal, err := s.ListSealingKeys(ctx)
	must(t, "ListSealingKeys", err)
	diff(t, "sealing key times", seal, []store.SealingKey{{ID: "s", Key: []byte("k"), CreatedAt: norm(west2038), RetireAt: norm(nanos)}})
	for _, k := range seal {
		utcOnly(t, "sealing key", k.CreatedAt, k.RetireAt)
	}
}

// testNoAliasing changes, in place, the slices of records after handing them
// to the store or getting them from it; the stored records must not move.
func testNoAliasing(t *testing.T, s store.Store) {
	ctx := t.Context()

	r := sampleRole(acctA, "Alias", "/")
	want := cloneRole(r)
	createRole(t, s, r)
	in := cloneRole(r)
	in.Name = "Alias2"
	must(t, "CreateRole Alias2", s.CreateRole(ctx, in))
	scribbleRole(&in)
	scribbleRole(&r)
	got := getRole(t, s, acctA, "Alias")
	scribbleRole(&got)
	diff(t, "GetRole after scribbling on the created and got records", getRole(t, s, acctA, "Alias"), want)
	want2 := cloneRole(want)
	want2.Name = "Alias2"
	diff(t, "GetRole Alias2 after scribbling on its input", getRole(t, s, acctA, "Alias2"), want2)

	var kept *store.Role
	upd, err := s.UpdateRole(ctx, acctA, "Alias", func(c *store.Role) error {
		kept = c
		c.Description = "updated"
		return nil
	})
	must(t, "UpdateRole", err)
	want.Description, want.Version = "updated", 2
	scribbleRole(kept)
	diff(t, "UpdateRole result after scribbling on the record fn was given", upd, want)
	scribbleRole(&upd)
	diff(t, "GetRole after scribbling on fn's and Update's records", getRole(t, s, acctA, "Alias"), want)

	p := sampleProvider(acctA, "alias.example.com")
	wantP := cloneProvider(p)
	must(t, "CreateOIDCProvider", s.CreateOIDCProvider(ctx, p))
	p.ClientIDs[0], p.Thumbprints[0], p.Tags[0].Value = "x", "x", "x"
	gotP, err := s.GetOIDCProvider(ctx, p.ARN)
	must(t, "GetOIDCProvider", err)
	gotP.ClientIDs[0], gotP.Thumbprints[0], gotP.Tags[0].Value = "y", "y", "y"
	gotP, err = s.GetOIDCProvider(ctx, p.ARN)
	must(t, "GetOIDCProvider again", err)
	diff(t, "GetOIDCProvider after scribbling", gotP, wantP)

	mp := samplePolicy(acctA, "Alias", "/")
	wantMP := clonePolicy(mp)
	createPolicy(t, s, mp)
	mp.Versions[0].Document, mp.Tags[0].Value = "x", "x"
	gotMP := getPolicy(t, s, mp.ARN)
	gotMP.Versions[0].Document, gotMP.Tags[0].Value = "y", "y"
	diff(t, "GetPolicy after scribbling", getPolicy(t, s, mp.ARN), wantMP)

	key := []byte("private key")
	must(t, "PutSigningKey", s.PutSigningKey(ctx, store.SigningKey{ID: "k", PrivateKey: key}))
	key[0] = 'X'
	keys, err := s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys", err)
	keys[0].PrivateKey[1] = 'X'
	keys, err = s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys again", err)
	diff(t, "signing key after scribbling", keys, []store.SigningKey{{ID: "k", PrivateKey: []byte("private key")}})

	seal := []byte("0123456789abcdef0123456789abcdef")
	must(t, "PutSealingKey", s.PutSealingKey(ctx, store.SealingKey{ID: "s", Key: seal}))
	seal[0] = 'X'
	sk, err := s.ListSealingKeys(ctx)
	must(t, "ListSealingKeys", err)
	sk[0].Key[1] = 'X'
	sk, err = s.ListSealingKeys(ctx)
	must(t, "ListSealingKeys again", err)
	diff(t, "sealing key after scribbling", sk, []store.SealingKey{{ID: "s", Key: []byte("0123456789abcdef0123456789abcdef")}})
}

// scribbleRole overwrites, in place, an element of every slice of r.
func scribbleRole(r *store.Role) {
	if len(r.Tags) > 0 {
		r.Tags[0].Value = "scribbled"
	}
	if len(r.InlinePolicies) > 0 {
		r.InlinePolicies[0].Document = "scribbled"
	}
	if len(r.AttachedPolicyARNs) > 0 {
		r.AttachedPolicyARNs[0] = "scribbled"
	}
}
