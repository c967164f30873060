package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"

	"github.com/irsa-dev/irsa/internal/store"
)

var (
	sqlLastAudit   = stmt(`SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`)
	sqlInsertAudit = stmt(`INSERT INTO audit_events (seq, hash, event, event_time, event_source, event_name,
		error_code, source_ip, account_id, principal, role_arn)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`)
	sqlListAudit = stmt(`SELECT ` + auditColumns + ` FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`)
)

const auditColumns = `seq, hash, event, event_time, event_source, event_name, error_code, source_ip, account_id, principal, role_arn`

// AppendAudit implements store.Audit. The records are chained after the
// last one stored, in one write transaction: the single write connection
// (and, across processes, SQLite's write lock) serializes appends, so the
// chain never forks. The commit is synced to disk before it returns.
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
			// The event goes in as text (see 0002_audit.sql); a Go string
			// keeps its bytes as they are.
			if _, err := q.ExecContext(ctx, sqlInsertAudit,
				r.Seq, r.Hash, string(r.Event), encTime(r.EventTime), r.EventSource, r.EventName,
				r.ErrorCode, r.SourceIP, r.AccountID, r.Principal, r.RoleARN); err != nil {
				return s.wrap(op, err)
			}
			out[i] = r
			prev = r.Hash
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
