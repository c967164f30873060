package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrRowLimit is returned by QueryAudit, with the rows up to the limit,
// when the query has more rows.
var ErrRowLimit = errors.New("sqlstore: the query returned more rows than the limit")

// Default limits of QueryAudit.
const (
	DefaultQueryRows    = 10000
	DefaultQueryTimeout = 30 * time.Second
)

// QueryAudit runs one SELECT (or WITH … SELECT) statement of the operator's,
// typically over the events view, and returns its column names and rows.
// It refuses anything else; and it runs in a read-only transaction, so a
// write smuggled into a WITH fails: on SQLite on the read pool, whose
// connections are query_only; on PostgreSQL on a connection of its own,
// closed afterwards (see queryPostgres). At most maxRows rows come back
// (DefaultQueryRows when maxRows ≤ 0): when the query has more, they come
// with ErrRowLimit. The query is interrupted after timeout
// (DefaultQueryTimeout when ≤ 0). Values are as the driver gives them:
// int64, float64, bool, time.Time, string (JSON included), []byte (BLOBs,
// bytea) or nil. On PostgreSQL, a result column named as a column of the
// events view folded to lower case (eventname) gets its CloudTrail name
// back (eventName).
func (s *Store) QueryAudit(ctx context.Context, query string, maxRows int, timeout time.Duration) ([]string, [][]any, error) {
	const op = "audit query"
	if err := checkSelect(query); err != nil {
		return nil, nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if maxRows <= 0 {
		maxRows = DefaultQueryRows
	}
	if timeout <= 0 {
		timeout = DefaultQueryTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	run := s.dialect.query
	if run == nil {
		run = queryReadOnly
	}
	var cols []string
	out := [][]any{}
	err := run(ctx, s, query, timeout, func(rows *sql.Rows) error {
		var err error
		if cols, err = rows.Columns(); err != nil {
			return err
		}
		types, err := rows.ColumnTypes()
		if err != nil {
			return err
		}
		for rows.Next() {
			if len(out) == maxRows {
				return errRowLimit
			}
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					if isJSONType(types[i].DatabaseTypeName()) {
						vals[i] = string(b) // JSON is text, not a BLOB
					} else {
						vals[i] = append([]byte{}, b...)
					}
				}
			}
			out = append(out, vals)
		}
		return rows.Err()
	})
	if rename := s.dialect.columnName; rename != nil {
		for i, c := range cols {
			cols[i] = rename(c)
		}
	}
	switch {
	case errors.Is(err, errRowLimit):
		return cols, out, fmt.Errorf("sqlstore: %s: %w (%d)", op, ErrRowLimit, maxRows)
	case err != nil:
		return nil, nil, queryFailed(ctx, op, timeout, err)
	}
	return cols, out, nil
}

// errRowLimit stops the scan of a query's rows at the limit.
var errRowLimit = errors.New("row limit")

// isJSONType reports whether a column of the named database type holds
// JSON text.
func isJSONType(name string) bool {
	return strings.EqualFold(name, "JSON") || strings.EqualFold(name, "JSONB")
}

// queryReadOnly runs an audit query in a read-only transaction of the read
// pool, interrupted when ctx ends (SQLite, whose read connections are
// query_only).
func queryReadOnly(ctx context.Context, s *Store, query string, _ time.Duration, each func(*sql.Rows) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // nothing was written
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close() //nolint:errcheck // rows.Err reports what matters
	return each(rows)
}

// queryFailed names a timeout as such.
func queryFailed(ctx context.Context, op string, timeout time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sqlstore: %s: interrupted after %v: %w", op, timeout, context.DeadlineExceeded)
	}
	return failed(op, err)
}

// checkSelect accepts one statement that starts with SELECT, WITH or
// VALUES, optionally ended by a semicolon, with comments anywhere.
func checkSelect(q string) error {
	first := ""
	end := -1 // the index of a terminating ';'
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case strings.HasPrefix(q[i:], "--"):
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				i = len(q)
			} else {
				i += j + 1
			}
		case strings.HasPrefix(q[i:], "/*"):
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				return errors.New("unterminated comment")
			}
			i += 2 + j + 2
		case end >= 0:
			return errors.New("only one statement is allowed")
		case c == '\'' || c == '"' || c == '`' || c == '[':
			closing := c
			if c == '[' {
				closing = ']'
			}
			j := i + 1
			for {
				k := strings.IndexByte(q[j:], closing)
				if k < 0 {
					return errors.New("unterminated quote")
				}
				j += k + 1
				// A doubled quote is an escaped one, except for [ ].
				if closing != ']' && j < len(q) && q[j] == closing {
					j++
					continue
				}
				break
			}
			if first == "" {
				return errors.New("want a SELECT statement")
			}
			i = j
		case c == ';':
			if first == "" {
				return errors.New("empty statement")
			}
			end = i
			i++
		default:
			j := i
			for j < len(q) && (q[j] == '_' || 'a' <= q[j]|0x20 && q[j]|0x20 <= 'z') {
				j++
			}
			if j == i {
				j = i + 1
			}
			if first == "" {
				first = strings.ToUpper(q[i:j])
				switch first {
				case "SELECT", "WITH", "VALUES":
				default:
					return fmt.Errorf("only SELECT statements are allowed, not %s", first)
				}
			}
			i = j
		}
	}
	if first == "" {
		return errors.New("empty statement")
	}
	return nil
}
