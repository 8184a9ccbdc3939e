//! Commit messages rendered from a real setters run, with Flux's
//! documented templates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use fleet_imagepolicy::commit_message::{Data, MessageError, Template};
use fleet_imagepolicy::setters::{self, Options, Policies};
use fleet_model::flux::image::ImageRef;
use indexmap::IndexMap;

const FLUX_TEMPLATE: &str = r#"Automated image update

Automation name: {{ .AutomationObject }}

Files:
{{ range $filename, $_ := .Changed.FileChanges -}}
- {{ $filename }}
{{ end -}}

Objects:
{{ range $resource, $changes := .Changed.Objects -}}
- {{ $resource.Kind }} {{ $resource.Name }}
  Changes:
{{- range $_, $change := $changes }}
    - {{ $change.OldValue }} -> {{ $change.NewValue }}
{{ end -}}
{{ end -}}
"#;

fn run() -> (tempfile::TempDir, setters::TreeUpdate) {
    let dir = tempfile::tempdir().unwrap();
    let apps = dir.path().join("clusters/prod");
    std::fs::create_dir_all(&apps).unwrap();
    std::fs::write(
        apps.join("web.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web:1.0.0 # {\"$imagepolicy\": \"flux-system:web\"}\n",
    )
    .unwrap();
    std::fs::write(
        apps.join("api.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: apps\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ghcr.io/acme/api:2.0.0 # {\"$imagepolicy\": \"flux-system:api\"}\n",
    )
    .unwrap();
    let mut policies = Policies::default();
    policies.insert(
        "flux-system",
        "web",
        ImageRef::parse("ghcr.io/acme/web:1.1.0").unwrap(),
    );
    policies.insert(
        "flux-system",
        "api",
        ImageRef::parse("ghcr.io/acme/api:2.1.0").unwrap(),
    );
    let update = setters::update_tree(
        dir.path(),
        Some("clusters"),
        &policies,
        Options::default(),
        false,
    )
    .unwrap();
    (dir, update)
}

#[test]
fn flux_documented_template_renders_files_and_objects_in_go_order() {
    let (_dir, update) = run();
    let values = IndexMap::new();
    let data = Data {
        namespace: "flux-system",
        name: "apps",
        update: &update,
        update_path: Some("./clusters"),
        values: &values,
    };
    let message = Template::parse(Some(FLUX_TEMPLATE))
        .unwrap()
        .render(&data)
        .unwrap();
    assert_eq!(
        message,
        "Automated image update\n\nAutomation name: flux-system/apps\n\nFiles:\n- prod/api.yaml\n- prod/web.yaml\nObjects:\n- Deployment api\n  Changes:\n    - ghcr.io/acme/api:2.0.0 -> ghcr.io/acme/api:2.1.0\n- Deployment web\n  Changes:\n    - ghcr.io/acme/web:1.0.0 -> ghcr.io/acme/web:1.1.0\n"
    );
}

#[test]
fn changes_values_default_and_removed_fields() {
    let (_dir, update) = run();
    let values: IndexMap<String, String> = [("cluster".to_string(), "prod-1".to_string())].into();
    let data = Data {
        namespace: "flux-system",
        name: "apps",
        update: &update,
        update_path: None,
        values: &values,
    };
    let t = Template::parse(Some(
        "[ci skip] {{ .AutomationObject.Name }} on {{ index .Values \"cluster\" | upper }}\n{{ range .Changed.Changes -}}\n- {{ .NewValue }} ({{ .Setter }})\n{{ end -}}",
    ))
    .unwrap();
    assert_eq!(
        t.render(&data).unwrap(),
        "[ci skip] apps on PROD-1\n- ghcr.io/acme/api:2.1.0 (flux-system:api)\n- ghcr.io/acme/web:1.1.0 (flux-system:web)\n"
    );
    assert_eq!(
        Template::parse(None).unwrap().render(&data).unwrap(),
        "Update from image update automation"
    );
    let e = Template::parse(Some("{{ range .Updated.Images }}{{ end }}"))
        .unwrap()
        .render(&data)
        .unwrap_err();
    assert!(
        matches!(
            e,
            MessageError::RemovedField {
                field: ".Updated",
                ..
            }
        ),
        "{e}"
    );
    let e = Template::parse(Some("{{ .Changed.ImageResult }}"))
        .unwrap()
        .render(&data)
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("template uses removed '.Changed.ImageResult' field"),
        "{e}"
    );
    let e = Template::parse(Some("{{ .Changed.Nope }}"))
        .unwrap()
        .render(&data)
        .unwrap_err();
    assert!(matches!(e, MessageError::Execute(_)), "{e}");
    let e = Template::parse(Some("{{ if }}")).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "unable to create commit message template from spec: template: commit message:1:"
        ),
        "{e}"
    );
}
