//go:build linux

package kube

import "github.com/irsa-dev/irsa/test/internal/testutil"

// The helpers this package shares with the other end-to-end package.
type (
	syncBuffer = testutil.SyncBuffer
	secretSet  = testutil.Secrets
	identity   = testutil.Identity
)

var (
	newSecretSet = testutil.NewSecrets
	isExecutable = testutil.IsExecutable
)
