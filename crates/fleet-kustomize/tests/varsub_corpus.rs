//! Flux's object-level post-build substitution corpus
//! (`../shared/conformance/envsubst/varsub.json`): rows from fluxcd/pkg and
//! kustomize-controller tests plus probes, each checked for the text
//! envsubst sees, the resulting object, skips and errors.

use fleet_kustomize::postbuild::{Substitution, Variables};
use fleet_model::flux::kustomization::{PostBuild, SubstituteReference};
use fleet_model::yaml::{WriteOptions, parse_documents, to_string_with};
use fleet_model::{Manifest, Value};
use indexmap::IndexMap;
use serde_json::Value as Json;
use std::path::PathBuf;

fn rows() -> Option<Vec<Json>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/envsubst/varsub.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("varsub.json: {e}")))
        }
        Err(e) if std::env::var_os("FLEET_REQUIRE_CONFORMANCE").is_some() => {
            panic!("{}: {e} (FLEET_REQUIRE_CONFORMANCE is set)", path.display())
        }
        Err(_) => {
            eprintln!("varsub corpus not found at {}: skipped", path.display());
            None
        }
    }
}

fn first_object(text: &str) -> Value {
    parse_documents(text)
        .unwrap_or_else(|e| panic!("corpus YAML: {e}"))
        .into_iter()
        .map(|d| d.value)
        .find(|v| !v.is_null())
        .unwrap_or_default()
}

/// The row's `postBuild` as our typed object, and the data each
/// `substituteFrom` entry resolves to (`None` when it is absent).
fn post_build(row: &Json) -> (PostBuild, Vec<Option<IndexMap<String, String>>>) {
    let pb = &row["postBuild"];
    let mut typed = pb.clone();
    let mut data = Vec::new();
    if let Some(refs) = typed.get_mut("substituteFrom").and_then(Json::as_array_mut) {
        for r in refs {
            let present = r["present"].as_bool().unwrap_or(true);
            let map: IndexMap<String, String> = r["data"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default();
            data.push(present.then_some(map));
            if let Some(o) = r.as_object_mut() {
                o.remove("data");
                o.remove("present");
            }
        }
    }
    let typed: PostBuild =
        serde_json::from_value(typed).unwrap_or_else(|e| panic!("postBuild: {e}"));
    (typed, data)
}

#[test]
fn varsub_corpus_passes() {
    let Some(rows) = rows() else { return };
    let mut failures = Vec::new();
    for row in &rows {
        let name = row["name"].as_str().unwrap_or("?");
        let object = first_object(row["input"].as_str().unwrap_or(""));
        let (pb, data) = post_build(row);
        let mut sources = data.into_iter();
        let resolve = |_: &SubstituteReference| sources.next().flatten();
        let vars = match Variables::merge(&pb, resolve) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{name}: merging variables failed: {e}"));
                continue;
            }
        };
        let want_vars: IndexMap<String, String> =
            serde_json::from_value(row["vars"].clone()).unwrap_or_default();
        let mut got_sorted: Vec<_> = vars.0.iter().collect();
        got_sorted.sort();
        let mut want_sorted: Vec<_> = want_vars.iter().collect();
        want_sorted.sort();
        if got_sorted != want_sorted {
            failures.push(format!("{name}: vars {got_sorted:?}, want {want_sorted:?}"));
        }
        if let Some(seen) = row["substitutionInput"].as_str() {
            let ours = to_string_with(&object, WriteOptions::kustomize());
            if ours != seen {
                failures.push(format!(
                    "{name}: substitution input differs:\n{ours}---\n{seen}"
                ));
            }
        }
        let strict = row["strict"].as_bool().unwrap_or(false);
        let subst = Substitution::new(&pb, vars, strict);
        let got = subst.apply(&object);
        if row["error"].as_bool().unwrap_or(false) {
            let contains = row["errorContains"].as_str().unwrap_or("");
            match got {
                Err(e) if e.to_string().contains(contains) => {}
                other => failures.push(format!("{name}: got {other:?}, want error {contains:?}")),
            }
            continue;
        }
        let result = match got {
            Ok(Some(v)) => {
                if row["skipped"].as_bool() == Some(true) {
                    failures.push(format!("{name}: substituted, but upstream skips it"));
                }
                v
            }
            Ok(None) => object.clone(),
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let expected = first_object(row["expected"].as_str().unwrap_or(""));
        if result != expected {
            failures.push(format!(
                "{name}: got\n{}want\n{}",
                to_string_with(&result, WriteOptions::kustomize()),
                to_string_with(&expected, WriteOptions::kustomize())
            ));
        }
        // The typed reading of the result must also hold (a Manifest).
        let text = to_string_with(&result, WriteOptions::kustomize());
        if let Err(e) = Manifest::read_all(&text, "result.yaml") {
            failures.push(format!("{name}: result does not read back: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} varsub rows fail:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n\n")
    );
}
