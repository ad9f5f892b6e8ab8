// Command mldata-node registers a Kubernetes node and runs the pods bound to
// it as local processes.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "mldata-node: not implemented yet")
	os.Exit(1)
}
