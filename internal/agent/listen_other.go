//go:build !linux

package agent

import "syscall"

// reusePort is Linux only; elsewhere listeners are exclusive.
var reusePort func(network, address string, c syscall.RawConn) error
