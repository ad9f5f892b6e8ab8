// Command golangci-lint-kal is golangci-lint with the Kubernetes API linter
// (sigs.k8s.io/kube-api-linter) compiled in as a module plugin. It is what
// `golangci-lint custom` would build, written out here because that command
// clones golangci-lint's repository, while this module is built from the Go
// module proxy alone (hack/lint/build.sh). One binary serves both configs:
// .golangci.yml (the whole tree) and .golangci-kal.yml (api/ only).
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/golangci/golangci-lint/v2/pkg/commands"
	"github.com/golangci/golangci-lint/v2/pkg/exitcodes"

	// Registers the kubeapilinter module plugin.
	_ "sigs.k8s.io/kube-api-linter"
)

func main() {
	info := commands.BuildInfo{Version: "unknown", Commit: "?", Date: "(unknown)", GoVersion: "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info.GoVersion = bi.GoVersion
		for _, dep := range bi.Deps {
			if dep.Path == "github.com/golangci/golangci-lint/v2" {
				info.Version = dep.Version + "+kube-api-linter"
			}
		}
	}
	if err := commands.Execute(info); err != nil {
		fmt.Fprintf(os.Stderr, "golangci-lint: %v\n", err)
		os.Exit(exitcodes.Failure)
	}
}
