package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/irsa-dev/irsa/internal/session"
	"github.com/irsa-dev/irsa/internal/store"
)

// Store is what the key manager keeps.
type Store interface {
	store.Keys
}

// Config configures a Manager.
type Config struct {
	Store Store
	Now   func() time.Time
	Rand  io.Reader
	// Algorithm of new signing keys: RS256 (the default, as kube-apiserver)
	// or ES256.
	Algorithm string
	// PublishLead is how long a new key is published before it signs, so
	// verifiers that cache the key set learn it first. Default 10 minutes.
	PublishLead time.Duration
	// MaxTokenLifetime is the longest lifetime of a token the issuer
	// signs; a retired key stays published this long after it stops
	// signing. Default 48 hours.
	MaxTokenLifetime time.Duration
	// Reload is how often keys are re-read from the store, so that every
	// replica follows a rotation. Default 10 seconds.
	Reload time.Duration
}

// Manager manages signing and sealing keys.
type Manager struct {
	cfg Config

	mu       sync.Mutex
	loadedAt time.Time
	signing  []store.SigningKey
	parsed   map[string]parsedKey
	sealer   *session.Sealer
}

// parsedKey is a signing key parsed once per reload: parsing an RSA private
// key costs as much as hundreds of verifications.
type parsedKey struct {
	private crypto.Signer
	public  jose.JSONWebKey
}

// New returns a Manager.
func New(cfg Config) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = "RS256"
	}
	if cfg.PublishLead == 0 {
		cfg.PublishLead = 10 * time.Minute
	}
	if cfg.MaxTokenLifetime == 0 {
		cfg.MaxTokenLifetime = 48 * time.Hour
	}
	if cfg.Reload == 0 {
		cfg.Reload = 10 * time.Second
	}
	return &Manager{cfg: cfg}
}

// ErrNoActiveKey means no signing key can sign now.
var ErrNoActiveKey = errors.New("keys: no active signing key")

// Ensure creates a signing key that signs at once and a sealing key when
// there are none. It is safe to run on every start.
func (m *Manager) Ensure(ctx context.Context) error {
	now := m.cfg.Now().UTC()
	sk, err := m.cfg.Store.ListSigningKeys(ctx)
	if err != nil {
		return err
	}
	if active(sk, now) == nil {
		k, err := m.newSigningKey(now, now)
		if err != nil {
			return err
		}
		if err := m.cfg.Store.PutSigningKey(ctx, k); err != nil {
			return err
		}
	}
	seal, err := m.cfg.Store.ListSealingKeys(ctx)
	if err != nil {
		return err
	}
	if len(seal) == 0 {
		k := make([]byte, 32)
		if _, err := io.ReadFull(m.cfg.Rand, k); err != nil {
			return err
		}
		id := make([]byte, 8)
		if _, err := io.ReadFull(m.cfg.Rand, id); err != nil {
			return err
		}
		if err := m.cfg.Store.PutSealingKey(ctx, store.SealingKey{ID: hex.EncodeToString(id), Key: k, CreatedAt: now}); err != nil {
			return err
		}
	}
	m.invalidate()
	return nil
}

// Rotate publishes a new signing key that signs after PublishLead, retires
// the current key at that moment, and schedules the retired key's removal
// from the key set after MaxTokenLifetime. Keys past their expiry are
// deleted. It returns the new key's ID.
func (m *Manager) Rotate(ctx context.Context) (string, error) {
	now := m.cfg.Now().UTC()
	keys, err := m.cfg.Store.ListSigningKeys(ctx)
	if err != nil {
		return "", err
	}
	activeAt := now.Add(m.cfg.PublishLead)
	next, err := m.newSigningKey(now, activeAt)
	if err != nil {
		return "", err
	}
	if err := m.cfg.Store.PutSigningKey(ctx, next); err != nil {
		return "", err
	}
	for _, k := range keys {
		switch {
		case !k.ExpireAt.IsZero() && !k.ExpireAt.After(now):
			if err := m.cfg.Store.DeleteSigningKey(ctx, k.ID); err != nil {
				return "", err
			}
		case k.RetireAt.IsZero() || k.RetireAt.After(activeAt):
			k.RetireAt = activeAt
			k.ExpireAt = activeAt.Add(m.cfg.MaxTokenLifetime)
			if err := m.cfg.Store.PutSigningKey(ctx, k); err != nil {
				return "", err
			}
		}
	}
	m.invalidate()
	return next.ID, nil
}

func (m *Manager) newSigningKey(now, activeAt time.Time) (store.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch m.cfg.Algorithm {
	case "RS256":
		priv, err = rsa.GenerateKey(m.cfg.Rand, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), m.cfg.Rand)
	default:
		return store.SigningKey{}, fmt.Errorf("keys: unsupported signing algorithm %q (want RS256 or ES256)", m.cfg.Algorithm)
	}
	if err != nil {
		return store.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, err
	}
	kid, err := KeyID(priv.Public())
	if err != nil {
		return store.SigningKey{}, err
	}
	return store.SigningKey{ID: kid, Algorithm: m.cfg.Algorithm, PrivateKey: der, PublishAt: now, ActiveAt: activeAt, CreatedAt: now}, nil
}

// KeyID is the key ID kube-apiserver gives a service-account signing key:
// the unpadded base64url SHA-256 of the public key's PKIX DER.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

func (m *Manager) invalidate() {
	m.mu.Lock()
	m.loadedAt = time.Time{}
	m.mu.Unlock()
}

// load refreshes the cached keys when they are older than Reload.
func (m *Manager) load(ctx context.Context) ([]store.SigningKey, *session.Sealer, error) {
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.loadedAt.IsZero() && now.Sub(m.loadedAt) < m.cfg.Reload && now.After(m.loadedAt.Add(-time.Second)) {
		return m.signing, m.sealer, nil
	}
	sk, err := m.cfg.Store.ListSigningKeys(ctx)
	if err != nil {
		return nil, nil, err
	}
	parsed := make(map[string]parsedKey, len(sk))
	for i := range sk {
		if old, ok := m.parsed[sk[i].ID]; ok {
			parsed[sk[i].ID] = old
			continue
		}
		pk, err := parseKey(&sk[i])
		if err != nil {
			return nil, nil, err
		}
		parsed[sk[i].ID] = pk
	}
	seal, err := m.cfg.Store.ListSealingKeys(ctx)
	if err != nil {
		return nil, nil, err
	}
	// The newest key that is not retired seals; all of them open.
	sort.SliceStable(seal, func(i, j int) bool {
		ri, rj := !seal[i].RetireAt.IsZero(), !seal[j].RetireAt.IsZero()
		if ri != rj {
			return !ri
		}
		return seal[i].CreatedAt.After(seal[j].CreatedAt)
	})
	ring := make([]session.Key, len(seal))
	for i, k := range seal {
		ring[i] = session.Key{ID: k.ID, Key: k.Key}
	}
	var sealer *session.Sealer
	if len(ring) > 0 {
		if sealer, err = session.NewSealer(ring, m.cfg.Rand); err != nil {
			return nil, nil, err
		}
	}
	m.signing, m.parsed, m.sealer, m.loadedAt = sk, parsed, sealer, now
	return sk, sealer, nil
}

// active returns the key that signs at now: among keys whose ActiveAt has
// come and that are not retired, the one activated last.
func active(keys []store.SigningKey, now time.Time) *store.SigningKey {
	var best *store.SigningKey
	for i := range keys {
		k := &keys[i]
		if k.ActiveAt.After(now) || (!k.RetireAt.IsZero() && !k.RetireAt.After(now)) {
			continue
		}
		if best == nil || k.ActiveAt.After(best.ActiveAt) {
			best = k
		}
	}
	return best
}

func published(k *store.SigningKey, now time.Time) bool {
	return !k.PublishAt.After(now) && (k.ExpireAt.IsZero() || k.ExpireAt.After(now))
}

// Signer returns a JOSE signer with the key that signs now.
func (m *Manager) Signer(ctx context.Context) (jose.Signer, string, error) {
	keys, _, err := m.load(ctx)
	if err != nil {
		return nil, "", err
	}
	k := active(keys, m.cfg.Now())
	if k == nil {
		return nil, "", ErrNoActiveKey
	}
	priv := m.parsedKey(k.ID).private
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.ID)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Algorithm), Key: priv}, opts)
	if err != nil {
		return nil, "", err
	}
	return s, k.ID, nil
}

// KeySet returns the published public keys, newest first.
func (m *Manager) KeySet(ctx context.Context) (jose.JSONWebKeySet, error) {
	keys, _, err := m.load(ctx)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	now := m.cfg.Now()
	var set jose.JSONWebKeySet
	sorted := append([]store.SigningKey(nil), keys...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].PublishAt.After(sorted[j].PublishAt) })
	for i := range sorted {
		k := &sorted[i]
		if !published(k, now) {
			continue
		}
		set.Keys = append(set.Keys, m.parsedKey(k.ID).public)
	}
	return set, nil
}

// Key returns the published public key with the given ID.
func (m *Manager) Key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	keys, _, err := m.load(ctx)
	if err != nil {
		return nil, err
	}
	now := m.cfg.Now()
	for i := range keys {
		k := &keys[i]
		if k.ID == kid && published(k, now) {
			jwk := m.parsedKey(k.ID).public
			return &jwk, nil
		}
	}
	return nil, store.ErrNotFound
}

func (m *Manager) parsedKey(id string) parsedKey {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.parsed[id]
}

func parseKey(k *store.SigningKey) (parsedKey, error) {
	priv, err := x509.ParsePKCS8PrivateKey(k.PrivateKey)
	if err != nil {
		return parsedKey{}, fmt.Errorf("keys: signing key %s: %w", k.ID, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return parsedKey{}, fmt.Errorf("keys: signing key %s is not a signer", k.ID)
	}
	return parsedKey{private: signer, public: jose.JSONWebKey{Key: signer.Public(), KeyID: k.ID, Algorithm: k.Algorithm, Use: "sig"}}, nil
}

// Sealer returns the session sealer of the current key ring.
func (m *Manager) Sealer(ctx context.Context) (*session.Sealer, error) {
	_, s, err := m.load(ctx)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errors.New("keys: no sealing key; run Ensure first")
	}
	return s, nil
}
