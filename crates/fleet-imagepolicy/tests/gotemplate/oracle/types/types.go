// Package types mirrors k8s.io/apimachinery/pkg/types.NamespacedName.
package types

// NamespacedName mirrors the Kubernetes type (same field order, same String method).
type NamespacedName struct {
	Namespace string
	Name      string
}

// String returns "namespace/name" like the real type.
func (n NamespacedName) String() string { return n.Namespace + "/" + n.Name }
