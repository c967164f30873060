package audit

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/irsa-dev/irsa/internal/store"
)

// ChainHash is the Hash of a record whose predecessor has Hash prev:
// SHA-256(prev || event). prev of the first record is ZeroHash.
func ChainHash(prev, event []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(event)
	return h.Sum(nil)
}

// ZeroHash is the Hash before the first record.
var ZeroHash = make([]byte, sha256.Size)

// Kinds of Problem.
const (
	// ProblemModified: a record's Hash does not follow from its event and
	// its predecessor's Hash: the event or the hash was changed.
	ProblemModified = "modified"
	// ProblemDeleted: Seqs are missing (Seq..LastSeq).
	ProblemDeleted = "deleted"
	// ProblemReordered: a record is intact but chained after another
	// record than the one before it: records were moved.
	ProblemReordered = "reordered"
	// ProblemTruncated: a checkpoint names a record past the end of the
	// trail.
	ProblemTruncated = "truncated"
	// ProblemRewritten: the record a checkpoint names has another Hash
	// than the checkpoint: the chain up to it was rebuilt.
	ProblemRewritten = "rewritten"
	// ProblemDamaged: records (Seq..LastSeq, as stored) cannot be read
	// back at all: their storage was changed by hand.
	ProblemDamaged = "damaged"
	// ProblemCheckpoint: a stored checkpoint is not validly signed.
	ProblemCheckpoint = "bad-checkpoint"
)

// Problem is one finding of Verify.
type Problem struct {
	Kind    string `json:"kind"`
	Seq     int64  `json:"seq"`
	LastSeq int64  `json:"lastSeq"` // the end of a range; Seq otherwise
	Message string `json:"message"`
}

// Report is what Verify found.
type Report struct {
	Records     int64     `json:"records"`  // records read
	FirstSeq    int64     `json:"firstSeq"` // 0 for an empty trail
	LastSeq     int64     `json:"lastSeq"`
	LastHash    string    `json:"lastHash"` // hex; "" for an empty trail
	Checkpoints int       `json:"checkpoints"`
	Problems    []Problem `json:"problems"`
}

// OK reports whether the trail passed.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// verifyPage is how many records Verify reads at a time.
const verifyPage = 1000

// maxReorderSearch bounds the broken links Verify tries to explain as
// moved records (each costs a pass over the trail); beyond it they are
// reported as modified.
const maxReorderSearch = 64

// Verify walks the whole trail, recomputing every Hash, and reports
// modified records, deleted ones (gaps in Seq), moved ones, and, against
// each checkpoint (already opened, so signed, see OpenCheckpoint), a trail
// cut after the checkpoint or rebuilt before it. The error is for a trail
// that could not be read, not for what was found.
func Verify(ctx context.Context, st store.Audit, checkpoints ...Checkpoint) (*Report, error) {
	rep := &Report{Checkpoints: len(checkpoints), Problems: []Problem{}}
	want := map[int64][]Checkpoint{}
	for _, c := range checkpoints {
		want[c.Seq] = append(want[c.Seq], c)
	}
	type broken struct {
		seq   int64
		event []byte
		hash  []byte
	}
	var links []broken
	prev, last := ZeroHash, int64(0)
	unlinked := false // the record before was damaged: no link to check
	for after := int64(0); ; {
		recs, damaged, err := listPage(ctx, st, after)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			rep.Records++
			if rep.FirstSeq == 0 {
				rep.FirstSeq = r.Seq
			}
			switch {
			case unlinked:
				// The link across damaged records cannot be checked.
				unlinked = false
			case r.Seq > last+1:
				rep.Problems = append(rep.Problems, Problem{Kind: ProblemDeleted, Seq: last + 1, LastSeq: r.Seq - 1,
					Message: fmt.Sprintf("records %d to %d are missing", last+1, r.Seq-1)})
				// The link across the gap cannot be checked: its
				// predecessor is gone.
			case !bytes.Equal(ChainHash(prev, r.Event), r.Hash):
				links = append(links, broken{r.Seq, r.Event, r.Hash})
			}
			for _, c := range want[r.Seq] {
				if !bytes.Equal(c.Hash, r.Hash) {
					rep.Problems = append(rep.Problems, Problem{Kind: ProblemRewritten, Seq: r.Seq, LastSeq: r.Seq,
						Message: fmt.Sprintf("record %d has hash %x, the checkpoint of %s signed %x",
							r.Seq, r.Hash, c.Time.UTC().Format(TimeFormat), c.Hash)})
				}
			}
			prev, last = r.Hash, r.Seq
		}
		if damaged != nil {
			rep.Problems = append(rep.Problems, Problem{Kind: ProblemDamaged, Seq: damaged.FirstSeq, LastSeq: damaged.LastSeq,
				Message: fmt.Sprintf("records %d to %d are stored in a form that does not read back: %v", damaged.FirstSeq, damaged.LastSeq, damaged.Err)})
			if damaged.FirstSeq > last+1 {
				rep.Problems = append(rep.Problems, Problem{Kind: ProblemDeleted, Seq: last + 1, LastSeq: damaged.FirstSeq - 1,
					Message: fmt.Sprintf("records %d to %d are missing", last+1, damaged.FirstSeq-1)})
			}
			last, after, unlinked = damaged.Next(), damaged.Next(), true
			continue
		}
		if len(recs) < verifyPage {
			break
		}
		after = last
	}
	rep.LastSeq = last
	if last > 0 {
		rep.LastHash = hex.EncodeToString(prev)
	}
	for _, c := range checkpoints {
		if c.Seq > last {
			rep.Problems = append(rep.Problems, Problem{Kind: ProblemTruncated, Seq: last + 1, LastSeq: c.Seq,
				Message: fmt.Sprintf("the trail ends at record %d, but a checkpoint of %s signed record %d",
					last, c.Time.UTC().Format(TimeFormat), c.Seq)})
		}
	}

	// A broken link whose record chains after some other stored record was
	// moved; otherwise it was changed.
	var search []broken
	if len(links) <= maxReorderSearch {
		search = links
	}
	movedAfter := map[int64]int64{}
	if len(search) > 0 {
		check := func(seq int64, hash []byte) {
			for _, b := range search {
				if _, done := movedAfter[b.seq]; !done && bytes.Equal(ChainHash(hash, b.event), b.hash) {
					movedAfter[b.seq] = seq
				}
			}
		}
		check(0, ZeroHash)
		for after := int64(0); ; {
			recs, damaged, err := listPage(ctx, st, after)
			if err != nil {
				return nil, err
			}
			for _, r := range recs {
				check(r.Seq, r.Hash)
				after = r.Seq
			}
			if damaged != nil {
				after = damaged.Next()
				continue
			}
			if len(recs) < verifyPage {
				break
			}
		}
	}
	for _, b := range links {
		if p, ok := movedAfter[b.seq]; ok {
			rep.Problems = append(rep.Problems, Problem{Kind: ProblemReordered, Seq: b.seq, LastSeq: b.seq,
				Message: fmt.Sprintf("record %d is intact but was written after record %d", b.seq, p)})
			continue
		}
		rep.Problems = append(rep.Problems, Problem{Kind: ProblemModified, Seq: b.seq, LastSeq: b.seq,
			Message: fmt.Sprintf("record %d does not match its hash: its event or hash was changed", b.seq)})
	}
	slices.SortStableFunc(rep.Problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.Kind, b.Kind))
	})
	return rep, nil
}

// listPage reads the page of the trail after after, and the damaged
// records that end it, if any.
func listPage(ctx context.Context, st store.Audit, after int64) ([]store.AuditRecord, *store.DamagedError, error) {
	recs, err := st.ListAudit(ctx, after, verifyPage)
	var damaged *store.DamagedError
	if errors.As(err, &damaged) {
		return recs, damaged, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("audit: verify: %w", err)
	}
	return recs, nil, nil
}
