//! `fleet build kustomization NAME --path DIR [--kustomization-file FILE]`
//! (`--recursive` follows the Flux Kustomizations it renders)

use anyhow::{Context, Result, bail};
use fleet_kustomize::ResourceSet;
use fleet_kustomize::flux::decrypt::DecryptError;
use fleet_kustomize::flux::{
    FluxBuildError, FluxBuildOptions, RepoObject, build_kustomization_dir, build_tree,
    decrypt_repo_objects, is_flux_kustomization, mask_secret, objects_in_file, secret_entries,
    substitute_sources,
};
use fleet_kustomize::fs::DiskFs;
use fleet_kustomize::sops::KeyRing;
use fleet_model::flux::kustomization::Kustomization;
use fleet_model::{Manifest, Source, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Arguments of `fleet build kustomization`.
#[derive(clap::Args)]
pub struct Args {
    /// The Kustomization's name.
    name: String,
    /// The local directory holding the manifests of `spec.path`.
    #[arg(long)]
    path: PathBuf,
    /// A file holding the Kustomization; without it, the repository around
    /// `--path` is searched.
    #[arg(long)]
    kustomization_file: Option<PathBuf>,
    /// The Kustomization's namespace.
    #[arg(short, long, default_value = "flux-system")]
    namespace: String,
    /// Extra files of ConfigMaps and Secrets for `postBuild.substituteFrom`
    /// (they win over those found in the repository).
    #[arg(long, value_name = "FILE")]
    substitute_from: Vec<PathBuf>,
    /// Fail on variables that are unset and have no default, as
    /// kustomize-controller does with `StrictPostBuildSubstitutions`.
    #[arg(long)]
    strict: bool,
    /// A file holding the decryption Secret (`spec.decryption.secretRef`):
    /// its `*.agekey` and `*.asc` entries are the SOPS keys. Without it, the
    /// Secret is looked for in the repository.
    #[arg(long, value_name = "FILE")]
    decryption_secret: Option<PathBuf>,
    /// A private key file for SOPS (an age identity file, or an armored PGP
    /// secret key); may be repeated.
    #[arg(long, value_name = "FILE")]
    decryption_key: Vec<PathBuf>,
    /// Also build every Flux Kustomization the output holds that uses the
    /// same source, as rendered (a management Kustomization's per-cluster
    /// Kustomizations), and theirs in turn; prints all of it.
    #[arg(long)]
    recursive: bool,
    /// Print Secret values instead of masking them.
    #[arg(long)]
    show_secrets: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = super::build::Format::Yaml)]
    output: super::build::Format,
}

/// Builds and prints.
pub fn run(args: &Args) -> Result<ExitCode> {
    let dir = std::fs::canonicalize(&args.path)
        .with_context(|| format!("--path {}: no such directory", args.path.display()))?;
    let repo = repo_root(&dir);
    let mut repo_objects = repo_objects(&repo);
    let ks = match &args.kustomization_file {
        Some(file) => find_in_file(file, &args.name, &args.namespace)?,
        None => find_in_repo(&repo_objects, &repo, &dir, &args.name, &args.namespace)?,
    };
    let ns = ks
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| args.namespace.clone());
    let keys = decryption_keys(args, &ks, &repo_objects, &ns)?;
    if let Some(keys) = &keys {
        decrypt_repo_objects(&mut repo_objects, keys, |f| std::fs::read(f).ok());
    }
    let mut sources = substitute_sources(&repo_objects, &ns);
    for file in &args.substitute_from {
        let mut objects = read_objects(file).context("--substitute-from")?;
        if let Some(keys) = &keys {
            decrypt_repo_objects(&mut objects, keys, |f| std::fs::read(f).ok());
        }
        sources.extend(substitute_sources(&objects, &ns));
    }
    // A referenced source that exists but cannot be read (say, an encrypted
    // Secret) is reported as such rather than as missing.
    sources.check_referenced(&ks)?;
    let opts = FluxBuildOptions {
        strict_substitution: args.strict,
        substitute_sources: sources.data,
        decryption_keys: keys,
        keep_encrypted: false,
    };
    let mut set = if args.recursive {
        let root = source_root(&dir, ks.spec.path())?;
        let tree = build_tree(&DiskFs, &root, &ks, &opts).map_err(with_key_hint)?;
        for skipped in &tree.skipped {
            eprintln!("skipped Kustomization {}: {}", skipped.id, skipped.reason);
        }
        ResourceSet {
            resources: tree
                .nodes
                .into_iter()
                .flat_map(|n| n.set.resources)
                .collect(),
        }
    } else {
        build_kustomization_dir(&DiskFs, &dir.to_string_lossy(), &ks, &opts)
            .map_err(with_key_hint)?
    };
    if !args.show_secrets {
        set.resources.iter_mut().for_each(mask_secret);
    }
    let text = match args.output {
        super::build::Format::Yaml => set.to_yaml(),
        super::build::Format::Json => set.to_json()?,
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Adds where to give the keys when a build met encrypted files without any.
fn with_key_hint(e: FluxBuildError) -> anyhow::Error {
    if matches!(e, FluxBuildError::Decrypt(DecryptError::MissingKeys { .. })) {
        anyhow::anyhow!(
            "{e}\nhint: pass the Secret with --decryption-secret FILE or its keys with --decryption-key FILE"
        )
    } else {
        e.into()
    }
}

/// The source root `dir` is `spec_path` of: `dir` with that path's tail
/// taken off.
fn source_root(dir: &Path, spec_path: &str) -> Result<String> {
    let dir = fleet_kustomize::fs::join("/", &dir.to_string_lossy());
    let tail = fleet_kustomize::fs::join("/", spec_path);
    if tail == "/" {
        return Ok(dir);
    }
    match dir.strip_suffix(&tail) {
        Some(root) => Ok(if root.is_empty() {
            "/".into()
        } else {
            root.to_string()
        }),
        None => bail!(
            "--recursive: --path {dir} does not end with the Kustomization's spec.path '{spec_path}', so the source root is unknown; pass the directory spec.path names"
        ),
    }
}

/// The SOPS keys: the decryption Secret from `--decryption-secret` or the
/// repository, plus every `--decryption-key` file.
fn decryption_keys(
    args: &Args,
    ks: &Kustomization,
    repo_objects: &[RepoObject],
    namespace: &str,
) -> Result<Option<Arc<KeyRing>>> {
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let wanted = ks
        .spec
        .decryption
        .as_ref()
        .and_then(|d| d.secret_ref.as_ref())
        .map(|r| r.name.as_str());
    let is_secret = |o: &&RepoObject| o.value.get("kind").and_then(Value::as_str) == Some("Secret");
    let named = |o: &&RepoObject| wanted.is_some_and(|w| is_named(&o.value, w, namespace));
    if let Some(file) = &args.decryption_secret {
        let objects = read_objects(file).context("--decryption-secret")?;
        let secrets: Vec<&RepoObject> = objects.iter().filter(is_secret).collect();
        let chosen = match secrets.iter().copied().find(named) {
            Some(s) => s,
            None if secrets.len() == 1 => secrets[0],
            None => bail!(
                "--decryption-secret {}: no Secret '{}' in the file",
                file.display(),
                wanted.unwrap_or("(spec.decryption.secretRef is not set)")
            ),
        };
        entries.extend(secret_entries(chosen)?);
    } else if wanted.is_some()
        && let Some(found) = repo_objects
            .iter()
            .filter(is_secret)
            .filter(|o| !fleet_kustomize::sops::is_encrypted(&o.value))
            .find(named)
    {
        entries.extend(secret_entries(found)?);
    }
    entries.extend(key_file_entries(&args.decryption_key)?);
    if entries.is_empty() {
        return Ok(None);
    }
    let ring = KeyRing::from_secret_data(entries.iter().map(|(k, v)| (k.as_str(), v.as_slice())))?;
    Ok(Some(Arc::new(ring)))
}

/// The `--decryption-key` files as decryption Secret entries
/// (`<file>.agekey` for an age identity file, `<file>.asc` for an armored
/// PGP private key).
pub fn key_file_entries(files: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut entries = Vec::new();
    for file in files {
        let data = std::fs::read(file)
            .with_context(|| format!("--decryption-key {}: cannot read", file.display()))?;
        let text = String::from_utf8_lossy(&data);
        let kind = if text.contains("AGE-SECRET-KEY-") {
            "agekey"
        } else if text.contains("PGP PRIVATE KEY BLOCK") {
            "asc"
        } else {
            bail!(
                "--decryption-key {}: neither an age identity file (AGE-SECRET-KEY-1…) nor an armored PGP private key",
                file.display()
            );
        };
        entries.push((format!("{}.{kind}", file.display()), data));
    }
    Ok(entries)
}

/// Every object in the repository's YAML files, skipping what Git ignores
/// (build output, vendored trees) and hidden directories.
pub fn repo_objects(repo: &Path) -> Vec<RepoObject> {
    let mut out = Vec::new();
    for entry in ignore::WalkBuilder::new(repo)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build()
        .flatten()
    {
        let path = entry.path();
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        if !is_yaml || !path.is_file() {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(path) {
            out.extend(objects_in_file(&path.to_string_lossy(), &text));
        }
    }
    out
}

/// The nearest ancestor holding `.git`, else the directory itself.
fn repo_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(dir)
        .to_path_buf()
}

/// Whether an object is called `name` in `namespace` (or names no namespace).
fn is_named(v: &Value, name: &str, namespace: &str) -> bool {
    let s = |path: &[&str]| v.pointer(path).and_then(Value::as_str).unwrap_or("");
    s(&["metadata", "name"]) == name && [namespace, ""].contains(&s(&["metadata", "namespace"]))
}

fn is_named_flux_kustomization(v: &Value, name: &str, namespace: &str) -> bool {
    is_flux_kustomization(v) && is_named(v, name, namespace)
}

/// Every document of a YAML file the user named; a YAML error is an error
/// here, with the file and line.
pub fn read_objects(file: &Path) -> Result<Vec<RepoObject>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("failed to read {}", file.display()))?;
    let docs = fleet_model::yaml::parse_documents(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: {}", file.display(), e.line, e.message))?;
    Ok(docs
        .into_iter()
        .map(|d| RepoObject {
            file: file.display().to_string(),
            line: d.line,
            value: d.value,
        })
        .collect())
}

/// The typed Kustomization; a schema error names its file and line.
fn typed(object: &RepoObject) -> Result<Kustomization> {
    let source = Source {
        file: object.file.clone(),
        line: object.line,
    };
    let manifest = Manifest::new(object.value.clone(), Some(source.clone()))
        .map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    Ok(manifest.to_typed()?)
}

fn find_in_file(file: &Path, name: &str, namespace: &str) -> Result<Kustomization> {
    let objects = read_objects(file)?;
    let found = objects
        .iter()
        .find(|o| is_named_flux_kustomization(&o.value, name, namespace))
        .with_context(|| {
            format!(
                "failed to find kustomization with name '{name}' and namespace '{namespace}' in file '{}'",
                file.display()
            )
        })?;
    typed(found)
}

/// The Kustomization named so in the repository. When several clusters
/// define one of that name, the one whose `spec.path` is `dir` is meant.
fn find_in_repo(
    objects: &[RepoObject],
    repo: &Path,
    dir: &Path,
    name: &str,
    namespace: &str,
) -> Result<Kustomization> {
    let mut found: Vec<&RepoObject> = objects
        .iter()
        .filter(|o| is_named_flux_kustomization(&o.value, name, namespace))
        .collect();
    if found.len() > 1 {
        let points_at_dir = |o: &&RepoObject| {
            let path = o
                .value
                .pointer(&["spec", "path"])
                .and_then(Value::as_str)
                .unwrap_or("./");
            // The source root may sit below the Git root (a fleet kept in
            // a subdirectory), so compare the path's tail.
            let tail = fleet_kustomize::fs::join("/", path);
            dir.to_string_lossy().ends_with(&tail)
        };
        if found.iter().any(points_at_dir) {
            found.retain(points_at_dir);
        }
    }
    match found.as_slice() {
        [one] => typed(one),
        [] => bail!(
            "no Flux Kustomization '{namespace}/{name}' in the YAML files under {}; pass it with --kustomization-file",
            repo.display()
        ),
        many => bail!(
            "Flux Kustomization '{namespace}/{name}' is defined more than once ({}); pick one with --kustomization-file",
            many.iter()
                .map(|o| o.file.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
