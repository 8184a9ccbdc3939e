package main

import (
	"fmt"
	"os"
	"strings"

	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodeheartbeat "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
)

// failAnnotation on a Job's Pod template makes its Pods fail (exit code 1)
// instead of completing, so tests can make a Job fail on purpose.
const failAnnotation = "fleet-testenv/outcome"

// podEnd is a stage that ends a running Pod the way a container would that
// exits with exitCode; extraSelector narrows which Pods it takes.
func podEnd(name, extraSelector string, exitCode int, reason, phase string) string {
	return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ` + name + `
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
` + extraSelector + `  next:
    statusTemplate: |
      {{ $now := Now }}
      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: ` + fmt.Sprint(exitCode) + `
            finishedAt: {{ $now | Quote }}
            reason: ` + reason + `
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: ` + phase + `
`
}

// podComplete is kwok's fast pod-complete stage (Job Pods succeed), limited
// to Pods not marked to fail.
var podComplete = podEnd("pod-complete", `    - key: '.metadata.ownerReferences.[].kind'
      operator: 'In'
      values:
      - 'Job'
    - key: '.metadata.annotations["`+failAnnotation+`"]'
      operator: 'DoesNotExist'
`, 0, "Completed", "Succeeded")

// podFail ends a running Pod marked with failAnnotation: "failed" as a
// container would that exits with code 1.
var podFail = podEnd("pod-fail", `    - key: '.metadata.annotations["`+failAnnotation+`"]'
      operator: 'In'
      values:
      - 'failed'
`, 1, "Error", "Failed")

// writeKwokConfig writes the stages kwok plays: kwok's fast node and pod
// stages (nodes Ready at once with lease heartbeats, Pods Running and Ready
// as soon as they are bound, Job Pods Succeeded) plus pod-fail.
func writeKwokConfig(path string) error {
	stages := []string{
		nodefast.DefaultNodeInit,
		nodeheartbeat.DefaultNodeHeartbeatWithLease,
		podfast.DefaultPodReady,
		podComplete,
		podFail,
		podfast.DefaultPodDelete,
	}
	var b strings.Builder
	for i, s := range stages {
		if i > 0 {
			b.WriteString("\n---\n")
		}
		b.WriteString(strings.TrimSpace(s))
		b.WriteString("\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
