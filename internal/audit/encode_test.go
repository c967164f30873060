package audit

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/policy"
)

// reflectEncode is the reference: json.Marshal.
func reflectEncode(t testing.TB, e *Event) []byte {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fullEvent sets every field, with s in every string.
func fullEvent(s string, n int64) *Event {
	return &Event{
		EventVersion: s, EventTime: time.Unix(n%(1<<40), 0), EventSource: s, EventName: s, AWSRegion: s,
		SourceIPAddress: s, UserAgent: s, ErrorCode: s, ErrorMessage: s,
		UserIdentity: &UserIdentity{Type: s, PrincipalID: s, ARN: s, AccountID: s, AccessKeyID: s, UserName: s,
			IdentityProvider: s, InvokedBy: s,
			SessionContext: &SessionContext{
				SessionIssuer:       &SessionIssuer{Type: s, PrincipalID: s, ARN: s, AccountID: s, UserName: s},
				WebIDFederationData: &WebIDFederationData{FederatedProvider: s, FederatedIdentity: s, Attributes: map[string]string{s: s, "b" + s: ""}},
				Attributes:          &SessionAttributes{CreationDate: s, MFAAuthenticated: s},
				SourceIdentity:      s,
			},
			WebIDFederationData: &WebIDFederationData{FederatedIdentity: s},
		},
		RequestParameters: map[string]any{
			s: s, "n" + s: n, "i": int(n), "i32": int32(n), "b": n%2 == 0, "nil": nil, "f": float64(n) / 7,
			"list": []string{s, ""}, "anys": []any{s, n, map[string]any{s: []any{}}}, "m": map[string]string{s: s},
			"nilList": []string(nil), "nilMap": map[string]string(nil), "nilAnys": []any(nil),
		},
		ResponseElements: map[string]any{"credentials": map[string]any{"accessKeyId": s, "expiration": s},
			"creds": CredentialsElement(s, time.Unix(n%(1<<40), int64(n%1e9)).In(time.FixedZone(s, int(n%50000))))},
		AdditionalEventData: map[string]any{"federatedIdentity": s, "subject": map[string]any{"namespace": s}},
		RequestID:           s, EventID: s, ReadOnly: n%3 == 0, EventType: s, ManagementEvent: n%5 == 0,
		RecipientAccountID: s, EventCategory: s, TokenHash: s,
		Explanation: []policy.Reason{{Message: s, Expected: []string{s}, Actual: []string{s}}},
	}
}

func TestAppendEventMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", `quote " back \ slash`, "<html>&amp;", "ctl \x00\x01\b\f\n\r\t\x1f\x7f",
		"utf8 é ü 日本 🙂", "bad \xff\xfe utf8 \xc3", "sep \u2028 \u2029", "\x00"}
	for i, s := range strs {
		for _, e := range []*Event{fullEvent(s, int64(i)), {EventSource: s, EventName: s, EventTime: time.Unix(0, 0)},
			{EventSource: s, EventName: s, UserIdentity: &UserIdentity{SessionContext: &SessionContext{}}},
			{EventSource: s, UserIdentity: &UserIdentity{SessionContext: &SessionContext{SourceIdentity: s, Attributes: &SessionAttributes{}}}},
			{EventSource: s, UserIdentity: &UserIdentity{WebIDFederationData: &WebIDFederationData{}}},
			{EventSource: s, RequestParameters: map[string]any{}, ResponseElements: map[string]any{"x": struct{ A string }{s}}}} {
			got, err := appendEvent(nil, e)
			if err != nil {
				t.Fatal(err)
			}
			if want := reflectEncode(t, e); !bytes.Equal(got, want) {
				t.Errorf("%q:\n got %s\nwant %s", s, got, want)
			}
		}
	}
}

func FuzzAppendEvent(f *testing.F) {
	f.Add("system:serviceaccount:a:b", int64(1))
	f.Add("\xff<\u2028\x00\"", int64(-3))
	f.Fuzz(func(t *testing.T, s string, n int64) {
		e := fullEvent(s, n)
		got, err := appendEvent(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		if want := reflectEncode(t, e); !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	e := fullEvent("system:serviceaccount:team-a:app", 7)
	e.Explanation = nil
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := appendEvent(make([]byte, 0, 1536), e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			reflectEncode(b, e)
		}
	})
}
