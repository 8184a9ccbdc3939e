//! `transformers:` and `generators:` entries that configure kustomize's
//! built-in plugins: inline YAML, files, or kustomization directories whose
//! output is plugin configuration. Exec, container and Go plugins are
//! refused: they would run arbitrary programs during a build.

use super::{generators, images, labels, namespace, patch, prefix_suffix, replacements, replicas};
use crate::build::{Accumulator, Target, load_resources};
use crate::error::{Error, Result};
use crate::fieldspec::FieldSpec;
use crate::kustfile::{GeneratorArgs, ImageArgs, Json6902Patch, PatchArgs, Replica, Selector};
use crate::resource::Resource;
use fleet_model::Value;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Plugin configuration objects named by a list of entries.
fn load_configs(t: &Target<'_>, entries: &[String], what: &str) -> Result<Vec<Resource>> {
    let mut out = Vec::new();
    for e in entries {
        let path = crate::fs::join(&t.dir, e);
        if t.fs.is_file(&path) {
            let text = t.read(e)?;
            out.extend(load_resources(&text, &path)?);
        } else if t.fs.is_dir(&path) {
            let set = crate::build::build_dir_resources(t, e)?;
            out.extend(set);
        } else if e.contains('\n') || e.contains("kind:") {
            out.extend(load_resources(e, &format!("{} (inline {what})", t.file))?);
        } else {
            return Err(Error::Read {
                path,
                message: format!(
                    "{what} entry in {} is neither a file, a directory nor inline YAML",
                    t.file
                ),
            });
        }
    }
    Ok(out)
}

fn config<T: DeserializeOwned>(r: &Resource) -> Result<T> {
    let json = r
        .value
        .to_json_value()
        .map_err(|e| Error::msg(e.to_string()))?;
    serde_json::from_value(json).map_err(|e| {
        Error::msg(format!(
            "{}: invalid {} configuration: {e}",
            r.file,
            r.kind()
        ))
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Meta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PrefixSuffix {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    suffix: String,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MapTransformer {
    #[serde(default)]
    labels: indexmap::IndexMap<String, String>,
    #[serde(default)]
    annotations: indexmap::IndexMap<String, String>,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NamespaceConfig {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SmpConfig {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    patches: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Json6902Config {
    target: Option<Selector>,
    path: Option<String>,
    json_op: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ImageConfig {
    image_tag: ImageArgs,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ReplicaConfig {
    replica: Replica,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ReplacementConfig {
    #[serde(default)]
    replacements: Vec<serde_json::Value>,
}

/// A generator plugin's config: `metadata` plus the generator fields
/// (fields kustomize's plugin does not know are ignored, as it ignores them).
fn generator_config(r: &Resource) -> Result<(Meta, GeneratorArgs)> {
    const KNOWN: &[&str] = &[
        "namespace",
        "name",
        "behavior",
        "literals",
        "files",
        "envs",
        "env",
        "options",
        "type",
    ];
    let json = r
        .value
        .to_json_value()
        .map_err(|e| Error::msg(e.to_string()))?;
    let meta: Meta = json
        .get("metadata")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| Error::msg(format!("{}: invalid metadata: {e}", r.file)))?
        .unwrap_or_default();
    let mut args = serde_json::Map::new();
    if let serde_json::Value::Object(m) = json {
        for (k, v) in m {
            if KNOWN.contains(&k.as_str()) {
                args.insert(k, v);
            }
        }
    }
    let args: GeneratorArgs =
        serde_json::from_value(serde_json::Value::Object(args)).map_err(|e| {
            Error::msg(format!(
                "{}: invalid {} configuration: {e}",
                r.file,
                r.kind()
            ))
        })?;
    Ok((meta, args))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct IamConfig {
    #[serde(default)]
    cloud: String,
    #[serde(default)]
    kubernetes_service: Meta,
    #[serde(default)]
    service_account: IamAccount,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct IamAccount {
    #[serde(default)]
    name: String,
    #[serde(default)]
    project_id: String,
}

fn is_builtin(r: &Resource) -> bool {
    let api = r
        .value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    api == "builtin" || api.is_empty() || api.starts_with("kustomize.config.k8s.io/")
}

fn refuse(r: &Resource) -> Error {
    Error::msg(format!(
        "{}: plugin {}/{} is not a kustomize built-in; fleet does not run exec, container or Go plugins",
        r.file,
        r.value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or(""),
        r.kind()
    ))
}

/// Runs the `generators:` entries.
pub(crate) fn run_generators(t: &Target<'_>, ra: &mut Accumulator) -> Result<()> {
    for cfg in load_configs(t, &t.kust.generators, "generators")? {
        if !is_builtin(&cfg) {
            return Err(refuse(&cfg));
        }
        match cfg.kind() {
            kind @ ("ConfigMapGenerator" | "SecretGenerator") => {
                let (meta, mut args) = generator_config(&cfg)?;
                if args.name.as_deref().is_none_or(str::is_empty) {
                    args.name = Some(meta.name.clone());
                }
                if args.namespace.as_deref().is_none_or(str::is_empty) && !meta.namespace.is_empty()
                {
                    args.namespace = Some(meta.namespace.clone());
                }
                let kind = kind.trim_end_matches("Generator");
                let mut r = generators::generate_plugin(t, &args, kind)?;
                r.origin = t.wants_origin().then(|| configured(t, &cfg));
                generators::absorb(&mut ra.resmap, r)?;
            }
            "IAMPolicyGenerator" => {
                let c: IamConfig = config(&cfg)?;
                if c.cloud != "gke" {
                    return Err(Error::msg(format!(
                        "{}: IAMPolicyGenerator supports cloud: gke only",
                        cfg.file
                    )));
                }
                let mut text = format!(
                    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  annotations:\n    iam.gke.io/gcp-service-account: {}@{}.iam.gserviceaccount.com\n  name: {}\n",
                    c.service_account.name, c.service_account.project_id, c.kubernetes_service.name
                );
                if !c.kubernetes_service.namespace.is_empty() {
                    text.push_str(&format!(
                        "  namespace: {}\n",
                        c.kubernetes_service.namespace
                    ));
                }
                for mut r in load_resources(&text, &cfg.file)? {
                    r.origin = t.wants_origin().then(|| configured(t, &cfg));
                    generators::absorb(&mut ra.resmap, r)?;
                }
            }
            _ => return Err(refuse(&cfg)),
        }
    }
    Ok(())
}

/// Runs the `transformers:` entries, in order.
pub(crate) fn run_transformers(t: &Target<'_>, ra: &mut Accumulator) -> Result<()> {
    if !t.kust.validators.is_empty() {
        return Err(Error::Kustomization {
            file: t.file.clone(),
            message: "validators run plugins, which fleet does not execute".into(),
        });
    }
    for cfg in load_configs(t, &t.kust.transformers, "transformers")? {
        if !is_builtin(&cfg) {
            return Err(refuse(&cfg));
        }
        run_one_transformer(t, ra, &cfg)?;
        if t.wants_transformations() {
            let item = format!("- {}", configured(t, &cfg).replace('\n', "\n  ").trim_end());
            for r in ra.resmap.resources_mut() {
                r.transformations.push(format!("{item}\n"));
            }
        }
    }
    Ok(())
}

/// `configuredIn`/`configuredBy` of a plugin configuration, as YAML lines.
pub(crate) fn configured(t: &Target<'_>, cfg: &Resource) -> String {
    let inline = cfg.file.contains(" (inline ");
    let configured_in = if inline {
        t.rel_file()
    } else {
        crate::fs::relative(&t.top, &cfg.file)
    };
    let api = cfg
        .value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("builtin");
    let mut s = format!(
        "configuredIn: {configured_in}\nconfiguredBy:\n  apiVersion: {api}\n  kind: {}\n",
        cfg.kind()
    );
    if !cfg.name().is_empty() {
        s.push_str(&format!("  name: {}\n", cfg.name()));
    }
    if !cfg.namespace().is_empty() {
        s.push_str(&format!("  namespace: {}\n", cfg.namespace()));
    }
    s
}

fn run_one_transformer(t: &Target<'_>, ra: &mut Accumulator, cfg: &Resource) -> Result<()> {
    let cfg = cfg.clone();
    {
        match cfg.kind() {
            "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
                let c: PrefixSuffix = config(&cfg)?;
                prefix_suffix::apply(&mut ra.resmap, &c.prefix, &c.suffix, &c.field_specs)?;
            }
            "LabelTransformer" => {
                let c: MapTransformer = config(&cfg)?;
                let pairs: Vec<(String, String)> = c.labels.into_iter().collect();
                labels::set_entries(&mut ra.resmap, &pairs, &c.field_specs)?;
            }
            "AnnotationsTransformer" => {
                let c: MapTransformer = config(&cfg)?;
                let pairs: Vec<(String, String)> = c.annotations.into_iter().collect();
                labels::set_entries(&mut ra.resmap, &pairs, &c.field_specs)?;
            }
            "NamespaceTransformer" => {
                let c: NamespaceConfig = config(&cfg)?;
                namespace::apply(&mut ra.resmap, &c.metadata.namespace, &c.field_specs)?;
            }
            "PatchTransformer" => {
                let c: PatchArgs = config_lenient(&cfg)?;
                patch::apply_patch(t, ra, &c)?;
            }
            "PatchStrategicMergeTransformer" => {
                let c: SmpConfig = config(&cfg)?;
                for p in &c.paths {
                    patch::apply_strategic_merge_entry(t, ra, p)?;
                }
                if let Some(inline) = &c.patches {
                    patch::apply_strategic_merge_entry(t, ra, inline)?;
                }
            }
            "PatchJson6902Transformer" => {
                let c: Json6902Config = config(&cfg)?;
                let p = Json6902Patch {
                    target: c.target,
                    path: c.path,
                    patch: c.json_op,
                };
                patch::apply_json6902_entry(t, ra, &p)?;
            }
            "ImageTagTransformer" => {
                let c: ImageConfig = config(&cfg)?;
                images::apply(&mut ra.resmap, &c.image_tag, &c.field_specs)?;
            }
            "ReplicaCountTransformer" => {
                let c: ReplicaConfig = config(&cfg)?;
                replicas::apply(&mut ra.resmap, &c.replica, &c.field_specs)?;
            }
            "ReplacementTransformer" => {
                let c: ReplacementConfig = config(&cfg)?;
                replacements::run_list(t, ra, &c.replacements)?;
            }
            _ => return Err(refuse(&cfg)),
        }
    }
    Ok(())
}

/// Reads a config ignoring its `apiVersion`, `kind` and `metadata`.
fn config_lenient<T: DeserializeOwned>(r: &Resource) -> Result<T> {
    let mut json = r
        .value
        .to_json_value()
        .map_err(|e| Error::msg(e.to_string()))?;
    if let serde_json::Value::Object(m) = &mut json {
        m.remove("apiVersion");
        m.remove("kind");
        m.remove("metadata");
    }
    serde_json::from_value(json).map_err(|e| {
        Error::msg(format!(
            "{}: invalid {} configuration: {e}",
            r.file,
            r.kind()
        ))
    })
}
