// Package update mirrors image-automation-controller's pkg/update result types.
package update

import (
	"sort"

	"oracle/yaml"
)

// ObjectIdentifier mirrors the Flux type.
type ObjectIdentifier struct {
	yaml.ResourceIdentifier
}

// Result mirrors the Flux type.
type Result struct {
	FileChanges map[string]ObjectChanges
}

// ObjectChanges mirrors the Flux type.
type ObjectChanges map[ObjectIdentifier][]Change

// Change mirrors the Flux type.
type Change struct {
	OldValue string
	NewValue string
	Setter   string
}

func less(a, b ObjectIdentifier) bool {
	ka := []string{a.APIVersion, a.Kind, a.Name, a.Namespace}
	kb := []string{b.APIVersion, b.Kind, b.Name, b.Namespace}
	for i := range ka {
		if ka[i] != kb[i] {
			return ka[i] < kb[i]
		}
	}
	return false
}

func (r Result) sortedFiles() []string {
	files := make([]string, 0, len(r.FileChanges))
	for f := range r.FileChanges {
		files = append(files, f)
	}
	sort.Strings(files)
	return files
}

func sortedObjects(oc ObjectChanges) []ObjectIdentifier {
	objs := make([]ObjectIdentifier, 0, len(oc))
	for o := range oc {
		objs = append(objs, o)
	}
	sort.Slice(objs, func(i, j int) bool { return less(objs[i], objs[j]) })
	return objs
}

// Changes is Flux's method, but iterating files and objects in sorted order so
// the oracle is deterministic (Flux iterates Go maps in random order).
func (r Result) Changes() []Change {
	seen := make(map[Change]struct{})
	var result []Change
	for _, f := range r.sortedFiles() {
		objChanges := r.FileChanges[f]
		for _, o := range sortedObjects(objChanges) {
			for _, change := range objChanges[o] {
				if _, ok := seen[change]; !ok {
					seen[change] = struct{}{}
					result = append(result, change)
				}
			}
		}
	}
	return result
}

// Objects is Flux's method (files merged; later files win, in sorted order).
func (r Result) Objects() ObjectChanges {
	result := make(ObjectChanges)
	for _, f := range r.sortedFiles() {
		for obj, change := range r.FileChanges[f] {
			result[obj] = change
		}
	}
	return result
}
