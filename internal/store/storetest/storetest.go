package storetest

import (
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/store"
)

// Accounts the suite works in. Two, so that every keyed lookup can be shown
// not to leak across accounts.
const (
	acctA = "111111111111"
	acctB = "222222222222"
)

// t0 is the base of the suite's timestamps: UTC with microseconds, so it
// survives a round trip unchanged.
var t0 = time.Date(2025, time.March, 4, 5, 6, 7, 123456000, time.UTC)

// at returns t0 plus n seconds.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

// suite lists the conformance tests in the order Run runs them.
var suite = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"Accounts", testAccounts},
	{"AccessKeys", testAccessKeys},
	{"OIDCProviders", testOIDCProviders},
	{"OIDCProviderEmptyLists", testOIDCProviderEmptyLists},
	{"OIDCProviderUpdate", testOIDCProviderUpdate},
	{"RoleCreateGet", testRoleCreateGet},
	{"RoleEmptyLists", testRoleEmptyLists},
	{"RoleUpdate", testRoleUpdate},
	{"RoleUpdateAbort", testRoleUpdateAbort},
	{"RoleUpdateKey", testRoleUpdateKey},
	{"RoleDelete", testRoleDelete},
	{"RolePathPrefix", testRolePathPrefix},
	{"RoleAccountIsolation", testRoleAccountIsolation},
	{"Policies", testPolicies},
	{"PolicyUpdate", testPolicyUpdate},
	{"PolicyPathPrefix", testPolicyPathPrefix},
	{"SigningKeys", testSigningKeys},
	{"SealingKeys", testSealingKeys},
	{"Settings", testSettings},
	{"SettingsConcurrent", testSettingsConcurrent},
	{"Times", testTimes},
	{"NoAliasing", testNoAliasing},
	{"ConcurrentCreate", testConcurrentCreate},
	{"ConcurrentReadWrite", testConcurrentReadWrite},
	{"ConflictRole", testConflictRole},
	{"ConflictOIDCProvider", testConflictOIDCProvider},
	{"ConflictPolicy", testConflictPolicy},
	{"Audit", testAudit},
	{"AuditZeroFields", testAuditZeroFields},
	{"AuditConcurrent", testAuditConcurrent},
	{"AuditStart", testAuditStart},
	{"AuditLargeAppend", testAuditLargeAppend},
	{"Clusters", testClusters},
	{"PodIdentityAssociations", testPodIdentityAssociations},
	{"PodIdentityNoAliasing", testPodIdentityNoAliasing},
	{"ConflictPodIdentityAssociation", testConflictPodIdentityAssociation},
	{"ConcurrentPutCluster", testConcurrentPutCluster},
}

// Run runs the conformance suite. open must return a new, empty store each
// time it is called; Run closes it when the subtest that opened it ends, and
// a failing Close fails that subtest.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// wantErr fails the test unless err matches want: nil for success, or a
// sentinel that errors.Is must find.
func wantErr(t *testing.T, op string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", op, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: error %v, want one that errors.Is finds %v", op, err, want)
	}
}

// wantPlainErr fails the test unless err is a failure that is none of the
// sentinels: a programming error, not a state of the data.
func wantPlainErr(t *testing.T, op string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want an error", op)
	}
	for _, s := range []error{store.ErrNotFound, store.ErrAlreadyExists, store.ErrConflict} {
		if errors.Is(err, s) {
			t.Fatalf("%s: error %v is the sentinel %v, want a plain error", op, err, s)
		}
	}
}

// must fails the test on err.
func must(t *testing.T, op string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
}

// diff fails the test when got and want differ. cmp tells nil slices from
// empty ones, which the suite relies on to pin the nil normalization down.
func diff(t *testing.T, op string, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", op, d)
	}
}

// utcOnly fails the test for every non-zero time in ts that is not in UTC.
func utcOnly(t *testing.T, op string, ts ...time.Time) {
	t.Helper()
	for i, tm := range ts {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s: time %d is in %v, want UTC", op, i, tm.Location())
		}
	}
}

// fakeID makes a stable, unique-enough identifier such as AROA… for seed.
func fakeID(prefix, seed string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(seed)) // never fails
	return fmt.Sprintf("%s%017d", prefix, h.Sum64()%1e17)
}

// cloneRole returns a deep copy of r.
func cloneRole(r store.Role) store.Role {
	r.Tags = slices.Clone(r.Tags)
	r.InlinePolicies = slices.Clone(r.InlinePolicies)
	r.AttachedPolicyARNs = slices.Clone(r.AttachedPolicyARNs)
	return r
}

// cloneProvider returns a deep copy of p.
func cloneProvider(p store.OIDCProvider) store.OIDCProvider {
	p.ClientIDs = slices.Clone(p.ClientIDs)
	p.Thumbprints = slices.Clone(p.Thumbprints)
	p.Tags = slices.Clone(p.Tags)
	return p
}

// clonePolicy returns a deep copy of p.
func clonePolicy(p store.ManagedPolicy) store.ManagedPolicy {
	p.Versions = slices.Clone(p.Versions)
	p.Tags = slices.Clone(p.Tags)
	return p
}
