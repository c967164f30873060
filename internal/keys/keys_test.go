package keys_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/keys"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func open(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func kids(t *testing.T, m *keys.Manager) []string {
	t.Helper()
	set, err := m.KeySet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

func signingKID(t *testing.T, m *keys.Manager) string {
	t.Helper()
	_, kid, err := m.Signer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return kid
}

func TestEnsureIsIdempotent(t *testing.T) {
	st := open(t)
	c := &clock{now: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
	m := keys.New(keys.Config{Store: st, Now: c.Now, Algorithm: "ES256"})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := m.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sk, _ := st.ListSigningKeys(ctx)
	seal, _ := st.ListSealingKeys(ctx)
	if len(sk) != 1 || len(seal) != 1 {
		t.Fatalf("%d signing and %d sealing keys after three Ensure calls, want 1 and 1", len(sk), len(seal))
	}
	set, _ := m.KeySet(ctx)
	want, _ := keys.KeyID(set.Keys[0].Key)
	if set.Keys[0].KeyID != want || set.Keys[0].Use != "sig" || set.Keys[0].Algorithm != "ES256" || !set.Keys[0].IsPublic() {
		t.Fatalf("published key %+v (want kid %s)", set.Keys[0], want)
	}
	if _, err := m.Sealer(ctx); err != nil {
		t.Fatal(err)
	}
}

// Rotation publishes the next key before it signs and keeps the retired
// key published for the longest token lifetime after it stops signing.
func TestRotationOverlap(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
	cfg := keys.Config{Store: st, Now: c.Now, Algorithm: "ES256", PublishLead: 10 * time.Minute, MaxTokenLifetime: 2 * time.Hour, Reload: time.Nanosecond}
	m := keys.New(cfg)
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	old := signingKID(t, m)
	next, err := m.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := kids(t, m); len(got) != 2 {
		t.Fatalf("right after rotation the set must hold both keys, got %v", got)
	}
	if got := signingKID(t, m); got != old {
		t.Fatalf("the new key signs before its publish lead: %s", got)
	}
	c.now = c.now.Add(10 * time.Minute)
	if got := signingKID(t, m); got != next {
		t.Fatalf("after the lead the new key must sign, got %s", got)
	}
	c.now = c.now.Add(2*time.Hour - time.Second)
	if got := kids(t, m); len(got) != 2 {
		t.Fatalf("the retired key must stay published for the token lifetime, got %v", got)
	}
	c.now = c.now.Add(time.Second)
	if got := kids(t, m); len(got) != 1 || got[0] != next {
		t.Fatalf("after the token lifetime only the new key is published, got %v", got)
	}
	if _, err := m.Key(ctx, old); err == nil {
		t.Fatal("the expired key must no longer verify")
	}
	// The next rotation removes the expired key from the store.
	if _, err := m.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	sk, _ := st.ListSigningKeys(ctx)
	for _, k := range sk {
		if k.ID == old {
			t.Fatal("an expired key was not deleted by the next rotation")
		}
	}
}

// A replica sharing the store follows a rotation after its reload interval.
func TestReplicasFollowRotation(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
	a := keys.New(keys.Config{Store: st, Now: c.Now, Algorithm: "ES256", PublishLead: time.Minute, Reload: 10 * time.Second})
	b := keys.New(keys.Config{Store: st, Now: c.Now, Algorithm: "ES256", PublishLead: time.Minute, Reload: 10 * time.Second})
	if err := a.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	first := signingKID(t, b)
	next, err := a.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Key(ctx, next); err == nil {
		t.Fatal("replica b saw the new key before its reload interval; the test does not test reloading")
	}
	c.now = c.now.Add(11 * time.Second)
	if _, err := b.Key(ctx, next); err != nil {
		t.Fatalf("replica b does not publish the new key after reloading: %v", err)
	}
	if got := signingKID(t, b); got != first {
		t.Fatalf("replica b signs with %s before the lead", got)
	}
	c.now = c.now.Add(time.Minute)
	if got := signingKID(t, b); got != next {
		t.Fatalf("replica b signs with %s after the lead, want %s", got, next)
	}
}
