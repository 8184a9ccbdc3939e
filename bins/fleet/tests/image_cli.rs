//! `fleet image select|scan|update` end to end.

// The registry harness of fleet-imagepolicy's tests, shared rather than copied.
#[path = "../../../crates/fleet-imagepolicy/tests/support/registry.rs"]
#[allow(dead_code)]
mod registry;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn fleet(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running fleet: {e}"));
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn select_picks_what_the_flux_policy_would() {
    let tags = ["1.0.0", "1.2.0", "v1.10.0", "2.0.0-rc.1", "latest"];
    let mut args = vec!["image", "select", "--semver", "^1.0"];
    args.extend(tags);
    assert_eq!(fleet(&args, "", &[]).1, "v1.10.0\n");
    let stdin = "main-abc-100\nmain-def-99\n\npr-7-500\n";
    let (code, out, err) = fleet(
        &[
            "image",
            "select",
            "--numerical",
            "asc",
            "--filter-pattern",
            "^main-[a-f0-9]+-(?P<ts>[0-9]+)$",
            "--filter-extract",
            "$ts",
        ],
        stdin,
        &[],
    );
    assert_eq!((code, out.as_str()), (0, "main-abc-100\n"), "{err}");
    assert_eq!(
        fleet(
            &["image", "select", "--alphabetical", "desc", "b", "a", "c"],
            "",
            &[]
        )
        .1,
        "a\n"
    );
}

#[test]
fn select_explains_bad_input() {
    let cases: [(&[&str], &str, i32, &str); 5] = [
        (
            &["image", "select", "--semver", ">= bar", "1.0.0"],
            "",
            2,
            "invalid SemVer range \">= bar\"",
        ),
        (
            &[
                "image",
                "select",
                "--semver",
                "^1",
                "--filter-pattern",
                "(unclosed",
                "1.0.0",
            ],
            "",
            2,
            "invalid filterTags.pattern",
        ),
        (
            &["image", "select", "--numerical", "asc"],
            "1\n2\nnot-a-number\n",
            1,
            "tag \"not-a-number\" is not a number",
        ),
        (
            &["image", "select", "--semver", "^1"],
            "1.0.0\nbad tag!\n",
            2,
            "standard input, line 2: \"bad tag!\" is not a valid image tag",
        ),
        (
            &["image", "select", "--semver", "^3", "1.0.0", "2.0.0"],
            "",
            1,
            "no tag is a version within the range \"^3\"",
        ),
    ];
    for (args, stdin, want_code, want) in cases {
        let (code, out, err) = fleet(args, stdin, &[]);
        assert_eq!(code, want_code, "{args:?}: {err}");
        assert!(out.is_empty() && err.contains(want), "{args:?}: {err}");
    }
}

fn scratch_tree(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fleet-image-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("apps")).unwrap_or_else(|e| panic!("{e}"));
    dir
}

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web # the front end\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: ghcr.io/org/web:1.0.0 # {\"$imagepolicy\": \"flux-system:web\"}\n";

#[test]
fn update_rewrites_marked_fields_and_reports_them() {
    let dir = scratch_tree("update");
    std::fs::write(dir.join("apps/web.yaml"), DEPLOY).unwrap_or_else(|e| panic!("{e}"));
    let root = dir.display().to_string();
    let (code, out, err) = fleet(
        &[
            "image",
            "update",
            &root,
            "--policy",
            "flux-system:web=ghcr.io/org/web:1.1.0",
        ],
        "",
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "apps/web.yaml\n  Deployment shop/web\n    line 11: ghcr.io/org/web:1.0.0 -> ghcr.io/org/web:1.1.0 (flux-system:web)\n1 file(s) changed, 1 value(s) updated (1 marked file(s) screened)\n"
    );
    let text = std::fs::read_to_string(dir.join("apps/web.yaml")).unwrap_or_default();
    assert_eq!(text, DEPLOY.replace("web:1.0.0", "web:1.1.0"));

    // From an ImagePolicy exported with its status (v1beta2 latestImage works too).
    let policy = "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata:\n  name: web\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: web\n  policy:\n    semver:\n      range: ^1\nstatus:\n  latestImage: ghcr.io/org/web:1.2.0@sha256:abc\n";
    std::fs::write(dir.join("policy.yaml"), policy).unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = fleet(&["image", "update", &root], "", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("-> ghcr.io/org/web:1.2.0@sha256:abc (flux-system:web)"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn update_failures_write_nothing() {
    let dir = scratch_tree("fail");
    std::fs::write(dir.join("apps/web.yaml"), DEPLOY).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("apps/typo.yaml"),
        "image: x:1 # {\"$imagepolicy\": \"flux-system:wbe\"}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let root = dir.display().to_string();
    let (code, _, err) = fleet(
        &[
            "image",
            "update",
            &root,
            "--policy",
            "flux-system:web=ghcr.io/org/web:1.1.0",
        ],
        "",
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("typo.yaml: line 1: the marker names \"flux-system:wbe\"")
            && err.contains("nothing was written"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("apps/web.yaml")).unwrap_or_default(),
        DEPLOY
    );
    // As image-automation-controller: other policies' markers are skipped.
    let (code, out, err) = fleet(
        &[
            "image",
            "update",
            &root,
            "--ignore-unknown",
            "--policy",
            "flux-system:web=ghcr.io/org/web:1.1.0",
        ],
        "",
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("apps/web.yaml\n"), "{out}");
    for bad in [
        "web=ghcr.io/org/web:1",
        "flux-system:web=ghcr.io/org/web",
        "flux-system:web",
    ] {
        let (code, _, err) = fleet(&["image", "update", &root, "--policy", bad], "", &[]);
        assert_eq!(code, 2, "{bad}");
        assert!(err.contains("NAMESPACE:NAME=IMAGE:TAG"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_example_fleet_marks_its_ingress_controller() {
    let (code, out, err) = fleet(
        &[
            "image",
            "update",
            "examples/fleet",
            "--dry-run",
            "--policy",
            "flux-system:ingress-nginx=registry.k8s.io/ingress-nginx/controller:v1.12.0",
        ],
        "",
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("infrastructure/base/ingress-nginx/deployment.yaml")
            && out.contains("would change"),
        "{out}"
    );
}

#[test]
fn scan_lists_a_registrys_tags_and_the_chosen_one() {
    if !registry::available() {
        return;
    }
    let reg = registry::Registry::start("cli", registry::Auth::Htpasswd("ci", "pw"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let pusher = registry::Pusher::new(&reg.host, Some(("ci", "pw")), None);
    let mut digest = String::new();
    for tag in ["1.0.0", "1.4.2", "2.0.0", "sha256-abc.sig"] {
        let d = runtime.block_on(pusher.push("shop/web", tag));
        if tag == "1.4.2" {
            digest = d;
        }
    }
    let image = format!("{}/shop/web", reg.host);
    let (code, out, err) = fleet(
        &[
            "image",
            "scan",
            &image,
            "--semver",
            "^1",
            "--digest",
            "--username",
            "ci",
        ],
        "",
        &[("FLEET_REGISTRY_PASSWORD", "pw")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("# {image}: 3 tags (1 excluded)\n")),
        "{out}"
    );
    assert!(
        out.ends_with(&format!("# latest: {image}:1.4.2@{digest}\n")),
        "{out}"
    );
    let (code, out, _) = fleet(
        &["image", "scan", &image, "-o", "json", "--username", "ci"],
        "",
        &[("FLEET_REGISTRY_PASSWORD", "pw")],
    );
    let json: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!((code, json["tagCount"].as_u64()), (0, Some(3)), "{out}");
    let (code, _, err) = fleet(&["image", "scan", &image, "--retries", "0"], "", &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("access denied (401)") && err.contains("wants credentials"),
        "{err}"
    );
}
