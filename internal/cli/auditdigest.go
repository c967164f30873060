package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/store"
)

// writeTrailFile writes recs as one CloudTrail log file in dir and
// returns its path and its entry for the run's digest. A file of the same
// name with other content is never overwritten (an earlier digest vouches
// for it): the new one gets a suffix.
func writeTrailFile(dir string, recs []store.AuditRecord) (string, audit.DigestLogFile, error) {
	var content bytes.Buffer
	bw := bufio.NewWriter(&content)
	_, _ = bw.WriteString(`{"Records":[`)
	oldest, newest := recs[0].EventTime, recs[0].EventTime
	for i, r := range recs {
		if i > 0 {
			_, _ = bw.WriteString(",")
		}
		_, _ = bw.Write(r.Event)
		if r.EventTime.Before(oldest) {
			oldest = r.EventTime
		}
		if r.EventTime.After(newest) {
			newest = r.EventTime
		}
	}
	_, _ = bw.WriteString("]}")
	if err := bw.Flush(); err != nil {
		return "", audit.DigestLogFile{}, err
	}
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	if _, err := zw.Write(content.Bytes()); err != nil {
		return "", audit.DigestLogFile{}, err
	}
	if err := zw.Close(); err != nil {
		return "", audit.DigestLogFile{}, err
	}
	name := trailFileName(recs[0])
	for i := 2; ; i++ {
		same, exists, err := sameContent(filepath.Join(dir, name), content.Bytes())
		if err != nil {
			return "", audit.DigestLogFile{}, err
		}
		if !exists || same {
			break
		}
		name = strings.TrimSuffix(trailFileName(recs[0]), ".json.gz") + fmt.Sprintf("-%d.json.gz", i)
	}
	path := filepath.Join(dir, name)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, body.Bytes(), 0o600); err != nil {
		return "", audit.DigestLogFile{}, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", audit.DigestLogFile{}, err
	}
	return path, audit.LogFileEntry(name, content.Bytes(), oldest, newest), nil
}

// sameContent reports whether the gzipped log file name exists and holds
// content.
func sameContent(name string, content []byte) (same, exists bool, err error) {
	raw, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return false, true, nil
	}
	old, err := io.ReadAll(io.LimitReader(zr, int64(len(content))+1))
	if err != nil {
		return false, true, nil
	}
	return bytes.Equal(old, content), true, nil
}

// recordAccountRegion is the account and region a record names.
func recordAccountRegion(rec store.AuditRecord) (account, region string) {
	var head struct {
		AWSRegion string `json:"awsRegion"`
	}
	_ = json.Unmarshal(rec.Event, &head)
	return rec.AccountID, head.AWSRegion
}

// writeExportDigest signs and writes the digest of one export run.
func writeExportDigest(ctx context.Context, w io.Writer, st store.Settings, dir string, in audit.DigestInput) error {
	key, err := audit.SigningDigestKey(ctx, st, nil)
	if err != nil {
		return err
	}
	name, err := audit.WriteDigest(dir, key, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "digest %s signed with key %s\n", filepath.Join(dir, filepath.FromSlash(name)), key.PublicKey)
	return nil
}

// verifyExport checks the digests and log files of an export directory
// with key, and prints what it found.
func verifyExport(w io.Writer, dir string, key *audit.DigestKey, output string) (*audit.ExportReport, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, usageErrorf("--export %s is not a directory", dir)
	}
	rep, err := audit.VerifyExport(os.DirFS(dir), key)
	if err != nil {
		return nil, err
	}
	if output == "json" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintf(w, "%s\n", b)
		return rep, nil
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "%s\t%s\n", strings.ToUpper(p.Kind), p.Message)
	}
	verdict := "OK"
	if !rep.OK() {
		verdict = fmt.Sprintf("FAILED: %d problems", len(rep.Problems))
	}
	fmt.Fprintf(w, "%s: %d digests, %d log files, key %s\n", verdict, rep.Digests, rep.LogFiles, key.Fingerprint)
	return rep, nil
}

// exportTime is the time an export's digest ends; a variable for tests.
var exportTime = time.Now

// runVerifyExport is irsa audit verify --export.
func runVerifyExport(ctx context.Context, w io.Writer, f *auditFlags, dir, publicKey string) error {
	var key *audit.DigestKey
	if publicKey != "" {
		k, err := audit.ParseDigestKey(publicKey)
		if err != nil {
			return usageErrorf("--public-key: %v", err)
		}
		key = k
	} else {
		st, err := f.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		k, err := audit.StoredDigestKey(ctx, st)
		if errors.Is(err, store.ErrNotFound) {
			return usageErrorf("the store has no digest key: it never exported or signed a checkpoint (pass --public-key)")
		}
		if err != nil {
			return err
		}
		key = k
	}
	rep, err := verifyExport(w, dir, key, f.output)
	if err != nil {
		return err
	}
	if !rep.OK() {
		return silentExit(ExitInvalid)
	}
	return nil
}
