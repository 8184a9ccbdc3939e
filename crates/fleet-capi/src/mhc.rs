//! MachineHealthCheck evaluation as Cluster API's controller does it
//! (v1beta2): which Machines are targets, whether each needs remediation
//! and when to look again, and whether remediation is allowed at all
//! (`unhealthyLessThanOrEqualTo` as a count or percentage, `unhealthyInRange`).
//!
//! Times are whole seconds on one clock (Unix time, or offsets from "now");
//! `None` is the zero timestamp, which counts as infinitely old.
//!
//! ```
//! use fleet_capi::mhc::{remediation_allowed, MaxUnhealthy};
//! // 40% of 5 targets is 2 (rounded down); 3 are not healthy: blocked.
//! let r = remediation_allowed(5, 2, Some(&MaxUnhealthy::parse_str("40%")), None).unwrap();
//! assert!(!r.allowed);
//! ```

use std::collections::BTreeMap;

/// The annotation that asks for a Machine's remediation.
pub const REMEDIATE_ANNOTATION: &str = "cluster.x-k8s.io/remediate-machine";
/// Machines with this annotation are not targets.
pub const SKIP_REMEDIATION_ANNOTATION: &str = "cluster.x-k8s.io/skip-remediation";
/// Paused Machines are not targets.
pub const PAUSED_ANNOTATION: &str = "cluster.x-k8s.io/paused";
/// The label every target must carry with the MHC's cluster name.
pub const CLUSTER_NAME_LABEL: &str = "cluster.x-k8s.io/cluster-name";
/// `spec.checks.nodeStartupTimeoutSeconds` when unset.
pub const DEFAULT_NODE_STARTUP_TIMEOUT: i64 = 600;

/// A condition of a Cluster, Machine or Node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Condition {
    /// Its type, e.g. `Ready`.
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Its reason.
    pub reason: String,
    /// When it last changed; `None` is the zero time.
    pub last_transition: Option<i64>,
}

fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == "True")
}

/// An unhealthy condition rule of `spec.checks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnhealthyCondition {
    /// The condition type.
    pub type_: String,
    /// The status that counts as unhealthy.
    pub status: String,
    /// For how long (seconds) before the target is unhealthy.
    pub timeout: i64,
}

/// `spec.checks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checks {
    /// Node conditions.
    pub node_conditions: Vec<UnhealthyCondition>,
    /// Machine conditions.
    pub machine_conditions: Vec<UnhealthyCondition>,
    /// Seconds a Machine may go without a Node; 0 disables the check.
    pub node_startup_timeout: i64,
}

/// What the check sees of one target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The Cluster's conditions.
    pub cluster_conditions: Vec<Condition>,
    /// The Machine's annotations.
    pub annotations: BTreeMap<String, String>,
    /// A control-plane Machine.
    pub control_plane: bool,
    /// The Machine is being deleted.
    pub deleting: bool,
    /// The Machine's creation time.
    pub created: Option<i64>,
    /// `status.nodeRef.name`.
    pub node_ref: Option<String>,
    /// The Machine's conditions.
    pub machine_conditions: Vec<Condition>,
    /// The Node's conditions, when a Node was found.
    pub node: Option<Vec<Condition>>,
    /// `nodeRef` is set but the Node is gone.
    pub node_missing: bool,
}

/// The `HealthCheckSucceeded` condition written on the Machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCondition {
    /// `True` or `False`.
    pub status: &'static str,
    /// The reason.
    pub reason: &'static str,
    /// The message (empty when healthy).
    pub message: String,
}

/// The outcome for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The Machine must be remediated.
    pub needs_remediation: bool,
    /// Seconds until the target should be checked again, if pending.
    pub next_check: Option<i64>,
    /// The target counts as healthy (a Node, not deleting, nothing pending).
    pub healthy: bool,
    /// The v1beta2 condition, when one is written.
    pub condition: Option<HealthCondition>,
    /// The deprecated v1beta1 condition (severity Warning when False).
    pub v1beta1_condition: Option<HealthCondition>,
}

/// Go's `time.Duration` text for whole seconds: `5m0s`, `1h0m0s`, `0s`.
pub fn go_duration(seconds: i64) -> String {
    let (sign, s) = if seconds < 0 {
        ("-", -seconds)
    } else {
        ("", seconds)
    };
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    match (h, m) {
        (0, 0) => format!("{sign}{s}s"),
        (0, _) => format!("{sign}{m}m{s}s"),
        _ => format!("{sign}{h}h{m}m{s}s"),
    }
}

/// Whether `since + timeout` is strictly before `now`; the zero time
/// always is.
fn timed_out(since: Option<i64>, timeout: i64, now: i64) -> bool {
    since.is_none_or(|t| t.saturating_add(timeout) < now)
}

/// Evaluates one target at time `now`.
pub fn evaluate(target: &Target, checks: &Checks, now: i64) -> Verdict {
    let unhealthy = |reason: &'static str,
                     v1_reason: &'static str,
                     message: String,
                     v1_message: String| Verdict {
        needs_remediation: true,
        next_check: None,
        healthy: false,
        condition: Some(HealthCondition {
            status: "False",
            reason,
            message,
        }),
        v1beta1_condition: Some(HealthCondition {
            status: "False",
            reason: v1_reason,
            message: v1_message,
        }),
    };
    // Not unhealthy: healthy when nothing is pending, the Machine is not
    // being deleted and its Node exists; otherwise neither.
    let pending = |next: Option<i64>| {
        let next_check = next.filter(|n| *n > 0);
        let healthy = next_check.is_none() && !target.deleting && target.node.is_some();
        Verdict {
            needs_remediation: false,
            next_check,
            healthy,
            condition: healthy.then(|| HealthCondition {
                status: "True",
                reason: "HealthCheckSucceeded",
                message: String::new(),
            }),
            v1beta1_condition: None,
        }
    };
    if target.annotations.contains_key(REMEDIATE_ANNOTATION) {
        return unhealthy(
            "HasRemediateAnnotation",
            "HasRemediateMachineAnnotation",
            "Health check failed: marked for remediation via cluster.x-k8s.io/remediate-machine annotation".into(),
            "Marked for remediation via remediate-machine annotation".into(),
        );
    }
    let cluster = &target.cluster_conditions;
    if !is_true(cluster, "ControlPlaneInitialized") && !target.control_plane {
        return pending(None);
    }
    if !is_true(cluster, "InfrastructureReady") {
        return pending(None);
    }
    let mut next_checks = Vec::new();
    let mut machine_messages = Vec::new();
    for rule in &checks.machine_conditions {
        check_rule(
            rule,
            &target.machine_conditions,
            "Machine",
            now,
            &mut machine_messages,
            &mut next_checks,
        );
    }
    let mut node_messages = Vec::new();
    let mut node_reason = ("UnhealthyNode", "UnhealthyNode");
    let mut v1_override = None;
    if target.node_missing {
        node_reason = ("NodeDeleted", "NodeNotFound");
        node_messages.push(format!(
            "Node {} has been deleted",
            target.node_ref.as_deref().unwrap_or_default()
        ));
        v1_override = Some(String::new());
    } else if let Some(node) = &target.node {
        for rule in &checks.node_conditions {
            check_rule(
                rule,
                node,
                "Node",
                now,
                &mut node_messages,
                &mut next_checks,
            );
        }
    } else if checks.node_startup_timeout > 0 {
        let mut since = target.created;
        let later = |since: Option<i64>, c: Option<&Condition>| match c {
            Some(c) if c.status == "True" && c.last_transition > since => c.last_transition,
            _ => since,
        };
        since = later(since, find(cluster, "ControlPlaneInitialized"));
        since = later(since, find(cluster, "InfrastructureReady"));
        since = later(
            since,
            find(&target.machine_conditions, "InfrastructureReady"),
        );
        let timeout = checks.node_startup_timeout;
        if timed_out(since, timeout, now) {
            node_reason = ("NodeStartupTimeout", "NodeStartupTimeout");
            node_messages.push(format!(
                "Node failed to report startup in {}",
                go_duration(timeout)
            ));
        } else if let Some(t) = since {
            next_checks.push(timeout - (now - t) + 1);
        }
    }
    if !machine_messages.is_empty() || !node_messages.is_empty() {
        let (reason, v1_reason) = if machine_messages.is_empty() {
            node_reason
        } else {
            ("UnhealthyMachine", "UnhealthyMachine")
        };
        let all: Vec<String> = machine_messages.into_iter().chain(node_messages).collect();
        let message = format!("Health check failed:\n  * {}", all.join("\n  * "));
        let v1_message = match (reason, v1_override) {
            ("NodeDeleted", Some(m)) => m,
            _ => all.join("; "),
        };
        return unhealthy(reason, v1_reason, message, v1_message);
    }
    pending(next_checks.into_iter().filter(|n| *n > 0).min())
}

/// Applies one rule to a condition list: a message when it has timed
/// out, or the seconds until it would.
fn check_rule(
    rule: &UnhealthyCondition,
    conditions: &[Condition],
    kind: &str,
    now: i64,
    messages: &mut Vec<String>,
    next_checks: &mut Vec<i64>,
) {
    let Some(c) = find(conditions, &rule.type_).filter(|c| c.status == rule.status) else {
        return;
    };
    if timed_out(c.last_transition, rule.timeout, now) {
        messages.push(format!(
            "Condition {} on {kind} is reporting status {} with reason {} for more than {}",
            rule.type_,
            rule.status,
            c.reason,
            go_duration(rule.timeout)
        ));
    } else if let Some(t) = c.last_transition {
        next_checks.push(rule.timeout - (now - t) + 1);
    }
}

/// `unhealthyLessThanOrEqualTo`: a count, or a percentage of the targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaxUnhealthy {
    /// An absolute count.
    Int(i64),
    /// A string, valid only as `<integer>%`.
    Str(String),
}

impl MaxUnhealthy {
    /// The string form (`"40%"`).
    pub fn parse_str(text: &str) -> MaxUnhealthy {
        MaxUnhealthy::Str(text.to_string())
    }
}

impl std::fmt::Display for MaxUnhealthy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaxUnhealthy::Int(n) => write!(f, "{n}"),
            MaxUnhealthy::Str(s) => f.write_str(s),
        }
    }
}

/// Why the remediation budget cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MhcError {
    /// Not an integer or `<integer>%`.
    #[error(
        "invalid value for IntOrString: invalid type: string is not a percentage ({0:?}); use an integer or a percentage like \"40%\""
    )]
    NotAPercentage(String),
    /// A percentage whose number is not an integer.
    #[error("invalid value {0:?}: the percentage must be a whole number, like \"40%\"")]
    BadPercentage(String),
    /// `unhealthyInRange` is not `[min-max]`.
    #[error("invalid unhealthyInRange {0:?}: expected \"[min-max]\", e.g. \"[1-3]\"")]
    BadRange(String),
    /// `max < min`.
    #[error("invalid unhealthyInRange {0:?}: max value cannot be less than min value")]
    RangeOrder(String),
}

/// The count a `MaxUnhealthy` allows for `total` targets (percentages
/// round down); unset is 100%.
pub fn max_unhealthy_value(total: i64, max: Option<&MaxUnhealthy>) -> Result<i64, MhcError> {
    match max {
        None => Ok(total),
        Some(MaxUnhealthy::Int(n)) => Ok(*n),
        Some(MaxUnhealthy::Str(s)) => {
            let Some(number) = s.strip_suffix('%') else {
                return Err(MhcError::NotAPercentage(s.clone()));
            };
            let pct: i64 = number
                .parse()
                .map_err(|_| MhcError::BadPercentage(s.clone()))?;
            Ok(pct * total / 100)
        }
    }
}

/// Parses `"[min-max]"`.
pub fn parse_range(range: &str) -> Result<(i64, i64), MhcError> {
    let bad = || MhcError::BadRange(range.to_string());
    let inner = range
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(bad)?;
    let (min, max) = inner.split_once('-').ok_or_else(bad)?;
    let (min, max): (i64, i64) = (
        min.trim().parse().map_err(|_| bad())?,
        max.trim().parse().map_err(|_| bad())?,
    );
    if max < min {
        return Err(MhcError::RangeOrder(range.to_string()));
    }
    Ok((min, max))
}

/// Whether remediation may go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remediation {
    /// Remediation is allowed.
    pub allowed: bool,
    /// `status.remediationsAllowed`.
    pub remediations_allowed: i64,
    /// The `RemediationAllowed` condition's message when not allowed.
    pub message: Option<String>,
}

/// Decides from `total` targets of which `healthy` are healthy; the
/// unhealthy count is `total - healthy` (pending machines count too).
pub fn remediation_allowed(
    total: i64,
    healthy: i64,
    max: Option<&MaxUnhealthy>,
    range: Option<&str>,
) -> Result<Remediation, MhcError> {
    let unhealthy = total - healthy;
    if let Some(range) = range.filter(|r| !r.is_empty()) {
        let (min, max) = parse_range(range)?;
        let allowed = unhealthy >= min && unhealthy <= max;
        return Ok(Remediation {
            allowed,
            remediations_allowed: if allowed { max - unhealthy } else { 0 },
            message: (!allowed).then(|| format!(
                "Remediation is not allowed, the number of not started or unhealthy machines does not fall within the range (total: {total}, unhealthy: {unhealthy}, unhealthyRange: {range})"
            )),
        });
    }
    let value = max_unhealthy_value(total, max)?;
    let allowed = unhealthy <= value;
    let shown = max.map_or_else(|| "100%".to_string(), ToString::to_string);
    Ok(Remediation {
        allowed,
        remediations_allowed: if allowed { value - unhealthy } else { 0 },
        message: (!allowed).then(|| format!(
            "Remediation is not allowed, the number of not started or unhealthy machines exceeds maxUnhealthy (total: {total}, unhealthy: {unhealthy}, maxUnhealthy: {shown})"
        )),
    })
}

/// Checks `spec.checks.nodeStartupTimeoutSeconds` as the webhook does:
/// 0 (disabled) or at least 30; unset defaults to 600.
pub fn validate_node_startup_timeout(seconds: Option<i64>) -> Result<i64, String> {
    match seconds {
        None => Ok(DEFAULT_NODE_STARTUP_TIMEOUT),
        Some(0) => Ok(0),
        Some(s) if s >= 30 => Ok(s),
        Some(s) => Err(format!(
            "nodeStartupTimeoutSeconds {s} is invalid: use 0 to disable the check, or at least 30"
        )),
    }
}

/// A Machine as target selection sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineRef {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// `status.nodeRef.name`.
    pub node_ref: Option<String>,
}

/// One selected target: the Machine and what is known of its Node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected<'a> {
    /// The Machine.
    pub machine: &'a MachineRef,
    /// The Node's name, when it exists.
    pub node: Option<&'a str>,
    /// `nodeRef` is set but no such Node exists.
    pub node_missing: bool,
}

/// The MHC's targets: Machines in its namespace matching `match_labels`
/// plus the cluster-name label, without the paused or skip-remediation
/// annotation; `nodes` are the workload cluster's Node names.
pub fn select_targets<'a>(
    namespace: &str,
    cluster_name: &str,
    match_labels: &BTreeMap<String, String>,
    machines: &'a [MachineRef],
    nodes: &'a [String],
) -> Vec<Selected<'a>> {
    machines
        .iter()
        .filter(|m| m.namespace == namespace)
        .filter(|m| m.labels.get(CLUSTER_NAME_LABEL).map(String::as_str) == Some(cluster_name))
        .filter(|m| match_labels.iter().all(|(k, v)| m.labels.get(k) == Some(v)))
        .filter(|m| {
            !m.annotations.contains_key(PAUSED_ANNOTATION)
                && !m.annotations.contains_key(SKIP_REMEDIATION_ANNOTATION)
        })
        .map(|m| {
            let node = m
                .node_ref
                .as_deref()
                .and_then(|n| nodes.iter().find(|x| *x == n).map(String::as_str));
            Selected {
                machine: m,
                node,
                node_missing: m.node_ref.is_some() && node.is_none(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::go_duration;

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(300), "5m0s");
        assert_eq!(go_duration(3661), "1h1m1s");
    }
}
