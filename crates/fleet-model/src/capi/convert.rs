//! Conversions between Cluster API `v1beta1` and `v1beta2` where fleet needs them.
//!
//! MachineHealthCheck is the one whose shape changed for fleet's purposes:
//! `maxUnhealthy` / `unhealthyRange` moved to `remediation.triggerIf`,
//! `unhealthyConditions` to `checks.unhealthyNodeConditions`, durations became
//! whole seconds, and `remediationTemplate` became `remediation.templateRef`.
//! Fleet evaluates health checks on the `v1beta2` form and writes whichever
//! version the target cluster serves.
//!
//! ```
//! use fleet_model::capi::{v1beta1, convert};
//! let text = "apiVersion: cluster.x-k8s.io/v1beta1\nkind: MachineHealthCheck\nmetadata:\n  name: md-unhealthy\nspec:\n  clusterName: prod\n  maxUnhealthy: 40%\n  nodeStartupTimeout: 10m\n  selector:\n    matchLabels:\n      nodepool: a\n  unhealthyConditions:\n  - type: Ready\n    status: Unknown\n    timeout: 300s\n";
//! let m = &fleet_model::Manifest::read_all(text, "mhc.yaml").unwrap()[0];
//! let old: v1beta1::MachineHealthCheck = m.to_typed().unwrap();
//! let new = convert::mhc_to_v1beta2(&old).unwrap();
//! let trigger = new.spec.remediation.as_ref().and_then(|r| r.trigger_if.as_ref()).unwrap();
//! assert_eq!(trigger.unhealthy_less_than_or_equal_to.as_ref().unwrap().to_string(), "40%");
//! assert_eq!(new.spec.checks.as_ref().unwrap().node_startup_timeout_seconds, Some(600));
//! ```

use super::common::ObjectReference;
use super::{v1beta1, v1beta2};
use crate::GoDuration;
use crate::duration::DurationError;
use std::time::Duration;

/// Why an object could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    /// A duration field could not be read.
    #[error("field `{field}`: {error}")]
    Duration {
        /// The field path.
        field: String,
        /// The parse error.
        error: DurationError,
    },
    /// A duration is too long to express in `int32` seconds.
    #[error("field `{field}`: {seconds}s does not fit in an int32 number of seconds")]
    TooLong {
        /// The field path.
        field: String,
        /// The duration in seconds.
        seconds: u64,
    },
}

fn seconds(d: &GoDuration, field: &str) -> Result<i32, ConversionError> {
    let std = d.to_std().map_err(|error| ConversionError::Duration {
        field: field.to_string(),
        error,
    })?;
    let secs = std.as_secs();
    i32::try_from(secs).map_err(|_| ConversionError::TooLong {
        field: field.to_string(),
        seconds: secs,
    })
}

fn duration_of(seconds: i32) -> GoDuration {
    GoDuration(GoDuration::format(Duration::from_secs(
        u64::try_from(seconds).unwrap_or(0),
    )))
}

/// Converts a v1beta1 MachineHealthCheck spec to v1beta2.
pub fn mhc_spec_to_v1beta2(
    spec: &v1beta1::MachineHealthCheckSpec,
) -> Result<v1beta2::MachineHealthCheckSpec, ConversionError> {
    let unhealthy_node_conditions = spec
        .unhealthy_conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(v1beta2::UnhealthyNodeCondition {
                type_: c.type_.clone(),
                status: c.status.clone(),
                timeout_seconds: seconds(
                    &c.timeout,
                    &format!("spec.unhealthyConditions[{i}].timeout"),
                )?,
            })
        })
        .collect::<Result<Vec<_>, ConversionError>>()?;
    let node_startup_timeout_seconds = spec
        .node_startup_timeout
        .as_ref()
        .map(|d| seconds(d, "spec.nodeStartupTimeout"))
        .transpose()?;
    let checks = (node_startup_timeout_seconds.is_some() || !unhealthy_node_conditions.is_empty())
        .then(|| v1beta2::MachineHealthCheckChecks {
            node_startup_timeout_seconds,
            unhealthy_node_conditions,
            ..Default::default()
        });
    let trigger_if = (spec.max_unhealthy.is_some() || spec.unhealthy_range.is_some()).then(|| {
        v1beta2::MachineHealthCheckRemediationTriggerIf {
            unhealthy_less_than_or_equal_to: spec.max_unhealthy.clone(),
            unhealthy_in_range: spec.unhealthy_range.clone(),
        }
    });
    let template_ref =
        spec.remediation_template
            .as_ref()
            .map(|r| v1beta2::RemediationTemplateReference {
                kind: r.kind.clone().unwrap_or_default(),
                name: r.name.clone().unwrap_or_default(),
                api_version: r.api_version.clone().unwrap_or_default(),
            });
    let remediation = (trigger_if.is_some() || template_ref.is_some()).then_some(
        v1beta2::MachineHealthCheckRemediation {
            trigger_if,
            template_ref,
        },
    );
    Ok(v1beta2::MachineHealthCheckSpec {
        cluster_name: spec.cluster_name.clone(),
        selector: spec.selector.clone(),
        checks,
        remediation,
        extra: spec.extra.clone(),
    })
}

/// Converts a v1beta2 MachineHealthCheck spec to v1beta1.
///
/// v1beta1 has no place for `unhealthyMachineConditions`; they are kept in
/// `extra` under that name, which is how v1beta1 objects of Cluster API 1.10+
/// carry them.
pub fn mhc_spec_to_v1beta1(
    spec: &v1beta2::MachineHealthCheckSpec,
) -> v1beta1::MachineHealthCheckSpec {
    let checks = spec.checks.clone().unwrap_or_default();
    let trigger = spec
        .remediation
        .as_ref()
        .and_then(|r| r.trigger_if.clone())
        .unwrap_or_default();
    let mut extra = spec.extra.clone();
    if !checks.unhealthy_machine_conditions.is_empty() {
        let conditions: Vec<serde_json::Value> = checks
            .unhealthy_machine_conditions
            .iter()
            .map(|c| {
                serde_json::json!({
                    "type": c.type_,
                    "status": c.status,
                    "timeout": duration_of(c.timeout_seconds).0,
                })
            })
            .collect();
        extra.insert(
            "unhealthyMachineConditions".to_string(),
            serde_json::Value::Array(conditions),
        );
    }
    v1beta1::MachineHealthCheckSpec {
        cluster_name: spec.cluster_name.clone(),
        selector: spec.selector.clone(),
        unhealthy_conditions: checks
            .unhealthy_node_conditions
            .iter()
            .map(|c| v1beta1::UnhealthyCondition {
                type_: c.type_.clone(),
                status: c.status.clone(),
                timeout: duration_of(c.timeout_seconds),
            })
            .collect(),
        max_unhealthy: trigger.unhealthy_less_than_or_equal_to,
        unhealthy_range: trigger.unhealthy_in_range,
        node_startup_timeout: checks.node_startup_timeout_seconds.map(duration_of),
        remediation_template: spec
            .remediation
            .as_ref()
            .and_then(|r| r.template_ref.as_ref())
            .map(|t| ObjectReference {
                api_version: Some(t.api_version.clone()),
                kind: Some(t.kind.clone()),
                name: Some(t.name.clone()),
                ..Default::default()
            }),
        extra,
    }
}

/// Converts a whole v1beta1 MachineHealthCheck (metadata and spec; of the
/// status, the counters and targets) to v1beta2.
pub fn mhc_to_v1beta2(
    object: &v1beta1::MachineHealthCheck,
) -> Result<v1beta2::MachineHealthCheck, ConversionError> {
    let spec = mhc_spec_to_v1beta2(&object.spec)?;
    let status = object
        .status
        .as_ref()
        .map(|s| v1beta2::MachineHealthCheckStatus {
            expected_machines: s.expected_machines,
            current_healthy: s.current_healthy,
            remediations_allowed: s.remediations_allowed,
            observed_generation: s.observed_generation,
            targets: s.targets.clone(),
            ..Default::default()
        });
    Ok(v1beta2::MachineHealthCheck {
        metadata: object.metadata.clone(),
        spec,
        status,
    })
}

/// Converts a whole v1beta2 MachineHealthCheck (metadata and spec; of the
/// status, the counters and targets) to v1beta1.
pub fn mhc_to_v1beta1(object: &v1beta2::MachineHealthCheck) -> v1beta1::MachineHealthCheck {
    let status = object
        .status
        .as_ref()
        .map(|s| v1beta1::MachineHealthCheckStatus {
            expected_machines: s.expected_machines,
            current_healthy: s.current_healthy,
            remediations_allowed: s.remediations_allowed,
            observed_generation: s.observed_generation,
            targets: s.targets.clone(),
            ..Default::default()
        });
    v1beta1::MachineHealthCheck {
        metadata: object.metadata.clone(),
        spec: mhc_spec_to_v1beta1(&object.spec),
        status,
    }
}
