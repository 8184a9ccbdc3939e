//! Typed Flux and Cluster API objects read from documentation-style fixtures:
//! each round-trips without loss, re-serialises to a reviewed snapshot, and
//! bad manifests are refused with the field path named.

use fleet_model::capi::{convert, v1beta1, v1beta2};
use fleet_model::{Manifest, TypedObject, Value, yaml};
use std::path::{Path, PathBuf};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(rel: &str) -> (String, Vec<Manifest>) {
    let path = fixture_dir().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let manifests = Manifest::read_all(&text, rel).unwrap_or_else(|e| panic!("parsing {rel}: {e}"));
    (text, manifests)
}

/// `null` fields read as absent (as Kubernetes decodes them), so compare without them.
fn without_nulls(v: &Value) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|_, v| !v.is_null());
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut json = v.to_json_value().unwrap_or_else(|e| panic!("{e}"));
    strip(&mut json);
    json
}

fn typed_round_trip(rel: &str) -> String {
    let (_, manifests) = read(rel);
    let mut rewritten = Vec::new();
    for m in &manifests {
        let Some(typed) = TypedObject::from_manifest(m).unwrap_or_else(|e| panic!("{e}")) else {
            continue;
        };
        let back = typed.to_manifest().unwrap_or_else(|e| panic!("{e}"));
        let mut original = without_nulls(m.value());
        // v1beta2 image manifests come back as v1; compare with the upgraded form.
        if m.id().group == "image.toolkit.fluxcd.io" {
            original = without_nulls(&fleet_model::flux::image::upgrade_v1beta2(m.value()));
        }
        assert_eq!(
            without_nulls(back.value()),
            original,
            "{} in {rel} lost or changed fields on the way through its type",
            m.id()
        );
        rewritten.push(back.into_value());
    }
    assert!(!rewritten.is_empty(), "{rel} holds no typed object");
    yaml::to_string_documents(&rewritten)
}

#[test]
fn flux_gitrepository_round_trips() {
    insta::assert_snapshot!(typed_round_trip("flux/gitrepository.yaml"));
}

#[test]
fn flux_kustomization_round_trips() {
    insta::assert_snapshot!(typed_round_trip("flux/kustomization.yaml"));
}

#[test]
fn flux_image_objects_round_trip() {
    insta::assert_snapshot!(typed_round_trip("flux/image.yaml"));
}

#[test]
fn flux_image_v1beta2_objects_read_as_v1() {
    insta::assert_snapshot!(typed_round_trip("flux/image-v1beta2.yaml"));
}

#[test]
fn capi_v1beta1_quickstart_round_trips_keeping_unknown_fields() {
    let text = typed_round_trip("capi/v1beta1-quickstart.yaml");
    // Fields fleet does not type survive: strategy, nodeDrainTimeout, rolloutStrategy, v1beta2 status.
    for kept in [
        "rolloutStrategy:",
        "nodeDrainTimeout: 5m",
        "deletePolicy: Oldest",
        "v1beta2:",
        "uid: 7a1c4f6e",
    ] {
        assert!(text.contains(kept), "{kept} was dropped");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn capi_v1beta2_objects_round_trip() {
    insta::assert_snapshot!(typed_round_trip("capi/v1beta2-mhc.yaml"));
    typed_round_trip("capi/v1beta2-e2e-cluster-with-kcp.yaml");
    typed_round_trip("capi/v1beta2-e2e-md.yaml");
}

#[test]
fn generic_manifests_round_trip_byte_for_byte() {
    for rel in [
        "flux/gitrepository.yaml",
        "flux/kustomization.yaml",
        "flux/image.yaml",
        "capi/v1beta2-mhc.yaml",
    ] {
        let (text, manifests) = read(rel);
        let out = yaml::to_string_documents(manifests.iter().map(Manifest::value));
        assert_eq!(out, text, "{rel}");
    }
}

#[test]
fn generic_manifests_survive_yaml_and_json_round_trips() {
    for rel in [
        "capi/v1beta1-quickstart.yaml",
        "capi/v1beta2-e2e-cluster-with-kcp.yaml",
        "capi/v1beta2-e2e-md.yaml",
    ] {
        let (_, manifests) = read(rel);
        for m in &manifests {
            let again = yaml::parse_one(&m.to_yaml()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&again, m.value(), "YAML round trip of {}", m.id());
            let json = m.to_json_pretty().unwrap_or_else(|e| panic!("{e}"));
            let from_json = yaml::parse_one(&json).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&from_json, m.value(), "JSON round trip of {}", m.id());
        }
    }
}

#[test]
fn lossless_scalars_survive_yaml_and_json() {
    let text = "a: 1.50\nb: \"123\"\nc: null\nd: |\n  line one\n  line two\ne: 0x1F\nf: -0\ng: 1e3\nh: ''\n";
    let v = yaml::parse_one(text).unwrap_or_default();
    assert_eq!(yaml::to_string(&v), text.replace("h: ''", "h: \"\""));
    let json = fleet_model::json::to_string(&v).unwrap_or_default();
    assert_eq!(
        json,
        r#"{"a":1.50,"b":"123","c":null,"d":"line one\nline two\n","e":31,"f":-0,"g":1e3,"h":""}"#
    );
    let back = yaml::parse_one(&json).unwrap_or_default();
    assert_eq!(back.get("b"), Some(&Value::String("123".into())));
    assert_eq!(back.get("d"), v.get("d"));
    assert_eq!(back.get("a"), v.get("a"));
}

#[test]
fn bad_manifests_name_the_field() {
    let (_, manifests) = read("bad/cases.yaml");
    let errors: Vec<String> = manifests
        .iter()
        .map(|m| match TypedObject::from_manifest(m) {
            Ok(_) => panic!("{} should have been refused", m.id()),
            Err(e) => e.to_string(),
        })
        .collect();
    insta::assert_snapshot!(errors.join("\n"));
}

#[test]
fn mhc_converts_between_v1beta1_and_v1beta2() {
    let (_, old) = read("capi/v1beta1-quickstart.yaml");
    let (_, new) = read("capi/v1beta2-mhc.yaml");
    let old: v1beta1::MachineHealthCheck = old
        .iter()
        .find(|m| m.kind() == "MachineHealthCheck")
        .map(|m| m.to_typed().unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|| panic!("no v1beta1 MachineHealthCheck fixture"));
    let expected: v1beta2::MachineHealthCheck = new[0].to_typed().unwrap_or_else(|e| panic!("{e}"));
    let converted = convert::mhc_to_v1beta2(&old).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(converted.spec, expected.spec);
    let back = convert::mhc_to_v1beta1(&converted);
    assert_eq!(back.spec.max_unhealthy, old.spec.max_unhealthy);
    assert_eq!(
        back.spec.remediation_template,
        old.spec.remediation_template
    );
    // Durations come back in Go's canonical form.
    let timeouts: Vec<_> = back
        .spec
        .unhealthy_conditions
        .iter()
        .map(|c| c.timeout.as_str())
        .collect();
    assert_eq!(timeouts, ["5m0s", "5m0s"]);
    assert_eq!(
        back.spec.node_startup_timeout.as_ref().map(|d| d.as_str()),
        Some("10m0s")
    );
}

#[test]
fn mhc_conversion_refuses_bad_durations_naming_the_field() {
    let mut spec = v1beta1::MachineHealthCheckSpec {
        cluster_name: "prod".into(),
        ..Default::default()
    };
    spec.unhealthy_conditions.push(v1beta1::UnhealthyCondition {
        type_: "Ready".into(),
        status: "False".into(),
        timeout: "five minutes".into(),
    });
    let err = convert::mhc_spec_to_v1beta2(&spec)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "field `spec.unhealthyConditions[0].timeout`: invalid duration \"five minutes\": use Go's form, e.g. 30s, 5m, 1h30m, 500ms"
        )
    );
}

#[test]
fn unknown_kinds_are_not_typed() {
    let (_, manifests) = read("capi/v1beta2-e2e-cluster-with-kcp.yaml");
    let kinds: Vec<_> = manifests
        .iter()
        .filter(|m| matches!(TypedObject::from_manifest(m), Ok(None)))
        .map(|m| m.kind().to_string())
        .collect();
    assert_eq!(kinds, ["DevCluster", "DevMachineTemplate"]);
}
