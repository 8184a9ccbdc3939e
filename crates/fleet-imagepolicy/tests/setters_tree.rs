//! Tree updates beyond the corpus: all-or-nothing writes, multi-document
//! attribution, update paths that leave the tree.

use fleet_imagepolicy::setters::{Options, Policies, TreeError, UnknownPolicy, update_tree};
use fleet_model::flux::image::ImageRef;
use std::fs;
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fleet-setters-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("apps")).unwrap_or_else(|e| panic!("{e}"));
    dir
}

fn policies() -> Policies {
    let mut p = Policies::default();
    p.insert(
        "flux-system",
        "app",
        ImageRef::parse("ghcr.io/org/app:2.0.0").unwrap_or_default(),
    );
    p
}

const GOOD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: one\nspec:\n  containers:\n  - image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n---\n# second\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: two\n  namespace: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: \"ghcr.io/org/app:1.0.0\"  # {\"$imagepolicy\": \"flux-system:app\"}\n";

#[test]
fn changes_are_attributed_to_their_documents() {
    let dir = scratch("attribute");
    fs::write(dir.join("apps/pods.yaml"), GOOD).unwrap_or_else(|e| panic!("{e}"));
    fs::write(
        dir.join("apps/notes.txt"),
        "\"$imagepolicy\" image: a # {\"$imagepolicy\": \"flux-system:app\"}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let result = update_tree(&dir, None, &policies(), Options::default(), false)
        .unwrap_or_else(|e| panic!("{e}"));
    let objects: Vec<(String, String, usize)> = result
        .changes()
        .map(|(_, o, c)| (o.kind.clone(), o.name.clone(), c.line))
        .collect();
    assert_eq!(
        objects,
        vec![
            ("Pod".into(), "one".into(), 7),
            ("Deployment".into(), "two".into(), 20)
        ]
    );
    let text = fs::read_to_string(dir.join("apps/pods.yaml")).unwrap_or_default();
    assert_eq!(text, GOOD.replace("app:1.0.0", "app:2.0.0"));
    assert!(
        fs::read_to_string(dir.join("apps/notes.txt"))
            .unwrap_or_default()
            .contains("image: a #")
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_update_writes_nothing() {
    let dir = scratch("atomic");
    fs::write(dir.join("apps/a.yaml"), GOOD).unwrap_or_else(|e| panic!("{e}"));
    let bad = "spec:\n  image: # {\"$imagepolicy\": \"flux-system:app\"}\n    name: x\n";
    fs::write(dir.join("apps/z.yaml"), bad).unwrap_or_else(|e| panic!("{e}"));
    let err = update_tree(&dir, None, &policies(), Options::default(), false).err();
    let message = err.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(matches!(err, Some(TreeError::Marker { .. })), "{message}");
    assert!(
        message.contains("z.yaml") && message.contains("line 2"),
        "{message}"
    );
    assert_eq!(
        fs::read_to_string(dir.join("apps/a.yaml")).unwrap_or_default(),
        GOOD
    );

    // An unknown policy is an error only when asked for.
    fs::write(
        dir.join("apps/z.yaml"),
        "image: a # {\"$imagepolicy\": \"flux-system:typo\"}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let strict = Options {
        unknown_policy: UnknownPolicy::Error,
    };
    let err = update_tree(&dir, None, &policies(), strict, false)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("flux-system:typo") && err.contains("flux-system:app"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(dir.join("apps/a.yaml")).unwrap_or_default(),
        GOOD
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn update_paths_stay_inside_the_tree_and_dry_runs_write_nothing() {
    let dir = scratch("paths");
    fs::write(dir.join("apps/a.yaml"), GOOD).unwrap_or_else(|e| panic!("{e}"));
    for bad in ["../elsewhere", "/etc"] {
        assert!(matches!(
            update_tree(&dir, Some(bad), &policies(), Options::default(), false),
            Err(TreeError::PathOutsideTree(_))
        ));
    }
    let result = update_tree(&dir, Some("./apps"), &policies(), Options::default(), true)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(result.files.len(), 1);
    assert_eq!(
        fs::read_to_string(dir.join("apps/a.yaml")).unwrap_or_default(),
        GOOD
    );
    let _ = fs::remove_dir_all(&dir);
}

/// Issue 18: a `*.yaml` link to /dev/zero was read until memory ran out and
/// a `*.yaml` FIFO blocked forever. Only regular files inside the tree are
/// read; the rest is reported as skipped and the real files still update.
#[test]
fn files_that_are_not_regular_files_inside_the_tree_are_skipped_and_named() {
    use std::os::unix::fs::symlink;
    let dir = scratch("special");
    let outside = scratch("special-outside");
    fs::write(dir.join("apps/pods.yaml"), GOOD).unwrap_or_else(|e| panic!("{e}"));
    fs::write(outside.join("secret.yaml"), GOOD).unwrap_or_else(|e| panic!("{e}"));
    symlink("/dev/zero", dir.join("apps/zero.yaml")).unwrap_or_else(|e| panic!("{e}"));
    symlink(outside.join("secret.yaml"), dir.join("apps/escape.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    symlink(
        dir.join("apps/nowhere.yaml"),
        dir.join("apps/dangling.yaml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let fifo = dir.join("apps/pipe.yaml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");

    let (tx, rx) = std::sync::mpsc::channel();
    let root = dir.clone();
    std::thread::spawn(move || {
        let _ = tx.send(
            update_tree(&root, None, &policies(), Options::default(), false)
                .map_err(|e| e.to_string()),
        );
    });
    let result = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("update_tree hung"))
        .unwrap_or_else(|e| panic!("{e}"));
    let skipped: Vec<(String, String)> = result
        .skipped
        .iter()
        .map(|(p, r)| (p.display().to_string(), r.clone()))
        .collect();
    let names: Vec<&str> = skipped.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        ["apps/escape.yaml", "apps/pipe.yaml", "apps/zero.yaml"],
        "{skipped:?}"
    );
    assert!(skipped[0].1.contains("outside the tree"), "{skipped:?}");
    assert_eq!(skipped[1].1, "not a regular file");
    assert!(
        skipped[2].1.contains("outside the tree"),
        "/dev/zero is outside too: {skipped:?}"
    );
    assert_eq!(result.files.len(), 1, "the regular file still updates");
    assert_eq!(
        fs::read_to_string(outside.join("secret.yaml")).unwrap_or_default(),
        GOOD,
        "untouched"
    );
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::remove_dir_all(&outside);
}
