//go:build linux

package agent

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePort sets SO_REUSEPORT on the agent's listeners, so that during
// a rolling update (maxSurge) the new agent binds while the old one drains.
// Linux admits only sockets of the same user into the group, and AWS's
// agent does not set it, so neither a process of another user nor another
// agent can share the port.
func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) //nolint:gosec // a file descriptor
	}); err != nil {
		return err
	}
	return serr
}
