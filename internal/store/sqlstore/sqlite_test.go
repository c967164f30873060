package sqlstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/storetest"
)

// openTemp opens a store on a new file in the test's temporary directory.
func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "irsa.db"))
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	return s
}

func TestConformanceSQLite(t *testing.T) {
	before := unprepared.Load()
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
	if n := unprepared.Load() - before; n != 0 {
		t.Errorf("%d queries ran unprepared: register every statement with stmt", n)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "irsa.db")
	testReopenKeepsData(t, func(ctx context.Context) (*Store, error) { return OpenSQLite(ctx, path) })
}

// testReopenKeepsData: what one Store wrote, a Store opened again on the
// same database reads.
func testReopenKeepsData(t *testing.T, open func(ctx context.Context) (*Store, error)) {
	ctx := t.Context()
	s, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	role := store.Role{AccountID: "000000000000", Name: "Kept", Path: "/p/", TrustPolicy: "{}",
		InlinePolicies:     []store.InlinePolicy{{Name: "inline", Document: "{}"}},
		AttachedPolicyARNs: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}}
	if err := s.CreateRole(ctx, role); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutSettingIfAbsent(ctx, "issuer.url", "https://oidc.irsa.local/id/X"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = open(ctx)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.GetRole(ctx, "000000000000", "kept")
	if err != nil {
		t.Fatal(err)
	}
	role.Version = 1
	if d := cmp.Diff(role, got); d != "" {
		t.Errorf("role after reopening (-want +got):\n%s", d)
	}
	v, err := s.PutSettingIfAbsent(ctx, "issuer.url", "https://other")
	if err != nil || v != "https://oidc.irsa.local/id/X" {
		t.Errorf("setting after reopening = %q, %v; want the first value", v, err)
	}
}

func TestNewFileIsOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "irsa.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A write creates the -wal file, which must not be more open either.
	if _, err := s.PutSettingIfAbsent(t.Context(), "a", "b"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), perm)
		}
	}
}

// TestPragmas checks the connection settings the design relies on, on both
// pools.
func TestPragmas(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	ctx := t.Context()
	for _, tc := range []struct {
		pool   string
		pragma string
		want   string
	}{
		{"write", "journal_mode", "wal"},
		{"write", "foreign_keys", "1"},
		{"write", "busy_timeout", "10000"},
		{"write", "synchronous", "2"},
		{"write", "query_only", "0"},
		{"read", "journal_mode", "wal"},
		{"read", "foreign_keys", "1"},
		{"read", "busy_timeout", "10000"},
		{"read", "query_only", "1"},
	} {
		db := s.read
		if tc.pool == "write" {
			db = s.write
		}
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("%s PRAGMA %s: %v", tc.pool, tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("%s pool: PRAGMA %s = %q, want %q", tc.pool, tc.pragma, got, tc.want)
		}
	}
	if got := s.write.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("write pool allows %d connections, want 1", got)
	}
}

func TestCascade(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	testCascade(t, s)
}

// testCascade deletes a role and a policy and finds their child rows gone.
func testCascade(t *testing.T, s *Store) {
	ctx := t.Context()
	r := store.Role{AccountID: "000000000000", Name: "R",
		InlinePolicies:     []store.InlinePolicy{{Name: "a", Document: "{}"}, {Name: "b", Document: "{}"}},
		AttachedPolicyARNs: []string{"arn:1", "arn:2"}}
	p := store.ManagedPolicy{AccountID: "000000000000", Name: "P", ARN: "arn:p",
		Versions: []store.PolicyVersion{{ID: "v1"}, {ID: "v2"}}}
	if err := s.CreateRole(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	count := func(table string) int {
		var n int
		if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	children := []string{"role_inline_policies", "role_attached_policies", "policy_versions"}
	for _, table := range children {
		if count(table) != 2 {
			t.Fatalf("%s has %d rows before the deletes, want 2", table, count(table))
		}
	}
	if err := s.DeleteRole(ctx, "000000000000", "r"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePolicy(ctx, "arn:p"); err != nil {
		t.Fatal(err)
	}
	for _, table := range children {
		if n := count(table); n != 0 {
			t.Errorf("%s has %d rows after deleting their owners, want 0", table, n)
		}
	}
}

// TestTwoStoresOneFile runs two stores on one file, as `irsa apply` next to
// `irsa up` would: their writers wait for each other instead of failing.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "irsa.db")
	var stores [2]*Store
	for i := range stores {
		s, err := OpenSQLite(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer s.Close()
		stores[i] = s
	}
	if err := stores[0].CreateRole(ctx, store.Role{AccountID: "000000000000", Name: "Shared"}); err != nil {
		t.Fatal(err)
	}
	const perStore = 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*perStore)
	for _, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perStore {
				_, err := s.UpdateRole(ctx, "000000000000", "shared", func(r *store.Role) error {
					r.MaxSessionDuration++
					return nil
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("UpdateRole: %v", err)
	}
	got, err := stores[1].GetRole(ctx, "000000000000", "Shared")
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxSessionDuration != 2*perStore || got.Version != 1+2*perStore {
		t.Errorf("after %d updates: MaxSessionDuration %d, Version %d; want %d and %d",
			2*perStore, got.MaxSessionDuration, got.Version, 2*perStore, 1+2*perStore)
	}
}

// TestErrorsAreWrapped shows that failures of the database are reported with
// the operation, keep their cause, and are never mistaken for a sentinel.
func TestErrorsAreWrapped(t *testing.T) {
	testErrorsAreWrapped(t, openTemp(t))
}

// testErrorsAreWrapped closes s and checks the errors of its methods.
func testErrorsAreWrapped(t *testing.T, s *Store) {
	ctx := t.Context()
	if err := s.CreateRole(ctx, store.Role{AccountID: "000000000000", Name: "R"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	noop := func(*store.Role) error { return nil }
	for _, tc := range []struct {
		op  string
		run func() error
	}{
		{"get role", func() error { _, err := s.GetRole(ctx, "000000000000", "R"); return err }},
		{"list roles", func() error { _, err := s.ListRoles(ctx, "000000000000", ""); return err }},
		{"create role", func() error { return s.CreateRole(ctx, store.Role{AccountID: "000000000000", Name: "X"}) }},
		{"update role", func() error { _, err := s.UpdateRole(ctx, "000000000000", "R", noop); return err }},
		{"delete role", func() error { return s.DeleteRole(ctx, "000000000000", "R") }},
		{"get account", func() error { _, err := s.GetAccount(ctx, "000000000000"); return err }},
		{"put setting", func() error { _, err := s.PutSettingIfAbsent(ctx, "a", "b"); return err }},
		{"list signing keys", func() error { _, err := s.ListSigningKeys(ctx); return err }},
		{"ping", func() error { return s.Ping(ctx) }},
	} {
		err := tc.run()
		if err == nil {
			t.Errorf("%s on a closed store succeeded", tc.op)
			continue
		}
		for _, sentinel := range []error{store.ErrNotFound, store.ErrAlreadyExists, store.ErrConflict} {
			if errors.Is(err, sentinel) {
				t.Errorf("%s on a closed store: %v is the sentinel %v", tc.op, err, sentinel)
			}
		}
		if !strings.HasPrefix(err.Error(), "sqlstore: "+tc.op) || !strings.Contains(err.Error(), "database is closed") {
			t.Errorf("%s on a closed store: error %q, want it to name the operation and the cause", tc.op, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"empty", "", "want the path of a file"},
		{"memory", ":memory:", "want the path of a file"},
		{"URI", "file:x.db", "want the path of a file"},
		{"query", filepath.Join(dir, "x.db?_pragma=query_only(1)"), "want the path of a file"},
		{"missing directory", filepath.Join(dir, "missing", "irsa.db"), "no such file or directory"},
		{"directory", dir, "sqlstore: open " + dir},
		{"not a database", garbage, "not a database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenSQLite(t.Context(), tc.path)
			if err == nil {
				s.Close()
				t.Fatalf("OpenSQLite(%q) succeeded", tc.path)
			}
			if !strings.HasPrefix(err.Error(), "sqlstore: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("OpenSQLite(%q) = %q, want a sqlstore error containing %q", tc.path, err, tc.want)
			}
		})
	}
}

// TestReadPoolCannotWrite guards the split of the pools: a write that
// strays onto the read pool fails instead of competing with the writer.
func TestReadPoolCannotWrite(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	_, err := s.read.ExecContext(t.Context(), `INSERT INTO settings (name, value) VALUES ('a', 'b')`)
	if err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Errorf("write on the read pool: %v, want a read-only error", err)
	}
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	defer s.Close()
	if err := s.CreateAccount(ctx, store.Account{ID: "000000000000"}); err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations(migrationsFS, "sqlite")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		n, err := migrate(ctx, s.write, migrationsFS, "sqlite")
		if err != nil || n != 0 {
			t.Fatalf("migrate again (%d) = %d, %v; want 0 applied", i, n, err)
		}
	}
	var rows int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", rows, len(ms))
	}
	if _, err := s.GetAccount(ctx, "000000000000"); err != nil {
		t.Errorf("data after migrating again: %v", err)
	}
}

// openRaw opens a bare write pool on a new file, for migration tests.
func openRaw(t *testing.T) *Store {
	t.Helper()
	s := openTemp(t)
	t.Cleanup(func() { s.Close() })
	// Start from an empty schema: drop what OpenSQLite created.
	if _, err := s.write.ExecContext(t.Context(), `DROP TABLE schema_migrations`); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMigrateSteps(t *testing.T) {
	v1 := &fstest.MapFile{Data: []byte(`CREATE TABLE t1 (a INTEGER); CREATE TABLE t1b (b INTEGER);`)}
	v2 := &fstest.MapFile{Data: []byte(`ALTER TABLE t1 ADD COLUMN c TEXT;`)}
	bad := &fstest.MapFile{Data: []byte(`CREATE TABLE t3 (a INTEGER); THIS IS NOT SQL;`)}
	ctx := t.Context()

	t.Run("incremental", func(t *testing.T) {
		s := openRaw(t)
		n, err := migrate(ctx, s.write, fstest.MapFS{"migrations/x/0001_one.sql": v1}, "x")
		if err != nil || n != 1 {
			t.Fatalf("first migrate = %d, %v; want 1", n, err)
		}
		n, err = migrate(ctx, s.write, fstest.MapFS{"migrations/x/0001_one.sql": v1, "migrations/x/0002_two.sql": v2}, "x")
		if err != nil || n != 1 {
			t.Fatalf("second migrate = %d, %v; want 1 (only the new one)", n, err)
		}
		if _, err := s.write.ExecContext(ctx, `INSERT INTO t1 (a, c) VALUES (1, 'x')`); err != nil {
			t.Errorf("schema after both migrations: %v", err)
		}
	})

	t.Run("failure rolls back", func(t *testing.T) {
		s := openRaw(t)
		_, err := migrate(ctx, s.write, fstest.MapFS{"migrations/x/0001_one.sql": v1, "migrations/x/0002_bad.sql": bad}, "x")
		if err == nil || !strings.Contains(err.Error(), "0002_bad") {
			t.Fatalf("migrate with a bad file = %v, want an error naming it", err)
		}
		var n int
		if err := s.write.QueryRowContext(ctx,
			`SELECT count(*) FROM sqlite_schema WHERE name IN ('t1', 't1b', 't3', 'schema_migrations')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d tables left by a failed migration, want none", n)
		}
	})

	t.Run("newer database", func(t *testing.T) {
		s := openRaw(t)
		both := fstest.MapFS{"migrations/x/0001_one.sql": v1, "migrations/x/0002_two.sql": v2}
		if _, err := migrate(ctx, s.write, both, "x"); err != nil {
			t.Fatal(err)
		}
		_, err := migrate(ctx, s.write, fstest.MapFS{"migrations/x/0001_one.sql": v1}, "x")
		if err == nil || !strings.Contains(err.Error(), "newer") {
			t.Errorf("migrate with fewer migrations than applied = %v, want a refusal", err)
		}
	})

	for _, tc := range []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"gap", fstest.MapFS{"migrations/x/0001_a.sql": v1, "migrations/x/0003_c.sql": v2}, "gap"},
		{"duplicate", fstest.MapFS{"migrations/x/0001_a.sql": v1, "migrations/x/0001_b.sql": v2}, "duplicate"},
		{"starts at 2", fstest.MapFS{"migrations/x/0002_a.sql": v1}, "gap"},
		{"bad name", fstest.MapFS{"migrations/x/1_a.sql": v1}, "NNNN_name.sql"},
		{"no name", fstest.MapFS{"migrations/x/0001_.sql": v1}, "NNNN_name.sql"},
		{"not sql", fstest.MapFS{"migrations/x/0001_a.txt": v1}, "NNNN_name.sql"},
		{"none", fstest.MapFS{"migrations/y/0001_a.sql": v1}, "migrations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadMigrations(tc.fs, "x")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("loadMigrations = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestEmbeddedMigrationsLoad(t *testing.T) {
	ms, err := loadMigrations(migrationsFS, sqliteDialect.name)
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].version != 1 || ms[0].name != "init" {
		t.Errorf("first embedded SQLite migration is %04d_%s, want 0001_init", ms[0].version, ms[0].name)
	}
}

// The store must be usable with a canceled context only to the point of
// failing cleanly, and must stay usable afterwards.
func TestCanceledContext(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.UpdateRole(ctx, "000000000000", "R", func(*store.Role) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("UpdateRole with a canceled context = %v, want context.Canceled", err)
	}
	if err := s.CreateAccount(t.Context(), store.Account{ID: "000000000000"}); err != nil {
		t.Errorf("CreateAccount after a canceled call: %v", err)
	}
}

// TestStaleVersionConflicts drives the guarded writes of the updates with a
// record read before another update committed, which the single SQLite
// writer never lets happen through the public API: the write must fail with
// ErrConflict and change nothing.
func TestStaleVersionConflicts(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	testStaleVersionConflicts(t, s)
}

// testStaleVersionConflicts is TestStaleVersionConflicts on any store.
func testStaleVersionConflicts(t *testing.T, s *Store) {
	ctx := t.Context()
	const acct = "000000000000"

	t.Run("role", func(t *testing.T) {
		if err := s.CreateRole(ctx, store.Role{AccountID: acct, Name: "R", AttachedPolicyARNs: []string{"arn:a"}}); err != nil {
			t.Fatal(err)
		}
		stale, err := s.GetRole(ctx, acct, "R")
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.UpdateRole(ctx, acct, "R", func(r *store.Role) error { r.Description = "winner"; return nil })
		if err != nil {
			t.Fatal(err)
		}
		err = s.writeTx(ctx, "test", func(q querier) error {
			next := cloneRole(stale)
			next.Description = "loser"
			next.AttachedPolicyARNs = []string{"arn:b"}
			return saveRole(ctx, q, stale, &next)
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("saveRole with a stale version = %v, want ErrConflict", err)
		}
		got, err := s.GetRole(ctx, acct, "R")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("role after a refused stale write (-want +got):\n%s", d)
		}
	})

	t.Run("OIDC provider", func(t *testing.T) {
		arn := "arn:aws:iam::000000000000:oidc-provider/o.example.com"
		if err := s.CreateOIDCProvider(ctx, store.OIDCProvider{AccountID: acct, ARN: arn}); err != nil {
			t.Fatal(err)
		}
		stale, err := s.GetOIDCProvider(ctx, arn)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.UpdateOIDCProvider(ctx, arn, func(p *store.OIDCProvider) error { p.ClientIDs = []string{"winner"}; return nil })
		if err != nil {
			t.Fatal(err)
		}
		err = s.writeTx(ctx, "test", func(q querier) error {
			next := cloneProvider(stale)
			next.ClientIDs = []string{"loser"}
			return saveProvider(ctx, q, stale, &next)
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("saveProvider with a stale version = %v, want ErrConflict", err)
		}
		got, err := s.GetOIDCProvider(ctx, arn)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("provider after a refused stale write (-want +got):\n%s", d)
		}
	})

	t.Run("policy", func(t *testing.T) {
		arn := "arn:aws:iam::000000000000:policy/P"
		if err := s.CreatePolicy(ctx, store.ManagedPolicy{AccountID: acct, Name: "P", ARN: arn,
			Versions: []store.PolicyVersion{{ID: "v1"}}}); err != nil {
			t.Fatal(err)
		}
		stale, err := s.GetPolicy(ctx, arn)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.UpdatePolicy(ctx, arn, func(p *store.ManagedPolicy) error { p.AttachmentCount = 1; return nil })
		if err != nil {
			t.Fatal(err)
		}
		err = s.writeTx(ctx, "test", func(q querier) error {
			next := clonePolicy(stale)
			next.AttachmentCount = 7
			next.Versions = append(next.Versions, store.PolicyVersion{ID: "v2"})
			return savePolicy(ctx, q, stale, &next)
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("savePolicy with a stale version = %v, want ErrConflict", err)
		}
		got, err := s.GetPolicy(ctx, arn)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("policy after a refused stale write (-want +got):\n%s", d)
		}
	})
}
