package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteDialect is SQLite through modernc.org/sqlite.
var sqliteDialect = dialect{name: "sqlite", isUnique: sqliteUnique, rebind: questionMarks}

// busyTimeoutMillis is how long a SQLite connection waits for a lock held
// by another process (another irsa on the same file, `irsa apply` next to
// `irsa up`) before it fails with SQLITE_BUSY.
const busyTimeoutMillis = 10000

// OpenSQLite opens the SQLite database in the file at path, creating it
// (readable by its owner only: it holds secrets) when it does not exist,
// and brings its schema up to date.
//
// The database runs in WAL mode, so reads never wait for the writer. Writes
// go through a single connection whose transactions begin IMMEDIATE, so
// that writers of this process queue instead of failing with SQLITE_BUSY,
// and writers of other processes wait up to a busy timeout. Foreign keys
// are enforced and every commit is synced to disk.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlstore: SQLite database %q: want the path of a file, without URI syntax", path)
	}
	// SQLite gives its -wal and -shm files the permissions of the database
	// file, so creating that one owner-only is enough.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}

	common := url.Values{"_pragma": {
		fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis),
		"foreign_keys(1)",
		"synchronous(FULL)",
	}}

	wq := cloneValues(common)
	wq.Add("_pragma", "journal_mode(WAL)")
	wq.Set("_txlock", "immediate")
	write, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	var mode string
	if err := write.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open %s: %w", path, err), write.Close())
	}
	if !strings.EqualFold(mode, "wal") {
		return nil, errors.Join(fmt.Errorf("sqlstore: open %s: journal mode is %q, want wal", path, mode), write.Close())
	}
	if _, err := migrate(ctx, write, migrationsFS, sqliteDialect.name); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open %s: %w", path, err), write.Close())
	}

	rq := cloneValues(common)
	rq.Add("_pragma", "query_only(1)")
	read, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open %s: %w", path, err), write.Close())
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	if err := read.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open %s: %w", path, err), read.Close(), write.Close())
	}
	s := &Store{read: read, write: write, dialect: sqliteDialect}
	if err := s.prepareAll(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open %s: %w", path, err), s.Close())
	}
	return s, nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// sqliteUnique reports a violated UNIQUE or PRIMARY KEY constraint.
func sqliteUnique(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}
