package podidentity

import (
	"context"
	"time"

	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

// ClusterVerifier verifies pod identity tokens with webidentity.Verifier,
// the cluster standing in for an OIDC provider: its Issuer is the only
// issuer accepted, and Audience the only client ID. Keys gets that
// provider (URL = the cluster's Issuer, ARN = the cluster's ARN) and the
// token's kid.
type ClusterVerifier struct {
	Keys webidentity.KeySource
	Now  func() time.Time
	Skew time.Duration
}

// VerifyClusterToken implements TokenVerifier.
func (v *ClusterVerifier) VerifyClusterToken(ctx context.Context, c store.Cluster, token string) (*webidentity.Identity, error) {
	w := &webidentity.Verifier{Providers: clusterProvider(c), Keys: v.Keys, Now: v.Now, Skew: v.Skew}
	return w.Verify(ctx, c.AccountID, token)
}

// clusterProvider is a cluster as the one OIDC provider of its account.
type clusterProvider store.Cluster

func (c clusterProvider) ListOIDCProviders(context.Context, string) ([]store.OIDCProvider, error) {
	return []store.OIDCProvider{{
		AccountID: c.AccountID, ARN: c.ARN, URL: c.Issuer, ClientIDs: []string{Audience}, CreatedAt: c.CreatedAt,
	}}, nil
}
