package storetest

import (
	"errors"
	"testing"

	"github.com/irsa-dev/irsa/internal/store"
)

func providerARN(acct, host string) string {
	return "arn:aws:iam::" + acct + ":oidc-provider/" + host
}

// sampleProvider is a provider with every field set, as Get returns it
// after a create (Version 1).
func sampleProvider(acct, host string) store.OIDCProvider {
	return store.OIDCProvider{
		AccountID: acct,
		ARN:       providerARN(acct, host),
		URL:       "https://" + host,
		// Deliberately unsorted: order is kept.
		ClientIDs:   []string{"sts.amazonaws.com", "b-client", "a-client"},
		Thumbprints: []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280", "0000000000000000000000000000000000000001"},
		Tags:        []store.Tag{{Key: "z", Value: "last"}, {Key: "a", Value: "first"}, {Key: "empty", Value: ""}},
		CreatedAt:   at(3),
		Version:     1,
	}
}

func testOIDCProviders(t *testing.T, s store.Store) {
	ctx := t.Context()

	p1 := sampleProvider(acctA, "oidc.example.com/id/B")
	p2 := sampleProvider(acctA, "oidc.example.com/id/A")
	p3 := sampleProvider(acctB, "oidc.example.com/id/B")
	for _, p := range []store.OIDCProvider{p1, p2, p3} {
		in := p
		in.Version = 0 // the store sets it
		must(t, "CreateOIDCProvider "+p.ARN, s.CreateOIDCProvider(ctx, in))
	}

	dup := p1
	dup.ClientIDs = []string{"other"}
	wantErr(t, "CreateOIDCProvider duplicate ARN", s.CreateOIDCProvider(ctx, dup), store.ErrAlreadyExists)

	for _, p := range []store.OIDCProvider{p1, p2, p3} {
		got, err := s.GetOIDCProvider(ctx, p.ARN)
		must(t, "GetOIDCProvider "+p.ARN, err)
		diff(t, "GetOIDCProvider "+p.ARN, got, p)
	}
	_, err := s.GetOIDCProvider(ctx, providerARN(acctA, "unknown.example.com"))
	wantErr(t, "GetOIDCProvider unknown", err, store.ErrNotFound)

	gotA, err := s.ListOIDCProviders(ctx, acctA)
	must(t, "ListOIDCProviders A", err)
	diff(t, "ListOIDCProviders A (by ARN)", gotA, []store.OIDCProvider{p2, p1})
	gotB, err := s.ListOIDCProviders(ctx, acctB)
	must(t, "ListOIDCProviders B", err)
	diff(t, "ListOIDCProviders B", gotB, []store.OIDCProvider{p3})

	must(t, "DeleteOIDCProvider", s.DeleteOIDCProvider(ctx, p1.ARN))
	_, err = s.GetOIDCProvider(ctx, p1.ARN)
	wantErr(t, "GetOIDCProvider after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteOIDCProvider twice", s.DeleteOIDCProvider(ctx, p1.ARN), store.ErrNotFound)
	gotA, err = s.ListOIDCProviders(ctx, acctA)
	must(t, "ListOIDCProviders A after delete", err)
	diff(t, "ListOIDCProviders A after delete", gotA, []store.OIDCProvider{p2})
	// The same host in the other account is a different provider.
	got, err := s.GetOIDCProvider(ctx, p3.ARN)
	must(t, "GetOIDCProvider B after deleting A's", err)
	diff(t, "GetOIDCProvider B after deleting A's", got, p3)

	// A deleted ARN can be registered again, from scratch.
	again := p1
	again.ClientIDs, again.Version = []string{"new"}, 0
	must(t, "CreateOIDCProvider after delete", s.CreateOIDCProvider(ctx, again))
	got, err = s.GetOIDCProvider(ctx, p1.ARN)
	must(t, "GetOIDCProvider re-created", err)
	again.Version = 1
	diff(t, "GetOIDCProvider re-created", got, again)
}

func testOIDCProviderEmptyLists(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		p    store.OIDCProvider
	}{
		{"nil", store.OIDCProvider{AccountID: acctA, ARN: providerARN(acctA, "nil.example.com"), URL: "https://nil.example.com"}},
		{"empty", store.OIDCProvider{AccountID: acctA, ARN: providerARN(acctA, "empty.example.com"), URL: "https://empty.example.com",
			ClientIDs: []string{}, Thumbprints: []string{}, Tags: []store.Tag{}}},
	} {
		must(t, "CreateOIDCProvider "+tc.name, s.CreateOIDCProvider(ctx, tc.p))
		got, err := s.GetOIDCProvider(ctx, tc.p.ARN)
		must(t, "GetOIDCProvider "+tc.name, err)
		want := store.OIDCProvider{AccountID: tc.p.AccountID, ARN: tc.p.ARN, URL: tc.p.URL, Version: 1}
		diff(t, tc.name+" lists come back nil", got, want)
	}
}

func testOIDCProviderUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := sampleProvider(acctA, "oidc.example.com/id/U")
	must(t, "CreateOIDCProvider", s.CreateOIDCProvider(ctx, p))

	var seen store.OIDCProvider
	got, err := s.UpdateOIDCProvider(ctx, p.ARN, func(cur *store.OIDCProvider) error {
		seen = *cur
		cur.ClientIDs = append(cur.ClientIDs, "added")
		cur.Thumbprints = []string{} // comes back nil
		cur.Tags = []store.Tag{{Key: "only", Value: "one"}}
		cur.Version = 99 // ignored
		return nil
	})
	must(t, "UpdateOIDCProvider", err)
	diff(t, "fn sees the stored record", seen, p)
	want := p
	want.ClientIDs = []string{"sts.amazonaws.com", "b-client", "a-client", "added"}
	want.Thumbprints = nil
	want.Tags = []store.Tag{{Key: "only", Value: "one"}}
	want.Version = 2
	diff(t, "UpdateOIDCProvider result", got, want)
	stored, err := s.GetOIDCProvider(ctx, p.ARN)
	must(t, "GetOIDCProvider after update", err)
	diff(t, "GetOIDCProvider after update", stored, want)

	// fn's error aborts the update and comes back.
	errBoom := errors.New("boom")
	_, err = s.UpdateOIDCProvider(ctx, p.ARN, func(cur *store.OIDCProvider) error {
		cur.ClientIDs = nil
		return errBoom
	})
	wantErr(t, "UpdateOIDCProvider with failing fn", err, errBoom)
	stored, err = s.GetOIDCProvider(ctx, p.ARN)
	must(t, "GetOIDCProvider after aborted update", err)
	diff(t, "nothing written by an aborted update", stored, want)

	// The key may not change.
	for name, change := range map[string]func(*store.OIDCProvider){
		"ARN":       func(c *store.OIDCProvider) { c.ARN = providerARN(acctA, "moved.example.com") },
		"AccountID": func(c *store.OIDCProvider) { c.AccountID = acctB },
	} {
		_, err = s.UpdateOIDCProvider(ctx, p.ARN, func(c *store.OIDCProvider) error {
			change(c)
			c.URL = "https://changed.example.com"
			return nil
		})
		wantPlainErr(t, "UpdateOIDCProvider changing "+name, err)
		stored, err = s.GetOIDCProvider(ctx, p.ARN)
		must(t, "GetOIDCProvider after key change", err)
		diff(t, "nothing written by an update changing "+name, stored, want)
	}

	called := false
	_, err = s.UpdateOIDCProvider(ctx, providerARN(acctA, "unknown.example.com"), func(*store.OIDCProvider) error {
		called = true
		return nil
	})
	wantErr(t, "UpdateOIDCProvider unknown", err, store.ErrNotFound)
	if called {
		t.Error("UpdateOIDCProvider called fn for a missing provider")
	}
}
