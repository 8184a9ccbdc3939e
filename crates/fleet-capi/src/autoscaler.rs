//! cluster-autoscaler's Cluster API rules: the node-group size annotations
//! on MachineDeployments, MachineSets and MachinePools (and on a Cluster's
//! `topology.workers.machineDeployments`), the scale-from-zero capacity
//! annotations, and what GitOps must not do to an autoscaled group.
//!
//! ```
//! use fleet_capi::autoscaler::{check, Severity};
//! let md = fleet_model::yaml::parse_one(
//!     "kind: MachineDeployment\nmetadata:\n  name: workers\n  annotations:\n    cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size: \"5\"\n    cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size: \"3\"\nspec:\n  replicas: 4\n",
//! ).unwrap();
//! let findings = check(&md);
//! assert!(findings.iter().any(|f| f.rule == "autoscaler/min-greater-than-max" && f.severity == Severity::Error));
//! assert!(findings.iter().any(|f| f.rule == "autoscaler/replicas-in-git"));
//! ```

use fleet_model::Value;
use fleet_model::envsubst::holds_placeholder;

/// The minimum size annotation.
pub const MIN_SIZE: &str = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size";
/// The maximum size annotation.
pub const MAX_SIZE: &str = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size";
/// The prefix of the scale-from-zero capacity annotations.
pub const CAPACITY_PREFIX: &str = "capacity.cluster-autoscaler.kubernetes.io/";

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look; does not fail `fleet validate`.
    Warning,
    /// Wrong; fails `fleet validate`.
    Error,
}

/// One lint finding about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule's id, e.g. `autoscaler/min-greater-than-max`.
    pub rule: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn finding(rule: &'static str, severity: Severity, message: String) -> Finding {
    Finding {
        rule,
        severity,
        message,
    }
}

/// An autoscaled node group's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Minimum size.
    pub min: i64,
    /// Maximum size.
    pub max: i64,
}

/// Checks one object; kinds other than MachineDeployment, MachineSet,
/// MachinePool and Cluster give no findings.
pub fn check(object: &Value) -> Vec<Finding> {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "MachineDeployment" | "MachineSet" | "MachinePool" => {
            check_group(kind, object.get("metadata"), object.get("spec"))
        }
        "Cluster" => object
            .pointer(&["spec", "topology", "workers", "machineDeployments"])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .flat_map(|md| {
                let name = md.get("name").and_then(Value::as_str).unwrap_or("?");
                check_group("topology MachineDeployment", md.get("metadata"), Some(md))
                    .into_iter()
                    .map(move |mut f| {
                        f.message =
                            format!("topology.workers.machineDeployments[{name}]: {}", f.message);
                        f
                    })
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn annotation<'a>(metadata: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    metadata
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(key))
}

/// Reads a size annotation: a non-negative integer in a string.
fn size(metadata: Option<&Value>, key: &str, findings: &mut Vec<Finding>) -> Option<i64> {
    let value = annotation(metadata, key)?;
    if holds_placeholder(value) {
        return None;
    }
    let parsed = match value {
        Value::String(s) => s.trim().parse::<i64>().ok(),
        other => other.as_i64(),
    };
    match parsed {
        Some(n) if n >= 0 => Some(n),
        _ => {
            findings.push(finding(
                "autoscaler/invalid-size",
                Severity::Error,
                format!("annotation {key} must be a non-negative integer in quotes, e.g. \"3\""),
            ));
            None
        }
    }
}

fn check_group(kind: &str, metadata: Option<&Value>, spec_holder: Option<&Value>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let has_min = annotation(metadata, MIN_SIZE).is_some();
    let has_max = annotation(metadata, MAX_SIZE).is_some();
    if !has_min && !has_max {
        return findings;
    }
    if has_min != has_max {
        findings.push(finding(
            "autoscaler/missing-bound",
            Severity::Error,
            format!("cluster-autoscaler needs both {MIN_SIZE} and {MAX_SIZE}; only one is set, so the group is not autoscaled"),
        ));
        return findings;
    }
    let min = size(metadata, MIN_SIZE, &mut findings);
    let max = size(metadata, MAX_SIZE, &mut findings);
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        findings.push(finding(
            "autoscaler/min-greater-than-max",
            Severity::Error,
            format!("min size {min} is greater than max size {max}"),
        ));
    }
    let replicas = spec_holder.and_then(|s| s.get("replicas"));
    if let Some(replicas) = replicas.filter(|r| !holds_placeholder(r)) {
        findings.push(finding(
            "autoscaler/replicas-in-git",
            Severity::Warning,
            format!(
                "{kind} is autoscaled but sets replicas in Git: every reconcile resets the autoscaler's choice; remove spec.replicas (Cluster API then starts at the min size)"
            ),
        ));
        if let (Some(n), Some(min), Some(max)) = (replicas.as_i64(), min, max)
            && (n < min || n > max)
            && min <= max
        {
            findings.push(finding(
                "autoscaler/replicas-out-of-range",
                Severity::Error,
                format!("replicas {n} is outside the autoscaler range [{min}, {max}]"),
            ));
        }
    }
    if min == Some(0) {
        let has = |k: &str| annotation(metadata, &format!("{CAPACITY_PREFIX}{k}")).is_some();
        if !(has("cpu") && has("memory")) {
            findings.push(finding(
                "autoscaler/scale-from-zero-capacity",
                Severity::Warning,
                format!(
                    "min size 0 (scale from zero) needs the node capacity: set {CAPACITY_PREFIX}cpu and {CAPACITY_PREFIX}memory unless the infrastructure provider reports status.capacity"
                ),
            ));
        }
    }
    for key in ["maxPods", "gpu-count"] {
        if let Some(v) = annotation(metadata, &format!("{CAPACITY_PREFIX}{key}"))
            .filter(|v| !holds_placeholder(v))
        {
            let ok = match v {
                Value::String(s) => s.trim().parse::<u64>().is_ok(),
                other => other.as_i64().is_some_and(|n| n >= 0),
            };
            if !ok {
                findings.push(finding(
                    "autoscaler/invalid-capacity",
                    Severity::Error,
                    format!("annotation {CAPACITY_PREFIX}{key} must be a whole number"),
                ));
            }
        }
    }
    for key in ["cpu", "memory", "ephemeral-disk"] {
        if let Some(Value::String(s)) = annotation(metadata, &format!("{CAPACITY_PREFIX}{key}"))
            .filter(|v| !holds_placeholder(v))
            && !is_quantity(s)
        {
            findings.push(finding(
                "autoscaler/invalid-capacity",
                Severity::Error,
                format!("annotation {CAPACITY_PREFIX}{key} value {s:?} is not a Kubernetes quantity (e.g. \"4\", \"500m\", \"16Gi\")"),
            ));
        }
    }
    findings
}

/// A Kubernetes resource quantity: a decimal number with an optional
/// binary (`Ki`…`Ei`), decimal (`m`, `k`, `M`…`E`) or exponent suffix.
pub fn is_quantity(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let digits_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(digits_end);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return false;
    }
    matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || (suffix.len() > 1
        && matches!(suffix.as_bytes()[0], b'e' | b'E')
        && suffix[1..]
            .strip_prefix(['+', '-'])
            .unwrap_or(&suffix[1..])
            .bytes()
            .all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(yaml: &str) -> Vec<&'static str> {
        let v = fleet_model::yaml::parse_one(yaml).unwrap_or_else(|e| panic!("{e}"));
        check(&v).into_iter().map(|f| f.rule).collect()
    }

    const ANN: &str = "kind: MachineDeployment\nmetadata:\n  annotations:\n    cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size: \"MIN\"\n    cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size: \"MAX\"\n";

    #[test]
    fn a_clean_autoscaled_group_has_no_findings() {
        assert!(findings(&ANN.replace("MIN", "1").replace("MAX", "5")).is_empty());
        assert!(findings("kind: MachineDeployment\nspec:\n  replicas: 3\n").is_empty());
    }

    #[test]
    fn every_rule_fires_on_its_mistake() {
        assert_eq!(
            findings(&format!(
                "{}spec:\n  replicas: 9\n",
                ANN.replace("MIN", "1").replace("MAX", "5")
            )),
            [
                "autoscaler/replicas-in-git",
                "autoscaler/replicas-out-of-range"
            ]
        );
        assert_eq!(
            findings(&ANN.replace("MIN", "x").replace("MAX", "5")),
            ["autoscaler/invalid-size"]
        );
        assert_eq!(
            findings(&ANN.replace("MIN", "0").replace("MAX", "5")),
            ["autoscaler/scale-from-zero-capacity"]
        );
        let only_min = "kind: MachineSet\nmetadata:\n  annotations:\n    cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size: \"1\"\n";
        assert_eq!(findings(only_min), ["autoscaler/missing-bound"]);
        let bad_capacity = format!(
            "{}    capacity.cluster-autoscaler.kubernetes.io/memory: lots\n",
            ANN.replace("MIN", "1").replace("MAX", "2")
        );
        assert_eq!(findings(&bad_capacity), ["autoscaler/invalid-capacity"]);
        assert_eq!(
            findings(&ANN.replace("MIN", "${MIN}").replace("MAX", "5")),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn quantities() {
        for ok in ["4", "500m", "16Gi", "1.5", "1e3", "8G"] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["", "lots", "16GB", "1..2", "Gi"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }
}
