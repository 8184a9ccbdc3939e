package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// options of `fleet-testenv up`.
type options struct {
	dir        string
	clusters   int
	namespace  string
	nodes      int
	basePort   int
	watchStdin bool
	cleanup    bool
	timeout    time.Duration
	extraArgs  stringList
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func parseUp(args []string) (*options, error) {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	o := &options{}
	fs.StringVar(&o.dir, "dir", "", "directory for kubeconfigs, certificates, logs and etcd data (must be empty or missing)")
	fs.IntVar(&o.clusters, "clusters", 2, "number of workload clusters beside the management cluster")
	fs.StringVar(&o.namespace, "namespace", "default", "management-cluster namespace of the <name>-kubeconfig Secrets")
	fs.IntVar(&o.nodes, "nodes", 2, "kwok fake nodes per cluster")
	fs.IntVar(&o.basePort, "base-port", 0, "first API server port (cluster i listens on base+i); free ports when 0")
	fs.BoolVar(&o.watchStdin, "watch-stdin", false, "also stop when standard input closes (the parent process is gone)")
	fs.BoolVar(&o.cleanup, "cleanup", false, "remove DIR after stopping")
	fs.Var(&o.extraArgs, "apiserver-arg", "an extra kube-apiserver flag, e.g. --apiserver-arg=--feature-gates=X=true (repeatable)")
	fs.DurationVar(&o.timeout, "timeout", 4*time.Minute, "how long start-up may take")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.dir == "" {
		return nil, errors.New("--dir is required")
	}
	if o.clusters < 0 || o.clusters > 20 {
		return nil, fmt.Errorf("--clusters %d: choose 0 to 20", o.clusters)
	}
	if o.nodes < 0 || o.nodes > 100 {
		return nil, fmt.Errorf("--nodes %d: choose 0 to 100", o.nodes)
	}
	if o.basePort < 0 || o.basePort+o.clusters > 65535 {
		return nil, fmt.Errorf("--base-port %d is not a usable port", o.basePort)
	}
	return o, nil
}

// cluster is one control plane of the environment.
type cluster struct {
	name       string
	dir        string // DIR/<name>: certificates, logs, component kubeconfig
	kubeconfig string // DIR/<name>.kubeconfig
	port       int
	pki        *pki
	procs      []*proc
}

func (c *cluster) server() string { return fmt.Sprintf("https://127.0.0.1:%d", c.port) }

// env is a running environment.
type env struct {
	opts     *options
	dir      string
	etcd     *etcdServer
	clusters []*cluster
	mu       sync.Mutex
	procs    []*proc
	exited   chan *proc // a component that exited on its own
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fleet-testenv: "+format+"\n", args...)
}

func runUp(args []string) int {
	opts, err := parseUp(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fleet-testenv up: %v\n", err)
		return 2
	}
	// With --watch-stdin the parent is gone when stdin closes, and so is the
	// reader of stdout and stderr: the next log line would raise SIGPIPE and
	// kill this process before it shuts down and removes DIR. Ignored, the
	// write fails quietly and the shutdown below runs to the end.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if opts.watchStdin {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			cancel()
		}()
	}

	e := &env{opts: opts, exited: make(chan *proc, 64)}
	started := time.Now()
	if err := e.start(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "fleet-testenv up: %v\n", err)
		e.shutdown()
		if opts.cleanup && e.dir != "" {
			_ = os.RemoveAll(e.dir)
		}
		return 1
	}
	logf("ready in %.1fs: %d cluster(s), kubeconfigs in %s", time.Since(started).Seconds(), len(e.clusters), e.dir)
	fmt.Printf("READY %s\n", e.dir)

	code := 0
	select {
	case <-ctx.Done():
		logf("stopping")
	case p := <-e.exited:
		fmt.Fprintf(os.Stderr, "fleet-testenv: %s\n", p.failure())
		code = 1
	}
	e.shutdown()
	if opts.cleanup {
		if err := os.RemoveAll(e.dir); err != nil {
			logf("removing %s: %v", e.dir, err)
		}
	}
	return code
}

// start brings the whole environment up, or returns why it could not.
func (e *env) start(ctx context.Context) error {
	dir, err := prepareDir(e.opts.dir)
	if err != nil {
		return err
	}
	e.dir = dir
	ctx, cancel := context.WithTimeout(ctx, e.opts.timeout)
	defer cancel()

	names := []string{"management"}
	for i := 1; i <= e.opts.clusters; i++ {
		names = append(names, fmt.Sprintf("workload-%d", i))
	}
	for i, name := range names {
		c := &cluster{name: name, dir: filepath.Join(dir, name), kubeconfig: filepath.Join(dir, name+".kubeconfig")}
		if e.opts.basePort > 0 {
			c.port = e.opts.basePort + i
			if err := portFree(c.port); err != nil {
				return fmt.Errorf("cluster %s: API server port %d is taken (%v); choose another --base-port or leave it out for free ports", name, c.port, err)
			}
		}
		if c.pki, err = newPKI(filepath.Join(c.dir, "pki"), name); err != nil {
			return fmt.Errorf("cluster %s: certificates: %w", name, err)
		}
		e.clusters = append(e.clusters, c)
	}

	if e.etcd, err = startEtcd(filepath.Join(dir, "etcd"), filepath.Join(dir, "etcd.log")); err != nil {
		return err
	}
	logf("etcd %s on %s", moduleVersion("go.etcd.io/etcd/server/v3"), e.etcd.clientURL)

	// API servers start together; each is ready when /readyz answers ok.
	errs := make(chan error, len(e.clusters))
	for _, c := range e.clusters {
		go func() { errs <- e.startAPIServer(ctx, c) }()
	}
	for range e.clusters {
		if err := <-errs; err != nil {
			return err
		}
	}
	for _, c := range e.clusters {
		if err := writeKubeconfig(c); err != nil {
			return fmt.Errorf("cluster %s: %w", c.name, err)
		}
		if err := e.startControllers(c); err != nil {
			return err
		}
	}
	for _, c := range e.clusters {
		if err := e.populate(ctx, c); err != nil {
			return err
		}
	}
	return writeManifest(e)
}

// prepareDir creates DIR, or accepts it empty; anything in it is refused.
func prepareDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return "", fmt.Errorf("creating %s: %w", abs, err)
		}
	case err != nil:
		return "", fmt.Errorf("%s: %w", abs, err)
	case len(entries) > 0:
		return "", fmt.Errorf("%s is not empty: fleet-testenv writes a new environment into an empty or missing directory", abs)
	}
	return abs, nil
}

func portFree(port int) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	return l.Close()
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before the component binds it; the API server start retries then.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (e *env) startAPIServer(ctx context.Context, c *cluster) error {
	autoPort := c.port == 0
	for attempt := 1; ; attempt++ {
		if autoPort {
			port, err := freePort()
			if err != nil {
				return fmt.Errorf("cluster %s: no free port: %w", c.name, err)
			}
			c.port = port
		}
		p, err := e.spawn(c, "kube-apiserver", append(apiServerArgs(c, e.etcd.clientURL), e.opts.extraArgs...))
		if err != nil {
			return err
		}
		err = waitReady(ctx, c, p)
		if err == nil {
			logf("cluster %s: kube-apiserver ready on %s", c.name, c.server())
			return nil
		}
		if autoPort && attempt < 3 && p.exitedEarly() && strings.Contains(p.tail(50), "address already in use") {
			logf("cluster %s: port %d was taken meanwhile, trying another", c.name, c.port)
			continue
		}
		return err
	}
}

func apiServerArgs(c *cluster, etcdURL string) []string {
	p := c.pki
	return []string{
		"--etcd-servers=" + etcdURL,
		"--etcd-prefix=/clusters/" + c.name,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(c.port),
		// Loopback-only machines: no default route to pick an address from,
		// and a loopback address may not go into the kubernetes Endpoints.
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--tls-cert-file=" + p.path("apiserver.crt"),
		"--tls-private-key-file=" + p.path("apiserver.key"),
		"--client-ca-file=" + p.path("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.path("sa.pub"),
		"--service-account-signing-key-file=" + p.path("sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--authorization-mode=RBAC",
		"--allow-privileged=true",
		"--profiling=false",
		"--v=1",
	}
}

func (e *env) startControllers(c *cluster) error {
	p := c.pki
	admin := filepath.Join(c.dir, "admin.kubeconfig")
	// Both run as the admin, one instance each: no leader election, and no
	// serving port of their own (two clusters' defaults would collide).
	common := []string{"--kubeconfig=" + admin, "--leader-elect=false", "--secure-port=0", "--profiling=false", "--v=1"}
	kcm := append([]string{
		"--controllers=" + strings.Join([]string{
			"garbage-collector-controller", "namespace-controller",
			"deployment-controller", "replicaset-controller", "statefulset-controller",
			"daemonset-controller", "job-controller", "cronjob-controller",
			"ttl-after-finished-controller", "pod-garbage-collector-controller",
			"serviceaccount-controller", "serviceaccount-token-controller",
			"root-ca-certificate-publisher-controller", "clusterrole-aggregation-controller",
			"endpoints-controller", "endpointslice-controller", "disruption-controller",
			// Lifts the not-ready taint the API server puts on new Nodes once kwok reports them Ready.
			"node-lifecycle-controller",
		}, ","),
		"--service-account-private-key-file=" + p.path("sa.key"),
		"--root-ca-file=" + p.path("ca.crt"),
		"--use-service-account-credentials=false",
	}, common...)
	scheduler := common
	kwokConfig := filepath.Join(c.dir, "kwok.yaml")
	if err := writeKwokConfig(kwokConfig); err != nil {
		return fmt.Errorf("cluster %s: kwok stages: %w", c.name, err)
	}
	// Node Leases renewed every 10 s (kwok's lease controller is off unless
	// a duration is given): without them the node-lifecycle controller
	// finds every node NotReady after its grace period and marks their Pods
	// not Ready, which kwok's stages never undo.
	kwok := []string{
		"--kubeconfig=" + admin,
		"--config=" + kwokConfig,
		"--manage-all-nodes=true",
		"--node-lease-duration-seconds=40",
	}
	for _, comp := range []struct {
		name string
		args []string
	}{{"kube-controller-manager", kcm}, {"kube-scheduler", scheduler}, {"kwok", kwok}} {
		if _, err := e.spawn(c, comp.name, comp.args); err != nil {
			return err
		}
	}
	return nil
}

// manifest is DIR/testenv.json: what a test needs to find the clusters.
type manifest struct {
	Kubernetes string            `json:"kubernetes"`
	Etcd       string            `json:"etcd"`
	Kwok       string            `json:"kwok"`
	Pid        int               `json:"pid"`
	Namespace  string            `json:"namespace"`
	Clusters   []manifestCluster `json:"clusters"`
}

type manifestCluster struct {
	Name       string `json:"name"`
	Server     string `json:"server"`
	Kubeconfig string `json:"kubeconfig"`
	Secret     string `json:"secret,omitempty"`
}

func writeManifest(e *env) error {
	m := manifest{
		Kubernetes: moduleVersion("k8s.io/kubernetes"),
		Etcd:       moduleVersion("go.etcd.io/etcd/server/v3"),
		Kwok:       moduleVersion("sigs.k8s.io/kwok"),
		Pid:        os.Getpid(),
		Namespace:  e.opts.namespace,
	}
	for i, c := range e.clusters {
		mc := manifestCluster{Name: c.name, Server: c.server(), Kubeconfig: c.kubeconfig}
		if i > 0 {
			mc.Secret = c.name + "-kubeconfig"
		}
		m.Clusters = append(m.Clusters, mc)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.dir, "testenv.json"), append(data, '\n'), 0o644)
}

// tailFile is the last n lines of a file.
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
