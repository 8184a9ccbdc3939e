package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/pflag"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format, as the real mains register it
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics, as the real mains register them
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric, as the real mains register it
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kwokconfig "sigs.k8s.io/kwok/pkg/config"
	kwokcmd "sigs.k8s.io/kwok/pkg/kwok/cmd"
	kwoklog "sigs.k8s.io/kwok/pkg/log"
	kwoksignals "sigs.k8s.io/kwok/pkg/utils/signals"
	_ "time/tzdata" // CronJob time zones, as kube-controller-manager's main has it
)

// runComponent runs one Kubernetes component in this process, exactly as its
// own main function would; os.Args already holds its arguments.
func runComponent(name string) int {
	switch name {
	case "kube-apiserver":
		return cli.Run(apiserver.NewAPIServerCommand())
	case "kube-controller-manager":
		return cli.Run(controllermanager.NewControllerManagerCommand())
	case "kube-scheduler":
		return cli.Run(scheduler.NewSchedulerCommand())
	case "kwok":
		return runKwok()
	}
	fmt.Fprintf(os.Stderr, "fleet-testenv: unknown component %q\n", name)
	return 2
}

// runKwok is kwok's own main (sigs.k8s.io/kwok/cmd/kwok).
func runKwok() int {
	// The Kubernetes packages linked in register a global --version flag of
	// their own; kwok's command brings its own, so it starts from a clean set.
	pflag.CommandLine = pflag.NewFlagSet("kwok", pflag.ExitOnError)
	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsAllowlist.UnknownFlags = true
	flagset.Usage = func() {}

	ctx := kwoksignals.SetupSignalContext()
	ctx, logger := kwoklog.InitFlags(ctx, flagset)
	ctx, err := kwokconfig.InitFlags(ctx, flagset)
	if err != nil {
		logger.Error("Init config flags", "err", err)
		return 1
	}
	command := kwokcmd.NewCommand(ctx)
	command.PersistentFlags().AddFlagSet(flagset)
	if err := command.ExecuteContext(ctx); err != nil {
		logger.Error("Execute exit", "err", err)
		return 1
	}
	return 0
}

// moduleVersion is the version of a module built into this binary.
func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == path {
			if dep.Replace != nil {
				return dep.Replace.Version
			}
			return dep.Version
		}
	}
	return "unknown"
}

func printVersion() {
	fmt.Printf("kubernetes %s\n", moduleVersion("k8s.io/kubernetes"))
	fmt.Printf("etcd %s\n", moduleVersion("go.etcd.io/etcd/server/v3"))
	fmt.Printf("kwok %s\n", moduleVersion("sigs.k8s.io/kwok"))
}
