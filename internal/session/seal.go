package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Session is one temporary session: what AWS's session token stands for.
type Session struct {
	AccountID       string    `json:"a"`
	RoleID          string    `json:"ri"`
	RoleName        string    `json:"rn"`
	RoleARN         string    `json:"ra"` // with the role's path
	SessionName     string    `json:"sn"`
	AccessKeyID     string    `json:"k"`
	SecretAccessKey string    `json:"s"`
	IssuedAt        time.Time `json:"i"`
	Expiration      time.Time `json:"e"`
	// SessionPolicies are the session policy documents (the inline Policy
	// and the documents of PolicyArns at the time of the call), which limit
	// the session's permissions.
	SessionPolicies   []string `json:"sp,omitempty"`
	PolicyARNs        []string `json:"pa,omitempty"`
	Tags              []Tag    `json:"t,omitempty"`
	TransitiveTagKeys []string `json:"tt,omitempty"`
	SourceIdentity    string   `json:"si,omitempty"`
	// Chained is set when a session assumed this one (role chaining).
	Chained bool `json:"c,omitempty"`
	// FederatedProvider and Subject are set for web identity sessions.
	FederatedProvider string `json:"fp,omitempty"`
	Subject           string `json:"sub,omitempty"`
	// Service is the service principal that assumed the role, if any (for
	// example pods.eks.amazonaws.com).
	Service string `json:"svc,omitempty"`
}

// Tag is a session tag.
type Tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// ARN is the session's assumed-role ARN: arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION.
func (s *Session) ARN(partition string) string {
	return "arn:" + partition + ":sts::" + s.AccountID + ":assumed-role/" + s.RoleName + "/" + s.SessionName
}

// UserID is RoleID:SessionName, as GetCallerIdentity reports it.
func (s *Session) UserID() string { return s.RoleID + ":" + s.SessionName }

// Key is one sealing key.
type Key struct {
	ID  string
	Key []byte // 32 bytes: AES-256
}

// Sealer seals and opens session tokens with a ring of keys. The first key
// seals; every key opens, so a key can be rotated out gracefully.
type Sealer struct {
	seal  keyAEAD
	byID  map[string]keyAEAD
	rand  io.Reader
	limit int
}

type keyAEAD struct {
	id   string
	aead cipher.AEAD
}

// Errors from Open. Callers render both as AWS's InvalidClientTokenId.
var (
	ErrMalformed  = errors.New("session: malformed session token")
	ErrUnknownKey = errors.New("session: session token sealed with an unknown key")
)

const (
	tokenVersion = 1
	// MaxTokenLength bounds what Open reads.
	MaxTokenLength = 16384
)

// NewSealer builds a sealer. keys[0] seals.
func NewSealer(keys []Key, rnd io.Reader) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("session: no sealing key")
	}
	s := &Sealer{byID: map[string]keyAEAD{}, rand: rnd, limit: MaxTokenLength}
	for i, k := range keys {
		if len(k.Key) != 32 {
			return nil, fmt.Errorf("session: sealing key %q is %d bytes, want 32", k.ID, len(k.Key))
		}
		if k.ID == "" || len(k.ID) > 64 {
			return nil, fmt.Errorf("session: sealing key ID %q must be 1 to 64 characters", k.ID)
		}
		block, err := aes.NewCipher(k.Key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		ka := keyAEAD{id: k.ID, aead: aead}
		if i == 0 {
			s.seal = ka
		}
		s.byID[k.ID] = ka
	}
	return s, nil
}

// Seal encrypts and authenticates s into a session token.
func (sl *Sealer) Seal(s *Session) (string, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	header := append([]byte{tokenVersion, byte(len(sl.seal.id))}, sl.seal.id...) //nolint:gosec // NewSealer limits key IDs to 1..64 characters
	nonce := make([]byte, sl.seal.aead.NonceSize())
	if _, err := io.ReadFull(sl.rand, nonce); err != nil {
		return "", err
	}
	out := append(header, nonce...)
	out = sl.seal.aead.Seal(out, nonce, plain, header)
	tok := base64.StdEncoding.EncodeToString(out)
	if len(tok) > sl.limit {
		return "", fmt.Errorf("session: sealed token of %d bytes exceeds %d", len(tok), sl.limit)
	}
	return tok, nil
}

// Open authenticates and decrypts a session token. It does not check the
// expiry: callers compare Expiration with their clock.
func (sl *Sealer) Open(token string) (*Session, error) {
	if len(token) == 0 || len(token) > sl.limit {
		return nil, ErrMalformed
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) < 2 || raw[0] != tokenVersion {
		return nil, ErrMalformed
	}
	idLen := int(raw[1])
	if len(raw) < 2+idLen {
		return nil, ErrMalformed
	}
	header := raw[:2+idLen]
	ka, ok := sl.byID[string(raw[2:2+idLen])]
	if !ok {
		return nil, ErrUnknownKey
	}
	rest := raw[2+idLen:]
	ns := ka.aead.NonceSize()
	if len(rest) < ns+ka.aead.Overhead() {
		return nil, ErrMalformed
	}
	plain, err := ka.aead.Open(nil, rest[:ns], rest[ns:], header)
	if err != nil {
		return nil, ErrMalformed
	}
	var s Session
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, ErrMalformed
	}
	return &s, nil
}

// SameAccessKey compares the access key ID a request was signed with to the
// session's, in constant time.
func (s *Session) SameAccessKey(id string) bool {
	return subtle.ConstantTimeCompare([]byte(s.AccessKeyID), []byte(id)) == 1
}
