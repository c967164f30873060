package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/irsa-dev/irsa/internal/store"
)

var (
	sqlLastAudit        = stmt(`SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`)
	sqlInsertAudit      = stmt(insertAudit(1))
	sqlInsertAuditChunk = stmt(insertAudit(auditChunk))
	sqlListAudit        = stmt(`SELECT ` + auditColumns + ` FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`)
)

const auditColumns = `seq, hash, event, event_time, event_source, event_name, error_code, source_ip, account_id, principal, role_arn`

// auditChunk is how many records one INSERT of AppendAudit writes: one
// statement per chunk instead of one per record, for group commit's
// batches.
const auditChunk = 16

// insertAudit is the INSERT of n audit records.
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
		var seq int64
		prev := make([]byte, sha256.Size)
		err := q.QueryRowContext(ctx, sqlLastAudit).Scan(&seq, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return failed(op, err)
		}
		for i, r := range records {
			seq++
			r.Seq = seq
			r.Hash = chainHash(prev, r.Event)
			r.Event = append([]byte(nil), r.Event...)
			r.EventTime = normTime(r.EventTime)
			out[i] = r
			prev = r.Hash
		}
		args := make([]any, 0, auditChunk*auditFields)
		for rest := out; len(rest) > 0; {
			query, n := sqlInsertAudit, 1
			if len(rest) >= auditChunk {
				query, n = sqlInsertAuditChunk, auditChunk
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
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// chainHash is the hash of a record of the audit chain: SHA-256 of the
// previous record's hash followed by the event.
func chainHash(prev, event []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(event)
	return h.Sum(nil)
}

// ListAudit implements store.Audit. limit must be positive.
func (s *Store) ListAudit(ctx context.Context, afterSeq int64, limit int) ([]store.AuditRecord, error) {
	const op = "list audit"
	if limit <= 0 {
		return nil, fmt.Errorf("sqlstore: %s: limit %d: want a positive limit", op, limit)
	}
	rows, err := s.reader().QueryContext(ctx, sqlListAudit, afterSeq, limit)
	if err != nil {
		return nil, failed(op, err)
	}
	var out []store.AuditRecord
	err = scanAll(rows, func() error {
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
	if err != nil {
		return nil, failed(op, err)
	}
	return out, nil
}
