//! `configMapGenerator:` and `secretGenerator:`.

use crate::build::{Accumulator, Target};
use crate::error::{Error, Result};
use crate::kustfile::{GeneratorArgs, GeneratorOptions};
use crate::resource::{Behavior, ResMap, Resource, scalar_string};
use base64::Engine;
use fleet_model::{Mapping, Value};
use std::collections::BTreeMap;

/// Runs the ConfigMap generators, then the Secret generators.
pub(crate) fn run(t: &Target<'_>, ra: &mut Accumulator) -> Result<()> {
    for args in &t.kust.config_map_generator {
        let r = generate(t, args, "ConfigMap")?;
        absorb(&mut ra.resmap, r)?;
    }
    for args in &t.kust.secret_generator {
        let r = generate(t, args, "Secret")?;
        absorb(&mut ra.resmap, r)?;
    }
    super::external::run_generators(t, ra)
}

/// A generator configured as a plugin: the kustomization's
/// `generatorOptions` do not apply.
pub(crate) fn generate_plugin(
    t: &Target<'_>,
    args: &GeneratorArgs,
    kind: &str,
) -> Result<Resource> {
    generate_with(t, args, kind, None)
}

/// Merges a generator's options over the kustomization's `generatorOptions`.
fn merged_options(
    local: Option<&GeneratorOptions>,
    global: Option<&GeneratorOptions>,
) -> GeneratorOptions {
    let mut out = global.cloned().unwrap_or_default();
    if let Some(l) = local {
        for (k, v) in &l.labels {
            out.labels.insert(k.clone(), v.clone());
        }
        for (k, v) in &l.annotations {
            out.annotations.insert(k.clone(), v.clone());
        }
        if l.disable_name_suffix_hash.is_some() {
            out.disable_name_suffix_hash = l.disable_name_suffix_hash;
        }
        if l.immutable.is_some() {
            out.immutable = l.immutable;
        }
    }
    out
}

fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// The key/value pairs of one generator, in kustomize's order of sources:
/// files, literals, env files.
fn pairs(t: &Target<'_>, args: &GeneratorArgs, what: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut envs: Vec<String> = args.envs.clone();
    if let Some(e) = &args.env {
        envs.push(e.clone());
    }
    for e in &envs {
        let text = t.read(e)?;
        for (n, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
            let line = line.trim_end_matches('\r');
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            match trimmed.split_once('=') {
                Some((k, v)) => {
                    let k = k.trim_end();
                    if k.is_empty() || k.contains(' ') {
                        return Err(Error::msg(format!(
                            "{}:{}: invalid key {k:?} in env file",
                            crate::fs::join(&t.dir, e),
                            n + 1
                        )));
                    }
                    out.push((k.to_string(), v.as_bytes().to_vec()));
                }
                None => {
                    if let Ok(v) = std::env::var(trimmed) {
                        out.push((trimmed.to_string(), v.into_bytes()));
                    }
                }
            }
        }
    }
    for lit in &args.literals {
        let Some((k, v)) = lit.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(Error::Kustomization {
                file: t.file.clone(),
                message: format!(
                    "invalid literal source {lit:?} in {what} {:?}, expected key=value",
                    args.name.as_deref().unwrap_or("")
                ),
            });
        };
        out.push((k.to_string(), remove_quotes(v).as_bytes().to_vec()));
    }
    for f in &args.files {
        let (key, path) = match f.split_once('=') {
            Some((k, p)) if !k.is_empty() => (k.to_string(), p.to_string()),
            Some(_) => {
                return Err(Error::Kustomization {
                    file: t.file.clone(),
                    message: format!("file source {f:?} has an empty key"),
                });
            }
            None => {
                let base = f.rsplit('/').next().unwrap_or(f).to_string();
                (base, f.clone())
            }
        };
        let (_, bytes) = t.read_bytes(&path)?;
        out.push((key, bytes));
    }
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &out {
        if !seen.insert(k.clone()) {
            return Err(Error::Kustomization {
                file: t.file.clone(),
                message: format!(
                    "configmap {} illegally repeats the key `{k}`",
                    args.name.as_deref().unwrap_or("")
                ),
            });
        }
    }
    Ok(out)
}

/// Base64 as kustomize writes generated data: in 70-character lines, each
/// ending in a newline, once the encoding is 70 characters or longer.
fn encode_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let enc = base64::engine::general_purpose::STANDARD.encode(bytes);
    if enc.len() < LINE {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / LINE + 1);
    for chunk in enc.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push('\n');
    }
    out
}

fn string_map(m: &indexmap::IndexMap<String, String>) -> Value {
    let sorted: BTreeMap<&String, &String> = m.iter().collect();
    Value::Mapping(
        sorted
            .into_iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn generate(t: &Target<'_>, args: &GeneratorArgs, kind: &str) -> Result<Resource> {
    generate_with(t, args, kind, t.kust.generator_options.as_ref())
}

fn generate_with(
    t: &Target<'_>,
    args: &GeneratorArgs,
    kind: &str,
    global: Option<&GeneratorOptions>,
) -> Result<Resource> {
    let name = args
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::Kustomization {
            file: t.file.clone(),
            message: format!("a {kind} generator entry needs a name"),
        })?;
    let opts = merged_options(args.options.as_ref(), global);
    let mut data: BTreeMap<String, Value> = BTreeMap::new();
    let mut binary: BTreeMap<String, Value> = BTreeMap::new();
    for (k, v) in pairs(t, args, kind)? {
        if kind == "Secret" {
            data.insert(k, Value::String(encode_base64(&v)));
        } else {
            match String::from_utf8(v) {
                Ok(s) => {
                    data.insert(k, Value::String(s));
                }
                Err(e) => {
                    binary.insert(k, Value::String(encode_base64(e.as_bytes())));
                }
            }
        }
    }
    let mut meta: BTreeMap<&str, Value> = BTreeMap::new();
    if !opts.annotations.is_empty() {
        meta.insert("annotations", string_map(&opts.annotations));
    }
    if !opts.labels.is_empty() {
        meta.insert("labels", string_map(&opts.labels));
    }
    meta.insert("name", Value::String(name));
    if let Some(ns) = args.namespace.as_deref().filter(|n| !n.is_empty()) {
        meta.insert("namespace", Value::String(ns.to_string()));
    }
    let mut root: BTreeMap<&str, Value> = BTreeMap::new();
    root.insert("apiVersion", Value::from("v1"));
    root.insert("kind", Value::from(kind));
    if !binary.is_empty() {
        root.insert("binaryData", Value::Mapping(binary.into_iter().collect()));
    }
    if !data.is_empty() {
        root.insert("data", Value::Mapping(data.into_iter().collect()));
    }
    if opts.immutable == Some(true) {
        root.insert("immutable", Value::Bool(true));
    }
    root.insert(
        "metadata",
        Value::Mapping(meta.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
    );
    if kind == "Secret" {
        root.insert(
            "type",
            Value::String(
                args.type_
                    .clone()
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "Opaque".into()),
            ),
        );
    }
    let value = Value::Mapping(
        root.into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Mapping>(),
    );
    let mut r = Resource::new(value, &t.file);
    r.needs_hash = opts.disable_name_suffix_hash != Some(true);
    r.behavior = Behavior::parse(args.behavior.as_deref())?;
    r.origin = t.wants_origin().then(|| {
        format!(
            "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}Generator\n",
            t.rel_file()
        )
    });
    Ok(r)
}

fn merged_string_maps(old: Option<&Value>, new: Option<&Value>) -> Option<Value> {
    let mut m: BTreeMap<String, Value> = BTreeMap::new();
    for src in [old, new].into_iter().flatten() {
        if let Value::Mapping(map) = src {
            for (k, v) in map {
                let s = scalar_string(v)
                    .map(Value::String)
                    .unwrap_or_else(|| v.clone());
                m.insert(k.clone(), s);
            }
        }
    }
    (!m.is_empty()).then(|| Value::Mapping(m.into_iter().collect()))
}

/// Adds a generated resource, honouring its behavior against an existing one.
pub(crate) fn absorb(resmap: &mut ResMap, mut r: Resource) -> Result<()> {
    let id = r.id();
    let matches: Vec<usize> = resmap
        .resources()
        .iter()
        .enumerate()
        .filter(|(_, x)| x.all_ids().any(|xid| xid.same_as(&id)))
        .map(|(i, _)| i)
        .collect();
    match (matches.as_slice(), r.behavior) {
        ([], Behavior::Create) => resmap.append(r),
        ([], b) => Err(Error::msg(format!(
            "id {id} does not exist; cannot {} it",
            if b == Behavior::Merge {
                "merge"
            } else {
                "replace"
            }
        ))),
        ([i], Behavior::Create) => {
            let _ = i;
            Err(Error::msg(format!(
                "id {id} exists; behavior must be merge or replace"
            )))
        }
        ([i], behavior) => {
            let old = resmap.resources()[*i].clone();
            // Metadata: labels and annotations merged (new wins), name and namespace kept.
            for key in ["labels", "annotations"] {
                let merged = merged_string_maps(
                    old.value.pointer(&["metadata", key]),
                    r.value.pointer(&["metadata", key]),
                );
                let meta = r.metadata_mut();
                match merged {
                    Some(v) => {
                        meta.insert(key.to_string(), v);
                    }
                    None => {
                        meta.shift_remove(key);
                    }
                }
            }
            let meta = r.metadata_mut();
            meta.insert("name".into(), Value::String(old.name().to_string()));
            if old.namespace().is_empty() {
                meta.shift_remove("namespace");
            } else {
                meta.insert(
                    "namespace".into(),
                    Value::String(old.namespace().to_string()),
                );
            }
            sort_mapping(meta);
            if behavior == Behavior::Merge {
                for key in ["data", "binaryData"] {
                    if let Some(v) = merged_string_maps(old.value.get(key), r.value.get(key))
                        && let Value::Mapping(root) = &mut r.value
                    {
                        root.insert(key.to_string(), v);
                    }
                }
                if let Value::Mapping(root) = &mut r.value {
                    root.sort_keys();
                }
            }
            r.previous = old.previous.clone();
            if behavior == Behavior::Merge && old.origin.is_some() {
                r.origin = old.origin.clone();
            }
            r.needs_hash = old.needs_hash && r.needs_hash;
            r.behavior = Behavior::Create;
            resmap.replace(*i, r);
            Ok(())
        }
        _ => Err(Error::msg(format!(
            "multiple resources match {id}; cannot merge or replace"
        ))),
    }
}

fn sort_mapping(m: &mut Mapping) {
    m.sort_keys();
}
