//! The setters corpus (`../shared/conformance/setters`): each case's tree
//! is copied, updated in place, and compared byte for byte with the
//! expected tree; where upstream asserts the change record, it is compared
//! too.

mod support;

use fleet_imagepolicy::setters::{Options, Policies, update_tree};
use fleet_model::flux::image::ImageRef;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use support::{corpus_dir, report, required};

fn read_json(path: &Path) -> Json {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for entry in fs::read_dir(from)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Every regular file under `dir`, relative path → bytes.
fn snapshot(dir: &Path, base: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for entry in fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("{e}"));
        if meta.is_dir() {
            snapshot(&path, base, out);
        } else if meta.is_file() {
            let rel = path.strip_prefix(base).unwrap_or(&path).to_path_buf();
            out.insert(rel, fs::read(&path).unwrap_or_else(|e| panic!("{e}")));
        }
    }
}

fn policies_of(doc: &Json) -> Policies {
    let mut policies = Policies::default();
    for policy in doc.as_object().into_iter().flat_map(|m| m.values()) {
        let r = &policy["latestRef"];
        let digest = r["digest"]
            .as_str()
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        policies.insert(
            policy["namespace"].as_str().unwrap_or_default(),
            policy["name"].as_str().unwrap_or_default(),
            ImageRef {
                name: r["name"].as_str().unwrap_or_default().to_string(),
                tag: r["tag"].as_str().unwrap_or_default().to_string(),
                digest,
            },
        );
    }
    policies
}

fn run_case(case: &Path, scratch: &Path) -> Result<(), String> {
    let meta = read_json(&case.join("case.json"));
    let policies = policies_of(&read_json(&case.join("policies.json")));
    let work = scratch.join(case.file_name().unwrap_or_default());
    copy_tree(&case.join("input"), &work);
    for link in meta["symlinks"].as_array().into_iter().flatten() {
        let path = work.join(link["path"].as_str().unwrap_or_default());
        std::os::unix::fs::symlink(link["target"].as_str().unwrap_or_default(), path)
            .map_err(|e| e.to_string())?;
    }
    let update_path = meta["updatePath"].as_str();
    let result = update_tree(&work, update_path, &policies, Options::default(), false)
        .map_err(|e| e.to_string())?;

    let (mut got, mut want) = (BTreeMap::new(), BTreeMap::new());
    snapshot(&work, &work, &mut got);
    snapshot(&case.join("expected"), &case.join("expected"), &mut want);
    if got != want {
        let differing: Vec<_> = got
            .keys()
            .chain(want.keys())
            .filter(|k| got.get(*k) != want.get(*k))
            .map(|k| k.display().to_string())
            .collect();
        return Err(format!("trees differ in {differing:?}"));
    }
    let changed: Vec<String> = result
        .files
        .iter()
        .map(|f| f.path.display().to_string())
        .collect();
    let mut want_changed: Vec<String> = meta["changedFiles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    want_changed.sort();
    if changed != want_changed {
        return Err(format!("reported files {changed:?}, want {want_changed:?}"));
    }
    if let Some(expected) = meta["expectedChanges"].as_array() {
        for file in expected {
            let name = file["file"].as_str().unwrap_or_default();
            let Some(got) = result.files.iter().find(|f| f.path == Path::new(name)) else {
                return Err(format!("no change reported for {name}"));
            };
            let object = &file["object"];
            let records: Vec<Json> = got
                .objects
                .iter()
                .filter(|o| {
                    o.object.api_version == object["apiVersion"]
                        && o.object.kind == object["kind"]
                        && o.object.namespace == object["namespace"]
                        && o.object.name == object["name"]
                })
                .flat_map(|o| o.changes.iter())
                .map(|c| serde_json::json!({"oldValue": c.old_value, "newValue": c.new_value, "setter": c.setter}))
                .collect();
            if Json::Array(records.clone()) != file["changes"] {
                return Err(format!(
                    "{name}: changes {records:?}, want {}",
                    file["changes"]
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn every_case_gives_the_expected_tree_byte_for_byte() {
    let dir = corpus_dir("setters");
    let Ok(entries) = fs::read_dir(&dir) else {
        assert!(
            !required(),
            "{} missing (FLEET_REQUIRE_CONFORMANCE is set)",
            dir.display()
        );
        eprintln!("setters corpus not found: skipped");
        return;
    };
    let mut cases: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("case.json").exists())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    let scratch = std::env::temp_dir().join(format!("fleet-setters-corpus-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            run_case(c, &scratch)
                .err()
                .map(|e| format!("{}: {e}", c.display()))
        })
        .collect();
    let _ = fs::remove_dir_all(&scratch);
    report("setters", cases.len(), &failures);
}
