package audit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/audit"
)

// BenchmarkDetect runs the rules over a server's default memory bound of
// recent events (200,000 over 22 hours, 50 roles, a token per 100 calls),
// the work of one evaluation of the server's alert monitor.
func BenchmarkDetect(b *testing.B) {
	events := make([]audit.Event, 0, audit.DefaultMonitorMaxEvents)
	for i := range audit.DefaultMonitorMaxEvents {
		events = append(events, assume(fmt.Sprintf("arn:aws:iam::000000000000:role/r%d", i%50), alertProdSub,
			time.Duration(i)*400*time.Millisecond, "10.0.0.1", fmt.Sprintf("tok%d", i/100), ""))
	}
	b.ResetTimer()
	for b.Loop() {
		if got := audit.Detect(events, audit.Rules{}, alertNow); len(got) != 0 {
			b.Fatalf("alerts on steady traffic: %v", got)
		}
	}
}
