package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/audit"
)

var digestLineRE = regexp.MustCompile(`(?m)^digest (\S+) signed with key (irsa-audit\+[0-9a-f]{8}\+\S+)$`)

// export runs irsa audit export and returns the log files and the digest
// it wrote, and the key it printed.
func exportRun(t *testing.T, dataDir, out string, extra ...string) (files []string, digest, key string) {
	t.Helper()
	stdout, stderr, code := runCLI(t, "", append([]string{"audit", "export", "--data-dir", dataDir, "--out", out}, extra...)...)
	m := digestLineRE.FindStringSubmatch(stderr)
	if code != 0 || m == nil {
		t.Fatalf("export: %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(m[1] + audit.SignatureSuffix); err != nil {
		t.Errorf("no signature beside the digest: %v", err)
	}
	return strings.Fields(stdout), m[1], m[2]
}

func TestAuditExportDigestsVerify(t *testing.T) {
	dir, _ := auditDataDir(t)
	out := filepath.Join(t.TempDir(), "export")
	exportTime = func() time.Time { return time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC) }
	t.Cleanup(func() { exportTime = time.Now })
	files, digest, key := exportRun(t, dir, out, "--records-per-file", "3")
	if !strings.HasPrefix(digest, filepath.Join(out, "CloudTrail-Digest", "us-east-1", "2026", "11", "23")+string(filepath.Separator)) ||
		filepath.Base(digest) != "000000000000_CloudTrail-Digest_us-east-1_irsa_us-east-1_20261123T110000Z.json.gz" {
		t.Errorf("digest at %s", digest)
	}
	// The digest lists both files with the SHA-256 of their content.
	var d audit.Digest
	readGzipJSON(t, digest, &d)
	if len(d.LogFiles) != 2 || d.LogFiles[0].S3Object != filepath.Base(files[0]) || d.DigestSignatureAlgorithm != "Ed25519" || d.PreviousDigestSignature != nil {
		t.Errorf("digest %+v", d)
	}

	// A second run after one more event: a new digest, chained.
	appendEvents(t, dir, webEvent("system:serviceaccount:production:app", time.Now().UTC(), ""))
	exportTime = func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }
	files2, digest2, key2 := exportRun(t, dir, out, "--records-per-file", "3")
	if key2 != key || digest2 == digest {
		t.Errorf("second run: digest %s, key %s", digest2, key2)
	}
	// 3+2 records now: the second file has the same first record but other
	// content, so it gets a new name instead of overwriting the first one.
	if len(files2) != 2 || files2[0] != files[0] || files2[1] == files[1] || !strings.HasSuffix(files2[1], "-2.json.gz") {
		t.Errorf("second run wrote %v after %v", files2, files)
	}

	stdout, stderr, code := runCLI(t, "", "audit", "verify", "--data-dir", dir, "--export", out)
	if code != 0 || !strings.HasPrefix(stdout, "OK: 2 digests, 3 log files, key ") {
		t.Fatalf("verify --export: %d\n%s%s", code, stdout, stderr)
	}
	// Away from the server: the public key alone.
	if stdout, stderr, code := runCLI(t, "", "audit", "verify", "--data-dir", filepath.Join(t.TempDir(), "none"), "--export", out, "--public-key", key); code != 0 {
		t.Fatalf("verify --public-key: %d\n%s%s", code, stdout, stderr)
	}

	// A byte flipped in a log file, another deleted: both reported, exit 1.
	flipGzipByte(t, files[0])
	if err := os.Remove(files2[1]); err != nil {
		t.Fatal(err)
	}
	stdout, _, code = runCLI(t, "", "audit", "verify", "--export", out, "--public-key", key)
	if code != ExitInvalid || !strings.Contains(stdout, "MODIFIED\tlog file "+filepath.Base(files[0])) ||
		!strings.Contains(stdout, "DELETED\tlog file "+filepath.Base(files2[1])) || !strings.Contains(stdout, "FAILED: 3 problems") {
		t.Errorf("verify after tampering: %d\n%s", code, stdout)
	}
	stdout, _, code = runCLI(t, "", "audit", "verify", "--export", out, "--public-key", key, "--output", "json")
	var rep audit.ExportReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != ExitInvalid || len(rep.Problems) != 3 {
		t.Errorf("verify --output json: %d %v\n%s", code, err, stdout)
	}
	// The first digest deleted: the chain is broken.
	if err := os.Remove(digest); err != nil {
		t.Fatal(err)
	}
	if stdout, _, code := runCLI(t, "", "audit", "verify", "--export", out, "--public-key", key); code != ExitInvalid || !strings.Contains(stdout, "DIGEST-CHAIN") {
		t.Errorf("verify without the first digest: %d\n%s", code, stdout)
	}

	// Usage errors.
	for _, args := range [][]string{
		{"audit", "verify", "--export", out, "--public-key", "not-a-key"},
		{"audit", "verify", "--export", filepath.Join(out, "missing"), "--public-key", key},
		{"audit", "verify", "--data-dir", dir, "--public-key", key},
	} {
		if _, stderr, code := runCLI(t, "", args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, ExitUsage, stderr)
		}
	}
}

// gunzipFile is the decompressed content of the gzip file at path.
func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
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

func readGzipJSON(t *testing.T, path string, v any) {
	t.Helper()
	b := gunzipFile(t, path)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func flipGzipByte(t *testing.T, path string) {
	t.Helper()
	b := gunzipFile(t, path)
	b[len(b)/2] ^= 0x01
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
