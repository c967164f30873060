package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/irsa-dev/irsa/internal/store"
)

const trustDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/oidc.example.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`

// sampleRole is a role with every field set, as Get returns it after a
// create (Version 1, inline policies sorted by name).
func sampleRole(acct, name, path string) store.Role {
	return store.Role{
		AccountID:          acct,
		Name:               name,
		Path:               path,
		ID:                 fakeID("AROA", acct+"/"+strings.ToLower(name)),
		ARN:                "arn:aws:iam::" + acct + ":role" + path + name,
		TrustPolicy:        trustDoc,
		Description:        "role " + name,
		MaxSessionDuration: 7200,
		BoundaryARN:        "arn:aws:iam::" + acct + ":policy/boundary",
		Tags:               []store.Tag{{Key: "team", Value: "b"}, {Key: "Env", Value: "prod"}, {Key: "team2", Value: ""}},
		InlinePolicies: []store.InlinePolicy{
			{Name: "A-upper", Document: `{"a":1}`},
			{Name: "a-lower", Document: `{"a":2}`},
			{Name: "b", Document: `{"b":3}`},
		},
		AttachedPolicyARNs: []string{
			"arn:aws:iam::aws:policy/ReadOnlyAccess",
			"arn:aws:iam::" + acct + ":policy/z",
			"arn:aws:iam::" + acct + ":policy/a",
		},
		CreatedAt:      at(10),
		LastUsedAt:     at(20),
		LastUsedRegion: "eu-west-1",
		Version:        1,
	}
}

// createRole creates r as given except for Version (the store sets it) and
// with its inline policies out of name order (the store sorts them).
func createRole(t *testing.T, s store.Store, r store.Role) {
	t.Helper()
	in := r
	in.Version = 0
	in.InlinePolicies = slices.Clone(r.InlinePolicies)
	slices.Reverse(in.InlinePolicies)
	must(t, "CreateRole "+r.AccountID+"/"+r.Name, s.CreateRole(t.Context(), in))
}

func getRole(t *testing.T, s store.Store, acct, name string) store.Role {
	t.Helper()
	r, err := s.GetRole(t.Context(), acct, name)
	must(t, "GetRole "+acct+"/"+name, err)
	return r
}

func testRoleCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := sampleRole(acctA, "MyRole", "/team/")
	createRole(t, s, r)

	// Names are compared ignoring case, and the stored spelling is kept.
	for _, name := range []string{"MyRole", "myrole", "MYROLE"} {
		diff(t, "GetRole "+name, getRole(t, s, acctA, name), r)
	}
	_, err := s.GetRole(ctx, acctA, "MyRole2")
	wantErr(t, "GetRole unknown", err, store.ErrNotFound)
	_, err = s.GetRole(ctx, acctB, "MyRole")
	wantErr(t, "GetRole in another account", err, store.ErrNotFound)

	// A duplicate in any case and on any path is refused and changes nothing.
	for _, dup := range []store.Role{
		sampleRole(acctA, "MyRole", "/team/"),
		sampleRole(acctA, "myrole", "/other/"),
		sampleRole(acctA, "MYROLE", "/"),
	} {
		dup.Description = "the duplicate"
		dup.InlinePolicies = []store.InlinePolicy{{Name: "dup", Document: "{}"}}
		wantErr(t, "CreateRole duplicate "+dup.Name+" on "+dup.Path, s.CreateRole(ctx, dup), store.ErrAlreadyExists)
	}
	diff(t, "GetRole after refused duplicates", getRole(t, s, acctA, "MyRole"), r)

	got, err := s.ListRoles(ctx, acctA, "")
	must(t, "ListRoles", err)
	diff(t, "ListRoles", got, []store.Role{r})
}

func testRoleEmptyLists(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		r    store.Role
	}{
		{"nil", store.Role{AccountID: acctA, Name: "nil", Path: "/"}},
		{"empty", store.Role{AccountID: acctA, Name: "empty", Path: "/",
			Tags: []store.Tag{}, InlinePolicies: []store.InlinePolicy{}, AttachedPolicyARNs: []string{}}},
	} {
		must(t, "CreateRole "+tc.name, s.CreateRole(ctx, tc.r))
		want := store.Role{AccountID: acctA, Name: tc.name, Path: "/", Version: 1}
		diff(t, tc.name+" lists come back nil", getRole(t, s, acctA, tc.name), want)
	}

	// Emptying the lists of a full role through Update gives nil too.
	r := sampleRole(acctA, "full", "/")
	createRole(t, s, r)
	got, err := s.UpdateRole(ctx, acctA, "full", func(cur *store.Role) error {
		cur.Tags = []store.Tag{}
		cur.InlinePolicies = nil
		cur.AttachedPolicyARNs = []string{}
		return nil
	})
	must(t, "UpdateRole emptying lists", err)
	want := r
	want.Tags, want.InlinePolicies, want.AttachedPolicyARNs, want.Version = nil, nil, nil, 2
	diff(t, "UpdateRole emptying lists", got, want)
	diff(t, "GetRole after emptying lists", getRole(t, s, acctA, "full"), want)
}

func testRoleUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := sampleRole(acctA, "Updated", "/")
	createRole(t, s, r)

	// Each step changes something else; the name is given in another case
	// each time.
	steps := []struct {
		name   string
		lookup string
		change func(*store.Role)
		want   func(*store.Role)
	}{
		{
			name:   "scalars",
			lookup: "updated",
			change: func(c *store.Role) {
				c.Description = "changed"
				c.MaxSessionDuration = 43200
				c.TrustPolicy = "{}"
				c.BoundaryARN = ""
				c.LastUsedAt = at(99)
				c.LastUsedRegion = "us-east-1"
			},
		},
		{
			name:   "add inline policy out of order",
			lookup: "UPDATED",
			change: func(c *store.Role) {
				c.InlinePolicies = append(c.InlinePolicies, store.InlinePolicy{Name: "0-first", Document: `{"new":true}`})
			},
			want: func(c *store.Role) {
				c.InlinePolicies = append([]store.InlinePolicy{{Name: "0-first", Document: `{"new":true}`}}, c.InlinePolicies...)
			},
		},
		{
			name:   "replace and delete inline policies",
			lookup: "Updated",
			change: func(c *store.Role) {
				c.InlinePolicies = []store.InlinePolicy{{Name: "b", Document: `{"b":"replaced"}`}, {Name: "A-upper", Document: `{"a":1}`}}
			},
			want: func(c *store.Role) {
				c.InlinePolicies = []store.InlinePolicy{{Name: "A-upper", Document: `{"a":1}`}, {Name: "b", Document: `{"b":"replaced"}`}}
			},
		},
		{
			name:   "detach and attach",
			lookup: "uPdAtEd",
			change: func(c *store.Role) {
				c.AttachedPolicyARNs = append(c.AttachedPolicyARNs[1:], "arn:aws:iam::aws:policy/AdministratorAccess")
			},
		},
		{
			name:   "tags",
			lookup: "updated",
			change: func(c *store.Role) {
				c.Tags = append([]store.Tag{{Key: "new", Value: "first"}}, c.Tags[2:]...)
			},
		},
	}
	want := r
	for i, step := range steps {
		var seen store.Role
		got, err := s.UpdateRole(ctx, acctA, step.lookup, func(cur *store.Role) error {
			seen = cloneRole(*cur)
			step.change(cur)
			cur.Version = 1000 // ignored
			return nil
		})
		must(t, "UpdateRole "+step.name, err)
		diff(t, "fn sees the stored record in step "+step.name, seen, want)
		if step.want != nil {
			step.want(&want)
		} else {
			step.change(&want)
		}
		want.Version = int64(i + 2)
		diff(t, "UpdateRole result of step "+step.name, got, want)
		diff(t, "GetRole after step "+step.name, getRole(t, s, acctA, "Updated"), want)
	}

	list, err := s.ListRoles(ctx, acctA, "/")
	must(t, "ListRoles after updates", err)
	diff(t, "ListRoles after updates", list, []store.Role{want})
}

func testRoleUpdateAbort(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := sampleRole(acctA, "Abort", "/")
	createRole(t, s, r)

	errBoom := errors.New("boom")
	wrapped := &wrapErr{errBoom}
	for _, fail := range []error{errBoom, wrapped} {
		got, err := s.UpdateRole(ctx, acctA, "abort", func(cur *store.Role) error {
			cur.Description = "not written"
			cur.InlinePolicies = nil
			cur.AttachedPolicyARNs = append(cur.AttachedPolicyARNs, "arn:aws:iam::aws:policy/x")
			cur.Tags = nil
			return fail
		})
		wantErr(t, "UpdateRole with failing fn", err, errBoom)
		var w *wrapErr
		if fail == wrapped && !errors.As(err, &w) {
			t.Errorf("UpdateRole error %v: errors.As does not find the *wrapErr fn returned", err)
		}
		diff(t, "UpdateRole result when fn fails", got, store.Role{})
		diff(t, "GetRole after aborted update", getRole(t, s, acctA, "Abort"), r)
	}

	called := false
	_, err := s.UpdateRole(ctx, acctA, "missing", func(*store.Role) error {
		called = true
		return nil
	})
	wantErr(t, "UpdateRole unknown", err, store.ErrNotFound)
	if called {
		t.Error("UpdateRole called fn for a missing role")
	}
	_, err = s.UpdateRole(ctx, acctB, "Abort", func(*store.Role) error { return nil })
	wantErr(t, "UpdateRole in another account", err, store.ErrNotFound)
}

// wrapErr is an error type fn returns, to show errors.As still finds it.
type wrapErr struct{ err error }

func (e *wrapErr) Error() string { return "wrapped: " + e.err.Error() }
func (e *wrapErr) Unwrap() error { return e.err }

func testRoleUpdateKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := sampleRole(acctA, "Keyed", "/")
	createRole(t, s, r)
	other := sampleRole(acctA, "Other", "/")
	createRole(t, s, other)

	for _, tc := range []struct {
		name   string
		change func(*store.Role)
	}{
		{"rename", func(c *store.Role) { c.Name = "Renamed" }},
		{"rename onto another role", func(c *store.Role) { c.Name = "Other" }},
		{"change the case of the name", func(c *store.Role) { c.Name = "KEYED" }},
		{"move account", func(c *store.Role) { c.AccountID = acctB }},
	} {
		_, err := s.UpdateRole(ctx, acctA, "Keyed", func(c *store.Role) error {
			tc.change(c)
			c.Description = "not written"
			return nil
		})
		wantPlainErr(t, "UpdateRole that tries to "+tc.name, err)
		diff(t, "GetRole after a refused "+tc.name, getRole(t, s, acctA, "Keyed"), r)
	}
	diff(t, "the other role after refused key changes", getRole(t, s, acctA, "Other"), other)
	_, err := s.GetRole(ctx, acctB, "Keyed")
	wantErr(t, "GetRole in the account a refused update named", err, store.ErrNotFound)
}

func testRoleDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := sampleRole(acctA, "Deleted", "/")
	createRole(t, s, r)
	keep := sampleRole(acctA, "Kept", "/")
	createRole(t, s, keep)

	wantErr(t, "DeleteRole in another account", s.DeleteRole(ctx, acctB, "Deleted"), store.ErrNotFound)
	must(t, "DeleteRole in another case", s.DeleteRole(ctx, acctA, "DELETED"))
	_, err := s.GetRole(ctx, acctA, "Deleted")
	wantErr(t, "GetRole after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteRole twice", s.DeleteRole(ctx, acctA, "Deleted"), store.ErrNotFound)
	list, err := s.ListRoles(ctx, acctA, "")
	must(t, "ListRoles after delete", err)
	diff(t, "ListRoles after delete", list, []store.Role{keep})

	// The name is free again, and nothing of the old role comes back.
	fresh := store.Role{AccountID: acctA, Name: "deleted", Path: "/new/", TrustPolicy: "{}", CreatedAt: at(30)}
	must(t, "CreateRole after delete", s.CreateRole(ctx, fresh))
	fresh.Version = 1
	diff(t, "GetRole of the re-created role", getRole(t, s, acctA, "Deleted"), fresh)
}

func testRolePathPrefix(t *testing.T, s store.Store) {
	ctx := t.Context()
	paths := map[string]string{
		"root":     "/",
		"a":        "/a/",
		"ab":       "/a/b/",
		"abc":      "/abc/",
		"upper":    "/A/",
		"under":    "/x_y/",
		"percent":  "/x%y/",
		"xay":      "/xay/",
		"Zeta":     "/z/",
		"alpha":    "/z/",
		"zz-Upper": "/z/",
	}
	for name, path := range paths {
		createRole(t, s, sampleRole(acctA, name, path))
	}
	// The same paths in the other account must never show up.
	createRole(t, s, sampleRole(acctB, "b-a", "/a/"))
	createRole(t, s, sampleRole(acctB, "b-root", "/"))

	all := []string{"a", "ab", "abc", "alpha", "percent", "root", "under", "upper", "xay", "Zeta", "zz-Upper"}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", all},
		{"/", all},
		{"/a/", []string{"a", "ab"}},
		{"/a", []string{"a", "ab", "abc"}},
		{"/a/b/", []string{"ab"}},
		{"/A/", []string{"upper"}},
		{"/x_", []string{"under"}},
		{"/x%", []string{"percent"}},
		{"/z/", []string{"alpha", "Zeta", "zz-Upper"}},
		{"/nothing/", nil},
		{"a/", nil},
	} {
		got, err := s.ListRoles(ctx, acctA, tc.prefix)
		must(t, "ListRoles "+tc.prefix, err)
		var names []string
		for _, r := range got {
			names = append(names, r.Name)
		}
		diff(t, "ListRoles with prefix "+tc.prefix, names, tc.want)
	}

	// Listed roles are whole.
	got, err := s.ListRoles(ctx, acctA, "/a/b/")
	must(t, "ListRoles /a/b/", err)
	diff(t, "ListRoles returns complete roles", got, []store.Role{sampleRole(acctA, "ab", "/a/b/")})
}

func testRoleAccountIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	ra := sampleRole(acctA, "Shared", "/")
	rb := sampleRole(acctB, "shared", "/b/")
	rb.InlinePolicies = []store.InlinePolicy{{Name: "only-b", Document: "{}"}}
	rb.AttachedPolicyARNs = []string{"arn:aws:iam::aws:policy/OnlyB"}
	rb.Tags = nil
	createRole(t, s, ra)
	createRole(t, s, rb)

	diff(t, "GetRole A", getRole(t, s, acctA, "SHARED"), ra)
	diff(t, "GetRole B", getRole(t, s, acctB, "SHARED"), rb)

	_, err := s.UpdateRole(ctx, acctA, "shared", func(c *store.Role) error {
		c.Description = "changed in A"
		c.InlinePolicies = nil
		return nil
	})
	must(t, "UpdateRole A", err)
	diff(t, "GetRole B after updating A", getRole(t, s, acctB, "shared"), rb)

	listB, err := s.ListRoles(ctx, acctB, "")
	must(t, "ListRoles B", err)
	diff(t, "ListRoles B", listB, []store.Role{rb})

	must(t, "DeleteRole A", s.DeleteRole(ctx, acctA, "Shared"))
	diff(t, "GetRole B after deleting A", getRole(t, s, acctB, "Shared"), rb)
	listA, err := s.ListRoles(ctx, acctA, "")
	must(t, "ListRoles A", err)
	if len(listA) != 0 {
		t.Errorf("ListRoles A after delete = %v, want none", listA)
	}
}
