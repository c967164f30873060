package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/irsa-dev/irsa/internal/store"
)

// Settings names.
const (
	// SettingSigningKey holds the checkpoint signing key: the note signer
	// key and its verifier key, on two lines.
	SettingSigningKey = "audit.signing-key"
	// SettingCheckpointPrefix + N holds checkpoint N (1, 2, 3…): the
	// settings cannot be overwritten, so each checkpoint has its own name.
	SettingCheckpointPrefix = "audit.checkpoint."
)

// KeyName is the name of the checkpoint signing key, and the first line
// (the origin) of every checkpoint.
const KeyName = "irsa-audit"

// Checkpoint is a signed statement that the trail's record Seq had Hash at
// Time.
type Checkpoint struct {
	Seq  int64
	Hash []byte
	Time time.Time
	// Note is the signed note, as stored.
	Note []byte
}

// Store is what checkpoints need of a store.
type Store interface {
	store.Audit
	store.Settings
}

// SigningKey returns the checkpoint signing key of st, generating it (from
// rnd, crypto/rand when nil) and storing it on first use. Replicas racing
// to create it agree on the one stored first.
func SigningKey(ctx context.Context, st store.Settings, rnd io.Reader) (note.Signer, note.Verifier, error) {
	v, err := st.GetSetting(ctx, SettingSigningKey)
	if errors.Is(err, store.ErrNotFound) {
		if rnd == nil {
			rnd = rand.Reader
		}
		skey, vkey, gerr := note.GenerateKey(rnd, KeyName)
		if gerr != nil {
			return nil, nil, fmt.Errorf("audit: generate the checkpoint key: %w", gerr)
		}
		v, err = st.PutSettingIfAbsent(ctx, SettingSigningKey, skey+"\n"+vkey)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("audit: checkpoint key: %w", err)
	}
	skey, vkey, _ := strings.Cut(v, "\n")
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: checkpoint key: %w", err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: checkpoint key: %w", err)
	}
	return signer, verifier, nil
}

// Verifier returns the checkpoint verifier of st; store.ErrNotFound when
// no checkpoint key was ever made. It never writes.
func Verifier(ctx context.Context, st store.Settings) (note.Verifier, error) {
	v, err := st.GetSetting(ctx, SettingSigningKey)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint key: %w", err)
	}
	_, vkey, _ := strings.Cut(v, "\n")
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint key: %w", err)
	}
	return verifier, nil
}

// text is the signed text of a checkpoint: the origin, the Seq, the Hash
// in base64 and the time, one per line (the shape of a C2SP
// tlog-checkpoint, whose "root hash" here is the head of the hash chain).
func (c Checkpoint) text() string {
	return fmt.Sprintf("%s\n%d\n%s\ntime %s\n", KeyName, c.Seq,
		base64.StdEncoding.EncodeToString(c.Hash), c.Time.UTC().Format(time.RFC3339Nano))
}

// SignCheckpoint makes the signed checkpoint of record seq with hash at
// now.
func SignCheckpoint(signer note.Signer, seq int64, hash []byte, now time.Time) (Checkpoint, error) {
	c := Checkpoint{Seq: seq, Hash: append([]byte(nil), hash...), Time: now.UTC()}
	msg, err := note.Sign(&note.Note{Text: c.text()}, signer)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	c.Note = msg
	return c, nil
}

// OpenCheckpoint checks the signature of a checkpoint note with v and
// parses it.
func OpenCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) != 4 || lines[0] != KeyName || !strings.HasPrefix(lines[3], "time ") {
		return Checkpoint{}, errors.New("audit: checkpoint: malformed text")
	}
	seq, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || seq < 0 {
		return Checkpoint{}, errors.New("audit: checkpoint: malformed seq")
	}
	hash, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(hash) != len(ZeroHash) {
		return Checkpoint{}, errors.New("audit: checkpoint: malformed hash")
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(lines[3], "time "))
	if err != nil {
		return Checkpoint{}, errors.New("audit: checkpoint: malformed time")
	}
	return Checkpoint{Seq: seq, Hash: hash, Time: t.UTC(), Note: append([]byte(nil), msg...)}, nil
}

// checkpointCount is how many checkpoints st holds: they are numbered 1..n
// without gaps, so an exponential then a binary search finds n in
// O(log n) reads.
func checkpointCount(ctx context.Context, st store.Settings) (int, error) {
	exists := func(i int) (bool, error) {
		_, err := st.GetSetting(ctx, SettingCheckpointPrefix+strconv.Itoa(i))
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	hi := 1
	for {
		ok, err := exists(hi)
		if err != nil {
			return 0, fmt.Errorf("audit: checkpoints: %w", err)
		}
		if !ok {
			break
		}
		hi *= 2
	}
	lo := hi / 2 // exists (or 0); hi does not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		ok, err := exists(mid)
		if err != nil {
			return 0, fmt.Errorf("audit: checkpoints: %w", err)
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// Checkpoints returns the checkpoints stored in st, oldest first. Those
// that v does not accept (a forged or damaged note) are returned as
// problems of kind ProblemCheckpoint instead.
func Checkpoints(ctx context.Context, st store.Settings, v note.Verifier) ([]Checkpoint, []Problem, error) {
	n, err := checkpointCount(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	var out []Checkpoint
	var bad []Problem
	for i := 1; i <= n; i++ {
		msg, err := st.GetSetting(ctx, SettingCheckpointPrefix+strconv.Itoa(i))
		if err != nil {
			return nil, nil, fmt.Errorf("audit: checkpoint %d: %w", i, err)
		}
		c, err := OpenCheckpoint([]byte(msg), v)
		if err != nil {
			bad = append(bad, Problem{Kind: ProblemCheckpoint, Message: fmt.Sprintf("stored checkpoint %d: %v", i, err)})
			continue
		}
		out = append(out, c)
	}
	return out, bad, nil
}

// latest returns the newest stored checkpoint (nil when there is none),
// and how many are stored.
func latest(ctx context.Context, st store.Settings, v note.Verifier) (*Checkpoint, int, error) {
	n, err := checkpointCount(ctx, st)
	if err != nil || n == 0 {
		return nil, n, err
	}
	msg, err := st.GetSetting(ctx, SettingCheckpointPrefix+strconv.Itoa(n))
	if err != nil {
		return nil, 0, fmt.Errorf("audit: checkpoint %d: %w", n, err)
	}
	c, err := OpenCheckpoint([]byte(msg), v)
	if err != nil {
		return nil, 0, fmt.Errorf("audit: stored checkpoint %d: %w", n, err)
	}
	return &c, n, nil
}

// head returns the last record of the trail, reading from the record of
// the newest checkpoint, cp, on. It refuses to go on from a trail that no
// longer matches cp, or whose records after it are not a chain: a
// checkpoint must never vouch for tampered records.
func head(ctx context.Context, st store.Audit, cp *Checkpoint) (seq int64, hash []byte, err error) {
	seq, hash = 0, ZeroHash
	after := int64(0)
	if cp != nil && cp.Seq > 0 {
		after = cp.Seq - 1
	}
	first := true
	for {
		recs, err := st.ListAudit(ctx, after, verifyPage)
		if err != nil {
			return 0, nil, fmt.Errorf("audit: checkpoint: %w", err)
		}
		for _, r := range recs {
			switch {
			case first && cp != nil && cp.Seq > 0:
				if r.Seq != cp.Seq || !bytes.Equal(r.Hash, cp.Hash) {
					return 0, nil, fmt.Errorf("audit: checkpoint: record %d no longer matches the newest checkpoint: run irsa audit verify", cp.Seq)
				}
			case r.Seq != seq+1 || !bytes.Equal(ChainHash(hash, r.Event), r.Hash):
				return 0, nil, fmt.Errorf("audit: checkpoint: the trail is broken at record %d: run irsa audit verify", r.Seq)
			}
			first = false
			seq, hash, after = r.Seq, r.Hash, r.Seq
		}
		if len(recs) < verifyPage {
			break
		}
	}
	if first && cp != nil && cp.Seq > 0 {
		return 0, nil, fmt.Errorf("audit: checkpoint: the trail ends before record %d of the newest checkpoint: run irsa audit verify", cp.Seq)
	}
	return seq, hash, nil
}

// WriteCheckpoint signs the head of the trail and stores the checkpoint
// as the next one in st's settings, unless the newest stored checkpoint
// already names the same record. It returns the newest checkpoint.
func WriteCheckpoint(ctx context.Context, st Store, rnd io.Reader, now time.Time) (Checkpoint, error) {
	signer, verifier, err := SigningKey(ctx, st, rnd)
	if err != nil {
		return Checkpoint{}, err
	}
	last, n, err := latest(ctx, st, verifier)
	if err != nil {
		return Checkpoint{}, err
	}
	seq, hash, err := head(ctx, st, last)
	if err != nil {
		return Checkpoint{}, err
	}
	if last != nil && last.Seq == seq && bytes.Equal(last.Hash, hash) {
		return *last, nil
	}
	c, err := SignCheckpoint(signer, seq, hash, now)
	if err != nil {
		return Checkpoint{}, err
	}
	// Another writer may take number n+1 first: then try the next.
	for i := n + 1; i < n+100; i++ {
		got, err := st.PutSettingIfAbsent(ctx, SettingCheckpointPrefix+strconv.Itoa(i), string(c.Note))
		if err != nil {
			return Checkpoint{}, fmt.Errorf("audit: store checkpoint: %w", err)
		}
		if got == string(c.Note) {
			return c, nil
		}
	}
	return Checkpoint{}, errors.New("audit: store checkpoint: too many concurrent writers")
}

// VerifyStore verifies the trail of st against every checkpoint stored in
// it (see Verify). A store without a checkpoint key is verified without
// checkpoints.
func VerifyStore(ctx context.Context, st Store) (*Report, error) {
	var cps []Checkpoint
	var bad []Problem
	v, err := Verifier(ctx, st)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		cps, bad, err = Checkpoints(ctx, st, v)
		if err != nil {
			return nil, err
		}
	}
	rep, err := Verify(ctx, st, cps...)
	if err != nil {
		return nil, err
	}
	rep.Problems = append(bad, rep.Problems...)
	rep.Checkpoints += len(bad)
	return rep, nil
}

// Checkpointer writes a checkpoint every Interval while Run runs, when the
// trail has grown.
type Checkpointer struct {
	Store    Store
	Rand     io.Reader        // crypto/rand when nil
	Now      func() time.Time // time.Now when nil
	Interval time.Duration    // one minute when zero
	Logger   *slog.Logger     // failed writes; slog.Default when nil
}

// Run writes checkpoints until ctx ends, and a last one then. A failed
// write is retried at the next tick; Run returns ctx's error.
func (c *Checkpointer) Run(ctx context.Context) error {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	every := c.Interval
	if every <= 0 {
		every = time.Minute
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	write := func(ctx context.Context) {
		if _, err := WriteCheckpoint(ctx, c.Store, c.Rand, now()); err != nil {
			log.Error("writing an audit checkpoint failed", "error", err)
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			write(context.WithoutCancel(ctx))
			return ctx.Err()
		case <-t.C:
			write(ctx)
		}
	}
}
