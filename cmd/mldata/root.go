package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/mldata-io/mldata/internal/hugepages"
)

// version is set at link time: -ldflags "-X main.version=v0.4.0".
var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "mldata",
		Short:         "Build, profile and drift-check ML datasets in object storage",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// --cpuprofile is for finding where time goes on real data; hidden
	// because it is a developer's tool.
	var cpuProfile string
	var profFile *os.File
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to this file")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if cmd.Annotations[largeHeap] != "" {
			// Advice only: without it the command runs the same, on small pages.
			_, _ = hugepages.AdviseHeap(heapReserve)
		}
		if cpuProfile == "" {
			return nil
		}
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		profFile = f
		return pprof.StartCPUProfile(f)
	}
	root.PersistentPostRun = func(*cobra.Command, []string) {
		if profFile != nil {
			pprof.StopCPUProfile()
			profFile.Close()
		}
	}
	// Flag parsing errors are usage errors (exit 2).
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err: err} })
	asPlugin(root)
	root.AddCommand(newVersionCmd())
	for _, add := range subcommands {
		root.AddCommand(add())
	}
	return root
}

// largeHeap marks the commands that read and write whole datasets: their
// heap gets transparent huge pages (see internal/hugepages).
const largeHeap = "mldata.io/large-heap"

// heapReserve is how much heap address space those commands advise; heap
// beyond it uses small pages. It costs address space, not memory.
var heapReserve = 2 << 30

// subcommands is filled by each command's file in init, so that commands live
// in their own files without editing this one.
var subcommands []func() *cobra.Command

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the mldata version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version
			if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "mldata %s\n", v)
			return err
		},
	}
}

// exactArgs is cobra.ExactArgs that reports a usage error (exit 2).
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d argument(s), got %d; see '%s --help'", cmd.CommandPath(), n, len(args), cmd.CommandPath())
		}
		return nil
	}
}
