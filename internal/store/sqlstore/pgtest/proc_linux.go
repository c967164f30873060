package pgtest

import "syscall"

// serverProcAttr runs the test server as cred (nil: as this process's user),
// and kills it when the test binary dies, so that an aborted run leaves no
// server behind.
func serverProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
}
