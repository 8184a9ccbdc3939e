//! Differential tests: every `tests/gotemplate/cases/<fixture>.<name>.tmpl` must render exactly as Go
//! did (`.out`), or fail with exactly Go's error (`.err`: first line `parse` or `exec`).
//! Regenerate the expectations with the Go oracle: `cd tests/gotemplate/oracle && go run . ../cases`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use fleet_imagepolicy::gotemplate::{Error, Struct, Template, Value};
use std::collections::BTreeMap;
use std::path::Path;

fn s(x: &str) -> Value {
    Value::from(x)
}

fn strct(type_name: &str, fields: Vec<(&str, Value)>) -> Struct {
    Struct::new(type_name, fields)
}

fn change(old: &str, new: &str, setter: &str) -> Value {
    Value::Struct(strct(
        "update.Change",
        vec![
            ("OldValue", s(old)),
            ("NewValue", s(new)),
            ("Setter", s(setter)),
        ],
    ))
}

fn oid(api_version: &str, kind: &str, name: &str, ns: &str) -> Value {
    let type_meta = strct(
        "yaml.TypeMeta",
        vec![("APIVersion", s(api_version)), ("Kind", s(kind))],
    );
    let name_meta = strct(
        "yaml.NameMeta",
        vec![("Name", s(name)), ("Namespace", s(ns))],
    );
    let ri = strct(
        "yaml.ResourceIdentifier",
        vec![
            ("TypeMeta", type_meta.into()),
            ("NameMeta", name_meta.into()),
        ],
    );
    Value::Struct(strct(
        "update.ObjectIdentifier",
        vec![("ResourceIdentifier", ri.into())],
    ))
}

/// Objects of one file and their changes.
type Objects = Vec<(Value, Vec<Value>)>;

/// Models Flux's `source.TemplateData` from file -> object -> changes. `Changes()` and
/// `Objects()` are precomputed as the oracle computes them (files and objects in sorted
/// order; for these fixtures the Debug rendering sorts like Go's fmtsort).
fn template_data(
    ns: &str,
    name: &str,
    files: Vec<(&str, Objects)>,
    values: &[(&str, &str)],
) -> Value {
    let mut sorted = files.clone();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut changes: Vec<Value> = Vec::new();
    let mut objects: Vec<(Value, Value)> = Vec::new();
    for (_, objs) in &sorted {
        let mut objs = objs.clone();
        objs.sort_by(|a, b| format!("{:?}", a.0).cmp(&format!("{:?}", b.0)));
        for (obj, chs) in objs {
            for c in &chs {
                if !changes.contains(c) {
                    changes.push(c.clone());
                }
            }
            objects.retain(|(k, _)| *k != obj);
            objects.push((obj, Value::List(chs)));
        }
    }
    let file_changes = files
        .into_iter()
        .map(|(f, objs)| {
            (
                s(f),
                Value::Map(objs.into_iter().map(|(k, v)| (k, Value::List(v))).collect()),
            )
        })
        .collect();
    let mut result = strct(
        "update.Result",
        vec![("FileChanges", Value::Map(file_changes))],
    );
    result.methods = vec![
        ("Changes".into(), Value::List(changes)),
        ("Objects".into(), Value::Map(objects)),
    ];
    let mut nn = strct(
        "types.NamespacedName",
        vec![("Namespace", s(ns)), ("Name", s(name))],
    );
    nn.display = Some(format!("{ns}/{name}"));
    let values: BTreeMap<String, String> = values
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Value::Struct(strct(
        "source.TemplateData",
        vec![
            ("AutomationObject", nn.into()),
            ("Changed", result.into()),
            ("Values", Value::map_of_strings(values)),
        ],
    ))
}

fn fixture(name: &str) -> Value {
    match name {
        "nil" => Value::Nil,
        "flux" => {
            let podinfo = change(
                "ghcr.io/stefanprodan/podinfo:5.0.0",
                "ghcr.io/stefanprodan/podinfo:5.0.3",
                "flux-system:podinfo-policy",
            );
            let sidecar = change(
                "ghcr.io/example/sidecar:1.0",
                "ghcr.io/example/sidecar:1.1",
                "flux-system:sidecar-policy",
            );
            let redis = change("redis:7.0", "redis:7.2", "infra:redis-policy");
            template_data(
                "flux-system",
                "podinfo-auto",
                vec![
                    (
                        "apps/podinfo/deployment.yaml",
                        vec![(
                            oid("apps/v1", "Deployment", "podinfo", "apps"),
                            vec![podinfo.clone(), sidecar],
                        )],
                    ),
                    (
                        "apps/podinfo/cronjob.yaml",
                        vec![(
                            oid("batch/v1", "CronJob", "podinfo-cleanup", "apps"),
                            vec![podinfo],
                        )],
                    ),
                    (
                        "infra/redis.yaml",
                        vec![
                            (
                                oid("apps/v1", "StatefulSet", "redis", "infra"),
                                vec![redis.clone()],
                            ),
                            (
                                oid("kustomize.config.k8s.io/v1beta1", "Kustomization", "", ""),
                                vec![redis],
                            ),
                        ],
                    ),
                ],
                &[
                    ("cluster", "prod-eu"),
                    ("env", "staging"),
                    ("team", "platform"),
                ],
            )
        }
        "fluxempty" => template_data("default", "auto", vec![], &[]),
        "misc" => Value::Struct(strct(
            "main.Misc",
            vec![
                ("Str", s("hello world")),
                ("Int", Value::Int(42)),
                ("Neg", Value::Int(-7)),
                ("Float", Value::Float(1.5)),
                ("Big", Value::Float(1e6)),
                ("Small", Value::Float(0.00001)),
                ("Bool", Value::Bool(true)),
                ("Empty", s("")),
                ("Zero", Value::Int(0)),
                ("List", Value::from(vec!["b", "a", "c", "a"])),
                ("Ints", Value::from(vec![3i64, 1, 2])),
                (
                    "Mixed",
                    Value::List(vec![
                        s("x"),
                        Value::Int(1),
                        Value::Float(2.5),
                        Value::Bool(true),
                        Value::Nil,
                    ]),
                ),
                (
                    "StrMap",
                    Value::Map(vec![(s("b"), s("2")), (s("a"), s("1")), (s("c"), s("3"))]),
                ),
                (
                    "IntMap",
                    Value::Map(vec![
                        (Value::Int(10), s("ten")),
                        (Value::Int(2), s("two")),
                        (Value::Int(-1), s("minus one")),
                    ]),
                ),
                (
                    "Nested",
                    strct("main.Inner", vec![("A", s("inner")), ("B", Value::Int(7))]).into(),
                ),
                ("Multiline", s("line1\nline2\nline3")),
                ("Unicode", s("héllo wörld ☃")),
                ("HTML", s("<a href=\"x\">&'</a>")),
            ],
        )),
        other => panic!("unknown fixture {other}"),
    }
}

fn render(fixture_name: &str, text: &str) -> Result<String, Error> {
    Template::parse("commit message", text)?.execute(&fixture(fixture_name))
}

#[test]
fn differential_cases_match_go() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gotemplate/cases");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("cases dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "tmpl"))
        .collect();
    cases.sort();
    let mut failures = Vec::new();
    for path in &cases {
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("stem");
        let fixture_name = stem.split('.').next().expect("fixture prefix");
        let text = std::fs::read_to_string(path).expect("template");
        let got = match render(fixture_name, &text) {
            Ok(out) => out,
            Err(Error::Parse { message }) => format!("parse\n{message}"),
            Err(Error::Exec { message }) => format!("exec\n{message}"),
        };
        let out = path.with_extension("out");
        let want = std::fs::read_to_string(&out)
            .or_else(|_| std::fs::read_to_string(path.with_extension("err")))
            .expect("expected .out or .err");
        if got != want {
            failures.push(format!("--- {stem}\nwant: {want:?}\ngot:  {got:?}"));
        }
    }
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Go:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
