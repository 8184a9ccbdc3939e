//! The build: kustomize's `KustTarget` recursion over kustomizations,
//! components and bases, then the top-level steps (hash suffixes, name
//! references, vars, local-config removal, sorting).

use crate::error::{Error, Result};
use crate::fieldspec::{TransformerConfig, parse_config, shared_default_config};
use crate::fs::{self, FileSystem};
use crate::kustfile::{FILE_NAMES, Kustomization, Var};
use crate::resource::{Behavior, ResMap, Resource};
use crate::transform;
use fleet_model::Value;
use std::sync::Arc;

/// kustomize's `--load-restrictor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadRestrictor {
    /// Files must be in or below the kustomization's directory (the default).
    #[default]
    RootOnly,
    /// Any file may be read (Flux builds this way).
    None,
}

/// Build options.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Where files may be read from.
    pub load_restrictor: LoadRestrictor,
}

/// State accumulated while building one kustomization (and its components).
#[derive(Debug, Clone)]
pub(crate) struct Accumulator {
    pub resmap: ResMap,
    pub config: Arc<TransformerConfig>,
    pub vars: Vec<Var>,
}

/// One kustomization being built.
pub(crate) struct Target<'a> {
    pub fs: &'a dyn FileSystem,
    pub opts: &'a BuildOptions,
    /// Absolute directory of the kustomization.
    pub dir: String,
    /// The kustomization file's path.
    pub file: String,
    pub kust: Kustomization,
    /// Directories being built, for cycle detection.
    pub stack: Vec<String>,
    /// The top kustomization's directory (build metadata paths are relative to it).
    pub top: String,
}

/// `dir` made absolute: as it is when it starts with `/`; else resolved by
/// the file system (on disk, from the current directory), and refused
/// when the file system cannot resolve it, rather than read from `/`.
fn absolute_dir(fs: &dyn FileSystem, dir: &str) -> Result<String> {
    if dir.starts_with('/') {
        return Ok(fs::join("/", dir));
    }
    match fs.real_path(dir) {
        Ok(real) if real.starts_with('/') => Ok(fs::join("/", &real)),
        Ok(_) => Err(Error::RelativeDir(dir.to_string())),
        Err(e) => Err(Error::Read {
            path: dir.to_string(),
            message: e.to_string(),
        }),
    }
}

/// Builds the kustomization in `dir` into its final, sorted resources.
///
/// ```
/// use fleet_kustomize::{build, fs::MemFs, BuildOptions};
/// let mut fs = MemFs::default();
/// fs.add("/app/kustomization.yaml", "namePrefix: dev-\nresources: [cm.yaml]\n");
/// fs.add("/app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n");
/// let out = build(&fs, "/app", &BuildOptions::default()).unwrap();
/// assert_eq!(out.to_yaml(), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dev-settings\n");
/// ```
pub fn build(fs: &dyn FileSystem, dir: &str, opts: &BuildOptions) -> Result<crate::ResourceSet> {
    let dir = absolute_dir(fs, dir)?;
    let target = Target::load(fs, opts, &dir, Vec::new(), None)?;
    let mut ra = target.accumulate(None)?;
    transform::hash::add_hash_suffixes(&mut ra.resmap)?;
    transform::name_reference::fix(&mut ra.resmap, &ra.config)?;
    transform::vars::resolve(&mut ra.resmap, &ra.vars, &ra.config)?;
    ra.resmap.retain(|r| {
        r.value
            .pointer(&[
                "metadata",
                "annotations",
                "config.kubernetes.io/local-config",
            ])
            .and_then(Value::as_str)
            != Some("true")
    });
    transform::sort::sort(&mut ra.resmap, target.kust.sort_options.as_ref())?;
    if target
        .kust
        .build_metadata
        .iter()
        .any(|b| b == "managedByLabel")
    {
        // krusty/kustomizer.go labels every resource with the kustomize
        // version; `kubectl kustomize` embeds kustomize without a version,
        // so it prints `kustomize-(devel)`.
        for r in ra.resmap.resources_mut() {
            let labels = r
                .metadata_mut()
                .entry("labels".to_string())
                .or_insert(Value::Null);
            crate::resource::ensure_mapping(labels).insert(
                "app.kubernetes.io/managed-by".to_string(),
                Value::String("kustomize-(devel)".to_string()),
            );
        }
    }
    let keep_origin = target
        .kust
        .build_metadata
        .iter()
        .any(|b| b == "originAnnotations");
    let keep_transformers = target
        .kust
        .build_metadata
        .iter()
        .any(|b| b == "transformerAnnotations");
    let resources = ra
        .resmap
        .into_resources()
        .into_iter()
        .map(|r| transform::finish::finish(r, keep_origin, keep_transformers))
        .collect();
    Ok(crate::ResourceSet { resources })
}

impl<'a> Target<'a> {
    /// Reads the kustomization file in `dir`.
    pub fn load(
        fs: &'a dyn FileSystem,
        opts: &'a BuildOptions,
        dir: &str,
        mut stack: Vec<String>,
        top: Option<&str>,
    ) -> Result<Target<'a>> {
        let real = fs.real_path(dir).unwrap_or_else(|_| dir.to_string());
        if stack.contains(&real) {
            return Err(Error::Cycle(dir.to_string(), stack.join(" -> ")));
        }
        stack.push(real);
        let found: Vec<&str> = FILE_NAMES
            .iter()
            .copied()
            .filter(|n| fs.is_file(&fs::join(dir, n)))
            .collect();
        let name = match found.as_slice() {
            [] => return Err(Error::MissingKustomization(dir.to_string())),
            [one] => *one,
            _ => return Err(Error::MultipleKustomizations(dir.to_string())),
        };
        let file = fs::join(dir, name);
        let text = read_text(fs, &file)?;
        let kust = Kustomization::parse(&text, &file)?;
        Ok(Target {
            fs,
            opts,
            dir: dir.to_string(),
            file,
            kust,
            stack,
            top: top.unwrap_or(dir).to_string(),
        })
    }

    /// Whether `buildMetadata` asks for origin annotations.
    pub fn wants_origin(&self) -> bool {
        self.kust
            .build_metadata
            .iter()
            .any(|b| b == "originAnnotations")
    }

    /// Whether `buildMetadata` asks for transformer annotations.
    pub fn wants_transformations(&self) -> bool {
        self.kust
            .build_metadata
            .iter()
            .any(|b| b == "transformerAnnotations")
    }

    /// This kustomization file, relative to the top of the build.
    pub fn rel_file(&self) -> String {
        fs::relative(&self.top, &self.file)
    }

    /// Records that a built-in transformer configured here ran over every resource.
    pub fn record_transformer(&self, ra: &mut Accumulator, kind: &str) {
        if !self.wants_transformations() {
            return;
        }
        let item = format!(
            "- configuredIn: {}\n  configuredBy:\n    apiVersion: builtin\n    kind: {kind}\n",
            self.rel_file()
        );
        for r in ra.resmap.resources_mut() {
            r.transformations.push(item.clone());
        }
    }

    /// Resolves a path relative to the kustomization and applies load restrictions.
    pub fn file_path(&self, rel: &str) -> Result<String> {
        let path = fs::join(&self.dir, rel);
        if self.opts.load_restrictor == LoadRestrictor::RootOnly {
            let root = self
                .fs
                .real_path(&self.dir)
                .unwrap_or_else(|_| self.dir.clone());
            let real = self.fs.real_path(&path).unwrap_or_else(|_| path.clone());
            if !fs::is_within(&root, &real) {
                return Err(Error::OutsideRoot { path, root });
            }
        }
        Ok(path)
    }

    /// Reads a file named relative to the kustomization, honouring load restrictions.
    pub fn read(&self, rel: &str) -> Result<String> {
        let path = self.file_path(rel)?;
        read_text(self.fs, &path)
    }

    /// Reads a file's bytes, honouring load restrictions.
    pub fn read_bytes(&self, rel: &str) -> Result<(String, Vec<u8>)> {
        let path = self.file_path(rel)?;
        let bytes = self.fs.read(&path).map_err(|e| Error::Read {
            path: path.clone(),
            message: e.to_string(),
        })?;
        Ok((path, bytes))
    }

    /// kustomize's `accumulateTarget`. `ra` is the parent's accumulator when
    /// this target is a component.
    pub fn accumulate(&self, ra: Option<Accumulator>) -> Result<Accumulator> {
        let mut ra = match ra {
            Some(ra) => ra,
            None => Accumulator {
                resmap: ResMap::new(),
                config: shared_default_config()?,
                vars: Vec::new(),
            },
        };
        self.accumulate_resources(&mut ra, &self.kust.resources)?;
        for c in &self.kust.configurations {
            let text = self.read(c)?;
            let cfg = parse_config(&text, &fs::join(&self.dir, c))?;
            Arc::make_mut(&mut ra.config).merge_user(&cfg);
        }
        for c in &self.kust.crds {
            let text = self.read(c)?;
            let cfg = transform::crds::config_from_crds(&text, &fs::join(&self.dir, c))?;
            Arc::make_mut(&mut ra.config).merge(&cfg);
        }
        transform::generators::run(self, &mut ra)?;
        for c in &self.kust.components {
            ra = self.accumulate_directory(ra, c, true)?;
        }
        transform::run_builtin_transformers(self, &mut ra)?;
        transform::external::run_transformers(self, &mut ra)?;
        for v in &self.kust.vars {
            if ra.vars.iter().any(|x| x.name == v.name) {
                return Err(Error::msg(format!("var '{}' already encountered", v.name)));
            }
            transform::vars::bind(&mut ra.resmap, v)?;
            ra.vars.push(v.clone());
        }
        Ok(ra)
    }

    fn accumulate_resources(&self, ra: &mut Accumulator, paths: &[String]) -> Result<()> {
        for p in paths {
            let path = fs::join(&self.dir, p);
            if self.fs.is_file(&path) {
                let text = self.read(p)?;
                let origin = self
                    .wants_origin()
                    .then(|| format!("path: {}\n", fs::relative(&self.top, &path)));
                for mut r in load_resources(&text, &path)? {
                    r.origin = origin.clone();
                    ra.resmap.append(r).map_err(|e| in_file(e, &path))?;
                }
            } else if self.fs.is_dir(&path) {
                let taken = std::mem::replace(
                    ra,
                    Accumulator {
                        resmap: ResMap::new(),
                        config: Arc::new(TransformerConfig::default()),
                        vars: Vec::new(),
                    },
                );
                *ra = self.accumulate_directory(taken, p, false)?;
            } else if is_remote_spec(p) {
                return Err(Error::Read {
                    path: self.file.clone(),
                    message: format!(
                        "resource '{p}' is remote (a Git repository or URL): fleet builds without network access; vendor it into the repository and name the local copy"
                    ),
                });
            } else {
                return Err(Error::Read {
                    path: path.clone(),
                    message: format!(
                        "accumulating resources from '{p}' in {}: no such file or directory",
                        self.file
                    ),
                });
            }
        }
        Ok(())
    }

    /// Builds a base (`is_component` false) or a component into `ra`.
    fn accumulate_directory(
        &self,
        mut ra: Accumulator,
        rel: &str,
        is_component: bool,
    ) -> Result<Accumulator> {
        let dir = fs::join(&self.dir, rel);
        if !self.fs.is_dir(&dir) {
            return Err(Error::Read {
                path: dir,
                message: format!("'{rel}' named in {} is not a directory", self.file),
            });
        }
        let mut sub = Target::load(
            self.fs,
            self.opts,
            &dir,
            self.stack.clone(),
            Some(&self.top),
        )?;
        sub.kust.build_metadata = self.kust.build_metadata.clone();
        if is_component && !sub.kust.is_component() {
            return Err(Error::msg(format!(
                "expected kind 'Component' for path '{dir}' but got '{}'",
                sub.kust.kind.as_deref().unwrap_or("Kustomization")
            )));
        }
        if !is_component && sub.kust.is_component() {
            return Err(Error::msg(format!(
                "expected kind != 'Component' for path '{dir}'"
            )));
        }
        if is_component {
            sub.accumulate(Some(ra))
        } else {
            let sub_ra = sub.accumulate(None)?;
            ra.resmap
                .append_all(sub_ra.resmap)
                .map_err(|e| in_file(e, &sub.file))?;
            if !Arc::ptr_eq(&ra.config, &sub_ra.config) {
                Arc::make_mut(&mut ra.config).merge(&sub_ra.config);
            }
            for v in sub_ra.vars {
                if ra.vars.iter().any(|x| x.name == v.name) {
                    return Err(Error::msg(format!("var '{}' already encountered", v.name)));
                }
                ra.vars.push(v);
            }
            Ok(ra)
        }
    }
}

/// Builds a directory named by a kustomization (a `transformers:` or
/// `generators:` entry) and returns its resources, for use as plugin configs.
pub(crate) fn build_dir_resources(t: &Target<'_>, rel: &str) -> Result<Vec<Resource>> {
    let dir = fs::join(&t.dir, rel);
    let sub = Target::load(t.fs, t.opts, &dir, t.stack.clone(), Some(&t.top))?;
    let ra = sub.accumulate(None)?;
    Ok(ra.resmap.into_resources())
}

fn in_file(e: Error, file: &str) -> Error {
    match e {
        Error::DuplicateId(id) => Error::msg(format!(
            "{file}: may not add resource with an already registered id: {id}"
        )),
        other => other,
    }
}

/// Reads a UTF-8 file.
pub(crate) fn read_text(fs: &dyn FileSystem, path: &str) -> Result<String> {
    let bytes = fs.read(path).map_err(|e| Error::Read {
        path: path.to_string(),
        message: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|_| Error::Read {
        path: path.to_string(),
        message: "not UTF-8 text".to_string(),
    })
}

/// Reads the resources of a YAML/JSON stream: empty documents are skipped
/// and `kind: List` documents contribute their items.
pub(crate) fn load_resources(text: &str, file: &str) -> Result<Vec<Resource>> {
    // Plain timestamps come out of kustomize as Go's JSON writes a
    // time.Time (kyaml's RNode.MarshalJSON decodes with go-yaml v3),
    // folded scalars as go-yaml writes and reads them back, annotations as
    // the text they hold.
    let limits = fleet_model::yaml::Limits {
        go_json_timestamps: true,
        kyaml_resource: true,
        ..Default::default()
    };
    let parse = |limits| {
        fleet_model::yaml::parse_documents_with(text, limits).map_err(|e| Error::Yaml {
            file: file.to_string(),
            error: e,
        })
    };
    let docs = parse(limits)?;
    let is_list = |value: &Value| {
        value
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.ends_with("List"))
            && value.get("items").is_some()
    };
    // A List's items are taken apart from a decoded map, without the
    // folded-scalar round trip: read them once more without it.
    let unrounded = if docs.iter().any(|d| is_list(&d.value)) {
        Some(parse(fleet_model::yaml::Limits {
            kyaml_resource: false,
            ..limits
        })?)
    } else {
        None
    };
    let mut out = Vec::new();
    for (index, doc) in docs.into_iter().enumerate() {
        let value = match &unrounded {
            Some(plain) if is_list(&doc.value) => {
                plain.get(index).map_or(doc.value, |d| d.value.clone())
            }
            _ => doc.value,
        };
        if value.is_null() {
            continue;
        }
        if !matches!(value, Value::Mapping(_)) {
            return Err(Error::BadResource {
                file: file.to_string(),
                line: doc.line,
                message: format!(
                    "expected a Kubernetes object (a mapping), found a {}",
                    value.type_name()
                ),
            });
        }
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind.ends_with("List") && value.get("items").is_some() {
            if let Some(items) = value.get("items").and_then(Value::as_sequence) {
                for item in items {
                    out.push(check_resource(item.clone(), file, doc.line)?);
                }
            }
            continue;
        }
        out.push(check_resource(value, file, doc.line)?);
    }
    Ok(out)
}

fn check_resource(value: Value, file: &str, line: usize) -> Result<Resource> {
    let missing = |what: &str| Error::BadResource {
        file: file.to_string(),
        line,
        message: format!("missing {what}; every resource needs apiVersion, kind and metadata.name"),
    };
    if value
        .get("kind")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(missing("kind"));
    }
    if value
        .pointer(&["metadata", "name"])
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
        && value.pointer(&["metadata", "generateName"]).is_none()
    {
        return Err(missing("metadata.name"));
    }
    let mut r = Resource::new(value, file);
    r.behavior = Behavior::Create;
    Ok(r)
}

/// Whether a resource names something remote, as kustomize's loader tells
/// Git repositories and URLs from paths (`https://…`, `git::…`,
/// `git@host:…`, `github.com/org/repo`, `gh:…`, `ssh://…`).
pub fn is_remote_spec(spec: &str) -> bool {
    let lower = spec.to_ascii_lowercase();
    [
        "git::",
        "gh:",
        "ssh://",
        "https://",
        "http://",
        "git@",
        "github.com:",
        "github.com/",
    ]
    .iter()
    .any(|p| p.len() < spec.len() && lower.starts_with(p))
}
