//! The ImagePolicy corpus (`../shared/conformance/imagepolicy`): which tag
//! each policy picks, how tag filters and extraction behave, which specs
//! are accepted, and how Flux reads SemVer tags.

mod support;

use fleet_imagepolicy::policy::{Policy, PolicyError, SelectError, TagFilter};
use fleet_imagepolicy::semver::Version;
use fleet_model::flux::image::{ImagePolicyChoice, TagFilter as FilterSpec};
use serde_json::Value as Json;
use support::{report, rows};

/// Builds a policy the way the controller does: from the typed spec.
fn policy_of(row: &Json) -> Result<Policy, String> {
    let choice: ImagePolicyChoice =
        serde_json::from_value(row["policy"].clone()).map_err(|e| format!("spec: {e}"))?;
    let policy = Policy::from_choice(&choice).map_err(|e| e.to_string())?;
    match row.get("filterTags").filter(|f| !f.is_null()) {
        Some(f) => {
            let f: FilterSpec = serde_json::from_value(f.clone()).map_err(|e| e.to_string())?;
            policy
                .with_filter(&f.pattern, &f.extract)
                .map_err(|e| e.to_string())
        }
        None => Ok(policy),
    }
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn check_selection(file: &str) {
    let rows = rows("imagepolicy", file);
    let mut failures = Vec::new();
    for row in &rows {
        let name = row["name"].as_str().unwrap_or("?");
        let tags = strings(&row["tags"]);
        let mut orders = vec![tags.clone()];
        // "shuffles" rows must not depend on order: try it reversed too.
        if row["notes"]
            .as_str()
            .is_some_and(|n| n.contains("shuffles"))
        {
            orders.push(tags.iter().rev().cloned().collect());
        }
        for tags in orders {
            let got = policy_of(row).and_then(|p| {
                p.select(&tags)
                    .map(str::to_string)
                    .map_err(|e| e.to_string())
            });
            let want_error = row["error"].as_bool().unwrap_or(false);
            match (&got, want_error) {
                (Err(_), true) => {}
                (Ok(tag), false) if Some(tag.as_str()) == row["expected"].as_str() => {}
                _ => failures.push(format!(
                    "{file} {name}: tags {tags:?}: got {got:?}, want {}",
                    row["expected"]
                )),
            }
        }
    }
    report(file, rows.len(), &failures);
}

#[test]
fn semver_policies() {
    check_selection("semver.json");
}

#[test]
fn alphabetical_policies() {
    check_selection("alphabetical.json");
}

#[test]
fn numerical_policies() {
    check_selection("numerical.json");
}

#[test]
fn computed_edge_cases() {
    check_selection("computed-edge-cases.json");
}

#[test]
fn error_kinds_are_typed() {
    // The corpus labels the failing step; each maps to one typed error.
    let mut failures = Vec::new();
    let mut total = 0;
    for file in [
        "semver.json",
        "alphabetical.json",
        "numerical.json",
        "computed-edge-cases.json",
    ] {
        for row in rows("imagepolicy", file) {
            let Some(kind) = row["errorKind"].as_str() else {
                continue;
            };
            total += 1;
            let tags = strings(&row["tags"]);
            let choice: Result<ImagePolicyChoice, _> =
                serde_json::from_value(row["policy"].clone());
            let built = choice.map_err(|_| None).and_then(|c| {
                let p = Policy::from_choice(&c).map_err(Some)?;
                match row.get("filterTags").and_then(|f| f.get("pattern")) {
                    Some(pattern) => p
                        .with_filter(
                            pattern.as_str().unwrap_or_default(),
                            row["filterTags"]["extract"].as_str().unwrap_or_default(),
                        )
                        .map_err(Some),
                    None => Ok(p),
                }
            });
            let ok = match (kind, &built) {
                (
                    "invalidPolicy",
                    Err(
                        None
                        | Some(PolicyError::NoPolicy | PolicyError::Range(_) | PolicyError::Order(_)),
                    ),
                ) => true,
                ("invalidFilterPattern", Err(Some(PolicyError::FilterPattern { .. }))) => true,
                (_, Ok(p)) => matches!(
                    (kind, p.select(&tags)),
                    ("emptyTagList", Err(SelectError::EmptyTagList { .. }))
                        | (
                            "noMatchingVersion",
                            Err(SelectError::NoMatchingVersion { .. })
                        )
                        | ("invalidNumericTag", Err(SelectError::InvalidNumericTag(_)))
                ),
                _ => false,
            };
            if !ok {
                failures.push(format!("{file} {}: want {kind}", row["name"]));
            }
        }
    }
    report("errorKind labels", total, &failures);
}

#[test]
fn tag_filters() {
    let rows = rows("imagepolicy", "filter-tags.json");
    let mut failures = Vec::new();
    for row in &rows {
        let name = row["name"].as_str().unwrap_or("?");
        let spec = &row["filterTags"];
        let filter = TagFilter::new(
            spec["pattern"].as_str().unwrap_or_default(),
            spec["extract"].as_str().unwrap_or_default(),
        );
        let want_error = row["error"].as_bool().unwrap_or(false);
        match (filter, want_error) {
            (Err(_), true) => {}
            (Ok(f), false) => {
                let tags = strings(&row["tags"]);
                let mut kept: Vec<String> = f.apply(&tags).keys().cloned().collect();
                kept.sort();
                if kept != strings(&row["expectedFiltered"]) {
                    failures.push(format!(
                        "{name}: kept {kept:?}, want {}",
                        row["expectedFiltered"]
                    ));
                }
            }
            (got, _) => failures.push(format!("{name}: got {got:?}, want error={want_error}")),
        }
    }
    report("filter-tags.json", rows.len(), &failures);
}

#[test]
fn policy_specs_accepted_and_refused() {
    let rows = rows("imagepolicy", "policy-construction.json");
    let mut failures = Vec::new();
    for row in &rows {
        let valid = policy_of(row).is_ok();
        if Some(valid) != row["valid"].as_bool() {
            failures.push(format!("{}: valid={valid}", row["name"]));
        }
    }
    report("policy-construction.json", rows.len(), &failures);
}

#[test]
fn semver_tag_parsing() {
    let rows = rows("imagepolicy", "semver-tag-parsing.json");
    let mut failures = Vec::new();
    for row in &rows {
        let input = row["input"].as_str().unwrap_or_default();
        let got = Version::parse_tag(input).map(|v| v.to_string()).ok();
        let valid = row["valid"].as_bool().unwrap_or(false);
        let matches = got.is_some() == valid
            && (row.get("normalized").is_none_or(Json::is_null)
                || got.as_deref() == row["normalized"].as_str());
        if !matches {
            failures.push(format!(
                "{input:?}: got {got:?}, want valid={valid} {}",
                row["normalized"]
            ));
        }
    }
    report("semver-tag-parsing.json", rows.len(), &failures);
}
