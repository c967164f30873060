package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// migrationsFS holds one directory of numbered migrations per dialect:
// migrations/<dialect>/NNNN_name.sql, applied in order and never edited once
// released (a change is a new file).
//
//go:embed migrations
var migrationsFS embed.FS

// migration is one schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrationKey names one migration of one dialect.
type migrationKey struct {
	dir     string
	version int
}

// migrationSteps are the parts of migrations that SQL alone does not
// express well, run in the migration's transaction right after its SQL.
var migrationSteps = map[migrationKey]func(ctx context.Context, tx *sql.Tx) error{
	{"sqlite", 5}: migrateAuditBatches,
}

// loadMigrations reads the migrations of dir in fsys. Their versions must
// run 1, 2, 3… without gaps or duplicates.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, path.Join("migrations", dir))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		file := e.Name()
		num, rest, ok := strings.Cut(file, "_")
		name, isSQL := strings.CutSuffix(rest, ".sql")
		v, err := strconv.Atoi(num)
		if e.IsDir() || !ok || !isSQL || name == "" || len(num) != 4 || err != nil || v < 1 {
			return nil, fmt.Errorf("migrations: %s/%s: want a file named NNNN_name.sql", dir, file)
		}
		body, err := fs.ReadFile(fsys, path.Join("migrations", dir, file))
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	// ReadDir sorts by file name, which the four-digit prefix makes the
	// version order.
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations: %s: version %d where %d was expected (a gap or a duplicate)", dir, m.version, i+1)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("migrations: %s: none found", dir)
	}
	return out, nil
}

// migrate brings the schema of db up to the migrations of dir in fsys and
// returns how many it applied. All of it happens in one transaction, so two
// processes opening one new database do not both migrate it, and a failing
// migration leaves the schema as it was. A database that has migrations this
// binary does not know (written by a newer irsa) is refused.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS, dir string) (int, error) {
	return migrateLocked(ctx, db, fsys, dir, "")
}

// migrateLocked is migrate with lock, when not empty, run first in the
// transaction: on engines whose writers do not exclude each other (on
// PostgreSQL, two processes could both see no schema_migrations and both
// create it), it makes migrations of one database run one at a time.
func migrateLocked(ctx context.Context, db *sql.DB, fsys fs.FS, dir, lock string) (int, error) {
	ms, err := loadMigrations(fsys, dir)
	if err != nil {
		return 0, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("migrations: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if lock != "" {
		if _, err := tx.ExecContext(ctx, lock); err != nil {
			return 0, fmt.Errorf("migrations: lock: %w", err)
		}
	}

	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT NOT NULL PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return 0, fmt.Errorf("migrations: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return 0, fmt.Errorf("migrations: read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			_ = rows.Close()
			return 0, fmt.Errorf("migrations: read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("migrations: read schema_migrations: %w", err)
	}
	for v := range applied {
		if v > len(ms) {
			return 0, fmt.Errorf("migrations: the database has schema version %d, newer than the %d this irsa knows: use a newer irsa", v, len(ms))
		}
	}

	n := 0
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return 0, fmt.Errorf("migrations: %04d_%s: %w", m.version, m.name, err)
		}
		if step := migrationSteps[migrationKey{dir, m.version}]; step != nil {
			if err := step(ctx, tx); err != nil {
				return 0, fmt.Errorf("migrations: %04d_%s: %w", m.version, m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, time.Now().UnixMicro()); err != nil {
			return 0, fmt.Errorf("migrations: record %04d_%s: %w", m.version, m.name, err)
		}
		n++
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("migrations: commit: %w", err)
	}
	return n, nil
}
