package app

import (
	"context"
	"errors"

	"github.com/go-jose/go-jose/v4"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/jwks"
	"github.com/irsa-dev/irsa/internal/keys"
	"github.com/irsa-dev/irsa/internal/store"
)

// keySource finds verification keys: the built-in issuer's in irsa's own
// key store, every other provider's over HTTPS.
type keySource struct {
	builtinURL string
	builtin    *keys.Manager
	external   *jwks.Cache
	mirrors    map[string]*jwks.Mirror
}

func (k *keySource) Key(ctx context.Context, p *store.OIDCProvider, kid string) (*jose.JSONWebKey, error) {
	if m, ok := k.mirrors[p.URL]; ok {
		return m.Key(ctx, p, kid)
	}
	if p.URL != k.builtinURL {
		return k.external.Key(ctx, p, kid)
	}
	if kid == "" {
		// A token without kid is verified with the key set's only key.
		set, err := k.builtin.KeySet(ctx)
		if err != nil {
			return nil, awserr.Internal(err)
		}
		if len(set.Keys) != 1 {
			return nil, awserr.New(awserr.InvalidIdentityToken, "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements")
		}
		return &set.Keys[0], nil
	}
	key, err := k.builtin.Key(ctx, kid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, awserr.New(awserr.InvalidIdentityToken, "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements")
	}
	if err != nil {
		return nil, awserr.Internal(err)
	}
	return key, nil
}
