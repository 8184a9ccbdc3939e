// Command fleet-testenv runs real Kubernetes control planes on loopback for
// fleet's tests and benchmarks: embedded etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok fake nodes, all built from
// Go modules into this one binary.
//
// Usage:
//
//	fleet-testenv up --dir DIR [--clusters N] [--namespace NS] [--nodes K] [--base-port P] [--watch-stdin]
//	fleet-testenv version
//
// `up` starts a management cluster and N workload clusters, writes
// DIR/<name>.kubeconfig for each, stores a Cluster API style
// `<name>-kubeconfig` Secret for every workload cluster in the management
// cluster, prints `READY DIR` and runs until SIGINT or SIGTERM (or, with
// --watch-stdin, until its standard input closes).
//
// Each Kubernetes component runs in its own process: the binary re-executes
// itself as `fleet-testenv kube-apiserver …`, `… kube-controller-manager …`,
// `… kube-scheduler …` or `… kwok …`, because each of them owns
// process-global state (flags, feature gates, metrics, signal handling).
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "up":
		os.Exit(runUp(os.Args[2:]))
	case "version":
		printVersion()
	case "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok":
		// A component: it sees itself as the program, with the arguments after its name.
		name := os.Args[1]
		os.Args = append([]string{name}, os.Args[2:]...)
		os.Exit(runComponent(name))
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "fleet-testenv: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}

const usage = `fleet-testenv: real Kubernetes control planes on loopback for fleet's tests

Usage:
  fleet-testenv up --dir DIR [--clusters N] [--namespace NS] [--nodes K] [--base-port P] [--watch-stdin]
      Start a management cluster and N workload clusters (default 2), each with
      kube-apiserver, kube-controller-manager, kube-scheduler and K kwok fake
      nodes (default 2), on one embedded etcd. Writes DIR/<name>.kubeconfig per
      cluster and DIR/testenv.json, stores <name>-kubeconfig Secrets (key value)
      for the workload clusters in namespace NS (default "default") of the
      management cluster, prints "READY DIR" and runs until SIGINT/SIGTERM
      (or until standard input closes, with --watch-stdin).
  fleet-testenv version
      The Kubernetes, etcd and kwok versions built in.
`
