//! The envsubst conformance corpus (`../shared/conformance/envsubst`):
//! expansion cases, edge-case probes, operator functions and parse trees,
//! each checked against what the upstream Go code produced.

use fleet_kustomize::envsubst::{Node, Vars, parse, substitute};
use serde_json::Value as Json;
use std::path::PathBuf;

fn corpus(file: &str) -> Option<Vec<Json>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/envsubst")
        .join(file);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if std::env::var_os("FLEET_REQUIRE_CONFORMANCE").is_some() => {
            panic!("{}: {e} (FLEET_REQUIRE_CONFORMANCE is set)", path.display())
        }
        Err(_) => {
            eprintln!("envsubst corpus not found at {}: skipped", path.display());
            return None;
        }
    };
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn vars_of(v: &Json) -> Vars {
    Vars(
        v.as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

fn check_expansions(file: &str) -> usize {
    let Some(rows) = corpus(file) else { return 0 };
    let mut failures = Vec::new();
    for row in &rows {
        let name = row["name"].as_str().unwrap_or("?");
        let input = row["input"].as_str().unwrap_or("");
        let strict = row["strict"].as_bool().unwrap_or(false);
        let want_error = row["error"].as_bool().unwrap_or(false)
            || row["upstreamPanics"].as_bool().unwrap_or(false);
        let got = substitute(input, &vars_of(&row["vars"]), strict);
        match (&got, want_error) {
            (Err(_), true) => {}
            (Ok(out), false) if Some(out.as_str()) == row["expected"].as_str() => {}
            _ => failures.push(format!(
                "{name}: input {input:?} strict {strict}: got {got:?}, want {}",
                if want_error {
                    "an error".to_string()
                } else {
                    format!("{:?}", row["expected"])
                }
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows of {file} fail:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    rows.len()
}

#[test]
fn expansion_cases_pass() {
    check_expansions("cases.json");
}

#[test]
fn probes_pass() {
    check_expansions("probes.json");
}

#[test]
fn operator_functions_pass_through_their_templates() {
    let Some(rows) = corpus("funcs.json") else {
        return;
    };
    let mut failures = Vec::new();
    for row in &rows {
        let template = row["template"].as_str().unwrap_or("");
        let got = substitute(template, &vars_of(&row["templateVars"]), false);
        if got.as_deref().ok() != row["expected"].as_str() {
            failures.push(format!(
                "{}: {template:?} gave {got:?}, want {:?}",
                row["name"], row["expected"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Flattens right-nested lists into one sequence of text and func nodes.
fn flatten_ours(n: &Node, out: &mut Vec<Json>) {
    match n {
        Node::Text(t) => out.push(serde_json::json!({"type": "text", "value": t})),
        Node::List(items) => items.iter().for_each(|i| flatten_ours(i, out)),
        Node::Func { param, name, args } => {
            let args: Vec<Json> = args
                .iter()
                .map(|a| {
                    let mut v = Vec::new();
                    flatten_ours(a, &mut v);
                    if v.len() == 1 {
                        v.remove(0)
                    } else {
                        serde_json::json!({"type": "list", "nodes": v})
                    }
                })
                .collect();
            out.push(
                serde_json::json!({"type": "func", "param": param, "name": name, "args": args}),
            );
        }
    }
}

fn flatten_theirs(n: &Json, out: &mut Vec<Json>) {
    match n["type"].as_str() {
        Some("list") => n["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .for_each(|i| flatten_theirs(i, out)),
        Some("func") => {
            let args: Vec<Json> = n["args"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    let mut v = Vec::new();
                    flatten_theirs(a, &mut v);
                    if v.len() == 1 {
                        v.remove(0)
                    } else {
                        serde_json::json!({"type": "list", "nodes": v})
                    }
                })
                .collect();
            out.push(serde_json::json!({"type": "func", "param": n["param"], "name": n["name"], "args": args}));
        }
        _ => out.push(n.clone()),
    }
}

#[test]
fn parse_trees_match() {
    let Some(rows) = corpus("parse.json") else {
        return;
    };
    let mut failures = Vec::new();
    for row in &rows {
        let input = row["input"].as_str().unwrap_or("");
        let mut theirs = Vec::new();
        if !row["ast"].is_null() {
            flatten_theirs(&row["ast"], &mut theirs);
        }
        match parse(input) {
            Ok(tree) => {
                let mut ours = Vec::new();
                flatten_ours(&tree, &mut ours);
                if row["ast"].is_null() || ours != theirs {
                    failures.push(format!(
                        "{input:?}: ours {ours:?}\n  theirs {theirs:?} (error expected: {})",
                        row["ast"].is_null()
                    ));
                }
            }
            Err(e) => {
                if !row["ast"].is_null() {
                    failures.push(format!("{input:?}: parse error {e}, want {theirs:?}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} parse rows fail:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
