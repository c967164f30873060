package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Backends wrap them with %w; callers test with errors.Is.
var (
	ErrNotFound      = errors.New("store: not found")
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrConflict means a concurrent writer changed the record between the
	// read and the write of an update; the caller may retry.
	ErrConflict = errors.New("store: conflicting update")
)

// Tag is a key-value pair on a taggable entity, in the order given.
type Tag struct {
	Key   string
	Value string
}

// Account is an AWS account that irsa serves.
type Account struct {
	ID        string // 12 digits
	CreatedAt time.Time
}

// AccessKey is a long-term access key (AKIA…). For the account root,
// UserName is empty.
type AccessKey struct {
	ID        string // AKIA…, 20 characters
	AccountID string
	UserName  string
	Secret    string
	Status    string // Active or Inactive
	CreatedAt time.Time
}

// OIDCProvider is an IAM OpenID Connect provider. URL is kept as
// registered (https://host/path); ARN is
// arn:aws:iam::ACCOUNT:oidc-provider/<URL without scheme>.
type OIDCProvider struct {
	AccountID   string
	ARN         string
	URL         string
	ClientIDs   []string
	Thumbprints []string
	Tags        []Tag
	CreatedAt   time.Time
	Version     int64 // bumped by every update
}

// Role is an IAM role with everything attached to it.
type Role struct {
	AccountID          string
	Name               string
	Path               string // "/" or "/a/b/"
	ID                 string // AROA…, 21 characters
	ARN                string
	TrustPolicy        string // the document as given
	Description        string
	MaxSessionDuration int // seconds, 3600..43200
	BoundaryARN        string
	Tags               []Tag
	InlinePolicies     []InlinePolicy // sorted by name
	AttachedPolicyARNs []string       // in attachment order
	CreatedAt          time.Time
	LastUsedAt         time.Time // zero when never used
	LastUsedRegion     string
	Version            int64
}

// InlinePolicy is a policy embedded in a role.
type InlinePolicy struct {
	Name     string
	Document string
}

// ManagedPolicy is a customer managed policy with its versions.
type ManagedPolicy struct {
	AccountID      string
	Name           string
	Path           string
	ID             string // ANPA…, 21 characters
	ARN            string
	Description    string
	DefaultVersion string // "v1", "v2", …
	Versions       []PolicyVersion
	// NextVersion is the number the next version gets (versions are never
	// renumbered after a delete).
	NextVersion     int
	AttachmentCount int
	Tags            []Tag
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Version         int64
}

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	ID        string // "v1"
	Document  string
	CreatedAt time.Time
}

// SigningKey is a key of the built-in OIDC issuer. PrivateKey is PKCS#8
// DER. A key is published from PublishAt, signs from ActiveAt, stops signing
// at RetireAt (zero: not yet retired) and is unpublished at ExpireAt (zero:
// not yet).
type SigningKey struct {
	ID         string // the JWK kid
	Algorithm  string // RS256, ES256, …
	PrivateKey []byte
	PublishAt  time.Time
	ActiveAt   time.Time
	RetireAt   time.Time
	ExpireAt   time.Time
	CreatedAt  time.Time
}

// SealingKey is a key of the ring that seals session tokens.
type SealingKey struct {
	ID        string
	Key       []byte // 32 bytes
	CreatedAt time.Time
	RetireAt  time.Time // zero: still used to seal
}

// Setting is a named value of server state (the built-in issuer's URL and
// ID, for example).
type Setting struct {
	Name  string
	Value string
}

// Accounts stores accounts.
type Accounts interface {
	CreateAccount(ctx context.Context, a Account) error
	GetAccount(ctx context.Context, id string) (Account, error)
	ListAccounts(ctx context.Context) ([]Account, error)
}

// AccessKeys stores long-term access keys.
type AccessKeys interface {
	CreateAccessKey(ctx context.Context, k AccessKey) error
	GetAccessKey(ctx context.Context, id string) (AccessKey, error)
	ListAccessKeys(ctx context.Context, accountID string) ([]AccessKey, error)
	DeleteAccessKey(ctx context.Context, id string) error
}

// OIDCProviders stores OIDC providers, keyed by ARN.
type OIDCProviders interface {
	CreateOIDCProvider(ctx context.Context, p OIDCProvider) error
	GetOIDCProvider(ctx context.Context, arn string) (OIDCProvider, error)
	ListOIDCProviders(ctx context.Context, accountID string) ([]OIDCProvider, error)
	// UpdateOIDCProvider reads the provider, lets fn change it and writes
	// it back in one transaction, checking Version.
	UpdateOIDCProvider(ctx context.Context, arn string, fn func(*OIDCProvider) error) (OIDCProvider, error)
	DeleteOIDCProvider(ctx context.Context, arn string) error
}

// Roles stores roles, keyed by account and name (names are unique within
// an account whatever their path, and compared case-insensitively as IAM
// does).
type Roles interface {
	CreateRole(ctx context.Context, r Role) error
	GetRole(ctx context.Context, accountID, name string) (Role, error)
	ListRoles(ctx context.Context, accountID, pathPrefix string) ([]Role, error)
	UpdateRole(ctx context.Context, accountID, name string, fn func(*Role) error) (Role, error)
	DeleteRole(ctx context.Context, accountID, name string) error
}

// ManagedPolicies stores customer managed policies, keyed by ARN.
type ManagedPolicies interface {
	CreatePolicy(ctx context.Context, p ManagedPolicy) error
	GetPolicy(ctx context.Context, arn string) (ManagedPolicy, error)
	ListPolicies(ctx context.Context, accountID, pathPrefix string) ([]ManagedPolicy, error)
	UpdatePolicy(ctx context.Context, arn string, fn func(*ManagedPolicy) error) (ManagedPolicy, error)
	DeletePolicy(ctx context.Context, arn string) error
}

// Keys stores the issuer's signing keys and the session sealing key ring.
type Keys interface {
	PutSigningKey(ctx context.Context, k SigningKey) error // insert or replace by ID
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	DeleteSigningKey(ctx context.Context, id string) error
	PutSealingKey(ctx context.Context, k SealingKey) error // insert or replace by ID
	ListSealingKeys(ctx context.Context) ([]SealingKey, error)
}

// Settings stores named values.
type Settings interface {
	GetSetting(ctx context.Context, name string) (string, error)
	// PutSettingIfAbsent stores value unless name is set, and returns the
	// value in force: a way for replicas to agree on generated values.
	PutSettingIfAbsent(ctx context.Context, name, value string) (string, error)
}

// Store is every aggregate of one backend.
type Store interface {
	Accounts
	AccessKeys
	OIDCProviders
	Roles
	ManagedPolicies
	Keys
	Settings
	Audit
	Clusters
	PodIdentityAssociations
	Close() error
}

// AuditRecord is one audit event in the tamper-evident chain. The store
// assigns Seq (1, 2, … without gaps) and Hash = SHA-256(previous Hash ||
// Event), with the previous Hash of the first record all zeros. Event is
// the CloudTrail-shaped JSON record, stored byte for byte; the other fields
// are copies of its fields for indexing.
type AuditRecord struct {
	Seq         int64
	Hash        []byte
	Event       []byte
	EventTime   time.Time
	EventSource string // sts.amazonaws.com, iam.amazonaws.com, …
	EventName   string
	ErrorCode   string
	SourceIP    string
	AccountID   string
	// Principal is the userIdentity's ARN or, for web identity, the
	// federated identity (the token's sub); RoleARN the role assumed or
	// acted on, when there is one.
	Principal string
	RoleARN   string
}

// DamagedError is returned by ListAudit, with the records before them,
// when records are stored in a form the store cannot read back: the
// database was changed by hand. FirstSeq … LastSeq is the stored range
// they claim; a caller that goes on reads after max(FirstSeq, LastSeq).
type DamagedError struct {
	FirstSeq, LastSeq int64
	Err               error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("audit records %d to %d are stored damaged: %v", e.FirstSeq, e.LastSeq, e.Err)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// Next is the seq after which a reader goes on past the damaged records.
func (e *DamagedError) Next() int64 { return max(e.FirstSeq, e.LastSeq) }

// Audit stores the audit trail.
type Audit interface {
	// AppendAudit appends records in order, assigning Seq and Hash in one
	// transaction; when it returns without error the records are durable.
	AppendAudit(ctx context.Context, records []AuditRecord) ([]AuditRecord, error)
	// ListAudit returns up to limit records with Seq > afterSeq, in order.
	// Records it cannot read back end the list with a *DamagedError.
	ListAudit(ctx context.Context, afterSeq int64, limit int) ([]AuditRecord, error)
	// AuditStart returns a seq after which lie all the records whose
	// EventTime is after t, for time-bounded scans: records after it may
	// be older (imported logs, records written together), so callers
	// filter by EventTime. With no record newer than t it is the last seq
	// (0 for an empty trail).
	AuditStart(ctx context.Context, t time.Time) (int64, error)
}
