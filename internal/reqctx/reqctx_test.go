package reqctx

import (
	"context"
	"regexp"
	"testing"
)

func TestContextRoundTrip(t *testing.T) {
	if got := From(context.Background()); got == nil || got.RequestID != "" {
		t.Fatalf("From(empty) = %+v, want an empty Info", got)
	}
	info := &Info{RequestID: "r", Caller: &Caller{Type: "Root", AccountID: "000000000000"}}
	if got := From(With(context.Background(), info)); got != info {
		t.Fatalf("From(With(info)) = %+v", got)
	}
}

func TestNewRequestID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := NewRequestID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("bad or repeated request ID %q", id)
		}
		seen[id] = true
	}
}
