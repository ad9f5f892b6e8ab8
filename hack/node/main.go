// Command mldata-node registers a Kubernetes node and runs the pods bound to
// it as local processes: each image name maps to a local executable. It lets
// a control plane without a container runtime run the project's Jobs, for
// end-to-end tests and local demos.
//
//	mldata-node --kubeconfig FILE --node-name mldata-local --root DIR \
//	    --image mldata=/abs/path/bin/mldata [--image NAME=PATH ...] [--log-dir DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/mldata-io/mldata/hack/node/execstep"
	"github.com/mldata-io/mldata/hack/node/localnode"
)

// errUsage is a command-line error already reported with the usage.
var errUsage = errors.New("usage")

type imageFlag localnode.Images

func (f imageFlag) String() string {
	parts := make([]string, 0, len(f))
	for k, v := range f {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (f imageFlag) Set(v string) error {
	name, path, err := localnode.ParseImage(v)
	if err != nil {
		return err
	}
	f[name] = path
	return nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == execstep.Arg {
		execstep.Main()
	}
	if err := run(); err != nil {
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "mldata-node:", err)
		os.Exit(1)
	}
}

func run() error {
	images := localnode.Images{}
	fs := flag.NewFlagSet("mldata-node", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the API server to register with (default $KUBECONFIG)")
	nodeName := fs.String("node-name", "mldata-local", "name of the Node to register")
	root := fs.String("root", "", "directory for pod volumes, pid files and (by default) logs; required")
	logDir := fs.String("log-dir", "", "directory for container logs, kept after pods are deleted (default <root>/pods, removed with each pod)")
	nodeIP := fs.String("node-ip", "127.0.0.1", "the node's address, also every pod's hostIP and podIP")
	listen := fs.String("listen-address", "127.0.0.1:10250", "address serving container logs to the API server (kubectl logs); empty disables it")
	maxPods := fs.Int("max-pods", 110, "pods the node accepts")
	verbose := fs.Bool("v", false, "log debug messages")
	fs.Var(imageFlag(images), "image", "NAME=PATH: run the executable PATH for containers whose image is NAME (repeatable); "+
		"NAME matches the image with registry and tag removed, e.g. ghcr.io/x/mldata:v1 matches mldata")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		// The flag package has printed the error and the usage.
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *kubeconfig == "" {
		return fmt.Errorf("--kubeconfig is required (or set $KUBECONFIG)")
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("--kubeconfig %s: %w", *kubeconfig, err)
	}
	restCfg.UserAgent = "mldata-node"
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return localnode.Run(ctx, localnode.Config{
		Client:        client,
		NodeName:      *nodeName,
		Root:          *root,
		LogDir:        *logDir,
		Images:        images,
		NodeIP:        *nodeIP,
		ListenAddress: *listen,
		Log:           logger,
		MaxPods:       *maxPods,
	})
}
