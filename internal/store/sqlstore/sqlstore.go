package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/irsa-dev/irsa/internal/store"
)

// Store is a store.Store on a SQL database. It is safe for concurrent use.
//
// The fn given to an Update method runs inside the write transaction: it
// must not write to the same Store (on SQLite that would wait for the one
// write connection fn's own update holds), and it should be quick.
type Store struct {
	// read serves reads; write serves every transaction that writes. On
	// SQLite they are two pools on one file; on PostgreSQL they would be
	// the same pool.
	read    *sql.DB
	write   *sql.DB
	dialect dialect

	// stmts holds every statement of the package prepared on each pool:
	// parsing the SQL is much of the cost of a small query. Filled by
	// prepareAll before the Store is shared, read-only afterwards.
	stmts map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// statements lists the SQL of the package, registered by stmt.
var statements []string

// dialectStatements lists, by dialect name, the SQL that only one engine
// runs (registered by dialectStmt).
var dialectStatements = map[string][]string{}

// stmt registers a statement to prepare when a Store opens. Every query the
// package runs goes through it, as a package-level variable.
func stmt(query string) string {
	statements = append(statements, query)
	return query
}

// dialectStmt registers a statement that only the named dialect runs, to
// prepare when a Store of that dialect opens.
func dialectStmt(dialect, query string) string {
	dialectStatements[dialect] = append(dialectStatements[dialect], query)
	return query
}

// pathPrefixMatch selects the rows of account $1 whose path starts with $3,
// $2 being the length of $3 in characters. substr counts characters in both
// engines, and unlike LIKE it has no wildcards.
const pathPrefixMatch = `account_id = $1 AND substr(path, 1, $2) = $3`

// prepareAll prepares every registered statement on each pool. database/sql
// prepares a statement again, lazily, on each connection that runs it.
func (s *Store) prepareAll(ctx context.Context) error {
	s.stmts = map[stmtKey]*sql.Stmt{}
	for _, db := range []*sql.DB{s.read, s.write} {
		if _, done := s.stmts[stmtKey{db, statements[0]}]; done {
			continue // one pool for both
		}
		for _, q := range slices.Concat(statements, dialectStatements[s.dialect.name]) {
			text := q
			if s.dialect.rebind != nil {
				text = s.dialect.rebind(q)
			}
			st, err := db.PrepareContext(ctx, text)
			if err != nil {
				return fmt.Errorf("prepare %q: %w", q, err)
			}
			s.stmts[stmtKey{db, q}] = st
		}
	}
	return nil
}

var _ store.Store = (*Store)(nil)

// dialect is everything that differs between SQL engines.
type dialect struct {
	// name is the engine's name, and the directory of its migrations.
	name string
	// isUnique reports whether err is a unique or primary key violation.
	isUnique func(err error) bool
	// rebind, when set, rewrites a registered statement ($1, $2, …
	// placeholders) into the text the engine prepares.
	rebind func(query string) string
	// lockAudit, when set, is run in AppendAudit's transaction before the
	// head of the chain is read, to serialize appenders that the engine
	// would otherwise let run at once (PostgreSQL).
	lockAudit string
	// lockMigrations, when set, is run first in the migration transaction,
	// so that processes opening one new database migrate it one at a time.
	lockMigrations string
	// query, when set, runs an audit query for QueryAudit (see
	// auditquery.go); nil runs it in a read-only transaction of the read
	// pool.
	query func(ctx context.Context, s *Store, query string, timeout time.Duration, each func(*sql.Rows) error) error
	// readIsolation is the isolation level of readTx's transactions: one
	// snapshot for all their statements (SQLite's transactions always have
	// one; PostgreSQL's READ COMMITTED takes one per statement).
	readIsolation sql.IsolationLevel
	// columnName, when set, renames a result column of QueryAudit.
	columnName func(string) string
}

// Close closes the database. Calls after the first do nothing. The prepared
// statements go with the connections they live on; after Close they fail
// with database/sql's "database is closed".
func (s *Store) Close() error {
	if s.read == s.write {
		return s.write.Close()
	}
	return errors.Join(s.read.Close(), s.write.Close())
}

// Ping checks that the database answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	return nil
}

// querier runs statements on a pool, or in a transaction of that pool,
// through the cache of prepared statements.
type querier struct {
	s  *Store
	db *sql.DB
	tx *sql.Tx // nil outside a transaction
}

func (s *Store) reader() querier { return querier{s: s, db: s.read} }
func (s *Store) writer() querier { return querier{s: s, db: s.write} }

// unprepared counts the queries that ran without a prepared statement
// because nobody registered them: the tests want none.
var unprepared atomic.Int64

// stmt returns the prepared statement for query, or nil for a query that
// was not registered, which then runs unprepared.
func (q querier) stmt(ctx context.Context, query string) *sql.Stmt {
	st := q.s.stmts[stmtKey{q.db, query}]
	if st == nil {
		unprepared.Add(1)
		return nil
	}
	if q.tx != nil {
		// Reuses the statement prepared on the transaction's connection,
		// or prepares it there; never waits for another connection.
		return q.tx.StmtContext(ctx, st)
	}
	return st
}

func (q querier) raw() interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
} {
	if q.tx != nil {
		return q.tx
	}
	return q.db
}

// ExecContext runs a statement that returns no rows.
func (q querier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.raw().ExecContext(ctx, query, args...)
}

// QueryContext runs a query.
func (q querier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.raw().QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query of one row.
func (q querier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.raw().QueryRowContext(ctx, query, args...)
}

// readTx runs fn in a read-only transaction, so that the queries of one
// aggregate see one snapshot.
func (s *Store) readTx(ctx context.Context, op string, fn func(q querier) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.dialect.readIsolation})
	if err != nil {
		return fmt.Errorf("sqlstore: %s: begin: %w", op, err)
	}
	defer tx.Rollback() //nolint:errcheck // nothing was written
	if err := fn(querier{s: s, db: s.read, tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: %s: commit: %w", op, err)
	}
	return nil
}

// writeTx runs fn in a write transaction and commits it when fn succeeds.
// fn's error is returned as is; when fn fails, or panics, the transaction
// is rolled back.
func (s *Store) writeTx(ctx context.Context, op string, fn func(q querier) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: %s: begin: %w", op, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit; a failed rollback also ends the transaction
	if err := fn(querier{s: s, db: s.write, tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: %s: commit: %w", op, err)
	}
	return nil
}

// exec runs one statement that writes, outside any explicit transaction.
func (s *Store) exec(ctx context.Context, op, query string, args ...any) (sql.Result, error) {
	res, err := s.writer().ExecContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return res, nil
}

// wrap gives err the operation's name, and turns a unique violation into
// store.ErrAlreadyExists. It is for the statements that create a record;
// failures of the others go through failed.
func (s *Store) wrap(op string, err error) error {
	if s.dialect.isUnique(err) {
		return fmt.Errorf("sqlstore: %s: %w", op, store.ErrAlreadyExists)
	}
	return failed(op, err)
}

// failed gives err the operation's name.
func failed(op string, err error) error {
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// notFound is the error for a missing record.
func notFound(what, key string) error {
	return fmt.Errorf("sqlstore: %s %q: %w", what, key, store.ErrNotFound)
}

// mustAffect turns a statement that changed no row into err.
func mustAffect(res sql.Result, op string, err error) error {
	n, rerr := res.RowsAffected()
	if rerr != nil {
		return fmt.Errorf("sqlstore: %s: rows affected: %w", op, rerr)
	}
	if n == 0 {
		return err
	}
	return nil
}

// guarded checks the result of an UPDATE guarded by the version read: no
// row changed means another writer got there first.
func guarded(res sql.Result, what, key string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("rows affected: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%s %q changed since it was read: %w", what, key, store.ErrConflict)
	}
	return nil
}

// keyChanged is the error of an update whose fn changed the record's key.
func keyChanged(what, key, field string) error {
	return fmt.Errorf("sqlstore: update of %s %q: fn changed the key field %s", what, key, field)
}
