package agent

import (
	"errors"
	"fmt"
	"net/netip"
)

// DefaultLinkName is the dummy link the EKS agent's initialize step
// creates; irsa uses the same name so that either can manage the node.
const DefaultLinkName = "pod-id-link0"

// ErrLinkPermission is returned by SetupLink without CAP_NET_ADMIN.
var ErrLinkPermission = errors.New("changing the node's network needs CAP_NET_ADMIN in the host network namespace: run 'irsa agent setup-link' as root or with the NET_ADMIN capability (a privileged init container with hostNetwork: true)")

// LinkConfig says which link to create and which addresses to put on it.
type LinkConfig struct {
	Name string
	// Addresses are added with a full prefix (/32, /128). An IPv6 address
	// that cannot be added (IPv6 disabled on the node) is reported in
	// LinkResult.Skipped, not as an error; an IPv4 one is an error.
	Addresses []netip.Addr
}

// LinkResult is what SetupLink did.
type LinkResult struct {
	Created bool         // the link did not exist
	Added   []netip.Addr // addresses now on the link
	Skipped []error      // IPv6 addresses that could not be added, and why
}

func (c LinkConfig) validate() error {
	if c.Name == "" || len(c.Name) > 15 {
		return fmt.Errorf("link name %q: must be 1 to 15 characters", c.Name)
	}
	for _, a := range c.Addresses {
		if !a.IsValid() || a.Zone() != "" {
			return fmt.Errorf("address %v: not a plain IP address", a)
		}
	}
	return nil
}
