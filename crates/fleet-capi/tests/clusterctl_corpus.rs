//! The clusterctl corpora (`../shared/conformance/clusterctl-vars` and
//! `clusterctl-templates`): variable discovery, rendering and the missing
//! variables error, and four Docker-provider templates rendered byte for
//! byte.

// The corpus reader of fleet-imagepolicy's tests, shared rather than copied.
#[path = "../../fleet-imagepolicy/tests/support/corpus.rs"]
mod corpus;

use fleet_capi::template::{Template, TemplateError, Variables, template_file_name};
use serde_json::Value as Json;
use std::path::PathBuf;

fn dir(name: &str) -> PathBuf {
    corpus::corpus_dir(name)
}

/// A corpus file's text, or `None` (skip) when the corpus is absent and not required.
fn read(path: PathBuf) -> Option<String> {
    match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if corpus::required() => {
            panic!("{}: {e} (FLEET_REQUIRE_CONFORMANCE is set)", path.display())
        }
        Err(_) => {
            eprintln!("{} not found: skipped", path.display());
            None
        }
    }
}

fn json(path: PathBuf) -> Option<Json> {
    read(path.clone())
        .map(|t| serde_json::from_str(&t).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn vars_of(v: &Json) -> Variables {
    let mut vars = Variables::default();
    for (k, v) in v.as_object().into_iter().flatten() {
        vars.set(k, v.as_str().unwrap_or_default());
    }
    vars
}

fn variable_map(t: &Template) -> Json {
    let map: serde_json::Map<String, Json> = t
        .variables()
        .into_iter()
        .map(|(k, d)| {
            (
                k.to_string(),
                d.map_or(Json::Null, |d| Json::String(d.to_string())),
            )
        })
        .collect();
    Json::Object(map)
}

#[test]
fn variable_cases() {
    let Some(rows) = json(dir("clusterctl-vars").join("cases.json")) else {
        return;
    };
    let rows = rows.as_array().cloned().unwrap_or_default();
    let mut failures = Vec::new();
    for row in &rows {
        let name = row["name"].as_str().unwrap_or("?");
        let want_error = row["error"].as_bool().unwrap_or(false);
        let outcome: Result<Json, TemplateError> =
            match row["operation"].as_str().unwrap_or_default() {
                "GetTemplateName" => Ok(Json::String(template_file_name(
                    row["input"]["flavor"].as_str().unwrap_or_default(),
                ))),
                op => {
                    let input = row["input"].as_str().unwrap_or_default();
                    Template::new(input).and_then(|t| {
                        if let Some(discovered) =
                            row.get("discoveredVariables").filter(|d| !d.is_null())
                            && variable_map(&t) != *discovered
                        {
                            failures.push(format!(
                                "{name}: discovered {}, want {discovered}",
                                variable_map(&t)
                            ));
                        }
                        match op {
                            "GetVariables" => Ok(Json::from(
                                t.variables()
                                    .keys()
                                    .map(|k| k.to_string())
                                    .collect::<Vec<_>>(),
                            )),
                            "GetVariableMap" => Ok(variable_map(&t)),
                            _ => t.render(&vars_of(&row["vars"])).map(Json::String),
                        }
                    })
                }
            };
        match (&outcome, want_error) {
            (Err(e), true) => {
                if let Some(missing) = row.get("missingVariables").and_then(Json::as_array) {
                    let want: Vec<String> = missing
                        .iter()
                        .filter_map(|m| m.as_str().map(str::to_string))
                        .collect();
                    if *e != TemplateError::Missing(want.clone()) {
                        failures.push(format!("{name}: error {e}, want missing {want:?}"));
                    }
                }
            }
            (Ok(got), false) if *got == row["expected"] => {}
            _ => failures.push(format!("{name}: got {outcome:?}, want {}", row["expected"])),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows fail:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    eprintln!("clusterctl-vars: {0}/{0} rows pass", rows.len());
}

#[test]
fn docker_provider_templates_render_byte_for_byte() {
    let root = dir("clusterctl-templates");
    let Some(index) = json(root.join("index.json")) else {
        return;
    };
    let cases = index.as_array().cloned().unwrap_or_default();
    assert!(cases.len() >= 5);
    for case in &cases {
        let id = case["id"].as_str().unwrap_or("?");
        let files = &case["files"];
        let text =
            read(root.join(files["template"].as_str().unwrap_or_default())).unwrap_or_default();
        let template = Template::new(&text).unwrap_or_else(|e| panic!("{id}: {e}"));
        if let Some(expected_error) = case.get("expectedError") {
            let err = template
                .render(&vars_of(&case["vars"]))
                .err()
                .unwrap_or_else(|| panic!("{id}: rendered"));
            assert_eq!(
                Some(err.to_string().as_str()),
                expected_error["message"].as_str(),
                "{id}"
            );
            continue;
        }
        let vars = vars_of(
            &json(root.join(files["vars"].as_str().unwrap_or_default())).unwrap_or_default(),
        );
        let variables =
            json(root.join(files["variables"].as_str().unwrap_or_default())).unwrap_or_default();
        assert_eq!(
            variable_map(&template),
            variables,
            "{id}: discovered variables"
        );
        let expected =
            read(root.join(files["expected"].as_str().unwrap_or_default())).unwrap_or_default();
        let rendered = template
            .render(&vars)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(
            rendered == expected,
            "{id}: rendered output differs from expected.yaml"
        );
    }
    eprintln!("clusterctl-templates: {0}/{0} cases pass", cases.len());
}
