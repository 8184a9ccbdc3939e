// Command oracle records Go's answers for label selector strings.
//
// Usage: go run . <selectors.txt> <labelsets.txt> <outdir>
//
// Each line of selectors.txt is one selector, escaped with esc() below
// (backslash, tab, newline, CR and NUL are backslash-escaped; everything
// else is raw UTF-8). Each line of labelsets.txt is one label set:
// escaped key, TAB, escaped value, TAB, ... (an empty line is the empty set).
//
// It writes two files to outdir, one line per selector:
//
//	kustomize.txt               kyaml v0.18.1 (kustomize v5.5.0 / kubectl 1.32),
//	                            through the public RNode.MatchesLabelSelector
//	apimachinery-v0.32.4.txt    k8s.io/apimachinery/pkg/labels.Parse v0.32.4
//
// Line format: esc(selector) TAB "OK" TAB esc(String()) TAB bits
//
//	or:  esc(selector) TAB "ERR" TAB esc(err.Error())
//
// where bits has one '0'/'1' per label set (the Matches result).
// For kustomize.txt, String() is taken from apimachinery (the fork has no
// public String(); both share the same code for it).
package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

func esc(s string) string {
	r := strings.NewReplacer("\\", "\\\\", "\t", "\\t", "\n", "\\n", "\r", "\\r", "\x00", "\\0")
	return r.Replace(s)
}

func unesc(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func readLines(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	s := strings.TrimSuffix(string(data), "\n")
	return strings.Split(s, "\n")
}

func main() {
	sels := readLines(os.Args[1])
	var sets []map[string]string
	for _, line := range readLines(os.Args[2]) {
		m := map[string]string{}
		if line != "" {
			f := strings.Split(line, "\t")
			for i := 0; i+1 < len(f); i += 2 {
				m[unesc(f[i])] = unesc(f[i+1])
			}
		}
		sets = append(sets, m)
	}
	var nodes []*kyaml.RNode
	for _, m := range sets {
		rn, err := kyaml.Parse("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n")
		if err != nil {
			panic(err)
		}
		if len(m) > 0 {
			if err := rn.SetLabels(m); err != nil {
				panic(err)
			}
		}
		nodes = append(nodes, rn)
	}
	ka, err := os.Create(filepath.Join(os.Args[3], "kustomize.txt"))
	if err != nil {
		panic(err)
	}
	am, err := os.Create(filepath.Join(os.Args[3], "apimachinery-v0.32.4.txt"))
	if err != nil {
		panic(err)
	}
	kw, aw := bufio.NewWriter(ka), bufio.NewWriter(am)
	for _, line := range sels {
		sel := unesc(line)
		// apimachinery
		s, aerr := labels.Parse(sel)
		if aerr != nil {
			fmt.Fprintf(aw, "%s\tERR\t%s\n", line, esc(aerr.Error()))
		} else {
			var bits strings.Builder
			for _, m := range sets {
				if s.Matches(labels.Set(m)) {
					bits.WriteByte('1')
				} else {
					bits.WriteByte('0')
				}
			}
			fmt.Fprintf(aw, "%s\tOK\t%s\t%s\n", line, esc(s.String()), bits.String())
		}
		// kustomize (kyaml fork)
		var kbits strings.Builder
		var kerr error
		for _, rn := range nodes {
			ok, err := rn.MatchesLabelSelector(sel)
			if err != nil {
				kerr = err
				break
			}
			if ok {
				kbits.WriteByte('1')
			} else {
				kbits.WriteByte('0')
			}
		}
		if (kerr == nil) != (aerr == nil) {
			fmt.Fprintf(os.Stderr, "NOTE: acceptance differs for %q: kyaml=%v apimachinery=%v\n", sel, kerr, aerr)
		}
		if kerr != nil {
			fmt.Fprintf(kw, "%s\tERR\t%s\n", line, esc(kerr.Error()))
		} else {
			str := "?"
			if aerr == nil {
				str = s.String()
			}
			fmt.Fprintf(kw, "%s\tOK\t%s\t%s\n", line, esc(str), kbits.String())
		}
	}
	kw.Flush()
	aw.Flush()
	ka.Close()
	am.Close()
}
