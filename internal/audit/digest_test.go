package audit_test

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
)

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func gunzipFile(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// export is an export directory with digests, written as irsa audit
// export writes them: log files at the top, digests under
// CloudTrail-Digest.
type export struct {
	dir     string
	key     *audit.DigestKey
	digests []string // relative paths, oldest first
	logs    []string
}

// run writes the log files of one export run and its digest.
func (x *export) run(t *testing.T, now time.Time, files ...string) {
	t.Helper()
	in := audit.DigestInput{AccountID: "000000000000", Region: "us-east-1", Now: now}
	for _, name := range files {
		content := []byte(`{"Records":[{"eventVersion":"1.08","eventTime":"` + now.Add(-time.Minute).Format(audit.TimeFormat) + `","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","file":"` + name + `"}]}`)
		if err := os.WriteFile(filepath.Join(x.dir, name), gz(t, content), 0o600); err != nil {
			t.Fatal(err)
		}
		in.Files = append(in.Files, audit.LogFileEntry(name, content, now.Add(-time.Minute), now.Add(-time.Minute)))
		x.logs = append(x.logs, name)
	}
	p, err := audit.WriteDigest(x.dir, x.key, in)
	if err != nil {
		t.Fatal(err)
	}
	x.digests = append(x.digests, p)
}

func (x *export) path(rel string) string { return filepath.Join(x.dir, filepath.FromSlash(rel)) }

func (x *export) verify(t *testing.T, key *audit.DigestKey) *audit.ExportReport {
	t.Helper()
	rep, err := audit.VerifyExport(os.DirFS(x.dir), key)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func problemKinds(r *audit.ExportReport) []string {
	out := []string{}
	for _, p := range r.Problems {
		out = append(out, p.Kind+"@"+filepath.Base(p.File))
	}
	return out
}

// newExport makes an export of three runs (two log files, none, one).
func newExport(t *testing.T) *export {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := audit.SigningDigestKey(t.Context(), st, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x := &export{dir: filepath.Join(t.TempDir(), "trail-export"), key: key}
	if err := os.MkdirAll(x.dir, 0o750); err != nil {
		t.Fatal(err)
	}
	x.run(t, t0, "a.json.gz", "b.json.gz")
	x.run(t, t0.Add(time.Hour)) // a run with nothing new still gets its digest
	x.run(t, t0.Add(2*time.Hour), "c.json.gz")
	return x
}

func TestDigestFormatAndChain(t *testing.T) {
	x := newExport(t)
	if rep := x.verify(t, x.key); !rep.OK() || rep.Digests != 3 || rep.LogFiles != 3 {
		t.Fatalf("a fresh export: %+v", rep)
	}
	// CloudTrail's names and layout.
	want := "CloudTrail-Digest/us-east-1/2026/11/20/000000000000_CloudTrail-Digest_us-east-1_irsa_us-east-1_20261120T100000Z.json.gz"
	if x.digests[0] != want {
		t.Errorf("first digest at %s, want %s", x.digests[0], want)
	}
	first := gunzipFile(t, x.path(x.digests[0]))
	var fields map[string]any
	if err := json.Unmarshal(first, &fields); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	wantKeys := []string{"awsAccountId", "digestEndTime", "digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object", "digestSignatureAlgorithm",
		"digestStartTime", "logFiles", "newestEventTime", "oldestEventTime", "previousDigestHashAlgorithm", "previousDigestHashValue",
		"previousDigestS3Bucket", "previousDigestS3Object", "previousDigestSignature"}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("digest fields (-want +got):\n%s", diff)
	}
	if fields["previousDigestSignature"] != nil || fields["digestSignatureAlgorithm"] != "Ed25519" || fields["digestS3Bucket"] != "trail-export" ||
		fields["digestStartTime"] != "2026-11-20T09:59:00Z" || fields["digestEndTime"] != "2026-11-20T10:00:00Z" || len(x.key.Fingerprint) != 32 {
		t.Errorf("first digest: %s", first)
	}
	lf := fields["logFiles"].([]any)[0].(map[string]any)
	content := gunzipFile(t, x.path("a.json.gz"))
	if lf["s3Object"] != "a.json.gz" || lf["hashAlgorithm"] != "SHA-256" || lf["hashValue"] != audit.LogFileEntry("", content, t0, t0).HashValue {
		t.Errorf("log file entry %v", lf)
	}
	var second audit.Digest
	if err := json.Unmarshal(gunzipFile(t, x.path(x.digests[1])), &second); err != nil {
		t.Fatal(err)
	}
	sig, _ := os.ReadFile(x.path(x.digests[0]) + audit.SignatureSuffix)
	if second.DigestStartTime != "2026-11-20T10:00:00Z" || *second.PreviousDigestS3Object != x.digests[0] ||
		*second.PreviousDigestSignature != strings.TrimSpace(string(sig)) || second.NewestEventTime != nil || len(second.LogFiles) != 0 {
		t.Errorf("second digest %+v", second)
	}

	// Two runs in the same second still get distinct digests.
	x.run(t, t0.Add(2*time.Hour))
	if x.digests[3] == x.digests[2] {
		t.Errorf("two digests named %s", x.digests[3])
	}
	if rep := x.verify(t, x.key); !rep.OK() {
		t.Errorf("after a second run in the same second: %+v", rep.Problems)
	}
	// The public key alone verifies.
	pub, err := audit.ParseDigestKey(x.key.PublicKey)
	if err != nil || pub.Fingerprint != x.key.Fingerprint {
		t.Fatalf("ParseDigestKey: %+v, %v", pub, err)
	}
	if rep := x.verify(t, pub); !rep.OK() {
		t.Errorf("with the public key: %+v", rep.Problems)
	}
}

func TestVerifyExportReportsTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, x *export)
		want   []string
	}{
		{"a byte of a log file flipped", func(t *testing.T, x *export) {
			c := gunzipFile(t, x.path("b.json.gz"))
			c[len(c)/2] ^= 1
			if err := os.WriteFile(x.path("b.json.gz"), gz(t, c), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"modified@b.json.gz"}},
		{"a log file deleted", func(t *testing.T, x *export) {
			if err := os.Remove(x.path("c.json.gz")); err != nil {
				t.Fatal(err)
			}
		}, []string{"deleted@c.json.gz"}},
		{"a log file added", func(t *testing.T, x *export) {
			if err := os.WriteFile(x.path("z.json.gz"), gz(t, []byte(`{"Records":[]}`)), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"unlisted@z.json.gz"}},
		{"the middle digest deleted", func(t *testing.T, x *export) {
			if err := os.Remove(x.path(x.digests[1])); err != nil {
				t.Fatal(err)
			}
		}, []string{"digest-chain@" + filepath.Base(x0(t).digests[2])}},
		{"the first digest deleted", func(t *testing.T, x *export) {
			if err := os.Remove(x.path(x.digests[0])); err != nil {
				t.Fatal(err)
			}
		}, []string{"digest-chain@" + filepath.Base(x0(t).digests[1]), "unlisted@a.json.gz", "unlisted@b.json.gz"}},
		{"a digest rewritten to vouch for a changed file", func(t *testing.T, x *export) {
			c := gunzipFile(t, x.path("c.json.gz"))
			c = bytes.Replace(c, []byte("GetCallerIdentity"), []byte("AssumeRole"), 1)
			if err := os.WriteFile(x.path("c.json.gz"), gz(t, c), 0o600); err != nil {
				t.Fatal(err)
			}
			var d audit.Digest
			if err := json.Unmarshal(gunzipFile(t, x.path(x.digests[2])), &d); err != nil {
				t.Fatal(err)
			}
			d.LogFiles[0].HashValue = audit.LogFileEntry("", c, t0, t0).HashValue
			b, _ := json.Marshal(&d)
			if err := os.WriteFile(x.path(x.digests[2]), gz(t, b), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"bad-signature@" + filepath.Base(x0(t).digests[2])}},
		{"a signature file deleted", func(t *testing.T, x *export) {
			if err := os.Remove(x.path(x.digests[2]) + audit.SignatureSuffix); err != nil {
				t.Fatal(err)
			}
		}, []string{"bad-signature@" + filepath.Base(x0(t).digests[2])}},
		{"a digest moved", func(t *testing.T, x *export) {
			if err := os.Rename(x.path(x.digests[2]), x.path(x.digests[2])+".json.gz"); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(x.path(x.digests[2])+audit.SignatureSuffix, x.path(x.digests[2])+".json.gz"+audit.SignatureSuffix); err != nil {
				t.Fatal(err)
			}
		}, []string{"moved@" + filepath.Base(x0(t).digests[2]) + ".json.gz"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := newExport(t)
			c.tamper(t, x)
			rep := x.verify(t, x.key)
			if diff := cmp.Diff(c.want, problemKinds(rep)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%+v", diff, rep.Problems)
			}
		})
	}

	t.Run("another key", func(t *testing.T) {
		x := newExport(t)
		other := newExport(t)
		rep := x.verify(t, other.key)
		if len(rep.Problems) != 3 || rep.Problems[0].Kind != audit.ProblemOtherKey {
			t.Errorf("verified with another key: %+v", rep.Problems)
		}
	})
	t.Run("no digests", func(t *testing.T) {
		x := newExport(t)
		rep, err := audit.VerifyExport(os.DirFS(t.TempDir()), x.key)
		if err != nil || !rep.OK() || rep.Digests != 0 {
			t.Errorf("an empty directory: %+v, %v", rep, err)
		}
	})
}

// x0 names the digests newExport writes (their names depend only on the
// times).
func x0(*testing.T) *export {
	return &export{digests: []string{
		"CloudTrail-Digest/us-east-1/2026/11/20/000000000000_CloudTrail-Digest_us-east-1_irsa_us-east-1_20261120T100000Z.json.gz",
		"CloudTrail-Digest/us-east-1/2026/11/20/000000000000_CloudTrail-Digest_us-east-1_irsa_us-east-1_20261120T110000Z.json.gz",
		"CloudTrail-Digest/us-east-1/2026/11/20/000000000000_CloudTrail-Digest_us-east-1_irsa_us-east-1_20261120T120000Z.json.gz",
	}}
}
