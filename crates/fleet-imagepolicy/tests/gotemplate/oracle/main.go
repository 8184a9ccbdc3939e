// Command oracle renders every tests/gotemplate/cases/<fixture>.<name>.tmpl with Go's
// text/template plus sprig.HermeticTxtFuncMap(), exactly like Flux's
// image-automation-controller, and writes <fixture>.<name>.out (output) or
// <fixture>.<name>.err (first line "parse" or "exec", then Go's error string).
//
// Usage (from this directory): go run . ../cases
// Ad-hoc: go run . -e FIXTURE 'template text'
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"

	"oracle/source"
	"oracle/types"
	"oracle/update"
	"oracle/yaml"
)

// Inner is a nested struct for the misc fixture.
type Inner struct {
	A string
	B int
}

// Misc exercises value kinds the Flux data does not have.
type Misc struct {
	Str       string
	Int       int
	Neg       int
	Float     float64
	Big       float64
	Small     float64
	Bool      bool
	Empty     string
	Zero      int
	List      []string
	Ints      []int
	Mixed     []interface{}
	StrMap    map[string]string
	IntMap    map[int]string
	Nested    Inner
	Multiline string
	Unicode   string
	HTML      string
}

func oid(apiVersion, kind, name, ns string) update.ObjectIdentifier {
	return update.ObjectIdentifier{ResourceIdentifier: yaml.ResourceIdentifier{
		TypeMeta: yaml.TypeMeta{APIVersion: apiVersion, Kind: kind},
		NameMeta: yaml.NameMeta{Name: name, Namespace: ns},
	}}
}

func fixture(name string) any {
	switch name {
	case "nil":
		return nil
	case "flux":
		podinfo := update.Change{OldValue: "ghcr.io/stefanprodan/podinfo:5.0.0", NewValue: "ghcr.io/stefanprodan/podinfo:5.0.3", Setter: "flux-system:podinfo-policy"}
		sidecar := update.Change{OldValue: "ghcr.io/example/sidecar:1.0", NewValue: "ghcr.io/example/sidecar:1.1", Setter: "flux-system:sidecar-policy"}
		redis := update.Change{OldValue: "redis:7.0", NewValue: "redis:7.2", Setter: "infra:redis-policy"}
		return source.TemplateData{
			AutomationObject: types.NamespacedName{Namespace: "flux-system", Name: "podinfo-auto"},
			Changed: update.Result{FileChanges: map[string]update.ObjectChanges{
				"apps/podinfo/deployment.yaml": {
					oid("apps/v1", "Deployment", "podinfo", "apps"): {podinfo, sidecar},
				},
				"apps/podinfo/cronjob.yaml": {
					oid("batch/v1", "CronJob", "podinfo-cleanup", "apps"): {podinfo},
				},
				"infra/redis.yaml": {
					oid("apps/v1", "StatefulSet", "redis", "infra"): {redis},
					oid("kustomize.config.k8s.io/v1beta1", "Kustomization", "", ""): {redis},
				},
			}},
			Values: map[string]string{"cluster": "prod-eu", "env": "staging", "team": "platform"},
		}
	case "fluxempty":
		return source.TemplateData{
			AutomationObject: types.NamespacedName{Namespace: "default", Name: "auto"},
			Values:           map[string]string{},
		}
	case "misc":
		return Misc{
			Str: "hello world", Int: 42, Neg: -7, Float: 1.5, Big: 1e6, Small: 0.00001,
			Bool: true, List: []string{"b", "a", "c", "a"}, Ints: []int{3, 1, 2},
			Mixed:  []interface{}{"x", 1, 2.5, true, nil},
			StrMap: map[string]string{"b": "2", "a": "1", "c": "3"},
			IntMap: map[int]string{10: "ten", 2: "two", -1: "minus one"},
			Nested: Inner{A: "inner", B: 7}, Multiline: "line1\nline2\nline3",
			Unicode: "héllo wörld ☃", HTML: `<a href="x">&'</a>`,
		}
	}
	panic("unknown fixture " + name)
}

func render(fixtureName, text string) (string, string, error) {
	t, err := template.New("commit message").Funcs(sprig.HermeticTxtFuncMap()).Parse(text)
	if err != nil {
		return "", "parse", err
	}
	var b strings.Builder
	if err := t.Execute(&b, fixture(fixtureName)); err != nil {
		return "", "exec", err
	}
	return b.String(), "", nil
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "-e" {
		// Ad-hoc: go run . -e FIXTURE 'template text'
		out, kind, err := render(os.Args[2], os.Args[3])
		if err != nil {
			fmt.Printf("%s error: %s\n", kind, err)
			return
		}
		fmt.Printf("%q\n", out)
		return
	}
	dir := "../cases"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.tmpl"))
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		base := strings.TrimSuffix(f, ".tmpl")
		fixtureName := strings.SplitN(filepath.Base(base), ".", 2)[0]
		text, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		os.Remove(base + ".out")
		os.Remove(base + ".err")
		out, kind, err := render(fixtureName, string(text))
		if err != nil {
			check(os.WriteFile(base+".err", []byte(kind+"\n"+err.Error()), 0o644))
			continue
		}
		check(os.WriteFile(base+".out", []byte(out), 0o644))
	}
	fmt.Printf("rendered %d cases\n", len(files))
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
