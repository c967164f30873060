package cli

import (
	"testing"

	"github.com/irsa-dev/irsa/internal/store/sqlstore/pgtest"
)

// TestMain stops the PostgreSQL server that the --store tests start (see
// pgtest); the other tests never start it.
func TestMain(m *testing.M) { pgtest.Main(m) }
