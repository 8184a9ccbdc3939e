//! Lint rules over Cluster API objects, as `fleet validate` reports them:
//! cluster names, MachineHealthCheck budgets and timeouts, and the
//! cluster-autoscaler rules of [`crate::autoscaler`].

use crate::autoscaler::{self, Finding, Severity};
use crate::mhc::{MaxUnhealthy, max_unhealthy_value, parse_range, validate_node_startup_timeout};
use fleet_model::Value;
use fleet_model::envsubst::holds_placeholder;

/// Whether `name` is a DNS-1123 label (what a Cluster's name must be, as
/// it becomes part of host and Secret names): lower-case letters, digits
/// and `-`, starting and ending with a letter or digit, at most 63.
///
/// ```
/// assert!(fleet_capi::lint::is_dns1123_label("edge-1"));
/// assert!(!fleet_capi::lint::is_dns1123_label("Edge_1"));
/// ```
pub fn is_dns1123_label(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Every finding for one object.
pub fn lint(object: &Value) -> Vec<Finding> {
    let mut findings = autoscaler::check(object);
    let api = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !api.starts_with("cluster.x-k8s.io/") {
        return findings;
    }
    match object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
    {
        "Cluster" => {
            if let Some(name) = object
                .pointer(&["metadata", "name"])
                .filter(|n| !holds_placeholder(n))
                .and_then(Value::as_str)
                && !is_dns1123_label(name)
            {
                findings.push(Finding {
                    rule: "capi/cluster-name",
                    severity: Severity::Error,
                    message: format!(
                        "cluster name {name:?} is not a DNS-1123 label (lower-case letters, digits and '-', at most 63): it becomes part of Secret and host names"
                    ),
                });
            }
        }
        "MachineHealthCheck" => lint_mhc(object, &mut findings),
        _ => {}
    }
    findings
}

fn lint_mhc(object: &Value, findings: &mut Vec<Finding>) {
    let spec = object.get("spec");
    let field = |path: &[&str]| {
        spec.and_then(|s| s.pointer(path))
            .filter(|v| !holds_placeholder(v))
    };
    let max = field(&["remediation", "triggerIf", "unhealthyLessThanOrEqualTo"])
        .or_else(|| field(&["maxUnhealthy"]));
    if let Some(max) = max {
        let value = match max {
            Value::String(s) => Some(MaxUnhealthy::Str(s.clone())),
            other => other.as_i64().map(MaxUnhealthy::Int),
        };
        let problem = match value {
            Some(v) => max_unhealthy_value(10, Some(&v))
                .err()
                .map(|e| e.to_string()),
            None => Some("must be an integer or a percentage like \"40%\"".into()),
        };
        if let Some(problem) = problem {
            findings.push(Finding {
                rule: "mhc/max-unhealthy",
                severity: Severity::Error,
                message: format!("unhealthyLessThanOrEqualTo (maxUnhealthy): {problem}"),
            });
        }
    }
    let range = field(&["remediation", "triggerIf", "unhealthyInRange"])
        .or_else(|| field(&["unhealthyRange"]));
    if let Some(range) = range.and_then(Value::as_str)
        && let Err(e) = parse_range(range)
    {
        findings.push(Finding {
            rule: "mhc/unhealthy-range",
            severity: Severity::Error,
            message: e.to_string(),
        });
    }
    if let Some(seconds) = field(&["checks", "nodeStartupTimeoutSeconds"]).and_then(Value::as_i64)
        && let Err(e) = validate_node_startup_timeout(Some(seconds))
    {
        findings.push(Finding {
            rule: "mhc/node-startup-timeout",
            severity: Severity::Error,
            message: e,
        });
    }
}
