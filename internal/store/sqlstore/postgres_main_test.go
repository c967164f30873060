package sqlstore

import (
	"testing"

	"github.com/irsa-dev/irsa/internal/store/sqlstore/pgtest"
)

// TestMain stops the PostgreSQL server the tests started (see pgtest).
func TestMain(m *testing.M) { pgtest.Main(m) }

// pgDSN is the DSN of a new, empty schema on the test server; it skips the
// test without one (fails it when CI=true).
func pgDSN(t testing.TB) string {
	t.Helper()
	return pgtest.DSN(t)
}

// openPostgresTemp opens a store on a new schema of the test server.
func openPostgresTemp(t testing.TB) *Store {
	t.Helper()
	s, err := OpenPostgres(t.Context(), pgDSN(t))
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	return s
}
