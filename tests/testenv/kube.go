package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// waitReady polls the API server's /readyz until it answers ok, the process
// ends or ctx expires.
func waitReady(ctx context.Context, c *cluster, p *proc) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.pki.caCert)
	cert, err := tls.X509KeyPair(c.pki.adminCert, c.pki.adminKey)
	if err != nil {
		return err
	}
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		}},
	}
	defer client.CloseIdleConnections()
	last := ""
	for {
		resp, err := client.Get(c.server() + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		select {
		case <-p.done:
			return errors.New(p.failure())
		case <-ctx.Done():
			return fmt.Errorf("%s did not become ready in time (last answer: %s); the last lines of %s:\n%s",
				p, last, p.logPath, indent(p.tail(20)))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// kubeconfig is the kubeconfig Cluster API writes into <cluster>-kubeconfig
// Secrets: cluster NAME, user NAME-admin with a client certificate, context
// NAME-admin@NAME, everything inline.
func kubeconfig(c *cluster) ([]byte, error) {
	user := c.name + "-admin"
	ctxName := user + "@" + c.name
	cfg := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{
			c.name: {Server: c.server(), CertificateAuthorityData: c.pki.caCert},
		},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{
			user: {ClientCertificateData: c.pki.adminCert, ClientKeyData: c.pki.adminKey},
		},
		Contexts: map[string]*clientcmdapi.Context{
			ctxName: {Cluster: c.name, AuthInfo: user},
		},
		CurrentContext: ctxName,
	}
	return clientcmd.Write(cfg)
}

func writeKubeconfig(c *cluster) error {
	data, err := kubeconfig(c)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.dir, "admin.kubeconfig"), data, 0o600); err != nil {
		return err
	}
	return os.WriteFile(c.kubeconfig, data, 0o600)
}

// populate adds the fake nodes, and in the management cluster the
// namespace and the workload clusters' kubeconfig Secrets; then it waits
// until the nodes are Ready and the controller manager has created the
// default ServiceAccount.
func (e *env) populate(ctx context.Context, c *cluster) error {
	data, err := kubeconfig(c)
	if err != nil {
		return err
	}
	rest, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return err
	}
	for i := 0; i < e.opts.nodes; i++ {
		if _, err := client.CoreV1().Nodes().Create(ctx, fakeNode(fmt.Sprintf("kwok-node-%d", i)), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("cluster %s: creating node: %w", c.name, err)
		}
	}
	if c == e.clusters[0] {
		if err := e.storeKubeconfigSecrets(ctx, client); err != nil {
			return fmt.Errorf("cluster %s: %w", c.name, err)
		}
	}
	for {
		missing := e.notYetServing(ctx, client)
		if missing == "" {
			logf("cluster %s: %d node(s) Ready, controllers running", c.name, e.opts.nodes)
			return nil
		}
		for _, p := range c.procs {
			if p.exitedEarly() {
				return errors.New(p.failure())
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster %s: not ready in time: %s; logs are in %s", c.name, missing, c.dir)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// notYetServing says what the cluster still lacks, or "" when it serves.
func (e *env) notYetServing(ctx context.Context, client kubernetes.Interface) string {
	if _, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
		return "the default ServiceAccount (kube-controller-manager) is missing: " + err.Error()
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	for _, n := range nodes.Items {
		ready := false
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		if !ready {
			return "node " + n.Name + " is not Ready (kwok)"
		}
		for _, taint := range n.Spec.Taints {
			if taint.Key == corev1.TaintNodeNotReady {
				return "node " + n.Name + " still has the not-ready taint (node-lifecycle-controller)"
			}
		}
	}
	return ""
}

func (e *env) storeKubeconfigSecrets(ctx context.Context, client kubernetes.Interface) error {
	ns := e.opts.namespace
	if ns != "default" {
		_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
	}
	for _, w := range e.clusters[1:] {
		data, err := kubeconfig(w)
		if err != nil {
			return err
		}
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name:      w.name + "-kubeconfig",
				Namespace: ns,
				Labels:    map[string]string{"cluster.x-k8s.io/cluster-name": w.name},
			},
			Type: "cluster.x-k8s.io/secret",
			Data: map[string][]byte{"value": data},
		}
		if _, err := client.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating Secret %s/%s: %w", ns, secret.Name, err)
		}
	}
	return nil
}

// fakeNode is a Node kwok plays: roomy, untainted, Ready once kwok sees it.
func fakeNode(name string) *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("250"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
				"type": "kwok",
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}
