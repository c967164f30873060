//go:build !linux

package pgtest

import "syscall"

// serverProcAttr runs the test server as cred (nil: as this process's user).
func serverProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
