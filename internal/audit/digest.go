package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/irsa-dev/irsa/internal/store"
)

// CloudTrail-style digest files for exported logs.
//
// A digest lists the log files one export wrote, each with the SHA-256 of
// its uncompressed content, and names the digest before it with that
// digest's hash and signature, so the digests form a chain. It has
// CloudTrail's digest file shape and naming; the differences are the
// signature, Ed25519 with the trail's checkpoint key (CloudTrail signs
// with SHA256withRSA and a per-region key AWS publishes), and where the
// signature is kept: in a NAME.sig file next to the digest (CloudTrail
// keeps it in the S3 object's metadata). The bucket is the export
// directory's name, and objects are paths relative to the directory, so
// an export can be moved as a whole.

const (
	// DigestDir is the export's subdirectory of digest files.
	DigestDir = "CloudTrail-Digest"
	// DigestSignatureAlgorithm is digestSignatureAlgorithm.
	DigestSignatureAlgorithm = "Ed25519"
	// DigestHashAlgorithm is hashAlgorithm.
	DigestHashAlgorithm = "SHA-256"
	// DigestTrailName is the trail name in digest file names.
	DigestTrailName = "irsa"
	// SignatureSuffix names a digest's signature file: the digest's name
	// with this added. It holds the hex-encoded signature.
	SignatureSuffix = ".sig"
)

// Digest is one digest file.
type Digest struct {
	AWSAccountID                string          `json:"awsAccountId"`
	DigestStartTime             string          `json:"digestStartTime"`
	DigestEndTime               string          `json:"digestEndTime"`
	DigestS3Bucket              string          `json:"digestS3Bucket"`
	DigestS3Object              string          `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string          `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string          `json:"digestSignatureAlgorithm"`
	NewestEventTime             *string         `json:"newestEventTime"`
	OldestEventTime             *string         `json:"oldestEventTime"`
	PreviousDigestS3Bucket      *string         `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string         `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string         `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string         `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string         `json:"previousDigestSignature"`
	LogFiles                    []DigestLogFile `json:"logFiles"`
}

// DigestLogFile is one log file of a digest.
type DigestLogFile struct {
	S3Bucket        string `json:"s3Bucket"`
	S3Object        string `json:"s3Object"`
	HashValue       string `json:"hashValue"`
	HashAlgorithm   string `json:"hashAlgorithm"`
	NewestEventTime string `json:"newestEventTime"`
	OldestEventTime string `json:"oldestEventTime"`
}

// LogFileEntry describes a log file an export wrote, for its digest.
// Object is the file's path relative to the export directory, with
// slashes; Content its uncompressed content.
func LogFileEntry(object string, content []byte, oldest, newest time.Time) DigestLogFile {
	sum := sha256.Sum256(content)
	return DigestLogFile{S3Object: object, HashValue: hex.EncodeToString(sum[:]), HashAlgorithm: DigestHashAlgorithm,
		OldestEventTime: oldest.UTC().Format(TimeFormat), NewestEventTime: newest.UTC().Format(TimeFormat)}
}

// DigestKey is the key digests are signed with: the checkpoint key.
type DigestKey struct {
	Signer   note.Signer // nil for a key that only verifies
	Verifier note.Verifier
	// PublicKey is the note verifier key text (NAME+HASH+BASE64), what
	// `irsa audit verify --public-key` takes.
	PublicKey string
	// Fingerprint is digestPublicKeyFingerprint: the first 16 bytes of the
	// SHA-256 of the raw public key, in hex (CloudTrail's fingerprints are
	// 32 hex digits too).
	Fingerprint string
}

// SigningDigestKey returns the trail's checkpoint key of st for signing
// digests, creating it (from rnd) on first use like SigningKey.
func SigningDigestKey(ctx context.Context, st store.Settings, rnd io.Reader) (*DigestKey, error) {
	signer, _, err := SigningKey(ctx, st, rnd)
	if err != nil {
		return nil, err
	}
	k, err := StoredDigestKey(ctx, st)
	if err != nil {
		return nil, err
	}
	k.Signer = signer
	return k, nil
}

// StoredDigestKey returns the verifying half of st's checkpoint key
// (store.ErrNotFound when none was ever made). It never writes.
func StoredDigestKey(ctx context.Context, st store.Settings) (*DigestKey, error) {
	v, err := st.GetSetting(ctx, SettingSigningKey)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint key: %w", err)
	}
	_, vkey, _ := strings.Cut(v, "\n")
	return ParseDigestKey(vkey)
}

// ParseDigestKey reads a public key given as note verifier key text.
func ParseDigestKey(vkey string) (*DigestKey, error) {
	vkey = strings.TrimSpace(vkey)
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("audit: public key: %w", err)
	}
	parts := strings.SplitN(vkey, "+", 3)
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) < 2 {
		return nil, errors.New("audit: public key: malformed")
	}
	sum := sha256.Sum256(raw[1:]) // without the algorithm byte
	return &DigestKey{Verifier: v, PublicKey: vkey, Fingerprint: hex.EncodeToString(sum[:16])}, nil
}

// digestStringToSign is what a digest's signature covers, as CloudTrail
// builds it: the end time, bucket/object, the hex SHA-256 of the
// uncompressed digest, and the previous digest's signature ("null" for
// the first).
func digestStringToSign(d *Digest, content []byte) []byte {
	sum := sha256.Sum256(content)
	prev := "null"
	if d.PreviousDigestSignature != nil {
		prev = *d.PreviousDigestSignature
	}
	return []byte(d.DigestEndTime + "\n" + d.DigestS3Bucket + "/" + d.DigestS3Object + "\n" + hex.EncodeToString(sum[:]) + "\n" + prev)
}

// digestFile is a digest read from an export.
type digestFile struct {
	name      string // path relative to the export, slashes
	digest    Digest
	content   []byte // uncompressed
	signature string // hex; "" when the .sig file is missing
	end       time.Time
}

// readDigests reads every digest under DigestDir of fsys, oldest end time
// first; files that are not readable digests are returned as problems.
func readDigests(fsys fs.FS) ([]digestFile, []ExportProblem, error) {
	var out []digestFile
	var bad []ExportProblem
	err := fs.WalkDir(fsys, DigestDir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == DigestDir {
			return fs.SkipDir
		}
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json.gz") {
			return nil
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		content, err := gunzip(raw)
		var dg Digest
		if err == nil {
			err = json.Unmarshal(content, &dg)
		}
		var end time.Time
		if err == nil {
			end, err = time.Parse(time.RFC3339, dg.DigestEndTime)
		}
		if err != nil {
			bad = append(bad, ExportProblem{Kind: ProblemModified, File: p, Message: fmt.Sprintf("digest %s is not a readable digest file: %v", p, err)})
			return nil
		}
		df := digestFile{name: p, digest: dg, content: content, end: end}
		if sig, err := fs.ReadFile(fsys, p+SignatureSuffix); err == nil {
			df.signature = strings.TrimSpace(string(sig))
		}
		out = append(out, df)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("audit: reading the digests: %w", err)
	}
	slices.SortStableFunc(out, func(a, b digestFile) int {
		if c := a.end.Compare(b.end); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return out, bad, nil
}

func gunzip(raw []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(zr, 1<<30))
}

// DigestInput is what one export run wrote.
type DigestInput struct {
	AccountID, Region string
	// Files are the log files written, in order (see LogFileEntry).
	Files []DigestLogFile
	// Now is the digest's end time (moved past the previous digest's end
	// when not after it).
	Now time.Time
}

// WriteDigest writes the digest of one export run into dir's DigestDir,
// chained to the newest digest already there, and its signature file. It
// returns the digest's path relative to dir.
func WriteDigest(dir string, key *DigestKey, in DigestInput) (string, error) {
	if key == nil || key.Signer == nil {
		return "", errors.New("audit: digest: no signing key")
	}
	prev, _, err := readDigests(os.DirFS(dir))
	if err != nil {
		return "", err
	}
	bucket := filepath.Base(filepath.Clean(dir))
	end := in.Now.UTC().Truncate(time.Second)
	d := Digest{
		AWSAccountID: in.AccountID, DigestS3Bucket: bucket,
		DigestPublicKeyFingerprint: key.Fingerprint, DigestSignatureAlgorithm: DigestSignatureAlgorithm,
		LogFiles: []DigestLogFile{},
	}
	var start time.Time
	if n := len(prev); n > 0 {
		last := prev[n-1]
		if !end.After(last.end) {
			end = last.end.Add(time.Second)
		}
		start = last.end
		sum := sha256.Sum256(last.content)
		hash, alg := hex.EncodeToString(sum[:]), DigestHashAlgorithm
		b, o, sig := last.digest.DigestS3Bucket, last.name, last.signature
		d.PreviousDigestS3Bucket, d.PreviousDigestS3Object = &b, &o
		d.PreviousDigestHashValue, d.PreviousDigestHashAlgorithm, d.PreviousDigestSignature = &hash, &alg, &sig
	}
	var oldest, newest string
	for _, f := range in.Files {
		f.S3Bucket = bucket
		d.LogFiles = append(d.LogFiles, f)
		if oldest == "" || f.OldestEventTime < oldest {
			oldest = f.OldestEventTime
		}
		if f.NewestEventTime > newest {
			newest = f.NewestEventTime
		}
	}
	if oldest != "" {
		d.OldestEventTime, d.NewestEventTime = &oldest, &newest
	}
	if start.IsZero() {
		start = end
		if oldest != "" {
			if t, err := time.Parse(time.RFC3339, oldest); err == nil && t.Before(end) {
				start = t
			}
		}
	}
	d.DigestStartTime, d.DigestEndTime = start.Format(TimeFormat), end.Format(TimeFormat)
	region := in.Region
	if region == "" {
		region = "us-east-1"
	}
	account := in.AccountID
	if account == "" {
		account = "000000000000"
	}
	d.DigestS3Object = path.Join(DigestDir, region, end.Format("2006/01/02"),
		fmt.Sprintf("%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz", account, region, DigestTrailName, region, end.Format("20060102T150405Z")))

	content, err := json.Marshal(&d)
	if err != nil {
		return "", fmt.Errorf("audit: digest: %w", err)
	}
	sig, err := key.Signer.Sign(digestStringToSign(&d, content))
	if err != nil {
		return "", fmt.Errorf("audit: digest: sign: %w", err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(content); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	full := filepath.Join(dir, filepath.FromSlash(d.DigestS3Object))
	if err := os.MkdirAll(filepath.Dir(full), 0o750); err != nil {
		return "", fmt.Errorf("audit: digest: %w", err)
	}
	// The signature first: a digest without one would read as tampered.
	if err := writeFileAtomic(full+SignatureSuffix, []byte(hex.EncodeToString(sig)+"\n")); err != nil {
		return "", err
	}
	if err := writeFileAtomic(full, gz.Bytes()); err != nil {
		return "", err
	}
	return d.DigestS3Object, nil
}

func writeFileAtomic(name string, b []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("audit: writing %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("audit: writing %s: %w", name, err)
	}
	return nil
}

// Kinds of ExportProblem besides ProblemModified and ProblemDeleted (a
// log file or digest changed, or gone).
const (
	// ProblemBadSignature: a digest's signature is missing or does not
	// verify: the digest was changed or forged.
	ProblemBadSignature = "bad-signature"
	// ProblemDigestChain: a digest does not name the one before it: a
	// digest was deleted, changed or inserted.
	ProblemDigestChain = "digest-chain"
	// ProblemMoved: a digest is not where it says it is.
	ProblemMoved = "moved"
	// ProblemUnlisted: a log file in the export that no digest lists (an
	// export from before digests, or a file added later).
	ProblemUnlisted = "unlisted"
	// ProblemOtherKey: a digest was signed with another key.
	ProblemOtherKey = "other-key"
)

// ExportProblem is one finding of VerifyExport.
type ExportProblem struct {
	Kind    string `json:"kind"`
	File    string `json:"file"`
	Message string `json:"message"`
}

// ExportReport is what VerifyExport found.
type ExportReport struct {
	Digests  int             `json:"digests"`
	LogFiles int             `json:"logFiles"` // distinct log files listed
	Problems []ExportProblem `json:"problems"`
}

// OK reports whether the export passed.
func (r *ExportReport) OK() bool { return len(r.Problems) == 0 }

// VerifyExport checks an export (fsys, rooted at the export directory):
// every digest's signature with key, the chain of digests, and every log
// file listed against its hash; it reports log files changed or deleted,
// digests changed, deleted or moved, and log files no digest lists. The
// error is for an export that could not be read, not for what was found.
func VerifyExport(fsys fs.FS, key *DigestKey) (*ExportReport, error) {
	digests, bad, err := readDigests(fsys)
	if err != nil {
		return nil, err
	}
	rep := &ExportReport{Digests: len(digests) + len(bad), Problems: append([]ExportProblem{}, bad...)}
	add := func(kind, file, format string, args ...any) {
		rep.Problems = append(rep.Problems, ExportProblem{Kind: kind, File: file, Message: fmt.Sprintf(format, args...)})
	}
	listed := map[string]bool{}
	for i, df := range digests {
		d := &df.digest
		if d.DigestS3Object != df.name {
			add(ProblemMoved, df.name, "digest %s says it is %s", df.name, d.DigestS3Object)
		}
		switch {
		case d.DigestPublicKeyFingerprint != key.Fingerprint:
			add(ProblemOtherKey, df.name, "digest %s was signed with key %s, not %s", df.name, d.DigestPublicKeyFingerprint, key.Fingerprint)
		case df.signature == "":
			add(ProblemBadSignature, df.name, "digest %s has no signature file %s", df.name, path.Base(df.name)+SignatureSuffix)
		default:
			sig, err := hex.DecodeString(df.signature)
			if err != nil || !key.Verifier.Verify(digestStringToSign(d, df.content), sig) {
				add(ProblemBadSignature, df.name, "digest %s does not match its signature: the digest or its signature was changed", df.name)
			}
		}
		// The chain.
		if i == 0 {
			if d.PreviousDigestSignature != nil {
				add(ProblemDigestChain, df.name, "digest %s follows %s, which is missing: digests were deleted before it", df.name, deref(d.PreviousDigestS3Object))
			}
		} else {
			prev := digests[i-1]
			sum := sha256.Sum256(prev.content)
			if d.PreviousDigestHashValue == nil || *d.PreviousDigestHashValue != hex.EncodeToString(sum[:]) ||
				d.PreviousDigestSignature == nil || *d.PreviousDigestSignature != prev.signature {
				add(ProblemDigestChain, df.name, "digest %s does not follow %s (it follows %s): a digest between them was deleted, or one of them changed",
					df.name, prev.name, deref(d.PreviousDigestS3Object))
			}
		}
		// The log files.
		for _, f := range d.LogFiles {
			if !fs.ValidPath(f.S3Object) || f.S3Object == "." {
				add(ProblemModified, df.name, "digest %s lists %q, which is not a path inside the export", df.name, f.S3Object)
				continue
			}
			listed[f.S3Object] = true
			raw, err := fs.ReadFile(fsys, f.S3Object)
			if errors.Is(err, fs.ErrNotExist) {
				add(ProblemDeleted, f.S3Object, "log file %s, listed in digest %s, is missing", f.S3Object, df.name)
				continue
			}
			if err != nil {
				add(ProblemModified, f.S3Object, "log file %s, listed in digest %s, cannot be read: %v", f.S3Object, df.name, err)
				continue
			}
			content, err := gunzip(raw)
			sum := sha256.Sum256(content)
			if err != nil || hex.EncodeToString(sum[:]) != f.HashValue {
				add(ProblemModified, f.S3Object, "log file %s does not match its hash in digest %s: it was changed", f.S3Object, df.name)
			}
		}
	}
	rep.LogFiles = len(listed)
	// Log files nobody vouches for.
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("audit: reading the export: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json.gz") && !listed[e.Name()] {
			add(ProblemUnlisted, e.Name(), "log file %s is in no digest: it was added after the export, or exported before digests existed", e.Name())
		}
	}
	slices.SortStableFunc(rep.Problems, func(a, b ExportProblem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	return rep, nil
}

func deref(s *string) string {
	if s == nil {
		return "nothing"
	}
	return *s
}
