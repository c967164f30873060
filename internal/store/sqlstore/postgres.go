package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgresDialect is PostgreSQL through pgx's database/sql driver.
var postgresDialect = dialect{
	name:           "postgres",
	isUnique:       postgresUnique,
	lockAudit:      sqlLockAuditPostgres,
	lockMigrations: `SELECT pg_advisory_xact_lock(` + migrationLockKey + `)`,
	readIsolation:  sql.LevelRepeatableRead,
	query:          queryPostgres,
	columnName:     eventsColumnName,
}

// sqlLockAuditPostgres serializes the appenders of the audit chain, across
// every process on the database: SHARE ROW EXCLUSIVE conflicts with itself
// (and with writes), not with reads, and it is held until the transaction
// ends. A table lock rather than an advisory lock, because an audit query
// may not take it: its read-only transaction is refused any LOCK. A lock on
// the table rather than on a head row, because the head is the last row of
// audit_events itself, as on SQLite, so there is nothing else to keep in
// step with it.
var sqlLockAuditPostgres = dialectStmt("postgres", `LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE`)

// migrationLockKey is the key of the transaction-level advisory lock the
// migrations of one database take ("irsa" in ASCII).
const migrationLockKey = "1769108321"

// postgresUniqueViolation is SQLSTATE unique_violation (a primary key is a
// unique index).
const postgresUniqueViolation = "23505"

// OpenPostgres opens the PostgreSQL database of dsn (a postgres:// or
// postgresql:// URL, or a key=value connection string; the PG* environment
// variables and the password file fill in what it leaves out, as for psql)
// and brings its schema up to date. The schema lives in the first schema of
// the connection's search_path (public unless the DSN sets search_path).
//
// Reads and writes share one pool. Writers of every replica run
// concurrently: the updates' version guard turns a lost race into
// store.ErrConflict, and AppendAudit takes a table lock so the chain never
// forks. Each commit is durable as the server's synchronous_commit makes it
// (on, by default).
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	where := RedactDSN(dsn)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open PostgreSQL %s: %w", where, err)
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "irsa"
	}
	db := stdlib.OpenDB(*cfg)
	n := max(8, 2*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open PostgreSQL %s: %w", where, err), db.Close())
	}
	if _, err := migrateLocked(ctx, db, migrationsFS, postgresDialect.name, postgresDialect.lockMigrations); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open PostgreSQL %s: %w", where, err), db.Close())
	}
	s := &Store{read: db, write: db, dialect: postgresDialect}
	if err := s.prepareAll(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open PostgreSQL %s: %w", where, err), s.Close())
	}
	return s, nil
}

// IsPostgresDSN reports whether dsn names a PostgreSQL database: a
// postgres:// or postgresql:// URL.
func IsPostgresDSN(dsn string) bool {
	scheme, _, ok := strings.Cut(dsn, "://")
	return ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql"))
}

// RedactDSN is dsn fit for a message: a URL with its password replaced by
// xxxxx, or, for anything else, only that it is a connection string.
func RedactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return "(connection string)"
}

// postgresUnique reports a violated UNIQUE or PRIMARY KEY constraint.
func postgresUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == postgresUniqueViolation
}

// queryPostgres runs an audit query. The statement runs in a read-only
// transaction (PostgreSQL then refuses every write, LOCK, SELECT … FOR
// UPDATE, nextval and the like) with statement and lock timeouts, on a
// connection of its own that is closed afterwards rather than returned to
// the pool, so that nothing a query can change for its session
// (set_config, an advisory lock) outlives it.
func queryPostgres(ctx context.Context, s *Store, query string, timeout time.Duration, each func(*sql.Rows) error) error {
	conn, err := s.read.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close() //nolint:errcheck // the connection is discarded below
	// The driver connection is closed rather than pooled: database/sql
	// discards a connection whose Raw callback reports ErrBadConn.
	defer conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // always ErrBadConn

	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // nothing was written
	ms := strconv.FormatInt(max(timeout.Milliseconds(), 1), 10)
	if _, err := tx.ExecContext(ctx, `SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $1, true)`, ms); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return timedOut(err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err reports what matters
	return timedOut(each(rows))
}

// postgresQueryCanceled is SQLSTATE query_canceled, which the server's
// statement_timeout raises.
const postgresQueryCanceled = "57014"

// timedOut marks a statement the server canceled as timed out: the server's
// statement_timeout and the context's deadline are the same limit, and
// either may fire first.
func timedOut(err error) error {
	var e *pgconn.PgError
	if errors.As(err, &e) && e.Code == postgresQueryCanceled {
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}

// eventsColumns are the columns of the events view as CloudTrail names
// them, by their lower-case PostgreSQL names.
var eventsColumns = func() map[string]string {
	m := map[string]string{}
	for _, c := range []string{"eventVersion", "eventTime", "eventSource", "eventName", "awsRegion",
		"sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestID", "eventID", "eventType",
		"readOnly", "recipientAccountId", "userIdentity", "requestParameters", "responseElements",
		"explanation", "tokenHash"} {
		m[strings.ToLower(c)] = c
	}
	return m
}()

// eventsColumnName gives a result column named as a column of the events
// view folded to lower case its CloudTrail spelling back.
func eventsColumnName(c string) string {
	if n, ok := eventsColumns[c]; ok {
		return n
	}
	return c
}
