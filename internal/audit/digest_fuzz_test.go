package audit_test

import (
	"crypto/rand"
	"testing"
	"testing/fstest"

	"golang.org/x/mod/sumdb/note"

	"github.com/irsa-dev/irsa/internal/audit"
)

// FuzzVerifyExport feeds arbitrary digest contents (and signatures) to
// VerifyExport: it must report, never fail or panic, whatever a digest
// says.
func FuzzVerifyExport(f *testing.F) {
	_, vkey, err := note.GenerateKey(rand.Reader, audit.KeyName)
	if err != nil {
		f.Fatal(err)
	}
	key, err := audit.ParseDigestKey(vkey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"digestEndTime":"2026-11-23T11:00:00Z","logFiles":[{"s3Object":"a.json.gz","hashValue":"00"}]}`), "00")
	f.Add([]byte(`{"digestEndTime":"2026-11-23T11:00:00Z","previousDigestSignature":"ab","logFiles":[{"s3Object":"../etc/passwd"},{"s3Object":"CloudTrail-Digest"},{"s3Object":"."}]}`), "zz")
	f.Add([]byte(`{"digestEndTime":"not a time"}`), "")
	f.Add([]byte(`null`), "")
	f.Fuzz(func(t *testing.T, digest []byte, sig string) {
		fsys := fstest.MapFS{
			"CloudTrail-Digest/x/d.json.gz":     {Data: gzBytes(digest)},
			"CloudTrail-Digest/x/d.json.gz.sig": {Data: []byte(sig)},
			"a.json.gz":                         {Data: gzBytes([]byte(`{"Records":[]}`))},
		}
		rep, err := audit.VerifyExport(fsys, key)
		if err != nil {
			t.Fatalf("VerifyExport: %v", err)
		}
		if rep.OK() && len(digest) > 0 {
			// A digest nobody signed with key never passes.
			t.Fatalf("an unsigned digest passed: %q", digest)
		}
	})
}
