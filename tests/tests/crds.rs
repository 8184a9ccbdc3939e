//! The committed CRDs are what the types generate, and they carry upstream
//! Flux's names, scopes, short names, categories and printer columns.

use fleet_integration_tests::workspace_root;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

#[test]
fn committed_crds_are_up_to_date() {
    let files = fleet_model::crd::flux_crd_files().unwrap_or_else(|e| panic!("{e}"));
    let stale = xtask::stale_crd_files(&workspace_root().join("config/crd"), &files)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        stale.is_empty(),
        "config/crd is out of date ({}); run `cargo xtask crds` and commit the result",
        stale.join(", ")
    );
}

struct Upstream {
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    /// (name, type, jsonPath, priority)
    columns: &'static [(&'static str, &'static str, &'static str, i32)],
    substitute_disabled: bool,
}

const READY: &str = ".status.conditions[?(@.type==\"Ready\")].status";
const STATUS: &str = ".status.conditions[?(@.type==\"Ready\")].message";
const AGE: &str = ".metadata.creationTimestamp";

/// Transcribed from the kubebuilder markers of Flux's API types
/// (source-controller, kustomize-controller, image-reflector-controller,
/// image-automation-controller, `api/v1`).
const UPSTREAM: &[Upstream] = &[
    Upstream {
        group: "source.toolkit.fluxcd.io",
        kind: "GitRepository",
        plural: "gitrepositories",
        short_names: &["gitrepo"],
        categories: &["all", "fluxcd", "fluxcd-sources"],
        columns: &[
            ("URL", "string", ".spec.url", 0),
            ("Age", "date", AGE, 0),
            ("Ready", "string", READY, 0),
            ("Status", "string", STATUS, 0),
        ],
        substitute_disabled: true,
    },
    Upstream {
        group: "kustomize.toolkit.fluxcd.io",
        kind: "Kustomization",
        plural: "kustomizations",
        short_names: &["ks"],
        categories: &[],
        columns: &[
            ("Age", "date", AGE, 0),
            ("Ready", "string", READY, 0),
            ("Status", "string", STATUS, 0),
        ],
        substitute_disabled: false,
    },
    Upstream {
        group: "image.toolkit.fluxcd.io",
        kind: "ImageRepository",
        plural: "imagerepositories",
        short_names: &["imgrepo", "imagerepo"],
        categories: &["all", "fluxcd", "fluxcd-images"],
        columns: &[
            ("Image", "string", ".spec.image", 0),
            ("Tags", "string", ".status.lastScanResult.tagCount", 0),
            ("Ready", "string", READY, 0),
            ("Status", "string", STATUS, 0),
            ("Last scan", "string", ".status.lastScanResult.scanTime", 1),
            ("Age", "date", AGE, 0),
        ],
        substitute_disabled: false,
    },
    Upstream {
        group: "image.toolkit.fluxcd.io",
        kind: "ImagePolicy",
        plural: "imagepolicies",
        short_names: &["imgpol", "imagepol"],
        categories: &[],
        columns: &[
            ("Image", "string", ".status.latestRef.name", 0),
            ("Tag", "string", ".status.latestRef.tag", 0),
            ("Ready", "string", READY, 0),
            ("Status", "string", STATUS, 0),
            ("Age", "date", AGE, 0),
        ],
        substitute_disabled: false,
    },
    Upstream {
        group: "image.toolkit.fluxcd.io",
        kind: "ImageUpdateAutomation",
        plural: "imageupdateautomations",
        short_names: &["iua", "imgupd", "imgauto"],
        categories: &["all", "fluxcd", "fluxcd-images"],
        columns: &[
            ("Ready", "string", READY, 0),
            ("Status", "string", STATUS, 0),
            ("Last run", "string", ".status.lastAutomationRunTime", 1),
            ("Age", "date", AGE, 0),
        ],
        substitute_disabled: true,
    },
];

fn find(crds: &[CustomResourceDefinition], kind: &str) -> CustomResourceDefinition {
    crds.iter()
        .find(|c| c.spec.names.kind == kind)
        .cloned()
        .unwrap_or_else(|| panic!("no CRD for {kind}"))
}

#[test]
fn crds_match_upstream_flux_names_scope_and_columns() {
    let crds = fleet_model::crd::flux_crds();
    assert_eq!(crds.len(), UPSTREAM.len());
    for up in UPSTREAM {
        let crd = find(&crds, up.kind);
        assert_eq!(crd.spec.group, up.group, "{}", up.kind);
        assert_eq!(crd.spec.names.plural, up.plural, "{}", up.kind);
        assert_eq!(crd.spec.scope, "Namespaced", "{}", up.kind);
        assert_eq!(
            crd.spec.names.short_names.clone().unwrap_or_default(),
            up.short_names,
            "{}",
            up.kind
        );
        assert_eq!(
            crd.spec.names.categories.clone().unwrap_or_default(),
            up.categories,
            "{}",
            up.kind
        );
        assert_eq!(crd.spec.versions.len(), 1);
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1");
        assert!(version.served && version.storage);
        assert!(
            version
                .subresources
                .as_ref()
                .is_some_and(|s| s.status.is_some()),
            "{} has a status subresource",
            up.kind
        );
        let columns: Vec<(String, String, String, i32)> = version
            .additional_printer_columns
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.name, c.type_, c.json_path, c.priority.unwrap_or(0)))
            .collect();
        let expected: Vec<(String, String, String, i32)> = up
            .columns
            .iter()
            .map(|(n, t, p, pr)| (n.to_string(), t.to_string(), p.to_string(), *pr))
            .collect();
        assert_eq!(columns, expected, "{} printer columns", up.kind);
        let disabled = crd
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("kustomize.toolkit.fluxcd.io/substitute"))
            .is_some_and(|v| v == "disabled");
        assert_eq!(
            disabled, up.substitute_disabled,
            "{} substitute annotation",
            up.kind
        );
    }
}

#[test]
fn crd_schemas_carry_required_fields_enums_and_defaults() {
    let crds = fleet_model::crd::flux_crds();
    let schema = |kind: &str| {
        let crd = find(&crds, kind);
        let s = crd.spec.versions[0]
            .schema
            .clone()
            .and_then(|s| s.open_api_v3_schema);
        serde_json::to_value(s).unwrap_or_default()
    };
    let ks = schema("Kustomization");
    let spec = &ks["properties"]["spec"];
    let required: Vec<&str> = spec["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect();
    for field in ["interval", "prune", "sourceRef"] {
        assert!(
            required.contains(&field),
            "Kustomization spec.{field} is required"
        );
    }
    assert_eq!(
        spec["properties"]["deletionPolicy"]["enum"],
        serde_json::json!(["MirrorPrune", "Delete", "WaitForTermination", "Orphan"])
    );
    let repo = schema("GitRepository");
    assert_eq!(
        repo["properties"]["spec"]["properties"]["timeout"]["default"],
        "60s"
    );
    assert_eq!(
        repo["properties"]["spec"]["properties"]["url"]["pattern"],
        "^(http|https|ssh)://.*$"
    );
    let ir = schema("ImageRepository");
    assert_eq!(
        ir["properties"]["spec"]["properties"]["exclusionList"]["default"],
        serde_json::json!(["^.*\\.sig$"])
    );
    let iua = schema("ImageUpdateAutomation");
    assert_eq!(
        iua["properties"]["spec"]["properties"]["update"]["default"],
        serde_json::json!({"strategy": "Setters"})
    );
}
