package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore/auditrow"
)

// The audit trail has a layout per engine. SQLite keeps the records of one
// append in one row of audit_batches (see package auditrow): its cost is
// per row and per page, and one row per group commit is what lets it keep
// up. PostgreSQL keeps one row per record in audit_events: its rows cost
// the database server, not irsa.
var (
	sqlLastAuditSQLite   = dialectStmt("sqlite", `SELECT last_seq, substr(hashes, -32) FROM audit_batches ORDER BY first_seq DESC LIMIT 1`)
	sqlInsertAuditSQLite = dialectStmt("sqlite", `INSERT INTO audit_batches (first_seq, last_seq, first_time, last_time, hashes, events, meta, bounds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`)
	// sqlListAuditSQLite reads from the row holding the record after $1 on,
	// in the order of the primary key.
	sqlListAuditSQLite = dialectStmt("sqlite", `SELECT first_seq, last_seq, first_time, last_time, hashes, events, meta, bounds FROM audit_batches
		WHERE first_seq >= coalesce((SELECT max(first_seq) FROM audit_batches WHERE first_seq <= $1), $1) AND last_seq > $1 ORDER BY first_seq`)
	sqlAuditStartSQLite = dialectStmt("sqlite", `SELECT coalesce((SELECT min(first_seq) - 1 FROM audit_batches WHERE last_time > $1), (SELECT max(last_seq) FROM audit_batches), 0)`)

	sqlLastAuditPostgres        = dialectStmt("postgres", `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`)
	sqlInsertAuditPostgres      = dialectStmt("postgres", insertAudit(1))
	sqlInsertAuditChunkPostgres = dialectStmt("postgres", insertAudit(auditChunk))
	sqlListAuditPostgres        = dialectStmt("postgres", `SELECT `+auditColumns+` FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`)
	sqlAuditStartPostgres       = dialectStmt("postgres", `SELECT coalesce((SELECT min(seq) - 1 FROM audit_events WHERE event_time > $1), (SELECT max(seq) FROM audit_events), 0)`)
)

const auditColumns = `seq, hash, event, event_time, event_source, event_name, error_code, source_ip, account_id, principal, role_arn`

// auditChunk is how many records one INSERT into PostgreSQL's audit_events
// writes: one statement per chunk instead of one per record.
const auditChunk = 16

// auditRowRecords is the most records one row of SQLite's audit_batches
// holds; a larger append (an import) takes several rows.
const auditRowRecords = 256

// insertAudit is the INSERT of n audit records into audit_events.
func insertAudit(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO audit_events (` + auditColumns + `) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for j := range auditFields {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", i*auditFields+j+1)
		}
		b.WriteString(")")
	}
	return b.String()
}

// bytesText is b as a string without a copy; b must not change while the
// string is in use.
func bytesText(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b)) //nolint:gosec // read-only view of an event that no one writes during the INSERT
}

// auditFields is the number of columns of audit_events.
const auditFields = 11

// auditArgs appends the INSERT arguments of r.
func auditArgs(args []any, r *store.AuditRecord) []any {
	// The event goes in as text (see 0002_audit.sql); a Go string keeps
	// its bytes as they are. The string shares the bytes of the store's
	// own copy of the event, which nothing changes.
	return append(args, r.Seq, r.Hash, bytesText(r.Event), encTime(r.EventTime), r.EventSource, r.EventName,
		r.ErrorCode, r.SourceIP, r.AccountID, r.Principal, r.RoleARN)
}

// batched reports whether the store keeps the trail in audit_batches.
func (s *Store) batched() bool { return s.dialect.name == sqliteDialect.name }

// AppendAudit implements store.Audit. The records are chained after the
// last one stored, in one write transaction: the single write connection
// (and, across processes, SQLite's write lock) serializes appends, so the
// chain never forks; on PostgreSQL, whose writers run at once, the
// dialect's lockAudit (a table lock) does. The commit is synced to disk
// before it returns.
func (s *Store) AppendAudit(ctx context.Context, records []store.AuditRecord) ([]store.AuditRecord, error) {
	const op = "append audit"
	if len(records) == 0 {
		return nil, nil
	}
	for i, r := range records {
		if len(r.Event) == 0 {
			return nil, fmt.Errorf("sqlstore: %s: record %d has no event", op, i)
		}
	}
	out := make([]store.AuditRecord, len(records))
	err := s.writeTx(ctx, op, func(q querier) error {
		if lock := s.dialect.lockAudit; lock != "" {
			if _, err := q.ExecContext(ctx, lock); err != nil {
				return failed(op, err)
			}
		}
		last := sqlLastAuditPostgres
		if s.batched() {
			last = sqlLastAuditSQLite
		}
		var seq int64
		prev := make([]byte, sha256.Size)
		err := q.QueryRowContext(ctx, last).Scan(&seq, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return failed(op, err)
		}
		// The hashes of the records share one allocation.
		hashes := make([]byte, 0, sha256.Size*len(records))
		h := sha256.New()
		for i, r := range records {
			seq++
			r.Seq = seq
			h.Reset()
			h.Write(prev)
			h.Write(r.Event)
			hashes = h.Sum(hashes)
			r.Hash = hashes[len(hashes)-sha256.Size : len(hashes) : len(hashes)]
			r.EventTime = normTime(r.EventTime)
			out[i] = r
			prev = r.Hash
		}
		if s.batched() {
			return s.insertAuditRows(ctx, q, out)
		}
		return s.insertAuditRecords(ctx, q, out)
	})
	if err != nil {
		return nil, err
	}
	// The caller's events are not kept: the records returned have copies
	// (SQLite's come from its row, PostgreSQL's are copied here).
	if !s.batched() {
		for i := range out {
			out[i].Event = append([]byte(nil), out[i].Event...)
		}
	}
	return out, nil
}

// insertAuditRows writes recs into audit_batches, auditRowRecords at most
// per row; the records returned share the rows' copies of the events.
func (s *Store) insertAuditRows(ctx context.Context, q querier, recs []store.AuditRecord) error {
	const op = "append audit"
	for rest := recs; len(rest) > 0; {
		n := min(len(rest), auditRowRecords)
		row, err := auditrow.Encode(rest[:n])
		if err != nil {
			return failed(op, err)
		}
		if _, err := q.ExecContext(ctx, sqlInsertAuditSQLite, auditRowArgs(row)...); err != nil {
			return s.wrap(op, err)
		}
		off := 0
		for i := range rest[:n] {
			size := len(rest[i].Event)
			rest[i].Event = row.Events[off : off+size : off+size]
			off += size
		}
		rest = rest[n:]
	}
	return nil
}

// auditRowArgs are the arguments of sqlInsertAuditSQLite for row.
func auditRowArgs(row auditrow.Row) []any {
	return []any{row.FirstSeq, row.LastSeq, row.FirstTime, row.LastTime, row.Hashes, row.Events, row.Meta, row.Bounds}
}

// insertAuditRecords writes recs into audit_events, one row each.
func (s *Store) insertAuditRecords(ctx context.Context, q querier, recs []store.AuditRecord) error {
	const op = "append audit"
	args := make([]any, 0, auditChunk*auditFields)
	for rest := recs; len(rest) > 0; {
		query, n := sqlInsertAuditPostgres, 1
		if len(rest) >= auditChunk {
			query, n = sqlInsertAuditChunkPostgres, auditChunk
		}
		args = args[:0]
		for i := range n {
			args = auditArgs(args, &rest[i])
		}
		if _, err := q.ExecContext(ctx, query, args...); err != nil {
			return s.wrap(op, err)
		}
		rest = rest[n:]
	}
	return nil
}

// ListAudit implements store.Audit. limit must be positive. On SQLite, a
// row of audit_batches whose parts disagree (changed by hand) ends the
// list with a *store.DamagedError naming its records.
func (s *Store) ListAudit(ctx context.Context, afterSeq int64, limit int) ([]store.AuditRecord, error) {
	const op = "list audit"
	if limit <= 0 {
		return nil, fmt.Errorf("sqlstore: %s: limit %d: want a positive limit", op, limit)
	}
	if s.batched() {
		return s.listAuditRows(ctx, afterSeq, limit)
	}
	rows, err := s.reader().QueryContext(ctx, sqlListAuditPostgres, afterSeq, limit)
	if err != nil {
		return nil, failed(op, err)
	}
	out, err := scanAuditRecords(rows)
	if err != nil {
		return nil, failed(op, err)
	}
	return out, nil
}

// scanAuditRecords reads rows of audit_events (auditColumns) and closes
// them.
func scanAuditRecords(rows *sql.Rows) ([]store.AuditRecord, error) {
	var out []store.AuditRecord
	err := scanAll(rows, func() error {
		var r store.AuditRecord
		var event string
		var micros sql.NullInt64
		if err := rows.Scan(&r.Seq, &r.Hash, &event, &micros, &r.EventSource, &r.EventName,
			&r.ErrorCode, &r.SourceIP, &r.AccountID, &r.Principal, &r.RoleARN); err != nil {
			return err
		}
		r.Event = []byte(event)
		r.EventTime = decTime(micros)
		out = append(out, r)
		return nil
	})
	return out, err
}

// errEnough stops the scan of audit_batches once ListAudit has its records.
var errEnough = errors.New("enough records")

// listAuditRows is ListAudit on audit_batches.
func (s *Store) listAuditRows(ctx context.Context, afterSeq int64, limit int) ([]store.AuditRecord, error) {
	const op = "list audit"
	rows, err := s.reader().QueryContext(ctx, sqlListAuditSQLite, afterSeq)
	if err != nil {
		return nil, failed(op, err)
	}
	var out []store.AuditRecord
	err = scanAll(rows, func() error {
		var row auditrow.Row
		if err := rows.Scan(&row.FirstSeq, &row.LastSeq, &row.FirstTime, &row.LastTime,
			&row.Hashes, &row.Events, &row.Meta, &row.Bounds); err != nil {
			return err
		}
		recs, err := auditrow.Decode(row)
		if err != nil {
			return &store.DamagedError{FirstSeq: row.FirstSeq, LastSeq: row.LastSeq, Err: err}
		}
		for _, r := range recs {
			if r.Seq <= afterSeq {
				continue
			}
			out = append(out, r)
			if len(out) == limit {
				return errEnough
			}
		}
		return nil
	})
	var damaged *store.DamagedError
	switch {
	case errors.As(err, &damaged):
		return out, damaged
	case err != nil && !errors.Is(err, errEnough):
		return nil, failed(op, err)
	}
	return out, nil
}

// AuditStart implements store.Audit: one indexed query (per row of
// audit_batches on SQLite, so the records of the row that holds the first
// newer one come too).
func (s *Store) AuditStart(ctx context.Context, t time.Time) (int64, error) {
	query := sqlAuditStartPostgres
	if s.batched() {
		query = sqlAuditStartSQLite
	}
	var after int64
	if err := s.reader().QueryRowContext(ctx, query, t.UnixMicro()).Scan(&after); err != nil {
		return 0, failed("audit start", err)
	}
	return after, nil
}

// migrateAuditBatches moves the rows of SQLite's audit_events into
// audit_batches (0005_audit_batches.sql), as they are: a run of
// consecutive records shares a row, a gap in seq starts another, and the
// stored hashes are kept, so what verification would have found in them
// it still finds. Then audit_events goes.
func migrateAuditBatches(ctx context.Context, tx *sql.Tx) error {
	var after int64 = -1 << 63
	for {
		rows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`, after, auditRowRecords)
		if err != nil {
			return err
		}
		recs, err := scanAuditRecords(rows)
		if err != nil {
			return fmt.Errorf("read audit_events: %w", err)
		}
		if len(recs) == 0 {
			break
		}
		after = recs[len(recs)-1].Seq
		for start := 0; start < len(recs); {
			end := start + 1
			for end < len(recs) && recs[end].Seq == recs[end-1].Seq+1 {
				end++
			}
			for i := start; i < end; i++ {
				// A hash of the wrong size (changed by hand) is kept as
				// 32 bytes that cannot match, so it still shows.
				if len(recs[i].Hash) != auditrow.HashSize {
					recs[i].Hash = make([]byte, auditrow.HashSize)
				}
			}
			row, err := auditrow.Encode(recs[start:end])
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, questionMarks(sqlInsertAuditSQLite), auditRowArgs(row)...); err != nil {
				return fmt.Errorf("write audit_batches: %w", err)
			}
			start = end
		}
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE audit_events`); err != nil {
		return fmt.Errorf("drop audit_events: %w", err)
	}
	return nil
}
