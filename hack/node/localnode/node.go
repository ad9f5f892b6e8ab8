// Package localnode is a Kubernetes node that runs the pods bound to it as
// local processes instead of containers. It registers a Node through the
// Virtual Kubelet library, keeps its lease, and for each pod resolves the
// image to a local executable, writes its volumes, resolves its environment
// through the API server, starts each container in a private mount namespace
// (see package execstep) and reports status the way the kubelet does, so that
// Jobs and their controllers behave as on a real cluster.
package localnode

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	vklog "github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/mldata-io/mldata/hack/node/execstep"
)

// Config configures a node.
type Config struct {
	Client   kubernetes.Interface
	NodeName string
	// Root holds <Root>/pods/<namespace>_<name>_<uid>/ per pod: the pid file,
	// volumes and termination messages.
	Root string
	// LogDir holds <LogDir>/<namespace>_<name>_<uid>/<container>.log; the
	// default is <Root>/pods. Logs in a LogDir of its own outlive their pods.
	LogDir string
	Images Images
	// NodeIP is the node's address and every pod's hostIP; default 127.0.0.1.
	NodeIP string
	// ListenAddress serves container logs to the API server (`kubectl logs`)
	// over TLS; empty disables it.
	ListenAddress string
	// ExecBinary is the executable that runs execstep.Main when given
	// execstep.Arg; the default is the running executable.
	ExecBinary string
	Log        *slog.Logger
	MaxPods    int
	// ShutdownGrace bounds how long pods get to stop when the node stops.
	ShutdownGrace time.Duration
}

// Run registers the node and runs its pods until ctx ends; then it stops
// every process it started.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.complete(); err != nil {
		return err
	}
	if err := execstep.Probe(cfg.ExecBinary); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(cfg.Root, "pods"), 0o755); err != nil {
		return fmt.Errorf("--root %s: %w", cfg.Root, err)
	}
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		return fmt.Errorf("--log-dir %s: %w", cfg.LogDir, err)
	}

	nodeSpec, err := nodeObject(cfg)
	if err != nil {
		return err
	}
	broadcaster := record.NewBroadcaster()
	defer broadcaster.Shutdown()
	broadcaster.StartRecordingToSink(&corev1client.EventSinkImpl{Interface: cfg.Client.CoreV1().Events("")})
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "mldata-node", Host: cfg.NodeName})

	p := &provider{
		images:      cfg.Images,
		root:        cfg.Root,
		logDir:      cfg.LogDir,
		nodeName:    cfg.NodeName,
		hostIP:      cfg.NodeIP,
		podIP:       cfg.NodeIP,
		execBinary:  cfg.ExecBinary,
		allocatable: nodeSpec.Status.Allocatable,
		objs:        apiObjects{cfg.Client},
		recorder:    recorder,
		log:         cfg.Log,
		pods:        map[string]*podRun{},
	}
	p.cleanStale()

	client := cfg.Client
	podInformers := informers.NewSharedInformerFactoryWithOptions(client, time.Minute, nodeutil.PodInformerFilter(cfg.NodeName))
	podInformer := podInformers.Core().V1().Pods()
	p.lister = podInformer.Lister()
	// The pod controller wants Secret, ConfigMap and Service informers for
	// the env resolution that this node does itself. They are never started:
	// a node's identity may not list those cluster-wide, and the provider
	// reads what a pod refers to with single GETs.
	unused := informers.NewSharedInformerFactory(client, 0)
	pc, err := node.NewPodController(node.PodControllerConfig{
		PodClient:         client.CoreV1(),
		PodInformer:       podInformer,
		EventRecorder:     recorder,
		Provider:          p,
		SecretInformer:    unused.Core().V1().Secrets(),
		ConfigMapInformer: unused.Core().V1().ConfigMaps(),
		ServiceInformer:   unused.Core().V1().Services(),
		// A missing Secret must make the container wait
		// (CreateContainerConfigError), not fail the pod.
		SkipDownwardAPIResolution: true,
	})
	if err != nil {
		return fmt.Errorf("setting up the pod controller: %w", err)
	}
	nc, err := node.NewNodeController(node.NewNaiveNodeProvider(), nodeSpec, client.CoreV1().Nodes(),
		node.WithNodeEnableLeaseV1(nodeutil.NodeLeaseV1Client(client), node.DefaultLeaseDuration))
	if err != nil {
		return fmt.Errorf("setting up node %s: %w", cfg.NodeName, err)
	}

	runCtx, cancel := context.WithCancel(vklog.WithLogger(ctx, slogAdapter{l: cfg.Log}))
	defer cancel()
	if cfg.ListenAddress != "" {
		stopHTTP, err := serveLogs(runCtx, cfg, p, podInformer.Lister())
		if err != nil {
			return err
		}
		defer stopHTTP()
	}
	podInformers.Start(runCtx.Done())
	go func() { _ = pc.Run(runCtx, 4) }()
	err = func() error {
		select {
		case <-pc.Ready():
		case <-pc.Done():
			return fmt.Errorf("pod controller: %w", pc.Err())
		case <-ctx.Done():
			return nil
		}
		go func() { _ = nc.Run(runCtx) }()
		select {
		case <-nc.Ready():
			cfg.Log.Info("node is ready", "node", cfg.NodeName, "root", cfg.Root, "logDir", cfg.LogDir, "images", cfg.Images)
		case <-nc.Done():
			return fmt.Errorf("registering node %s: %w", cfg.NodeName, nc.Err())
		case <-ctx.Done():
			return nil
		}
		select {
		case <-nc.Done():
			return fmt.Errorf("node %s: %w", cfg.NodeName, nc.Err())
		case <-pc.Done():
			return fmt.Errorf("pod controller: %w", pc.Err())
		case <-ctx.Done():
			return nil
		}
	}()
	cancel()
	p.shutdown(cfg.ShutdownGrace)
	<-pc.Done()
	return err
}

// serveLogs serves container logs to the API server (`kubectl logs`) over
// TLS with a self-signed certificate; other kubelet endpoints answer that
// they are not supported.
func serveLogs(ctx context.Context, cfg Config, p *provider, pods corev1listers.PodLister) (func(), error) {
	tlsConfig, err := selfSignedTLS(cfg.NodeName, cfg.NodeIP)
	if err != nil {
		return nil, err
	}
	l, err := tls.Listen("tcp", cfg.ListenAddress, tlsConfig)
	if err != nil {
		return nil, fmt.Errorf("--listen-address %s: %w (pass --listen-address= to serve no logs)", cfg.ListenAddress, err)
	}
	handler := api.PodHandler(api.PodHandlerConfig{
		RunInContainer:        p.RunInContainer,
		AttachToContainer:     p.AttachToContainer,
		PortForward:           p.PortForward,
		GetContainerLogs:      p.GetContainerLogs,
		GetPods:               p.GetPods,
		GetPodsFromKubernetes: func(context.Context) ([]*corev1.Pod, error) { return pods.List(labels.Everything()) },
		GetStatsSummary:       p.GetStatsSummary,
		GetMetricsResource:    p.GetMetricsResource,
	}, false)
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() { _ = srv.Serve(l) }()
	return func() { _ = srv.Close() }, nil
}

func (cfg *Config) complete() error {
	if cfg.Client == nil {
		return errors.New("no API client: pass --kubeconfig")
	}
	if cfg.NodeName == "" {
		return errors.New("--node-name is empty")
	}
	if cfg.Root == "" {
		return errors.New("--root is required: the directory for pod volumes, pid files and logs")
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return err
	}
	cfg.Root = root
	if cfg.LogDir == "" {
		cfg.LogDir = filepath.Join(root, "pods")
	}
	if cfg.LogDir, err = filepath.Abs(cfg.LogDir); err != nil {
		return err
	}
	if cfg.NodeIP == "" {
		cfg.NodeIP = "127.0.0.1"
	}
	if net.ParseIP(cfg.NodeIP) == nil {
		return fmt.Errorf("--node-ip %q is not an IP address", cfg.NodeIP)
	}
	if cfg.ExecBinary == "" {
		if cfg.ExecBinary, err = os.Executable(); err != nil {
			return fmt.Errorf("finding the node's own executable: %w", err)
		}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxPods <= 0 {
		cfg.MaxPods = 110
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 5 * time.Second
	}
	if cfg.Images == nil {
		cfg.Images = Images{}
	}
	return nil
}

// nodeObject is the Node as registered: Ready, no taints, this machine's
// CPUs, memory and disk.
func nodeObject(cfg Config) (*corev1.Node, error) {
	mem, err := memTotal()
	if err != nil {
		return nil, err
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(cfg.Root, &fs); err != nil {
		return nil, fmt.Errorf("--root %s: %w", cfg.Root, err)
	}
	resources := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(mem, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(int64(cfg.MaxPods), resource.DecimalSI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(int64(fs.Blocks)*int64(fs.Bsize), resource.BinarySI),
	}
	now := metav1.Now()
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	port := int32(0)
	if cfg.ListenAddress != "" {
		_, p, err := net.SplitHostPort(cfg.ListenAddress)
		if err != nil {
			return nil, fmt.Errorf("--listen-address %q: %w", cfg.ListenAddress, err)
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("--listen-address %q: port: %w", cfg.ListenAddress, err)
		}
		port = int32(n)
	}
	uname := unix.Utsname{}
	_ = unix.Uname(&uname)
	machineID, _ := os.ReadFile("/etc/machine-id")
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: cfg.NodeName,
			Labels: map[string]string{
				corev1.LabelHostname:   cfg.NodeName,
				corev1.LabelOSStable:   "linux",
				corev1.LabelArchStable: runtime.GOARCH,
			},
		},
		Status: corev1.NodeStatus{
			Phase:       corev1.NodeRunning,
			Capacity:    resources,
			Allocatable: resources.DeepCopy(),
			Conditions: []corev1.NodeCondition{
				cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
				cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
				cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
				cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "mldata-node is posting ready status"),
			},
			// Only the IP: the API server prefers a Hostname address, which
			// would not resolve, when it fetches logs.
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: cfg.NodeIP}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: port}},
			NodeInfo: corev1.NodeSystemInfo{
				MachineID:               strings.TrimSpace(string(machineID)),
				KernelVersion:           unix.ByteSliceToString(uname.Release[:]),
				OSImage:                 osImage(),
				ContainerRuntimeVersion: "process://mldata-node",
				KubeletVersion:          kubeletVersion(),
				OperatingSystem:         "linux",
				Architecture:            runtime.GOARCH,
			},
		},
	}, nil
}

func memTotal() (int64, error) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("reading the machine's memory: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing MemTotal in /proc/meminfo: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("no MemTotal in /proc/meminfo")
}

func osImage() string {
	data, _ := os.ReadFile("/etc/os-release")
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}

// kubeletVersion reports the Kubernetes release of the client libraries the
// node is built with (client-go v0.X.Y is Kubernetes v1.X.Y).
func kubeletVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "k8s.io/client-go" && strings.HasPrefix(d.Version, "v0.") {
				return "v1." + strings.TrimPrefix(d.Version, "v0.")
			}
		}
	}
	return "v1.0.0-mldata-node"
}

// selfSignedTLS makes a serving certificate for the log endpoint; the API
// server does not verify kubelet certificates unless told to.
func selfSignedTLS(name, ip string) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{name, "localhost"},
		IPAddresses:  []net.IP{net.ParseIP(ip), net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// slogAdapter lets the Virtual Kubelet library log through slog. Status
// updates that lose an optimistic-concurrency race are retried at once by
// the library; they are logged at debug level rather than as errors.
type slogAdapter struct {
	l        *slog.Logger
	conflict bool
}

var _ vklog.Logger = slogAdapter{}

func (a slogAdapter) log(level slog.Level, msg string) {
	if a.conflict && level > slog.LevelDebug {
		level = slog.LevelDebug
	}
	a.l.Log(context.Background(), level, msg)
}

func (a slogAdapter) Debug(args ...any)            { a.log(slog.LevelDebug, fmt.Sprint(args...)) }
func (a slogAdapter) Debugf(f string, args ...any) { a.log(slog.LevelDebug, fmt.Sprintf(f, args...)) }
func (a slogAdapter) Info(args ...any)             { a.log(slog.LevelInfo, fmt.Sprint(args...)) }
func (a slogAdapter) Infof(f string, args ...any)  { a.log(slog.LevelInfo, fmt.Sprintf(f, args...)) }
func (a slogAdapter) Warn(args ...any)             { a.log(slog.LevelWarn, fmt.Sprint(args...)) }
func (a slogAdapter) Warnf(f string, args ...any)  { a.log(slog.LevelWarn, fmt.Sprintf(f, args...)) }
func (a slogAdapter) Error(args ...any)            { a.log(slog.LevelError, fmt.Sprint(args...)) }
func (a slogAdapter) Errorf(f string, args ...any) { a.log(slog.LevelError, fmt.Sprintf(f, args...)) }
func (a slogAdapter) Fatal(args ...any)            { a.Error(args...); os.Exit(1) }
func (a slogAdapter) Fatalf(f string, args ...any) { a.Errorf(f, args...); os.Exit(1) }

func (a slogAdapter) WithField(k string, v any) vklog.Logger {
	return slogAdapter{a.l.With(k, plain(v)), a.conflict}
}

func (a slogAdapter) WithError(err error) vklog.Logger {
	return slogAdapter{a.l.With("err", plain(err)), a.conflict || apierrors.IsConflict(err)}
}

func (a slogAdapter) WithFields(f vklog.Fields) vklog.Logger {
	args := make([]any, 0, 2*len(f))
	for k, v := range f {
		args = append(args, k, plain(v))
	}
	return slogAdapter{a.l.With(args...), a.conflict}
}

// plain logs errors by their message: slog formats values with %+v, which
// prints the library's wrapped errors with whole stack traces.
func plain(v any) any {
	if err, ok := v.(error); ok && err != nil {
		return err.Error()
	}
	return v
}
