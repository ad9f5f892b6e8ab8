package localnode

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"github.com/mldata-io/mldata/hack/node/execstep"
)

// startProcess starts the exec step in new mount and UTS namespaces and its
// own process group, hands it spec through a pipe, and returns once the
// container's program runs (the exec step has replaced itself with it) or
// with the reason it could not start.
func startProcess(binary, label string, spec *execstep.Spec, log *os.File) (*os.Process, error) {
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer specR.Close()
	defer specW.Close()
	reportR, reportW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer reportR.Close()
	defer reportW.Close()

	cmd := &exec.Cmd{
		Path:       binary,
		Args:       []string{"mldata-node", execstep.Arg, label},
		Env:        []string{},
		Stdout:     log,
		Stderr:     log,
		ExtraFiles: []*os.File{specR, reportW},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS,
			// The process group lets deletion signal everything the
			// container started, not only its first process.
			Setpgid: true,
			// Children die with the node even when it is killed outright.
			Pdeathsig: syscall.SIGKILL,
		},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the container process: %w", err)
	}
	specR.Close()
	reportW.Close()
	// The exec step may fail before it reads everything; its report says why.
	_, writeErr := specW.Write(data)
	specW.Close()
	report, _ := io.ReadAll(reportR)
	if len(report) > 0 || writeErr != nil {
		_ = cmd.Wait()
		if len(report) == 0 {
			return nil, fmt.Errorf("passing the container spec: %w", writeErr)
		}
		return nil, errors.New(string(report))
	}
	// The program runs; the caller reaps it through the returned process.
	return cmd.Process, nil
}

// waitProcess waits for the process and returns its exit code as a runtime
// reports it: 128+signal when a signal ended it. Whatever the process left
// in its group is killed, as a container's processes end with it.
func waitProcess(p *os.Process) int32 {
	st, err := p.Wait()
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	if err != nil {
		return exitCodeKilled
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok {
		return int32(st.ExitCode())
	}
	if ws.Signaled() {
		return 128 + int32(ws.Signal())
	}
	return int32(ws.ExitStatus())
}
