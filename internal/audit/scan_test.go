package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/store"
)

// scanSeeds are records of every shape the trail holds: irsa's events
// (the golden files) and AWS's (the imported CloudTrail samples).
func scanSeeds(t testing.TB) [][]byte {
	t.Helper()
	var seeds [][]byte
	files, _ := filepath.Glob("testdata/events/*.json")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, buf.Bytes(), raw) // compact and indented
	}
	if len(seeds) == 0 {
		t.Fatal("no seed events in testdata/events")
	}
	return append(seeds,
		[]byte(`{"eventTime":"2026-01-02T03:04:05Z","eventName":"AssumeRoleWithWebIdentity","EventName":"x"}`),
		[]byte(`{"eventTime":"2026-01-02T03:04:05Z","eventName":"A","eventName":"B"}`),
		[]byte(`{"eventTime":"2026-01-02T03:04:05Z","requestParameters":{"roleArn":""},"userIdentity":{"sessionContext":{}}}`),
		[]byte(`{"eventTime":"2026-01-02T03:04:05Z","requestParameters":{"roleArn":"r\u00e9"},"userIdentity":null}`),
		[]byte(`{"eventTime":"2026-01-02T03:04:05Z","requestParameters":7,"userIdentity":{"type":"WebIdentityUser","webIdFederationData":{"federatedIdentity":"system:serviceaccount:a:b"}}}`),
		[]byte(`{"eventTime":"2026-01-02T03:04:05Z","sourceIPAddress":null,"tokenHash":"é"}`),
		[]byte(`{"eventTime":"2026-01-02"}`),
		[]byte(`{"eventTime":"2026-01-02T03:04:05Z","eventName":"AssumeRoleForPodIdentity","errorCode":"AccessDeniedException","additionalEventData":{"federatedIdentity":"system:serviceaccount:staging:app","subject":{"namespace":"staging"}}}`),
		[]byte(`{"eventTime":"2026-01-02T03:04:05Z","additionalEventData":{"federatedIdentity":""}}`),
		[]byte(`{"eventTime":"2026-01-02T03:04:05Z","additionalEventData":null,"AdditionalEventData":{}}`),
		[]byte(` { "eventTime" : "2026-01-02T03:04:05Z" , "x" : [ 1 , { "y" : [ ] } ] } `),
	)
}

// alertEventsAgree checks the fast path against encoding/json on one
// record: where the fast path answers, it must give the same event.
func alertEventsAgree(t *testing.T, raw []byte) bool {
	t.Helper()
	rec := store.AuditRecord{Event: raw, RoleARN: "arn:aws:iam::000000000000:role/indexed"}
	fast, ok := alertEventFast(raw, rec.RoleARN)
	slow, err := alertEventSlow(rec)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("fast path read %s, encoding/json failed: %v", raw, err)
	}
	if d := cmp.Diff(slow, fast); d != "" {
		t.Fatalf("%s: fast path differs from encoding/json (-slow +fast):\n%s", raw, d)
	}
	return true
}

func TestAlertEventFast(t *testing.T) {
	fastOnes := 0
	for _, raw := range scanSeeds(t) {
		if alertEventsAgree(t, raw) {
			fastOnes++
		}
	}
	// irsa's own events, compact and indented, take the fast path.
	if files, _ := filepath.Glob("testdata/events/*.json"); fastOnes < 2*len(files) {
		t.Errorf("%d seeds took the fast path, want at least the %d event files, compact and indented", fastOnes, 2*len(files))
	}
}

func FuzzAlertEventFast(f *testing.F) {
	for _, s := range scanSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // the store holds valid JSON only (Encode, ParseRecord)
		}
		alertEventsAgree(t, raw)
	})
}

func BenchmarkAlertEvent(b *testing.B) {
	raw, err := os.ReadFile("testdata/events/arwwi_success.json")
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		b.Fatal(err)
	}
	rec := store.AuditRecord{Event: buf.Bytes()}
	for _, c := range []struct {
		name string
		f    func(store.AuditRecord) (Event, error)
	}{{"fast", AlertEvent}, {"encoding-json", alertEventSlow}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.f(rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
