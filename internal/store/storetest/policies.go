package storetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/irsa-dev/irsa/internal/store"
)

func policyARN(acct, path, name string) string {
	return "arn:aws:iam::" + acct + ":policy" + path + name
}

// samplePolicy is a managed policy with every field set, as Get returns it
// after a create (Version 1).
func samplePolicy(acct, name, path string) store.ManagedPolicy {
	return store.ManagedPolicy{
		AccountID:      acct,
		Name:           name,
		Path:           path,
		ID:             fakeID("ANPA", acct+"/"+strings.ToLower(name)),
		ARN:            policyARN(acct, path, name),
		Description:    "policy " + name,
		DefaultVersion: "v3",
		// Kept in the order given, which need not be numeric.
		Versions: []store.PolicyVersion{
			{ID: "v3", Document: `{"v":3}`, CreatedAt: at(3)},
			{ID: "v1", Document: `{"v":1}`, CreatedAt: at(1)},
			{ID: "v10", Document: `{"v":10}`, CreatedAt: at(10)},
		},
		NextVersion:     11,
		AttachmentCount: 2,
		Tags:            []store.Tag{{Key: "z", Value: "1"}, {Key: "a", Value: "2"}},
		CreatedAt:       at(1),
		UpdatedAt:       at(10),
		Version:         1,
	}
}

func createPolicy(t *testing.T, s store.Store, p store.ManagedPolicy) {
	t.Helper()
	in := p
	in.Version = 0
	must(t, "CreatePolicy "+p.ARN, s.CreatePolicy(t.Context(), in))
}

func getPolicy(t *testing.T, s store.Store, arn string) store.ManagedPolicy {
	t.Helper()
	p, err := s.GetPolicy(t.Context(), arn)
	must(t, "GetPolicy "+arn, err)
	return p
}

func testPolicies(t *testing.T, s store.Store) {
	ctx := t.Context()
	p1 := samplePolicy(acctA, "Reader", "/")
	p2 := samplePolicy(acctA, "admin", "/ops/")
	p3 := samplePolicy(acctB, "Reader", "/")
	empty := store.ManagedPolicy{AccountID: acctA, Name: "empty", Path: "/", ARN: policyARN(acctA, "/", "empty"),
		Versions: []store.PolicyVersion{}, Tags: []store.Tag{}}
	for _, p := range []store.ManagedPolicy{p1, p2, p3, empty} {
		createPolicy(t, s, p)
	}
	empty.Versions, empty.Tags, empty.Version = nil, nil, 1

	for _, p := range []store.ManagedPolicy{p1, p2, p3, empty} {
		diff(t, "GetPolicy "+p.ARN, getPolicy(t, s, p.ARN), p)
	}
	_, err := s.GetPolicy(ctx, policyARN(acctA, "/", "missing"))
	wantErr(t, "GetPolicy unknown", err, store.ErrNotFound)

	// Duplicates: the same ARN, or the same name in any case on any path.
	for _, dup := range []store.ManagedPolicy{
		samplePolicy(acctA, "Reader", "/"),
		samplePolicy(acctA, "READER", "/"),
		samplePolicy(acctA, "reader", "/elsewhere/"),
	} {
		dup.Description = "the duplicate"
		dup.Versions = []store.PolicyVersion{{ID: "v1", Document: "{}"}}
		wantErr(t, "CreatePolicy duplicate "+dup.ARN, s.CreatePolicy(ctx, dup), store.ErrAlreadyExists)
	}
	diff(t, "GetPolicy after refused duplicates", getPolicy(t, s, p1.ARN), p1)

	listA, err := s.ListPolicies(ctx, acctA, "")
	must(t, "ListPolicies A", err)
	diff(t, "ListPolicies A (by lower-cased name)", listA, []store.ManagedPolicy{p2, empty, p1})
	listB, err := s.ListPolicies(ctx, acctB, "/")
	must(t, "ListPolicies B", err)
	diff(t, "ListPolicies B", listB, []store.ManagedPolicy{p3})

	must(t, "DeletePolicy", s.DeletePolicy(ctx, p1.ARN))
	_, err = s.GetPolicy(ctx, p1.ARN)
	wantErr(t, "GetPolicy after delete", err, store.ErrNotFound)
	wantErr(t, "DeletePolicy twice", s.DeletePolicy(ctx, p1.ARN), store.ErrNotFound)
	diff(t, "GetPolicy B after deleting A's", getPolicy(t, s, p3.ARN), p3)

	// The name is free again and no version of the old policy comes back.
	fresh := store.ManagedPolicy{AccountID: acctA, Name: "READER", Path: "/", ARN: policyARN(acctA, "/", "READER"),
		DefaultVersion: "v1", Versions: []store.PolicyVersion{{ID: "v1", Document: "{}", CreatedAt: at(40)}}, NextVersion: 2}
	createPolicy(t, s, fresh)
	fresh.Version = 1
	diff(t, "GetPolicy re-created", getPolicy(t, s, fresh.ARN), fresh)
}

func testPolicyUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := samplePolicy(acctA, "Versioned", "/")
	createPolicy(t, s, p)

	var seen store.ManagedPolicy
	got, err := s.UpdatePolicy(ctx, p.ARN, func(cur *store.ManagedPolicy) error {
		seen = clonePolicy(*cur)
		// CreatePolicyVersion with set-as-default, then DeletePolicyVersion v1.
		cur.Versions = append(cur.Versions, store.PolicyVersion{ID: "v11", Document: `{"v":11}`, CreatedAt: at(11)})
		cur.Versions = append(cur.Versions[:1], cur.Versions[2:]...)
		cur.DefaultVersion = "v11"
		cur.NextVersion = 12
		cur.AttachmentCount = 0
		cur.Description = "changed"
		cur.Tags = nil
		cur.UpdatedAt = at(11)
		cur.Version = 77 // ignored
		return nil
	})
	must(t, "UpdatePolicy", err)
	diff(t, "fn sees the stored record", seen, p)
	want := p
	want.Versions = []store.PolicyVersion{
		{ID: "v3", Document: `{"v":3}`, CreatedAt: at(3)},
		{ID: "v10", Document: `{"v":10}`, CreatedAt: at(10)},
		{ID: "v11", Document: `{"v":11}`, CreatedAt: at(11)},
	}
	want.DefaultVersion, want.NextVersion, want.AttachmentCount = "v11", 12, 0
	want.Description, want.Tags, want.UpdatedAt, want.Version = "changed", nil, at(11), 2
	diff(t, "UpdatePolicy result", got, want)
	diff(t, "GetPolicy after update", getPolicy(t, s, p.ARN), want)

	errBoom := errors.New("boom")
	_, err = s.UpdatePolicy(ctx, p.ARN, func(cur *store.ManagedPolicy) error {
		cur.Versions = nil
		cur.AttachmentCount = 5
		return errBoom
	})
	wantErr(t, "UpdatePolicy with failing fn", err, errBoom)
	diff(t, "GetPolicy after aborted update", getPolicy(t, s, p.ARN), want)

	other := samplePolicy(acctA, "Other", "/")
	createPolicy(t, s, other)
	for _, tc := range []struct {
		name   string
		change func(*store.ManagedPolicy)
	}{
		{"change the ARN", func(c *store.ManagedPolicy) { c.ARN = policyARN(acctA, "/", "Moved") }},
		{"take another policy's ARN", func(c *store.ManagedPolicy) { c.ARN = other.ARN }},
		{"rename", func(c *store.ManagedPolicy) { c.Name = "Renamed" }},
		{"move account", func(c *store.ManagedPolicy) { c.AccountID = acctB }},
	} {
		_, err = s.UpdatePolicy(ctx, p.ARN, func(c *store.ManagedPolicy) error {
			tc.change(c)
			c.Description = "not written"
			return nil
		})
		wantPlainErr(t, "UpdatePolicy that tries to "+tc.name, err)
		diff(t, "GetPolicy after a refused "+tc.name, getPolicy(t, s, p.ARN), want)
	}
	diff(t, "the other policy after refused key changes", getPolicy(t, s, other.ARN), other)

	called := false
	_, err = s.UpdatePolicy(ctx, policyARN(acctA, "/", "missing"), func(*store.ManagedPolicy) error {
		called = true
		return nil
	})
	wantErr(t, "UpdatePolicy unknown", err, store.ErrNotFound)
	if called {
		t.Error("UpdatePolicy called fn for a missing policy")
	}
}

func testPolicyPathPrefix(t *testing.T, s store.Store) {
	ctx := t.Context()
	for name, path := range map[string]string{
		"root":  "/",
		"a":     "/a/",
		"ab":    "/a/b/",
		"abc":   "/abc/",
		"upper": "/A/",
		"under": "/x_y/",
		"xay":   "/xay/",
	} {
		createPolicy(t, s, samplePolicy(acctA, name, path))
	}
	createPolicy(t, s, samplePolicy(acctB, "b-a", "/a/"))

	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a", "ab", "abc", "root", "under", "upper", "xay"}},
		{"/a/", []string{"a", "ab"}},
		{"/a", []string{"a", "ab", "abc"}},
		{"/A", []string{"upper"}},
		{"/x_", []string{"under"}},
		{"/none/", nil},
	} {
		got, err := s.ListPolicies(ctx, acctA, tc.prefix)
		must(t, "ListPolicies "+tc.prefix, err)
		var names []string
		for _, p := range got {
			names = append(names, p.Name)
		}
		diff(t, "ListPolicies with prefix "+tc.prefix, names, tc.want)
	}
}
