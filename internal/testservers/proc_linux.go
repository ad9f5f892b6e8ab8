package testservers

import "syscall"

// sysProcAttr makes the kernel kill a server when the test process dies
// without running its cleanups (a panic, a timeout's os.Exit, SIGKILL), so
// that no server outlives the tests that started it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
