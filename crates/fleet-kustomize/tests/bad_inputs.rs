//! Bad input: every case is a typed error naming the file (or what to fix),
//! never a panic and never partial output.

use fleet_kustomize::fs::MemFs;
use fleet_kustomize::{BuildOptions, LoadRestrictor, build};

fn err(files: &[(&str, &str)], dir: &str) -> String {
    let mut fs = MemFs::default();
    for (p, c) in files {
        fs.add(p, *c);
    }
    match build(&fs, dir, &BuildOptions::default()) {
        Ok(set) => panic!("expected an error, got:\n{}", set.to_yaml()),
        Err(e) => e.to_string(),
    }
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";

#[test]
fn missing_resource_file_is_named() {
    let e = err(
        &[("/k/kustomization.yaml", "resources: [nope.yaml]\n")],
        "/k",
    );
    assert!(
        e.contains("/k/nope.yaml") && e.contains("no such file"),
        "{e}"
    );
}

#[test]
fn duplicate_ids_are_refused() {
    let e = err(
        &[
            ("/k/kustomization.yaml", "resources: [a.yaml, b.yaml]\n"),
            ("/k/a.yaml", CM),
            ("/k/b.yaml", CM),
        ],
        "/k",
    );
    assert!(
        e.contains("already registered id") && e.contains("ConfigMap"),
        "{e}"
    );
}

#[test]
fn a_patch_that_matches_nothing_is_refused() {
    let e = err(
        &[
            (
                "/k/kustomization.yaml",
                "resources: [a.yaml]\npatchesStrategicMerge: [p.yaml]\n",
            ),
            ("/k/a.yaml", CM),
            (
                "/k/p.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n",
            ),
        ],
        "/k",
    );
    assert!(
        e.contains("/k/p.yaml") && e.contains("failed to find unique target"),
        "{e}"
    );
}

#[test]
fn invalid_yaml_names_file_and_line() {
    let e = err(
        &[
            ("/k/kustomization.yaml", "resources: [a.yaml]\n"),
            ("/k/a.yaml", "apiVersion: v1\nkind: [ConfigMap\n"),
        ],
        "/k",
    );
    assert!(
        e.starts_with("/k/a.yaml:") && e.contains("invalid YAML"),
        "{e}"
    );
}

#[test]
fn invalid_kustomization_field_is_named() {
    let e = err(
        &[(
            "/k/kustomization.yaml",
            "resources: [a.yaml]\nnamePrefixx: x-\n",
        )],
        "/k",
    );
    assert!(
        e.contains("/k/kustomization.yaml") && e.contains("namePrefixx"),
        "{e}"
    );
}

#[test]
fn kustomizations_that_include_themselves_are_a_cycle() {
    let e = err(
        &[
            ("/a/kustomization.yaml", "resources: [../b]\n"),
            ("/b/kustomization.yaml", "resources: [../a]\n"),
        ],
        "/a",
    );
    assert!(e.contains("cycle"), "{e}");
}

#[test]
fn files_outside_the_root_are_refused_by_default_and_allowed_without_restrictions() {
    let files = [
        ("/k/kustomization.yaml", "resources: [../secret.yaml]\n"),
        ("/secret.yaml", CM),
    ];
    let e = err(&files, "/k");
    assert!(
        e.contains("security") && e.contains("/secret.yaml") && e.contains("LoadRestrictionsNone"),
        "{e}"
    );
    let mut fs = MemFs::default();
    for (p, c) in files {
        fs.add(p, c);
    }
    let opts = BuildOptions {
        load_restrictor: LoadRestrictor::None,
    };
    assert!(build(&fs, "/k", &opts).is_ok());
}

#[test]
fn alias_bombs_are_refused() {
    let mut bomb = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let e = err(
        &[
            ("/k/kustomization.yaml", "resources: [bomb.yaml]\n"),
            ("/k/bomb.yaml", &bomb),
        ],
        "/k",
    );
    assert!(
        e.contains("/k/bomb.yaml") && e.contains("alias bomb"),
        "{e}"
    );
}

#[test]
fn deeply_nested_documents_are_refused() {
    let deep = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let e = err(
        &[
            ("/k/kustomization.yaml", "resources: [deep.yaml]\n"),
            ("/k/deep.yaml", &deep),
        ],
        "/k",
    );
    assert!(
        e.contains("/k/deep.yaml")
            && (e.contains("nesting deeper") || e.contains("recursion limit")),
        "{e}"
    );
}

#[test]
fn a_base_without_kustomization_is_named() {
    let e = err(
        &[
            ("/k/kustomization.yaml", "resources: [../base]\n"),
            ("/base/a.yaml", CM),
        ],
        "/k",
    );
    assert!(
        e.contains("unable to find one of 'kustomization.yaml'") && e.contains("/base"),
        "{e}"
    );
}

#[test]
fn resources_without_names_are_refused() {
    let e = err(
        &[
            ("/k/kustomization.yaml", "resources: [a.yaml]\n"),
            (
                "/k/a.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
            ),
        ],
        "/k",
    );
    assert!(
        e.contains("/k/a.yaml:1") && e.contains("metadata.name"),
        "{e}"
    );
}

#[test]
fn json_patch_without_target_is_refused() {
    let e = err(
        &[
            (
                "/k/kustomization.yaml",
                "resources: [a.yaml]\npatches:\n- patch: |-\n    - op: remove\n      path: /data\n",
            ),
            ("/k/a.yaml", CM),
        ],
        "/k",
    );
    assert!(e.contains("must specify a target"), "{e}");
}

#[test]
fn plugins_that_run_programs_are_refused() {
    let e = err(
        &[(
            "/k/kustomization.yaml",
            "transformers:\n- |-\n  apiVersion: someteam.example.com/v1\n  kind: Chmod\n  metadata:\n    name: x\n",
        )],
        "/k",
    );
    assert!(e.contains("not a kustomize built-in"), "{e}");
}

#[cfg(unix)]
#[test]
fn symlinks_escaping_the_root_are_refused() {
    use fleet_kustomize::fs::DiskFs;
    let tmp = std::env::temp_dir().join(format!("fleet-symlink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let k = tmp.join("k");
    std::fs::create_dir_all(&k).unwrap_or_default();
    std::fs::write(tmp.join("outside.yaml"), CM).unwrap_or_default();
    std::fs::write(k.join("kustomization.yaml"), "resources: [inside.yaml]\n").unwrap_or_default();
    std::os::unix::fs::symlink(tmp.join("outside.yaml"), k.join("inside.yaml")).unwrap_or_default();
    let result = build(&DiskFs, &k.to_string_lossy(), &BuildOptions::default());
    let _ = std::fs::remove_dir_all(&tmp);
    let e = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("security"), "{e}");
}

/// Issue 18: `newTag: 1.10` deployed `nginx:1.1` (`010` → 8, `0x1F` → 31);
/// kustomize refuses a number there, and so does fleet, saying how to quote it.
#[test]
fn an_unquoted_numeric_new_tag_is_refused_with_the_fix() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: nginx\n";
    for tag in ["1.10", "010", "0x1F", "5", "true"] {
        let kustomization =
            format!("resources: [pod.yaml]\nimages:\n- name: nginx\n  newTag: {tag}\n");
        let e = err(
            &[
                ("/k/kustomization.yaml", &kustomization),
                ("/k/pod.yaml", pod),
            ],
            "/k",
        );
        assert!(e.contains("/k/kustomization.yaml"), "{e}");
        assert!(
            e.contains("newTag must be a string") && e.contains("quote the tag"),
            "{e}"
        );
    }
    let mut fs = MemFs::default();
    fs.add(
        "/k/kustomization.yaml",
        "resources: [pod.yaml]\nimages:\n- name: nginx\n  newTag: \"1.10\"\n",
    );
    fs.add("/k/pod.yaml", pod);
    let out = build(&fs, "/k", &BuildOptions::default())
        .map(|s| s.to_yaml())
        .unwrap_or_else(|e| e.to_string());
    assert!(out.contains("image: nginx:1.10"), "{out}");
}

/// A relative kustomization directory is resolved from the current
/// directory on disk (cargo runs tests from the package's directory), and
/// refused by an in-memory tree, which has no current directory: never
/// silently read from `/`.
#[test]
#[allow(clippy::expect_used)]
fn relative_directories_resolve_from_the_current_directory_or_are_refused() {
    use fleet_kustomize::fs::{DiskFs, MemFs};
    use fleet_kustomize::{BuildOptions, Error, build};
    let relative = build(&DiskFs, "tests/fixtures/sortfifo", &BuildOptions::default())
        .expect("relative path on disk");
    let here = std::env::current_dir().expect("cwd");
    let absolute = build(
        &DiskFs,
        &here.join("tests/fixtures/sortfifo").to_string_lossy(),
        &BuildOptions::default(),
    )
    .expect("absolute path");
    assert_eq!(relative.to_yaml(), absolute.to_yaml());

    let missing = build(
        &DiskFs,
        "tests/fixtures/no-such-dir",
        &BuildOptions::default(),
    )
    .expect_err("missing");
    assert!(
        missing.to_string().contains("tests/fixtures/no-such-dir"),
        "{missing}"
    );

    let mut fs = MemFs::default();
    fs.add("/app/kustomization.yaml", "resources: []\n");
    let err = build(&fs, "app", &BuildOptions::default()).expect_err("refused");
    assert!(
        matches!(err, Error::RelativeDir(ref d) if d == "app"),
        "{err}"
    );
    assert!(build(&fs, "/app", &BuildOptions::default()).is_ok());
}

/// kustomize's `CheckEmpty`: a kustomization that sets nothing but
/// apiVersion and kind (or nothing at all) is an error, not an empty
/// build; an explicitly empty list is something.
#[test]
fn an_empty_kustomization_is_refused_as_kustomize_refuses_it() {
    for text in [
        "",
        "{}\n",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
        "namePrefix: \"\"\nresources:\n",
    ] {
        let e = err(&[("/app/kustomization.yaml", text)], "/app");
        assert!(e.contains("kustomization.yaml is empty"), "{text:?}: {e}");
    }
    let mut fs = MemFs::default();
    fs.add("/app/kustomization.yaml", "resources: []\n");
    let built = build(&fs, "/app", &BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(built.resources.is_empty());
}

/// A remote resource is named as remote, not looked for on disk.
#[test]
fn a_remote_resource_is_refused_as_remote_not_missing() {
    for spec in [
        "https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v3.3.1",
        "github.com/org/repo/deploy?ref=main",
        "git@github.com:org/repo.git//deploy",
    ] {
        let e = err(
            &[(
                "/app/kustomization.yaml",
                &format!("resources:\n- {spec}\n"),
            )],
            "/app",
        );
        assert!(
            e.contains(&format!("resource '{spec}' is remote")) && e.contains("vendor it"),
            "{e}"
        );
        assert!(e.starts_with("/app/kustomization.yaml"), "{e}");
    }
}

/// A `replicas` entry naming no workload is kustomize's error, naming the
/// kinds it looked at in kustomize's order.
#[test]
fn a_replicas_entry_that_matches_nothing_is_refused() {
    let e = err(
        &[
            (
                "/app/kustomization.yaml",
                "resources: [d.yaml]\nreplicas:\n- name: nope\n  count: 2\n",
            ),
            (
                "/app/d.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n",
            ),
        ],
        "/app",
    );
    assert!(
        e.contains("resource with name nope does not match a config with the following GVK [Deployment.[noVer].[noGrp] StatefulSet.[noVer].[noGrp] ReplicaSet.[noVer].[noGrp] ReplicationController.[noVer].[noGrp]]"),
        "{e}"
    );
}

/// Issue 18: a patch target selector that is not selector syntax matched
/// nothing, silently. It is kustomize's error (`labels.Parse`, checked
/// against `kubectl kustomize` v5.5.0), raised as kustomize raises it: when a
/// resource that passed the target's other checks reaches it.
#[test]
fn a_patch_target_selector_that_does_not_parse_is_kustomizes_error() {
    let files = |target: &str| {
        vec![
            (
                "/k/kustomization.yaml".to_string(),
                format!(
                    "resources: [a.yaml]\npatches:\n- target:\n{target}\n  patch: |\n    - op: add\n      path: /metadata/annotations\n      value: {{a: b}}\n"
                ),
            ),
            (
                "/k/a.yaml".to_string(),
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {app: x}\n"
                    .to_string(),
            ),
        ]
    };
    let build_with = |target: &str| {
        let mut fs = MemFs::default();
        for (p, c) in files(target) {
            fs.add(&p, c);
        }
        build(&fs, "/k", &BuildOptions::default()).map_err(|e| e.to_string())
    };
    for (selector, error) in [
        ("app=x y", "found 'y', expected: ',' or 'end of string'"),
        ("app=x,", "found '', expected: identifier after ','"),
        (
            "app in (a b)",
            "unable to parse requirement: found 'b', expected: ',' or ')'",
        ),
        (
            "app notin a",
            "unable to parse requirement: found 'a' expected: '('",
        ),
    ] {
        let label = build_with(&format!("    labelSelector: {selector:?}"));
        assert_eq!(
            label.err().as_deref(),
            Some(error),
            "labelSelector {selector}"
        );
        let annotation = build_with(&format!("    annotationSelector: {selector:?}"));
        assert_eq!(
            annotation.err().as_deref(),
            Some(error),
            "annotationSelector {selector}"
        );
    }
    // No resource passes `kind: Deployment`: the selector is never parsed.
    let unreached = build_with("    kind: Deployment\n    labelSelector: \"app=x y\"");
    assert!(unreached.is_ok(), "{unreached:?}");
    // A good selector still selects.
    let set = build_with("    labelSelector: app in (x, y)").unwrap_or_else(|e| panic!("{e}"));
    assert!(set.to_yaml().contains("a: b"), "{}", set.to_yaml());
}
