package storetest

import (
	"testing"

	"github.com/irsa-dev/irsa/internal/store"
)

func testAccounts(t *testing.T, s store.Store) {
	ctx := t.Context()

	_, err := s.GetAccount(ctx, acctA)
	wantErr(t, "GetAccount before create", err, store.ErrNotFound)
	got, err := s.ListAccounts(ctx)
	must(t, "ListAccounts empty", err)
	if len(got) != 0 {
		t.Fatalf("ListAccounts on an empty store = %v, want none", got)
	}

	a := store.Account{ID: acctA, CreatedAt: at(1)}
	b := store.Account{ID: acctB, CreatedAt: at(0)}
	// B first: the list must come back by ID, not by insertion or time.
	must(t, "CreateAccount B", s.CreateAccount(ctx, b))
	must(t, "CreateAccount A", s.CreateAccount(ctx, a))

	err = s.CreateAccount(ctx, store.Account{ID: acctA, CreatedAt: at(9)})
	wantErr(t, "CreateAccount duplicate", err, store.ErrAlreadyExists)

	gotA, err := s.GetAccount(ctx, acctA)
	must(t, "GetAccount A", err)
	diff(t, "GetAccount A (the duplicate must not have overwritten it)", gotA, a)

	got, err = s.ListAccounts(ctx)
	must(t, "ListAccounts", err)
	diff(t, "ListAccounts", got, []store.Account{a, b})

	_, err = s.GetAccount(ctx, "333333333333")
	wantErr(t, "GetAccount unknown", err, store.ErrNotFound)
}

func testAccessKeys(t *testing.T, s store.Store) {
	ctx := t.Context()

	root := store.AccessKey{ID: "AKIAAAAAAAAAAAAAAAA2", AccountID: acctA, Secret: "secret-root", Status: "Active", CreatedAt: at(5)}
	// An older key with a larger ID: the list orders by CreatedAt first.
	alice := store.AccessKey{ID: "AKIAZZZZZZZZZZZZZZZ1", AccountID: acctA, UserName: "alice", Secret: "secret-alice", Status: "Inactive", CreatedAt: at(1)}
	// Same CreatedAt as root and a smaller ID: ID breaks the tie.
	bob := store.AccessKey{ID: "AKIAAAAAAAAAAAAAAAA1", AccountID: acctA, UserName: "bob", Secret: "secret-bob", Status: "Active", CreatedAt: at(5)}
	other := store.AccessKey{ID: "AKIABBBBBBBBBBBBBBB1", AccountID: acctB, Secret: "secret-b", Status: "Active", CreatedAt: at(0)}
	for _, k := range []store.AccessKey{root, alice, bob, other} {
		must(t, "CreateAccessKey "+k.ID, s.CreateAccessKey(ctx, k))
	}

	// IDs are unique across accounts.
	dup := other
	dup.ID, dup.Secret = root.ID, "another secret"
	wantErr(t, "CreateAccessKey duplicate ID in another account", s.CreateAccessKey(ctx, dup), store.ErrAlreadyExists)

	for _, k := range []store.AccessKey{root, alice, bob, other} {
		got, err := s.GetAccessKey(ctx, k.ID)
		must(t, "GetAccessKey "+k.ID, err)
		diff(t, "GetAccessKey "+k.ID, got, k)
	}
	_, err := s.GetAccessKey(ctx, "AKIAUNKNOWNUNKNOWN00")
	wantErr(t, "GetAccessKey unknown", err, store.ErrNotFound)

	gotA, err := s.ListAccessKeys(ctx, acctA)
	must(t, "ListAccessKeys A", err)
	diff(t, "ListAccessKeys A", gotA, []store.AccessKey{alice, bob, root})
	gotB, err := s.ListAccessKeys(ctx, acctB)
	must(t, "ListAccessKeys B", err)
	diff(t, "ListAccessKeys B", gotB, []store.AccessKey{other})

	must(t, "DeleteAccessKey", s.DeleteAccessKey(ctx, bob.ID))
	_, err = s.GetAccessKey(ctx, bob.ID)
	wantErr(t, "GetAccessKey after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteAccessKey twice", s.DeleteAccessKey(ctx, bob.ID), store.ErrNotFound)
	gotA, err = s.ListAccessKeys(ctx, acctA)
	must(t, "ListAccessKeys A after delete", err)
	diff(t, "ListAccessKeys A after delete", gotA, []store.AccessKey{alice, root})

	none, err := s.ListAccessKeys(ctx, "333333333333")
	must(t, "ListAccessKeys unknown account", err)
	if len(none) != 0 {
		t.Errorf("ListAccessKeys of an account without keys = %v, want none", none)
	}
}
