package audit_test

import (
	"context"
	"time"
)

// AuditStart completes memAudit's store.Audit: the seq before the first
// record newer than t, or the last seq.
func (m *memAudit) AuditStart(_ context.Context, t time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.recs {
		if r.EventTime.After(t) {
			return r.Seq - 1, nil
		}
	}
	return int64(len(m.recs)), nil
}
