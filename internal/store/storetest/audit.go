package storetest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/store"
)

// chain is the audit hash of event after prev: SHA-256(prev || event).
func chain(prev, event []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(event)
	return h.Sum(nil)
}

// auditRec is a record as a caller hands it to AppendAudit.
func auditRec(n int, name string) store.AuditRecord {
	return store.AuditRecord{
		// JSON with non-ASCII text and escapes, to be kept byte for byte.
		Event:       []byte(fmt.Sprintf(`{"eventName":%q,"n":%d,"note":"é \u00e9 \"q\""}`, name, n)),
		EventTime:   at(n),
		EventSource: "sts.amazonaws.com",
		EventName:   name,
		ErrorCode:   map[bool]string{true: "AccessDenied"}[n%2 == 1],
		SourceIP:    "10.0.0.1",
		AccountID:   acctA,
		Principal:   "system:serviceaccount:ns:sa",
		RoleARN:     "arn:aws:iam::" + acctA + ":role/r",
	}
}

// wantChain fails the test unless recs run from Seq first without gaps and
// each Hash follows from prev and the events.
func wantChain(t *testing.T, op string, recs []store.AuditRecord, first int64, prev []byte) {
	t.Helper()
	for i, r := range recs {
		if r.Seq != first+int64(i) {
			t.Fatalf("%s: record %d has Seq %d, want %d", op, i, r.Seq, first+int64(i))
		}
		if want := chain(prev, r.Event); !bytes.Equal(r.Hash, want) {
			t.Fatalf("%s: record %d (Seq %d) has Hash %x, want %x", op, i, r.Seq, r.Hash, want)
		}
		prev = r.Hash
	}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()

	got, err := s.ListAudit(ctx, 0, 10)
	must(t, "ListAudit empty", err)
	if len(got) != 0 {
		t.Fatalf("ListAudit on an empty store = %v, want none", got)
	}
	none, err := s.AppendAudit(ctx, nil)
	must(t, "AppendAudit nothing", err)
	if len(none) != 0 {
		t.Fatalf("AppendAudit(nil) = %v, want none", none)
	}

	in := []store.AuditRecord{auditRec(1, "AssumeRoleWithWebIdentity"), auditRec(2, "GetCallerIdentity"), auditRec(3, "AssumeRole")}
	// Seq and Hash given by the caller are ignored.
	in[0].Seq, in[0].Hash = 42, []byte("bogus")
	first, err := s.AppendAudit(ctx, in)
	must(t, "AppendAudit", err)
	wantChain(t, "AppendAudit", first, 1, make([]byte, sha256.Size))
	for i := range in {
		want := in[i]
		want.Seq, want.Hash = first[i].Seq, first[i].Hash
		diff(t, fmt.Sprintf("AppendAudit record %d", i), first[i], want)
	}

	// The caller's buffers are not kept.
	in[1].Event[2] = 'X'

	second, err := s.AppendAudit(ctx, []store.AuditRecord{auditRec(4, "CreateRole"), auditRec(5, "GetRole")})
	must(t, "AppendAudit second", err)
	wantChain(t, "AppendAudit second", second, 4, first[2].Hash)

	all, err := s.ListAudit(ctx, 0, 100)
	must(t, "ListAudit", err)
	diff(t, "ListAudit", all, append(append([]store.AuditRecord{}, first...), second...))
	for _, r := range all {
		utcOnly(t, "ListAudit", r.EventTime)
	}

	page, err := s.ListAudit(ctx, 2, 2)
	must(t, "ListAudit page", err)
	diff(t, "ListAudit after 2, limit 2", page, all[2:4])
	page, err = s.ListAudit(ctx, 5, 2)
	must(t, "ListAudit past the end", err)
	if len(page) != 0 {
		t.Errorf("ListAudit after the last = %v, want none", page)
	}
	page, err = s.ListAudit(ctx, -7, 1)
	must(t, "ListAudit from a negative seq", err)
	diff(t, "ListAudit from a negative seq", page, all[:1])

	_, err = s.ListAudit(ctx, 0, 0)
	wantPlainErr(t, "ListAudit limit 0", err)

	// A record without an event is refused, and the whole batch with it.
	_, err = s.AppendAudit(ctx, []store.AuditRecord{auditRec(6, "GetRole"), {EventName: "Empty"}})
	wantPlainErr(t, "AppendAudit without an event", err)
	after, err := s.ListAudit(ctx, 0, 100)
	must(t, "ListAudit after a refused batch", err)
	diff(t, "ListAudit after a refused batch", after, all)
}

func testAuditZeroFields(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Only the event is required; a zero time stays zero.
	in := store.AuditRecord{Event: []byte(`{}`)}
	got, err := s.AppendAudit(ctx, []store.AuditRecord{in})
	must(t, "AppendAudit", err)
	list, err := s.ListAudit(ctx, 0, 10)
	must(t, "ListAudit", err)
	want := in
	want.Seq, want.Hash = 1, chain(make([]byte, sha256.Size), in.Event)
	diff(t, "AppendAudit", got, []store.AuditRecord{want})
	diff(t, "ListAudit", list, []store.AuditRecord{want})
}

func testAuditConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const writers, each = 16, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	batches := make([][]store.AuditRecord, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var in []store.AuditRecord
			for i := range each {
				in = append(in, auditRec(w*each+i, fmt.Sprintf("W%d", w)))
			}
			out, err := s.AppendAudit(ctx, in)
			if err != nil {
				errs <- err
				return
			}
			batches[w] = out
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent AppendAudit: %v", err)
	}
	all, err := s.ListAudit(ctx, 0, writers*each+10)
	must(t, "ListAudit", err)
	if len(all) != writers*each {
		t.Fatalf("ListAudit has %d records, want %d", len(all), writers*each)
	}
	wantChain(t, "ListAudit after concurrent appends", all, 1, make([]byte, sha256.Size))
	// Each batch is contiguous and is what is stored at its Seqs.
	for w, b := range batches {
		start := b[0].Seq - 1
		diff(t, fmt.Sprintf("batch %d", w), b, all[start:start+each])
	}
}

// testAuditStart: AuditStart finds where the records newer than a time
// begin, for time-bounded scans.
func testAuditStart(t *testing.T, s store.Store) {
	ctx := t.Context()
	h0 := t0.Add(time.Hour)
	start := func(op string, from time.Time) int64 {
		t.Helper()
		n, err := s.AuditStart(ctx, from)
		must(t, op, err)
		return n
	}
	if n := start("AuditStart on an empty trail", h0); n != 0 {
		t.Errorf("AuditStart on an empty trail = %d, want 0", n)
	}
	for i := range 10 { // records 1..10, an hour apart, one append each
		r := auditRec(i, "GetCallerIdentity")
		r.EventTime = h0.Add(time.Duration(i) * time.Hour)
		_, err := s.AppendAudit(ctx, []store.AuditRecord{r})
		must(t, "AppendAudit", err)
	}
	for _, c := range []struct {
		from time.Time
		want int64
	}{
		{h0.Add(-time.Hour), 0},                // everything is newer
		{h0.Add(6*time.Hour + time.Minute), 7}, // records 8.. are newer
		{h0.Add(6 * time.Hour), 7},             // strictly after from
		{h0.Add(24 * time.Hour), 10},           // nothing newer: the last seq
	} {
		if n := start("AuditStart", c.from); n != c.want {
			t.Errorf("AuditStart(%s) = %d, want %d", c.from, n, c.want)
		}
	}
	// Records appended together, the newest first: the answer may come
	// before the first newer record, never after it.
	var in []store.AuditRecord
	for i := range 3 { // records 11..13
		r := auditRec(10+i, "AssumeRole")
		r.EventTime = h0.Add(time.Duration(30-i) * time.Hour)
		in = append(in, r)
	}
	_, err := s.AppendAudit(ctx, in)
	must(t, "AppendAudit together", err)
	if n := start("AuditStart", h0.Add(28*time.Hour+time.Minute)); n < 10 || n > 11 {
		t.Errorf("AuditStart before record 12 = %d, want 10 or 11", n)
	}
	if n := start("AuditStart", h0.Add(31*time.Hour)); n != 13 {
		t.Errorf("AuditStart after every record = %d, want 13", n)
	}
}

// testAuditLargeAppend: an append larger than a store's batch (an import)
// is stored and read back whole, in order, in pages.
func testAuditLargeAppend(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 700
	in := make([]store.AuditRecord, n)
	for i := range in {
		in[i] = auditRec(i, "GetRole")
	}
	first, err := s.AppendAudit(ctx, in[:1])
	must(t, "AppendAudit one", err)
	rest, err := s.AppendAudit(ctx, in[1:])
	must(t, "AppendAudit the rest", err)
	wantChain(t, "AppendAudit the rest", rest, 2, first[0].Hash)
	var all []store.AuditRecord
	for after := int64(0); ; {
		page, err := s.ListAudit(ctx, after, 97)
		must(t, "ListAudit page", err)
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
	diff(t, "ListAudit in pages", all, append(first, rest...))
}
