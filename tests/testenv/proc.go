package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one component process of a cluster.
type proc struct {
	cluster   string
	component string
	cmd       *exec.Cmd
	logPath   string
	done      chan struct{}
	err       error
	stopping  bool
	mu        sync.Mutex
}

func (p *proc) String() string { return fmt.Sprintf("%s of cluster %s", p.component, p.cluster) }

// exitedEarly reports whether the process has ended.
func (p *proc) exitedEarly() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) tail(n int) string { return tailFile(p.logPath, n) }

// failure describes a process that ended on its own, with its log tail.
func (p *proc) failure() string {
	status := "exited"
	if p.err != nil {
		status = p.err.Error()
	}
	return fmt.Sprintf("%s stopped (%s); the last lines of %s:\n%s", p, status, p.logPath, indent(p.tail(20)))
}

func indent(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + line + "\n")
	}
	return b.String()
}

// spawn re-executes this binary as one component of cluster c, its output in
// DIR/<cluster>/<component>.log.
func (e *env) spawn(c *cluster, component string, args []string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(c.dir, component+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, append([]string{component}, args...)...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own process group: a terminal's Ctrl-C reaches only fleet-testenv,
		// which stops the components in order.
		Setpgid: true,
		// Ends with fleet-testenv even when fleet-testenv is killed.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("cluster %s: starting %s: %w", c.name, component, err)
	}
	p := &proc{cluster: c.name, component: component, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	c.procs = append(c.procs, p)
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
		p.mu.Lock()
		stopping := p.stopping
		p.mu.Unlock()
		if !stopping {
			select {
			case e.exited <- p:
			default:
			}
		}
	}()
	return p, nil
}

// shutdown stops every component (SIGTERM, then SIGKILL after 15 s) and etcd.
func (e *env) shutdown() {
	e.mu.Lock()
	procs := append([]*proc(nil), e.procs...)
	e.mu.Unlock()
	for _, p := range procs {
		p.mu.Lock()
		p.stopping = true
		p.mu.Unlock()
		if !p.exitedEarly() {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		}
	}
	deadline := time.After(15 * time.Second)
	for _, p := range procs {
		select {
		case <-p.done:
		case <-deadline:
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	if e.etcd != nil {
		e.etcd.close()
	}
}
