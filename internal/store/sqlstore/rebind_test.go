package sqlstore

import "testing"

func TestQuestionMarks(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT a FROM t WHERE x = $1 AND y = $2`: `SELECT a FROM t WHERE x = ? AND y = ?`,
		`INSERT INTO t VALUES ($1, $2), ($3, $4)`: `INSERT INTO t VALUES (?, ?), (?, ?)`,
		`SELECT 1`:                                     `SELECT 1`,
		`SELECT a FROM t WHERE x = $1 OR y = $1`:       `SELECT a FROM t WHERE x = $1 OR y = $1`,
		`SELECT a FROM t WHERE x = $2 AND y = $1`:      `SELECT a FROM t WHERE x = $2 AND y = $1`,
		`SELECT a FROM t WHERE x = '$1' AND y = $1`:    `SELECT a FROM t WHERE x = '$1' AND y = $1`,
		`SELECT a FROM t WHERE x = 'it''s' AND y = $1`: `SELECT a FROM t WHERE x = 'it''s' AND y = ?`,
		`SELECT $`:                      `SELECT $`,
		`SELECT a FROM t WHERE x = $10`: `SELECT a FROM t WHERE x = $10`,
		`account_id = $1 AND substr(path, 1, $2) = $3 AND $4`: `account_id = ? AND substr(path, 1, ?) = ? AND ?`,
	} {
		if got := questionMarks(in); got != want {
			t.Errorf("questionMarks(%q) = %q, want %q", in, got, want)
		}
	}
}
