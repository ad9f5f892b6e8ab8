// Package execstep is the short-lived first stage of every container process
// that mldata-node starts. The node re-executes its own binary with the
// argument Arg inside fresh mount and UTS namespaces; this stage reads a Spec
// from a pipe, puts the pod's volumes, the termination-message file and an
// optional read-only root in place for this process only, drops to the
// requested user and then execve's the container's program, so that the PID
// the node watches is the program's own.
//
// The Spec travels through a pipe rather than arguments or the environment
// because it holds the container's environment, which may carry Secret values
// that must never show up in /proc/<pid>/cmdline or in a process listing.
package execstep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Arg is the first argument that selects this stage in the node's binary (and
// in test binaries that embed the node).
const Arg = "exec-step"

// ProbeArg follows Arg when the node only checks at start-up that it may
// create mount namespaces and bind-mount.
const ProbeArg = "--probe"

// Descriptors that the parent passes as ExtraFiles (3 and 4).
const (
	specFD   = 3
	reportFD = 4
)

// Mount is one bind mount inside the container's mount namespace.
type Mount struct {
	// Source is the host path (a volume's directory, a file in it, or the
	// container's termination-message file).
	Source string `json:"source"`
	// Target is where the process sees it.
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// Spec describes the process to start.
type Spec struct {
	// Path is the program: absolute, or a bare name looked up in the PATH of
	// Env after the mounts are in place (as a container runtime does).
	Path     string   `json:"path"`
	Argv     []string `json:"argv"`
	Env      []string `json:"env"`
	Dir      string   `json:"dir"`
	Hostname string   `json:"hostname,omitempty"`
	Mounts   []Mount  `json:"mounts,omitempty"`
	// ReadOnlyRoot remounts / read-only for this process (the mounts above
	// stay writable unless they are read-only themselves).
	ReadOnlyRoot bool   `json:"readOnlyRoot,omitempty"`
	UID          *int64 `json:"uid,omitempty"`
	GID          *int64 `json:"gid,omitempty"`
	Groups       []int  `json:"groups,omitempty"`
	NoNewPrivs   bool   `json:"noNewPrivs,omitempty"`
}

// Main runs the stage and never returns. Call it first thing in main when
// os.Args[1] == Arg.
func Main() {
	if len(os.Args) > 2 && os.Args[2] == ProbeArg {
		if err := probe(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	report := os.NewFile(reportFD, "report")
	if report == nil {
		fmt.Fprintln(os.Stderr, "exec-step: started without its report pipe; it is only run by mldata-node")
		os.Exit(127)
	}
	// A successful execve closes the report pipe, which tells the parent the
	// program runs; anything written before that is the reason it does not.
	syscall.CloseOnExec(reportFD)
	err := run(os.NewFile(specFD, "spec"))
	if err == nil {
		err = errors.New("exec returned without an error")
	}
	fmt.Fprint(report, err.Error())
	os.Exit(127)
}

func run(specFile *os.File) error {
	if specFile == nil {
		return errors.New("no spec pipe")
	}
	var spec Spec
	data, err := io.ReadAll(specFile)
	specFile.Close()
	if err != nil {
		return fmt.Errorf("reading the container spec: %w", err)
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("decoding the container spec: %w", err)
	}
	return start(&spec)
}

func start(spec *Spec) error {
	// Without this, bind mounts made below would propagate back to the host
	// wherever / is a shared mount (systemd makes it shared by default).
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private in the container's mount namespace: %w", err)
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("setting the hostname %q: %w", spec.Hostname, err)
		}
	}
	mounts := append([]Mount(nil), spec.Mounts...)
	// Parents before children, so that a mount at /a/b is not hidden by a
	// later mount at /a.
	sort.SliceStable(mounts, func(i, j int) bool { return depth(mounts[i].Target) < depth(mounts[j].Target) })
	for _, m := range mounts {
		if err := bind(m); err != nil {
			return err
		}
	}
	if spec.ReadOnlyRoot {
		if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("remounting / read-only (readOnlyRootFilesystem): %w", err)
		}
	}
	dir := spec.Dir
	if dir == "" {
		dir = "/"
	}
	if err := os.Chdir(dir); err != nil {
		return fmt.Errorf("working directory %q: %w", dir, err)
	}
	if spec.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("setting no_new_privs (allowPrivilegeEscalation: false): %w", err)
		}
	}
	if err := dropPrivileges(spec); err != nil {
		return err
	}
	path, err := lookPath(spec.Path, spec.Env)
	if err != nil {
		return err
	}
	// Changing credentials clears the parent-death signal; set it again so
	// that the program still dies with the node.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("setting the parent-death signal: %w", err)
	}
	argv := spec.Argv
	if len(argv) == 0 {
		argv = []string{spec.Path}
	}
	if err := unix.Exec(path, argv, spec.Env); err != nil {
		return fmt.Errorf("exec %q: %w", path, err)
	}
	return nil
}

func depth(p string) int {
	return strings.Count(filepath.Clean(p), "/")
}

// bind bind-mounts m.Source at m.Target, creating the mount point (a
// directory, or an empty file when the source is a file) when it is missing.
func bind(m Mount) error {
	if !filepath.IsAbs(m.Target) {
		return fmt.Errorf("mount path %q is not absolute", m.Target)
	}
	st, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("volume source for %s: %w", m.Target, err)
	}
	if err := mountPoint(m.Target, st.IsDir()); err != nil {
		return fmt.Errorf("creating the mount point %s: %w", m.Target, err)
	}
	if err := unix.Mount(m.Source, m.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind-mounting %s at %s: %w", m.Source, m.Target, err)
	}
	if m.ReadOnly {
		if err := unix.Mount("", m.Target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("making %s read-only: %w", m.Target, err)
		}
	}
	return nil
}

func mountPoint(target string, dir bool) error {
	st, err := os.Stat(target)
	switch {
	case err == nil && st.IsDir() != dir:
		if dir {
			return fmt.Errorf("%s exists and is not a directory", target)
		}
		return fmt.Errorf("%s exists and is a directory, but the volume source is a file", target)
	case err == nil:
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	if dir {
		return os.MkdirAll(target, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

func dropPrivileges(spec *Spec) error {
	if spec.UID == nil && spec.GID == nil && len(spec.Groups) == 0 {
		return nil
	}
	groups := spec.Groups
	if groups == nil {
		groups = []int{}
	}
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("setting supplemental groups %v: %w", groups, err)
	}
	if spec.GID != nil {
		if err := unix.Setgid(int(*spec.GID)); err != nil {
			return fmt.Errorf("setting group %d (runAsGroup): %w", *spec.GID, err)
		}
	}
	if spec.UID != nil {
		if err := unix.Setuid(int(*spec.UID)); err != nil {
			return fmt.Errorf("setting user %d (runAsUser): %w", *spec.UID, err)
		}
	}
	return nil
}

// lookPath resolves a bare program name through the PATH of the container's
// environment, not the node's.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH (%s)", name, path)
}

// probe checks what every container start needs: a private mount namespace
// in which a bind mount works. The node runs it once at start-up.
func probe() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	src, err := os.MkdirTemp("", "mldata-node-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	dst := filepath.Join(src, "target")
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount: %w", err)
	}
	return unix.Unmount(dst, 0)
}

// Probe starts binary (the node's own executable) as the probe stage in new
// mount and UTS namespaces and returns a clear error when that is not
// permitted.
func Probe(binary string) error {
	cmd := exec.Command(binary, Arg, ProbeArg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS}
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("cannot run containers: creating a private mount namespace failed (%s); "+
			"mldata-node must run as root with CAP_SYS_ADMIN, outside any sandbox that forbids unshare(CLONE_NEWNS)", msg)
	}
	return nil
}
