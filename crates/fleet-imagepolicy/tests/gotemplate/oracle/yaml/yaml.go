// Package yaml mirrors the parts of sigs.k8s.io/kustomize/kyaml/yaml used by Flux.
package yaml

// TypeMeta mirrors kyaml's TypeMeta.
type TypeMeta struct {
	APIVersion string `json:"apiVersion,omitempty" yaml:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty" yaml:"kind,omitempty"`
}

// NameMeta mirrors kyaml's NameMeta.
type NameMeta struct {
	Name      string `json:"name,omitempty" yaml:"name,omitempty"`
	Namespace string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
}

// ResourceIdentifier mirrors kyaml's ResourceIdentifier.
type ResourceIdentifier struct {
	TypeMeta `json:",inline" yaml:",inline"`
	NameMeta `json:",inline" yaml:",inline"`
}

// GetName has a pointer receiver like the real one (not reachable from map keys).
func (r *ResourceIdentifier) GetName() string { return r.Name }
