package audit

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/store"
)

// Values of the fixed fields of an irsa event.
const (
	EventVersion = "1.08"
	EventType    = "AwsApiCall"

	SourceSTS = "sts.amazonaws.com"
	SourceIAM = "iam.amazonaws.com"
)

// userIdentity types, as CloudTrail spells them.
const (
	IdentityRoot            = "Root"
	IdentityIAMUser         = "IAMUser"
	IdentityAssumedRole     = "AssumedRole"
	IdentityWebIdentityUser = "WebIdentityUser"
	IdentityAWSService      = "AWSService"
	// IdentityUnknown is CloudTrail's type for a caller it could not
	// authenticate (a missing or bad signature).
	IdentityUnknown = "Unknown"
)

// TimeFormat is how eventTime is written: CloudTrail's ISO 8601 UTC to the
// second.
const TimeFormat = "2006-01-02T15:04:05Z"

// Event is one CloudTrail record, with irsa's additions (explanation,
// tokenHash). Fields keep CloudTrail's names and order; empty fields are
// left out. No field may hold a token, a secret access key or a session
// token: build RequestParameters with Redact and ResponseElements with
// CredentialsElement.
type Event struct {
	EventVersion      string         `json:"eventVersion"`
	UserIdentity      *UserIdentity  `json:"userIdentity,omitempty"`
	EventTime         time.Time      `json:"-"`
	EventSource       string         `json:"eventSource"`
	EventName         string         `json:"eventName"`
	AWSRegion         string         `json:"awsRegion,omitempty"`
	SourceIPAddress   string         `json:"sourceIPAddress,omitempty"`
	UserAgent         string         `json:"userAgent,omitempty"`
	ErrorCode         string         `json:"errorCode,omitempty"`
	ErrorMessage      string         `json:"errorMessage,omitempty"`
	RequestParameters map[string]any `json:"requestParameters"`
	ResponseElements  map[string]any `json:"responseElements"`
	// AdditionalEventData holds what the call learned beyond its request
	// and response, as CloudTrail's field of that name: for EKS Auth, the
	// pod's identity from the verified token, refusals included.
	AdditionalEventData map[string]any  `json:"additionalEventData,omitempty"`
	RequestID           string          `json:"requestID,omitempty"`
	EventID             string          `json:"eventID"`
	ReadOnly            bool            `json:"readOnly"`
	EventType           string          `json:"eventType"`
	ManagementEvent     bool            `json:"managementEvent"`
	RecipientAccountID  string          `json:"recipientAccountId,omitempty"`
	EventCategory       string          `json:"eventCategory,omitempty"`
	Explanation         []policy.Reason `json:"explanation,omitempty"`
	TokenHash           string          `json:"tokenHash,omitempty"`

	// RoleARN is the role the call assumed or acted on, for the trail's
	// index; it is not part of the JSON. When empty, Record takes
	// requestParameters.roleArn.
	RoleARN string `json:"-"`
}

// UserIdentity is CloudTrail's userIdentity element.
type UserIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
	UserName    string `json:"userName,omitempty"`
	// IdentityProvider is the OIDC provider ARN of a WebIdentityUser.
	IdentityProvider    string               `json:"identityProvider,omitempty"`
	InvokedBy           string               `json:"invokedBy,omitempty"`
	SessionContext      *SessionContext      `json:"sessionContext,omitempty"`
	WebIDFederationData *WebIDFederationData `json:"webIdFederationData,omitempty"`
}

// SessionContext is the userIdentity.sessionContext of a role session.
type SessionContext struct {
	SessionIssuer       *SessionIssuer       `json:"sessionIssuer,omitempty"`
	WebIDFederationData *WebIDFederationData `json:"webIdFederationData,omitempty"`
	Attributes          *SessionAttributes   `json:"attributes,omitempty"`
	SourceIdentity      string               `json:"sourceIdentity,omitempty"`
}

// SessionIssuer is the role a session belongs to.
type SessionIssuer struct {
	Type        string `json:"type"` // Role
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	UserName    string `json:"userName,omitempty"`
}

// SessionAttributes are the attributes of a session.
type SessionAttributes struct {
	CreationDate     string `json:"creationDate,omitempty"` // TimeFormat
	MFAAuthenticated string `json:"mfaAuthenticated"`       // "true" or "false"
}

// WebIDFederationData names the identity provider of a web identity, and
// the identity: FederatedIdentity is the token's sub; Attributes hold
// other claims worth keeping (aud, the Kubernetes namespace and service
// account).
type WebIDFederationData struct {
	FederatedProvider string            `json:"federatedProvider,omitempty"`
	FederatedIdentity string            `json:"federatedIdentity,omitempty"`
	Attributes        map[string]string `json:"attributes,omitempty"`
}

// MarshalJSON writes the event in CloudTrail's field order, with eventTime
// in TimeFormat.
func (e *Event) MarshalJSON() ([]byte, error) {
	type plain Event // without the method
	return json.Marshal(struct {
		EventVersion string        `json:"eventVersion"`
		UserIdentity *UserIdentity `json:"userIdentity,omitempty"`
		EventTime    string        `json:"eventTime"`
		*plain
	}{e.EventVersion, e.UserIdentity, e.EventTime.UTC().Format(TimeFormat), (*plain)(e)})
}

// UnmarshalJSON reads an event written by MarshalJSON.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	var v struct {
		EventTime string `json:"eventTime"`
		*plain
	}
	v.plain = (*plain)(e)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.EventTime != "" {
		t, err := time.Parse(time.RFC3339, v.EventTime)
		if err != nil {
			return fmt.Errorf("eventTime: %w", err)
		}
		e.EventTime = t.UTC()
	}
	return nil
}

// NewEventID returns a random (version 4) UUID from rnd, crypto/rand when
// nil.
func NewEventID(rnd io.Reader) (string, error) {
	if rnd == nil {
		return newEventID()
	}
	var b [16]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("audit: event ID: %w", err)
	}
	return formatUUID(&b), nil
}

// newEventID is NewEventID from crypto/rand, with its bytes on the stack.
func newEventID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("audit: event ID: %w", err)
	}
	return formatUUID(&b), nil
}

// formatUUID writes b as a version 4 UUID.
func formatUUID(b *[16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// Encode fills the fixed fields left empty (eventVersion, eventType, a
// random eventID, requestParameters and responseElements as JSON null
// when nil is meant, managementEvent and eventCategory) and returns the
// event's JSON: struct fields in CloudTrail's order, map keys sorted,
// <, > and & escaped as json.Marshal does, no trailing newline. The same
// event encodes to the same bytes.
func (e *Event) Encode() ([]byte, error) {
	if e.EventName == "" || e.EventSource == "" {
		return nil, errors.New("audit: event without eventSource or eventName")
	}
	if e.EventTime.IsZero() {
		return nil, errors.New("audit: event without eventTime")
	}
	if e.EventVersion == "" {
		e.EventVersion = EventVersion
	}
	if e.EventType == "" {
		e.EventType = EventType
	}
	if e.EventCategory == "" {
		e.EventCategory = "Management"
		e.ManagementEvent = true
	}
	if e.EventID == "" {
		id, err := NewEventID(nil)
		if err != nil {
			return nil, err
		}
		e.EventID = id
	}
	buf := encodeBuffers.Get().(*[]byte)
	defer encodeBuffers.Put(buf)
	b, err := appendEvent((*buf)[:0], e)
	if err != nil {
		return nil, fmt.Errorf("audit: encode event %s: %w", e.EventName, err)
	}
	if cap(b) <= maxPooledBuffer {
		*buf = b
	}
	// The event is the caller's (the store may keep it): a copy of its
	// exact size, never the pooled buffer.
	return bytes.Clone(b), nil
}

// encodeBuffers hold the scratch buffers of Encode: an event is encoded
// into one, then copied out at its exact size.
var encodeBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 4096)
	return &b
}}

// maxPooledBuffer is the largest scratch buffer kept for reuse: an event
// with a large policy document is not worth holding on to.
const maxPooledBuffer = 64 << 10

// Record encodes the event (see Encode) into a record for the store, with
// the index fields copied from the event. Seq and Hash are left to the
// store.
func (e *Event) Record() (store.AuditRecord, error) {
	b, err := e.Encode()
	if err != nil {
		return store.AuditRecord{}, err
	}
	r := store.AuditRecord{
		Event:       b,
		EventTime:   e.EventTime.UTC().Truncate(time.Second),
		EventSource: e.EventSource,
		EventName:   e.EventName,
		ErrorCode:   e.ErrorCode,
		SourceIP:    e.SourceIPAddress,
		AccountID:   e.RecipientAccountID,
		RoleARN:     e.RoleARN,
	}
	if r.RoleARN == "" {
		r.RoleARN, _ = e.RequestParameters["roleArn"].(string)
	}
	if u := e.UserIdentity; u != nil {
		r.Principal = u.ARN
		if u.Type == IdentityWebIdentityUser {
			r.Principal = u.UserName
			if f := u.WebIDFederationData; f != nil && f.FederatedIdentity != "" {
				r.Principal = f.FederatedIdentity
			}
		}
	}
	return r, nil
}

// ParseRecord makes a record for the store of one CloudTrail record, as
// found in the Records array of a CloudTrail log file (from AWS or from
// an export): the event is kept as given, compacted, and the index fields
// are read from it. Seq and Hash are left to the store.
func ParseRecord(raw []byte) (store.AuditRecord, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return store.AuditRecord{}, fmt.Errorf("audit: CloudTrail record: %w", err)
	}
	var v struct {
		EventTime          string         `json:"eventTime"`
		EventSource        string         `json:"eventSource"`
		EventName          string         `json:"eventName"`
		ErrorCode          string         `json:"errorCode"`
		SourceIPAddress    string         `json:"sourceIPAddress"`
		RecipientAccountID string         `json:"recipientAccountId"`
		RequestParameters  map[string]any `json:"requestParameters"`
		UserIdentity       *UserIdentity  `json:"userIdentity"`
	}
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
		return store.AuditRecord{}, fmt.Errorf("audit: CloudTrail record: %w", err)
	}
	if v.EventSource == "" || v.EventName == "" {
		return store.AuditRecord{}, errors.New("audit: CloudTrail record without eventSource or eventName")
	}
	t, err := time.Parse(time.RFC3339, v.EventTime)
	if err != nil {
		return store.AuditRecord{}, fmt.Errorf("audit: CloudTrail record: eventTime: %w", err)
	}
	e := Event{
		EventTime: t, EventSource: v.EventSource, EventName: v.EventName, ErrorCode: v.ErrorCode,
		SourceIPAddress: v.SourceIPAddress, RecipientAccountID: v.RecipientAccountID,
		RequestParameters: v.RequestParameters, UserIdentity: v.UserIdentity,
	}
	if u := v.UserIdentity; u != nil && u.Type == IdentityWebIdentityUser && u.UserName == "" {
		// AWS's WebIdentityUser names the sub at the end of principalId
		// (provider:aud:sub); keep the whole principalId.
		u.UserName = u.PrincipalID
	}
	if e.RecipientAccountID == "" && v.UserIdentity != nil {
		e.RecipientAccountID = v.UserIdentity.AccountID
	}
	r, err := e.Record()
	if err != nil {
		return store.AuditRecord{}, err
	}
	r.Event = buf.Bytes()
	r.EventTime = t.UTC()
	return r, nil
}

// IsReadOnly is CloudTrail's readOnly of an action: every STS call (they
// change no resource), and the IAM calls that only read (Get*, List*,
// Simulate*).
func IsReadOnly(eventSource, action string) bool {
	if eventSource == SourceSTS {
		return true
	}
	for _, p := range []string{"Get", "List", "Simulate"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}
