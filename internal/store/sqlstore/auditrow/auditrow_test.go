package auditrow

import (
	"bytes"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/store"
)

func records(first int64, n int) []store.AuditRecord {
	out := make([]store.AuditRecord, n)
	for i := range out {
		out[i] = store.AuditRecord{
			Seq:         first + int64(i),
			Hash:        bytes.Repeat([]byte{byte(i + 1)}, HashSize),
			Event:       []byte(`{"eventName":"GetRole","n":` + strings.Repeat("9", i+1) + `,"note":"é \u00e9"}`),
			EventTime:   time.Date(2026, 11, 23, 10, 0, i, 0, time.UTC),
			EventSource: "iam.amazonaws.com",
			EventName:   "GetRole",
			ErrorCode:   map[bool]string{true: "AccessDenied"}[i%2 == 1],
			SourceIP:    "10.0.0.1",
			AccountID:   "000000000000",
			Principal:   "system:serviceaccount:ns:sa",
			RoleARN:     "arn:aws:iam::000000000000:role/r\xff", // not UTF-8: kept as is
		}
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 7, 256} {
		in := records(41, n)
		in[0].EventTime = time.Time{} // no time
		row, err := Encode(in)
		if err != nil {
			t.Fatal(err)
		}
		if row.FirstSeq != 41 || row.LastSeq != 40+int64(n) {
			t.Errorf("n=%d: seqs %d..%d", n, row.FirstSeq, row.LastSeq)
		}
		if n > 1 {
			want := sql.NullInt64{Int64: in[1].EventTime.UnixMicro(), Valid: true}
			if row.FirstTime != want || row.LastTime.Int64 != in[n-1].EventTime.UnixMicro() {
				t.Errorf("n=%d: time range %v..%v", n, row.FirstTime, row.LastTime)
			}
		} else if row.FirstTime.Valid || row.LastTime.Valid {
			t.Errorf("a row without times has the range %v..%v", row.FirstTime, row.LastTime)
		}
		out, err := Decode(row)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(in, out); d != "" {
			t.Errorf("n=%d: round trip (-in +out):\n%s", n, d)
		}
	}
	row, _ := Encode(records(1, 2))
	if want := `[[0,48],[48,49]]`; row.Bounds != want {
		t.Errorf("bounds %s, want %s", row.Bounds, want)
	}
}

func TestEncodeRefuses(t *testing.T) {
	if _, err := Encode(nil); err == nil {
		t.Error("no records: accepted")
	}
	gap := records(1, 3)
	gap[2].Seq = 5
	if _, err := Encode(gap); err == nil {
		t.Error("a gap in seq: accepted")
	}
	short := records(1, 2)
	short[1].Hash = short[1].Hash[:5]
	if _, err := Encode(short); err == nil {
		t.Error("a short hash: accepted")
	}
}

// TestDecodeDamaged: a row changed by hand, in any of its parts, is
// refused rather than read differently from what the events view shows.
func TestDecodeDamaged(t *testing.T) {
	good, err := Encode(records(1, 3))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(r *Row)
	}{
		{"a byte added to events", func(r *Row) { r.Events = append(r.Events, ' ') }},
		{"a byte cut from events", func(r *Row) { r.Events = r.Events[:len(r.Events)-1] }},
		{"a hash cut", func(r *Row) { r.Hashes = r.Hashes[:len(r.Hashes)-1] }},
		{"one record more claimed", func(r *Row) { r.LastSeq++ }},
		{"one record fewer claimed", func(r *Row) { r.LastSeq-- }},
		{"last before first", func(r *Row) { r.LastSeq = r.FirstSeq - 1 }},
		{"a huge range", func(r *Row) { r.LastSeq = 1 << 62 }},
		{"bounds shifted", func(r *Row) { r.Bounds = strings.Replace(r.Bounds, "[0,", "[1,", 1) }},
		{"bounds spaced", func(r *Row) { r.Bounds = strings.Replace(r.Bounds, ",", ", ", 1) }},
		{"time range moved", func(r *Row) { r.FirstTime.Int64-- }},
		{"time range dropped", func(r *Row) { r.LastTime = sql.NullInt64{} }},
		{"meta layout", func(r *Row) { r.Meta[0] = 2 }},
		{"meta cut", func(r *Row) { r.Meta = r.Meta[:len(r.Meta)-1] }},
		{"meta grown", func(r *Row) { r.Meta = append(r.Meta, 0) }},
		{"meta empty", func(r *Row) { r.Meta = nil }},
		{"a time flag", func(r *Row) { r.Meta[2] = 7 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := good
			r.Events = bytes.Clone(good.Events)
			r.Hashes = bytes.Clone(good.Hashes)
			r.Meta = bytes.Clone(good.Meta)
			tc.change(&r)
			if _, err := Decode(r); !errors.Is(err, ErrDamaged) {
				t.Errorf("Decode = %v, want ErrDamaged", err)
			}
		})
	}
}

// FuzzDecode: Decode never panics and never allocates beyond its input,
// and what it accepts encodes back to the same row.
func FuzzDecode(f *testing.F) {
	for _, n := range []int{1, 3} {
		row, err := Encode(records(1, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(row.FirstSeq, row.LastSeq, row.FirstTime.Int64, row.LastTime.Int64, row.Hashes, row.Events, row.Meta, row.Bounds)
	}
	f.Fuzz(func(t *testing.T, first, last, lo, hi int64, hashes, events, meta []byte, bounds string) {
		row := Row{FirstSeq: first, LastSeq: last, FirstTime: sql.NullInt64{Int64: lo, Valid: lo != 0}, LastTime: sql.NullInt64{Int64: hi, Valid: hi != 0},
			Hashes: hashes, Events: events, Meta: meta, Bounds: bounds}
		recs, err := Decode(row)
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("error %v does not wrap ErrDamaged", err)
			}
			return
		}
		back, err := Encode(recs)
		if err != nil {
			t.Fatalf("Encode of decoded records: %v", err)
		}
		if d := cmp.Diff(row, back); d != "" {
			t.Fatalf("decoded row encodes differently (-row +back):\n%s", d)
		}
	})
}
