// Package audittamper changes the audit trail of a SQLite store the way
// someone with write access to its file could, for the tests that prove
// such changes are found. irsa itself never imports it.
//
// The SQLite store keeps the records of one append in one row of
// audit_batches (see package auditrow), which SQL alone cannot edit record
// by record. Exec gives a statement the trail as a table of one row per
// record, audit_events (seq, hash, event, event_time, event_source,
// event_name, error_code, source_ip, account_id, principal, role_arn), and
// writes back whatever the statement left in it, one record per row, so
// that the layout is valid and only the change made remains.
package audittamper

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore/auditrow"
)

const columns = `seq, hash, event, event_time, event_source, event_name, error_code, source_ip, account_id, principal, role_arn`

// Exec runs query, with args, over the trail of the SQLite database db
// (opened on the store's file with the modernc.org/sqlite driver) as the
// table audit_events, in one transaction, and returns how many rows it
// changed.
func Exec(ctx context.Context, db *sql.DB, query string, args ...any) (int64, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close() //nolint:errcheck // the transaction's outcome is what matters
	return execConn(ctx, conn, query, args)
}

func execConn(ctx context.Context, conn *sql.Conn, query string, args []any) (changed int64, err error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback())
		}
	}()
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE audit_events (
		seq INTEGER PRIMARY KEY, hash BLOB, event TEXT, event_time INTEGER, event_source TEXT, event_name TEXT,
		error_code TEXT, source_ip TEXT, account_id TEXT, principal TEXT, role_arn TEXT)`); err != nil {
		return 0, err
	}
	var recs []store.AuditRecord
	rows, err := tx.QueryContext(ctx, `SELECT first_seq, last_seq, first_time, last_time, hashes, events, meta, bounds FROM main.audit_batches ORDER BY first_seq`)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var row auditrow.Row
		if err := rows.Scan(&row.FirstSeq, &row.LastSeq, &row.FirstTime, &row.LastTime, &row.Hashes, &row.Events, &row.Meta, &row.Bounds); err != nil {
			return 0, errors.Join(err, rows.Close())
		}
		rs, err := auditrow.Decode(row)
		if err != nil {
			return 0, errors.Join(err, rows.Close())
		}
		recs = append(recs, rs...)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, err
	}
	for _, r := range recs {
		var micros any
		if !r.EventTime.IsZero() {
			micros = r.EventTime.UnixMicro()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO temp.audit_events (`+columns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Seq, r.Hash, string(r.Event), micros, r.EventSource, r.EventName, r.ErrorCode, r.SourceIP, r.AccountID, r.Principal, r.RoleARN); err != nil {
			return 0, err
		}
	}
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", query, err)
	}
	if changed, err = res.RowsAffected(); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM main.audit_batches`); err != nil {
		return 0, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT `+columns+` FROM temp.audit_events ORDER BY seq`)
	if err != nil {
		return 0, err
	}
	var back []store.AuditRecord
	for rows.Next() {
		var r store.AuditRecord
		var event string
		var micros sql.NullInt64
		if err := rows.Scan(&r.Seq, &r.Hash, &event, &micros, &r.EventSource, &r.EventName, &r.ErrorCode, &r.SourceIP, &r.AccountID, &r.Principal, &r.RoleARN); err != nil {
			return 0, errors.Join(err, rows.Close())
		}
		r.Event = []byte(event)
		if micros.Valid {
			r.EventTime = time.UnixMicro(micros.Int64).UTC()
		}
		back = append(back, r)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, err
	}
	for _, r := range back {
		row, err := auditrow.Encode([]store.AuditRecord{r})
		if err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO main.audit_batches (first_seq, last_seq, first_time, last_time, hashes, events, meta, bounds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			row.FirstSeq, row.LastSeq, row.FirstTime, row.LastTime, row.Hashes, row.Events, row.Meta, row.Bounds); err != nil {
			return 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE temp.audit_events`); err != nil {
		return 0, err
	}
	return changed, tx.Commit()
}
