//go:build !linux

package agent

import "errors"

// SetupLink is Linux only.
func SetupLink(cfg LinkConfig) (*LinkResult, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return nil, errors.New("irsa agent setup-link works on Linux only")
}
