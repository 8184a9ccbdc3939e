//! The kustomization file Flux builds a directory with: the directory's own
//! (or one generated over its manifests, as kustomize-controller does for a
//! plain directory of YAML), with the Kustomization's overrides
//! (`targetNamespace`, `namePrefix`, `nameSuffix`, `patches`, `components`,
//! `images`) written in, as fluxcd/pkg's `kustomize.Generator` does.

use super::FluxBuildError;
use crate::Error;
use crate::fs::{self, FileSystem};
use crate::kustfile::FILE_NAMES;
use fleet_model::Value;
use fleet_model::flux::kustomization::Kustomization;
use fleet_model::value::Mapping;
use fleet_model::yaml::{parse_documents, parse_one, to_string};

/// The kustomization file Flux builds `dir` with: the existing one (or a
/// generated one) with the Kustomization's overrides written in. Returns
/// its path and text.
pub fn flux_kustomization_file(
    fs: &dyn FileSystem,
    dir: &str,
    ks: &Kustomization,
) -> Result<(String, String), FluxBuildError> {
    let existing = FILE_NAMES
        .iter()
        .map(|n| fs::join(dir, n))
        .find(|p| fs.is_file(p));
    let (path, mut kus) = match existing {
        Some(path) => {
            let text = crate::build::read_text(fs, &path)?;
            let value = parse_one(&text).map_err(|e| Error::Yaml {
                file: path.clone(),
                error: e,
            })?;
            let map = match value {
                Value::Mapping(m) => m,
                Value::Null => Mapping::new(),
                other => {
                    return Err(FluxBuildError::Build(Error::Kustomization {
                        file: path,
                        message: format!("expected a mapping, found {}", other.type_name()),
                    }));
                }
            };
            (path, map)
        }
        None => (fs::join(dir, FILE_NAMES[0]), generate(fs, dir)?),
    };
    let spec = &ks.spec;
    let mut put = |key: &str, value: Value| {
        kus.insert(key.to_string(), value);
    };
    if let Some(ns) = &spec.target_namespace {
        put("namespace", Value::String(ns.clone()));
    }
    if let Some(p) = spec.name_prefix.as_deref().filter(|p| !p.is_empty()) {
        put("namePrefix", Value::String(p.to_string()));
    }
    if let Some(s) = spec.name_suffix.as_deref().filter(|s| !s.is_empty()) {
        put("nameSuffix", Value::String(s.to_string()));
    }
    append(&mut kus, "patches", spec.patches.iter().map(patch_value));
    let mut components = Vec::new();
    for c in &spec.components {
        if !is_local_relative_path(c) {
            return Err(FluxBuildError::RemoteComponent(c.clone()));
        }
        if spec.ignore_missing_components
            && !fs.is_dir(&fs::join(dir, c))
            && !fs.is_file(&fs::join(dir, c))
        {
            continue;
        }
        components.push(Value::String(c.clone()));
    }
    append(&mut kus, "components", components.into_iter());
    for image in &spec.images {
        let mut m = Mapping::new();
        m.insert("name".into(), Value::String(image.name.clone()));
        for (key, v) in [
            ("newName", &image.new_name),
            ("newTag", &image.new_tag),
            ("digest", &image.digest),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                m.insert(key.into(), Value::String(v.to_string()));
            }
        }
        let images = kus
            .entry("images".to_string())
            .or_insert_with(|| Value::Sequence(Vec::new()));
        if let Value::Sequence(list) = images {
            // An entry for the same image is replaced whole, as Flux does.
            match list
                .iter_mut()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(&image.name))
            {
                Some(entry) => *entry = Value::Mapping(m),
                None => list.push(Value::Mapping(m)),
            }
        }
    }
    Ok((path, to_string(&Value::Mapping(kus))))
}

fn patch_value(p: &fleet_model::flux::meta::Patch) -> Value {
    let mut m = Mapping::new();
    m.insert("patch".into(), Value::String(p.patch.clone()));
    if let Some(t) = &p.target {
        let mut sel = Mapping::new();
        for (key, v) in [
            ("group", &t.group),
            ("version", &t.version),
            ("kind", &t.kind),
            ("name", &t.name),
            ("namespace", &t.namespace),
            ("labelSelector", &t.label_selector),
            ("annotationSelector", &t.annotation_selector),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                sel.insert(key.into(), Value::String(v.to_string()));
            }
        }
        m.insert("target".into(), Value::Mapping(sel));
    }
    Value::Mapping(m)
}

fn append(kus: &mut Mapping, key: &str, items: impl Iterator<Item = Value>) {
    let items: Vec<Value> = items.collect();
    if items.is_empty() {
        return;
    }
    match kus.get_mut(key) {
        Some(Value::Sequence(list)) => list.extend(items),
        _ => {
            kus.insert(key.to_string(), Value::Sequence(items));
        }
    }
}

/// The kustomization kustomize-controller generates for a directory without
/// one: every manifest below it, and each subdirectory that has its own
/// kustomization file (not descended into), in `filepath.Walk` order.
fn generate(fs: &dyn FileSystem, dir: &str) -> Result<Mapping, FluxBuildError> {
    let mut resources = Vec::new();
    scan(fs, dir, dir, &mut resources)?;
    let mut kus = Mapping::new();
    kus.insert(
        "apiVersion".into(),
        Value::String("kustomize.config.k8s.io/v1beta1".into()),
    );
    kus.insert("kind".into(), Value::String("Kustomization".into()));
    kus.insert(
        "resources".into(),
        Value::Sequence(resources.into_iter().map(Value::String).collect()),
    );
    Ok(kus)
}

fn scan(
    fs: &dyn FileSystem,
    base: &str,
    dir: &str,
    out: &mut Vec<String>,
) -> Result<(), FluxBuildError> {
    let names = fs.list_dir(dir).map_err(|e| Error::Read {
        path: dir.to_string(),
        message: e.to_string(),
    })?;
    for name in names {
        let path = fs::join(dir, &name);
        let rel = format!("./{}", &path[base.len()..].trim_start_matches('/'));
        if is_excluded_from_artifacts(&name, fs.is_dir(&path)) {
            continue;
        }
        if fs.is_dir(&path) {
            if FILE_NAMES.iter().any(|k| fs.is_file(&fs::join(&path, k))) {
                out.push(rel);
            } else {
                scan(fs, base, &path, out)?;
            }
            continue;
        }
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        let text = crate::build::read_text(fs, &path)?;
        let docs = parse_documents(&text).map_err(|e| FluxBuildError::BadManifest {
            file: path.clone(),
            message: format!("line {}: {}", e.line, e.message),
        })?;
        if let Some(doc) = docs
            .iter()
            .find(|d| !matches!(d.value, Value::Mapping(_) | Value::Null))
        {
            return Err(FluxBuildError::BadManifest {
                file: path.clone(),
                message: format!(
                    "line {}: expected an object, found {}",
                    doc.line,
                    doc.value.type_name()
                ),
            });
        }
        out.push(rel);
    }
    Ok(())
}

/// Whether source-controller leaves this entry out of every artifact (its
/// default ignore patterns: VCS and CI files, `.sops.yaml`, `.flux.yaml`,
/// …), so that the generated kustomization never lists it. The patterns
/// have no inner slash, so in gitignore terms they match a name at any
/// depth.
pub fn is_excluded_from_artifacts(name: &str, is_dir: bool) -> bool {
    const DIRS: &[&str] = &[".git", ".github", ".circleci"];
    const FILES: &[&str] = &[
        ".gitignore",
        ".gitmodules",
        ".gitattributes",
        ".travis.yml",
        ".gitlab-ci.yml",
        "appveyor.yml",
        ".drone.yml",
        "cloudbuild.yaml",
        "codeship-services.yml",
        "codeship-steps.yml",
        ".goreleaser.yml",
        ".goreleaser.brew.yml",
        ".sops.yaml",
        ".flux.yaml",
        ".golangci.yaml",
    ];
    if is_dir {
        DIRS.contains(&name)
    } else {
        FILES.contains(&name)
    }
}

/// Whether a component path is local and relative, as fluxcd/pkg checks it.
pub fn is_local_relative_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    !crate::build::is_remote_spec(path)
        && !path.starts_with('/')
        && !lower.trim_start_matches("file://").starts_with('/')
}
