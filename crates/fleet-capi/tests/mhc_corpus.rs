//! The MachineHealthCheck corpus (`../shared/conformance/capi-mhc`):
//! per-target verdicts, the remediation budget, target selection and the
//! webhook's checks.

// The corpus reader of fleet-imagepolicy's tests, shared rather than copied.
#[path = "../../fleet-imagepolicy/tests/support/corpus.rs"]
mod corpus;

use corpus::report;
use fleet_capi::mhc::{
    Checks, Condition, MachineRef, MaxUnhealthy, Target, UnhealthyCondition, evaluate,
    max_unhealthy_value, remediation_allowed, select_targets, validate_node_startup_timeout,
};
use serde_json::Value as Json;
use std::collections::BTreeMap;

fn rows(file: &str) -> Vec<Json> {
    corpus::rows("capi-mhc", file)
}

fn text(v: &Json) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn map(v: &Json) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), text(v)))
        .collect()
}

fn conditions(v: &Json) -> Vec<Condition> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|c| Condition {
            type_: text(&c["type"]),
            status: text(&c["status"]),
            reason: text(&c["reason"]),
            last_transition: c["lastTransitionTimeOffsetSeconds"].as_i64(),
        })
        .collect()
}

fn rules(v: &Json) -> Vec<UnhealthyCondition> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|c| UnhealthyCondition {
            type_: text(&c["type"]),
            status: text(&c["status"]),
            timeout: c["timeoutSeconds"].as_i64().unwrap_or(0),
        })
        .collect()
}

#[test]
fn target_verdicts() {
    let rows = rows("targets.json");
    let mut failures = Vec::new();
    let mut verdicts = BTreeMap::new();
    for row in rows.iter().filter(|r| r["kind"] != "group") {
        let name = text(&row["name"]);
        let m = &row["machine"];
        let target = Target {
            cluster_conditions: conditions(&row["cluster"]["conditions"]),
            annotations: map(&m["annotations"]),
            control_plane: m["isControlPlane"].as_bool().unwrap_or(false),
            deleting: m["deleting"].as_bool().unwrap_or(false),
            created: m["creationTimestampOffsetSeconds"].as_i64(),
            node_ref: m["nodeRefName"].as_str().map(str::to_string),
            machine_conditions: conditions(&m["conditions"]),
            node: (!row["node"].is_null()).then(|| conditions(&row["node"]["conditions"])),
            node_missing: row["nodeMissing"].as_bool().unwrap_or(false),
        };
        let checks = Checks {
            node_conditions: rules(&row["unhealthyNodeConditions"]),
            machine_conditions: rules(&row["unhealthyMachineConditions"]),
            node_startup_timeout: row["nodeStartupTimeoutSeconds"].as_i64().unwrap_or(0),
        };
        let v = evaluate(&target, &checks, 0);
        let e = &row["expected"];
        let mut problems = Vec::new();
        if Some(v.needs_remediation) != e["needsRemediation"].as_bool() {
            problems.push(format!("needsRemediation {}", v.needs_remediation));
        }
        if v.next_check != e["nextCheckSeconds"].as_i64() {
            problems.push(format!("nextCheck {:?}", v.next_check));
        }
        if Some(v.healthy) != e["healthy"].as_bool() {
            problems.push(format!("healthy {}", v.healthy));
        }
        for (key, got) in [
            ("condition", &v.condition),
            ("v1beta1Condition", &v.v1beta1_condition),
        ] {
            let want = &e[key];
            if want.is_null() {
                continue;
            }
            let ok = got.as_ref().is_some_and(|c| {
                want["status"] == c.status
                    && want["reason"] == c.reason
                    && want.get("message").is_none_or(|m| *m == c.message.as_str())
            });
            if !ok {
                problems.push(format!("{key} {got:?}, want {want}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{name}: {}", problems.join("; ")));
        }
        verdicts.insert(name, v);
    }
    let mut total = verdicts.len();
    for group in rows.iter().filter(|r| r["kind"] == "group") {
        total += 1;
        let members: Vec<String> = group["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        let healthy: Vec<String> = members
            .iter()
            .filter(|m| verdicts.get(*m).is_some_and(|v| v.healthy))
            .cloned()
            .collect();
        let unhealthy: Vec<String> = members
            .iter()
            .filter(|m| verdicts.get(*m).is_some_and(|v| v.needs_remediation))
            .cloned()
            .collect();
        let mut next: Vec<i64> = members
            .iter()
            .filter_map(|m| verdicts.get(m).and_then(|v| v.next_check))
            .collect();
        next.sort_unstable();
        let mut want_next: Vec<i64> = group["expected"]["nextCheckSeconds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Json::as_i64)
            .collect();
        want_next.sort_unstable();
        let sorted = |v: &Json| {
            let mut s: Vec<String> = v.as_array().into_iter().flatten().map(text).collect();
            s.sort();
            s
        };
        if healthy != sorted(&group["expected"]["healthy"])
            || unhealthy != sorted(&group["expected"]["unhealthy"])
            || next != want_next
        {
            failures.push(format!(
                "group {}: healthy {healthy:?} unhealthy {unhealthy:?} next {next:?}",
                group["name"]
            ));
        }
    }
    report("targets.json", total, &failures);
}

fn max_of(v: &Json) -> Option<MaxUnhealthy> {
    match v {
        Json::Number(n) => Some(MaxUnhealthy::Int(n.as_i64().unwrap_or_default())),
        Json::String(s) => Some(MaxUnhealthy::Str(s.clone())),
        _ => None,
    }
}

#[test]
fn remediation_budget() {
    let rows = rows("shortcircuit.json");
    let mut failures = Vec::new();
    for row in &rows {
        let name = text(&row["name"]);
        let total = row["total"].as_i64().unwrap_or(0);
        let max = max_of(&row["maxUnhealthy"]);
        let want_error = row["error"].as_bool().unwrap_or(false);
        if let Some(want) = row["expectedMaxUnhealthyValue"]
            .as_i64()
            .or(want_error.then_some(0))
            .filter(|_| row["healthy"].is_null())
        {
            match (max_unhealthy_value(total, max.as_ref()), want_error) {
                (Err(e), true)
                    if row["errorContains"]
                        .as_str()
                        .is_none_or(|c| e.to_string().contains(c)) => {}
                (Ok(v), false) if v == want => {}
                other => failures.push(format!("{name}: max value {other:?}, want {want}")),
            }
            continue;
        }
        let healthy = row["healthy"].as_i64().unwrap_or(0);
        let range = row["unhealthyRange"].as_str();
        match (
            remediation_allowed(total, healthy, max.as_ref(), range),
            want_error,
        ) {
            (Err(e), true)
                if row["errorContains"]
                    .as_str()
                    .is_none_or(|c| e.to_string().contains(c)) => {}
            (Ok(r), false) => {
                let mut problems = Vec::new();
                if Some(r.allowed) != row["expectedRemediationAllowed"].as_bool() {
                    problems.push(format!("allowed {}", r.allowed));
                }
                if let Some(n) = row["expectedRemediationsAllowed"].as_i64()
                    && n != r.remediations_allowed
                {
                    problems.push(format!("remediationsAllowed {}", r.remediations_allowed));
                }
                if let Some(m) = row["expectedMaxUnhealthyValue"].as_i64()
                    && max_unhealthy_value(total, max.as_ref()) != Ok(m)
                {
                    problems.push("max value".into());
                }
                if let Some(m) = row["expectedMessage"].as_str()
                    && r.message.as_deref() != Some(m)
                {
                    problems.push(format!("message {:?}", r.message));
                }
                if !problems.is_empty() {
                    failures.push(format!("{name}: {}", problems.join("; ")));
                }
            }
            other => failures.push(format!("{name}: {other:?}, want error={want_error}")),
        }
    }
    report("shortcircuit.json", rows.len(), &failures);
}

#[test]
fn target_selection() {
    let rows = rows("selection.json");
    let mut failures = Vec::new();
    for row in &rows {
        let machines: Vec<MachineRef> = row["machines"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| MachineRef {
                name: text(&m["name"]),
                namespace: text(&m["namespace"]),
                labels: map(&m["labels"]),
                annotations: map(&m["annotations"]),
                node_ref: m["nodeRefName"].as_str().map(str::to_string),
            })
            .collect();
        let nodes: Vec<String> = row["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        let mhc = &row["mhc"];
        let got: Vec<Json> = select_targets(&text(&mhc["namespace"]), &text(&mhc["clusterName"]), &map(&mhc["selector"]["matchLabels"]), &machines, &nodes)
            .iter()
            .map(|s| serde_json::json!({"machine": s.machine.name, "node": s.node, "nodeMissing": s.node_missing}))
            .collect();
        if Json::Array(got.clone()) != row["expectedTargets"] {
            failures.push(format!("{}: got {got:?}", row["name"]));
        }
    }
    report("selection.json", rows.len(), &failures);
}

#[test]
fn webhook_validation_and_defaulting() {
    let rows = rows("validation.json");
    let mut failures = Vec::new();
    for row in &rows {
        let field = text(&row["field"]);
        let ok = if field.ends_with("nodeStartupTimeoutSeconds") {
            let result = validate_node_startup_timeout(row["value"].as_i64());
            match row["expectDefault"].as_i64() {
                Some(d) => result == Ok(d),
                None => result.is_err() == row["expectError"].as_bool().unwrap_or(false),
            }
        } else {
            let value = match &row["value"] {
                Json::Object(o) if o.get("intOrStringType").is_some_and(|t| t == "String") => {
                    Some(MaxUnhealthy::Str(text(&o["value"])))
                }
                other => max_of(other),
            };
            max_unhealthy_value(10, value.as_ref()).is_err()
                == row["expectError"].as_bool().unwrap_or(false)
        };
        if !ok {
            failures.push(format!("{}", row["name"]));
        }
    }
    report("validation.json", rows.len(), &failures);
}
