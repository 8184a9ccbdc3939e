//! `fleet image automate` end to end: an ImageUpdateAutomation, its
//! GitRepository and ImagePolicies from files, against `git daemon` on
//! loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use fleet_testenv::git::{GitDaemon, Workdir, git};

fn fleet(args: &[&str]) -> (i32, String, String) {
    support::fleet(args, &[])
}

fn repo(root: &Path) -> Workdir {
    let work = Workdir::new(root, "fleet");
    work.write(&[
        (
            "clusters/prod/web.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web:1.0.0 # {\"$imagepolicy\": \"flux-system:web\"}\n",
        ),
        (
            "clusters/prod/api.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: apps\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ghcr.io/acme/api:2.0.0 # {\"$imagepolicy\": \"flux-system:api\"}\n",
        ),
        ("README.md", "fleet\n"),
    ]);
    work.commit("first");
    work.push();
    work
}

fn automation_file(root: &Path, url: &str, extra_spec: &str) -> String {
    let path = root.join("automation.yaml");
    std::fs::write(
        &path,
        format!(
            r#"apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: fleet
  namespace: flux-system
spec:
  interval: 1m
  url: {url}
  ref:
    branch: main
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageUpdateAutomation
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 5m
  sourceRef:
    kind: GitRepository
    name: fleet
  policySelector:
    matchLabels:
      team: web
  git:
    commit:
      author:
        name: Fleet Bot
        email: bot@fleet.invalid
      messageTemplate: |-
        Automated image update by {{{{ .AutomationObject }}}}
        {{{{ range $file, $_ := .Changed.FileChanges -}}}}
        - {{{{ $file }}}}
        {{{{ end -}}}}
        {{{{ range .Changed.Changes -}}}}
        * {{{{ .OldValue }}}} -> {{{{ .NewValue }}}}
        {{{{ end -}}}}
{extra_spec}  update:
    path: ./clusters
    strategy: Setters
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: web
  namespace: flux-system
  labels:
    team: web
spec:
  imageRepositoryRef:
    name: web
  policy:
    semver:
      range: 1.x
status:
  latestRef:
    name: ghcr.io/acme/web
    tag: 1.1.0
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: api
  namespace: flux-system
  labels:
    team: api
spec:
  imageRepositoryRef:
    name: api
  policy:
    semver:
      range: 2.x
status:
  latestRef:
    name: ghcr.io/acme/api
    tag: 2.1.0
"#
        ),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn the_selected_policies_are_written_committed_with_the_template_and_pushed_once() {
    let root = tempfile::tempdir().unwrap();
    let work = repo(root.path());
    let daemon = GitDaemon::start(root.path());
    let file = automation_file(root.path(), &daemon.url("fleet.git"), "");
    let before = git(&work.bare, &["rev-parse", "main"]);

    let (code, stdout, stderr) = fleet(&["image", "automate", &file]);
    assert_eq!(code, 0, "{stderr}");
    let head = git(&work.bare, &["rev-parse", "main"]);
    assert!(
        stdout.starts_with(&format!("pushed {head} to main on top of {before}")),
        "{stdout}"
    );
    assert!(stdout.contains("clusters/prod/web.yaml Deployment web: ghcr.io/acme/web:1.0.0 -> ghcr.io/acme/web:1.1.0"), "{stdout}");
    // Only the selected policy (team: web) was applied.
    assert!(git(&work.bare, &["show", "main:clusters/prod/web.yaml"]).contains("web:1.1.0"));
    assert!(git(&work.bare, &["show", "main:clusters/prod/api.yaml"]).contains("api:2.0.0"));
    assert_eq!(
        git(&work.bare, &["log", "-1", "--format=%an <%ae>%n%B", "main"]),
        "Fleet Bot <bot@fleet.invalid>\nAutomated image update by flux-system/apps\n- prod/web.yaml\n* ghcr.io/acme/web:1.0.0 -> ghcr.io/acme/web:1.1.0"
    );

    // Nothing left to change: no commit, no push.
    let (code, stdout, stderr) = fleet(&["image", "automate", &file, "-o", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["pushed"], false, "{stdout}");
    assert_eq!(v["checkoutCommit"], head.as_str());
    assert_eq!(git(&work.bare, &["rev-parse", "main"]), head);

    // --policy replaces the files' policies.
    let (code, stdout, stderr) = fleet(&[
        "image",
        "automate",
        &file,
        "--policy",
        "flux-system:api=ghcr.io/acme/api:2.2.0",
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["pushed"], true, "{stdout}");
    assert_eq!(
        v["files"][0]["objects"][0]["changes"][0]["newValue"],
        "ghcr.io/acme/api:2.2.0"
    );
    assert!(git(&work.bare, &["show", "main:clusters/prod/api.yaml"]).contains("api:2.2.0"));
}

#[test]
fn a_push_branch_a_removed_template_field_and_missing_inputs_are_reported() {
    let root = tempfile::tempdir().unwrap();
    let work = repo(root.path());
    let daemon = GitDaemon::start(root.path());
    let file = automation_file(
        root.path(),
        &daemon.url("fleet.git"),
        "    push:\n      branch: image-updates\n",
    );
    let main = git(&work.bare, &["rev-parse", "main"]);
    let (code, stdout, stderr) = fleet(&["image", "automate", &file]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("to image-updates"), "{stdout}");
    assert_eq!(git(&work.bare, &["rev-parse", "main"]), main);
    assert_eq!(git(&work.bare, &["rev-parse", "image-updates^"]), main);

    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace(".Changed.Changes", ".Updated.Images")).unwrap();
    let (code, _, stderr) = fleet(&["image", "automate", &file]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("template uses removed '.Updated' field"),
        "{stderr}"
    );
    assert!(stderr.contains("reason: RemovedTemplateField"), "{stderr}");
    assert_eq!(
        git(&work.bare, &["rev-parse", "image-updates^"]),
        main,
        "nothing pushed"
    );

    let lone = root.path().join("lone.yaml");
    std::fs::write(&lone, text.split("---").nth(1).unwrap()).unwrap();
    let (code, _, stderr) = fleet(&["image", "automate", &lone.to_string_lossy()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(
            "GitRepository flux-system/fleet (the automation's sourceRef) is in none of the files"
        ),
        "{stderr}"
    );
}
