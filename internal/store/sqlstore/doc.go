// Package sqlstore owns the SQL backends of the persistence contract: a
// store.Store on SQLite (modernc.org/sqlite, pure Go; OpenSQLite) and on
// PostgreSQL (pgx's database/sql driver; OpenPostgres), with the schema in
// numbered, embedded migrations per dialect (migrations/<dialect>/
// NNNN_name.sql, recorded in schema_migrations; version N is the same
// schema on both).
//
// The queries are written once, in SQL both engines accept ($N
// placeholders, ON CONFLICT … DO, substr, no engine-specific functions or
// casts), and every list is sorted in Go, so no result depends on a
// collation. What differs between engines is small and kept apart in the
// dialect type: how the connections are opened (sqlite.go, postgres.go),
// the column types of the migrations, how a unique violation is
// recognized, the isolation of read transactions (PostgreSQL reads in
// REPEATABLE READ, for one snapshot per aggregate), how the audit chain's
// appenders are serialized (SQLite's single writer; a table lock on
// PostgreSQL, where replicas write at once), and how an audit query is
// confined (query_only connections; a read-only transaction with a
// statement timeout on a connection that is closed afterwards).
//
// Updates are read-modify-write closures run in one transaction. The write
// is guarded by the row's version column (UPDATE … SET …, version =
// version + 1 WHERE key AND version = the version read), so an update that
// lost a race fails with store.ErrConflict instead of overwriting the
// winner. On SQLite every write goes through a pool of one connection whose
// transactions begin IMMEDIATE: writers queue for the lock (across
// processes, for up to a busy timeout) before they read, so they never
// conflict and never fail with SQLITE_BUSY under load; the version guard is
// what keeps engines with concurrent writers, such as PostgreSQL, honest.
// Reads use a separate pool of read-only connections and, in WAL mode,
// never wait for the writer.
//
// Every statement is a package-level variable registered with stmt and
// prepared on each pool when the store opens: parsing SQL was a large part
// of the cost of a small read.
package sqlstore
