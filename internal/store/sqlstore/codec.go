package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Times are stored as microseconds since the Unix epoch, NULL for the zero
// time: the precision both SQLite integers and PostgreSQL timestamps keep,
// and no time zone to get wrong.

// encTime is the column value of t.
func encTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// decTime is the time of a column value.
func decTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// normTime is t as it comes back from the database.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}

// encList is the JSON text of a list column; an empty list is "[]".
func encList[T any](v []T) (string, error) {
	if len(v) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decList reads a JSON list column; an empty list is nil.
func decList[T any](col, text string) ([]T, error) {
	var v []T
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, fmt.Errorf("column %s: %w", col, err)
	}
	if len(v) == 0 {
		return nil, nil
	}
	return v, nil
}

// encBytes is the column value of a byte slice: never NULL.
func encBytes(b []byte) []byte {
	if len(b) == 0 {
		return []byte{}
	}
	return b
}

// nilIfEmpty is s, or nil when s is empty.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
