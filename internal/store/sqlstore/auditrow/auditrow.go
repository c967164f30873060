// Package auditrow is the layout of the audit trail in the SQLite store:
// the records of one append share one row of the audit_batches table
// instead of taking a row each. SQLite's cost is per row and per page
// written, so one row per group commit costs each event a fraction of what
// its own row did, which is what lets the trail keep up with the calls it
// records.
//
// A row holds, for records first_seq … last_seq (consecutive):
//
//   - hashes: their chain hashes, HashSize bytes each, in order;
//   - events: their CloudTrail JSON records, byte for byte, one after the
//     other;
//   - meta: what the store keeps beside each event (its length, its time
//     and the indexed copies of its fields), in the binary form described
//     at Encode;
//   - bounds: the JSON array [[offset, length], …] of each event in
//     events, which the events view uses to cut them out with SQL;
//   - first_time and last_time: the earliest and latest event time of the
//     records (microseconds; NULL when none has one), for time-bounded
//     scans.
//
// Decode accepts a row only if all of these agree with each other, so a
// row changed by hand is reported as damaged rather than read differently
// by the store and by the events view.
package auditrow

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/irsa-dev/irsa/internal/store"
)

// HashSize is the size of a chain hash (SHA-256).
const HashSize = 32

// metaVersion is the first byte of meta: the layout below.
const metaVersion = 1

// fields is the number of string fields kept per record in meta.
const fields = 7

// minRecordMeta is the fewest meta bytes one record takes: its length, its
// time flag and one length byte per field.
const minRecordMeta = 1 + 1 + fields

// Row is one row of audit_batches.
type Row struct {
	FirstSeq, LastSeq   int64
	FirstTime, LastTime sql.NullInt64
	Hashes              []byte
	Events              []byte
	Meta                []byte
	Bounds              string
}

// Encode lays out records, which must have consecutive Seq values and a
// Hash each, as one row. meta is metaVersion followed by, for each record:
// the length of its event (uvarint); 0 when it has no time, or 1 and its
// time in Unix microseconds (varint); and EventSource, EventName,
// ErrorCode, SourceIP, AccountID, Principal and RoleARN, each as a uvarint
// length and the bytes.
func Encode(records []store.AuditRecord) (Row, error) {
	if len(records) == 0 {
		return Row{}, errors.New("auditrow: no records")
	}
	row := Row{FirstSeq: records[0].Seq, LastSeq: records[len(records)-1].Seq}
	size, metaSize := 0, 1
	for i := range records {
		r := &records[i]
		if r.Seq != row.FirstSeq+int64(i) {
			return Row{}, fmt.Errorf("auditrow: record %d has seq %d, want %d", i, r.Seq, row.FirstSeq+int64(i))
		}
		if len(r.Hash) != HashSize {
			return Row{}, fmt.Errorf("auditrow: record %d has a hash of %d bytes, want %d", r.Seq, len(r.Hash), HashSize)
		}
		size += len(r.Event)
		metaSize += 2*binary.MaxVarintLen64 + 1 + fields*binary.MaxVarintLen32 +
			len(r.EventSource) + len(r.EventName) + len(r.ErrorCode) + len(r.SourceIP) + len(r.AccountID) + len(r.Principal) + len(r.RoleARN)
	}
	row.Hashes = make([]byte, 0, HashSize*len(records))
	row.Events = make([]byte, 0, size)
	meta := make([]byte, 0, metaSize)
	meta = append(meta, metaVersion)
	bounds := make([]byte, 0, 2+len(records)*16)
	bounds = append(bounds, '[')
	for i := range records {
		r := &records[i]
		if i > 0 {
			bounds = append(bounds, ',')
		}
		bounds = append(bounds, '[')
		bounds = strconv.AppendInt(bounds, int64(len(row.Events)), 10)
		bounds = append(bounds, ',')
		bounds = strconv.AppendInt(bounds, int64(len(r.Event)), 10)
		bounds = append(bounds, ']')

		row.Hashes = append(row.Hashes, r.Hash...)
		row.Events = append(row.Events, r.Event...)
		meta = binary.AppendUvarint(meta, uint64(len(r.Event)))
		if r.EventTime.IsZero() {
			meta = append(meta, 0)
		} else {
			us := r.EventTime.UnixMicro()
			meta = append(meta, 1)
			meta = binary.AppendVarint(meta, us)
			row.FirstTime, row.LastTime = widen(row.FirstTime, row.LastTime, us)
		}
		for _, f := range [fields]string{r.EventSource, r.EventName, r.ErrorCode, r.SourceIP, r.AccountID, r.Principal, r.RoleARN} {
			meta = binary.AppendUvarint(meta, uint64(len(f)))
			meta = append(meta, f...)
		}
	}
	bounds = append(bounds, ']')
	row.Meta = meta
	row.Bounds = string(bounds)
	return row, nil
}

// widen is the range [lo, hi] extended to us.
func widen(lo, hi sql.NullInt64, us int64) (sql.NullInt64, sql.NullInt64) {
	if !lo.Valid || us < lo.Int64 {
		lo = sql.NullInt64{Int64: us, Valid: true}
	}
	if !hi.Valid || us > hi.Int64 {
		hi = sql.NullInt64{Int64: us, Valid: true}
	}
	return lo, hi
}

// ErrDamaged is wrapped by Decode's errors: the row does not hold what
// Encode writes.
var ErrDamaged = errors.New("auditrow: damaged row")

// Decode returns the records of row. Their Event and Hash share the
// row's Events and Hashes. A row whose parts disagree (a count, a length,
// the bounds or the time range) is refused with an error wrapping
// ErrDamaged.
func Decode(row Row) ([]store.AuditRecord, error) {
	damaged := func(format string, args ...any) error {
		return fmt.Errorf("%w (records %d to %d): %s", ErrDamaged, row.FirstSeq, row.LastSeq, fmt.Sprintf(format, args...))
	}
	if row.LastSeq < row.FirstSeq {
		return nil, damaged("the last seq is before the first")
	}
	span := uint64(row.LastSeq) - uint64(row.FirstSeq) //nolint:gosec // LastSeq ≥ FirstSeq: the difference fits
	// Every record takes at least minRecordMeta bytes of meta: a row cannot
	// claim more records than its meta could hold.
	if len(row.Meta) < 1 || span >= uint64(len(row.Meta)/minRecordMeta) {
		return nil, damaged("meta holds too few bytes for %d records", span+1)
	}
	n := int(span) + 1 //nolint:gosec // span < len(row.Meta), checked above
	if row.Meta[0] != metaVersion {
		return nil, damaged("meta has layout %d, want %d", row.Meta[0], metaVersion)
	}
	if len(row.Hashes) != HashSize*n {
		return nil, damaged("%d bytes of hashes for %d records", len(row.Hashes), n)
	}
	out := make([]store.AuditRecord, n)
	meta := row.Meta[1:]
	uvarint := func() (uint64, bool) {
		v, k := binary.Uvarint(meta)
		if k <= 0 {
			return 0, false
		}
		meta = meta[k:]
		return v, true
	}
	off := 0
	var lo, hi sql.NullInt64
	bounds := make([]byte, 0, len(row.Bounds))
	bounds = append(bounds, '[')
	for i := range out {
		r := &out[i]
		r.Seq = row.FirstSeq + int64(i)
		r.Hash = row.Hashes[i*HashSize : (i+1)*HashSize : (i+1)*HashSize]
		size, ok := uvarint()
		if !ok || size > uint64(len(row.Events)-off) {
			return nil, damaged("record %d: bad event length", r.Seq)
		}
		if i > 0 {
			bounds = append(bounds, ',')
		}
		bounds = append(bounds, '[')
		bounds = strconv.AppendInt(bounds, int64(off), 10)
		bounds = append(bounds, ',')
		bounds = strconv.AppendUint(bounds, size, 10)
		bounds = append(bounds, ']')
		end := off + int(size) //nolint:gosec // size ≤ len(row.Events)-off, checked above
		r.Event = row.Events[off:end:end]
		off = end
		if len(meta) == 0 {
			return nil, damaged("record %d: meta ends early", r.Seq)
		}
		flag := meta[0]
		meta = meta[1:]
		switch flag {
		case 0:
		case 1:
			us, k := binary.Varint(meta)
			if k <= 0 {
				return nil, damaged("record %d: bad time", r.Seq)
			}
			meta = meta[k:]
			r.EventTime = time.UnixMicro(us).UTC()
			lo, hi = widen(lo, hi, us)
		default:
			return nil, damaged("record %d: bad time flag %d", r.Seq, flag)
		}
		for _, f := range [fields]*string{&r.EventSource, &r.EventName, &r.ErrorCode, &r.SourceIP, &r.AccountID, &r.Principal, &r.RoleARN} {
			size, ok := uvarint()
			if !ok || size > uint64(len(meta)) {
				return nil, damaged("record %d: bad field length", r.Seq)
			}
			*f = string(meta[:size])
			meta = meta[size:]
		}
	}
	bounds = append(bounds, ']')
	switch {
	case len(meta) != 0:
		return nil, damaged("%d bytes of meta after the last record", len(meta))
	case off != len(row.Events):
		return nil, damaged("%d bytes of events after the last record", len(row.Events)-off)
	case string(bounds) != row.Bounds:
		return nil, damaged("the bounds do not match the events")
	case lo != row.FirstTime || hi != row.LastTime:
		return nil, damaged("the time range does not match the events")
	}
	return out, nil
}
