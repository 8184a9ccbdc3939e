//! `fleet cluster new`: a new cluster in a fleet repository from a shared
//! cluster template, without copying the template.
//!
//! The new cluster is one small folder, `<clusters dir>/<name>/`, with two
//! Flux Kustomizations: `<name>-cluster` renders the shared template
//! directory through `postBuild.substitute` (the Cluster API objects, on
//! the management cluster), and `<name>-infrastructure` applies the
//! cluster's overlay to the workload cluster through the
//! `<name>-kubeconfig` Secret Cluster API writes, after (`dependsOn`) the
//! cluster's Kustomization is ready.

use crate::lint::is_dns1123_label;
use crate::template::{Template, TemplateError};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// What to scaffold.
#[derive(Debug, Clone)]
pub struct NewCluster {
    /// The cluster's name (DNS-1123 label).
    pub name: String,
    /// The shared template directory, relative to the repository root.
    pub template: String,
    /// The overlay applied to the workload cluster, relative to the root.
    pub overlay: String,
    /// The directory new cluster folders go in, relative to the root.
    pub clusters_dir: String,
    /// Values for the template's variables (`CLUSTER_NAME` is the name).
    pub values: BTreeMap<String, String>,
    /// The namespace of the Flux objects.
    pub namespace: String,
    /// The GitRepository the Kustomizations read.
    pub source: String,
}

/// Why a cluster cannot be scaffolded; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name is not a DNS-1123 label.
    #[error(
        "cluster name {0:?} is not a DNS-1123 label: use lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
    )]
    Name(String),
    /// A path leaves the repository or does not exist.
    #[error("{what} {path:?}: {why}")]
    Path {
        /// Which option.
        what: &'static str,
        /// The path.
        path: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The cluster folder exists.
    #[error(
        "{0} already exists: cluster names are unique; pick another name or edit the existing files"
    )]
    Exists(PathBuf),
    /// `--set CLUSTER_NAME=…` disagrees with the cluster's name.
    #[error(
        "CLUSTER_NAME is the cluster's name, {name:?}; --set CLUSTER_NAME={value} would be ignored: drop it, or name the cluster {value:?}"
    )]
    ClusterNameSet {
        /// The name given.
        name: String,
        /// The value set.
        value: String,
    },
    /// A Kubernetes version that is not `vMAJOR.MINOR.PATCH`.
    #[error(
        "KUBERNETES_VERSION {0:?} is not a Kubernetes version: write it as vMAJOR.MINOR.PATCH, e.g. v1.31.2"
    )]
    KubernetesVersion(String),
    /// A template problem: parse error or unknown variables.
    #[error("template {template}: {problem}")]
    Template {
        /// The template directory.
        template: String,
        /// The problem.
        problem: TemplateError,
    },
    /// Required variables without a value (sorted).
    #[error("template {template}: variables [{}] have no default: pass each with --set NAME=VALUE", .missing.join(", "))]
    Missing {
        /// The template directory.
        template: String,
        /// The variables.
        missing: Vec<String>,
    },
    /// Reading or writing failed.
    #[error("{path}: {error}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ScaffoldError + '_ {
    move |error| ScaffoldError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// A file of the new cluster's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// Path relative to the repository root.
    pub path: PathBuf,
    /// Its content.
    pub text: String,
}

fn relative_dir(root: &Path, what: &'static str, path: &str) -> Result<PathBuf, ScaffoldError> {
    let rel = Path::new(path.trim_start_matches("./"));
    if rel.as_os_str().is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(ScaffoldError::Path {
            what,
            path: path.into(),
            why: "must be a relative path inside the repository",
        });
    }
    if !root.join(rel).is_dir() {
        return Err(ScaffoldError::Path {
            what,
            path: path.into(),
            why: "is not a directory of the repository",
        });
    }
    Ok(rel.to_path_buf())
}

/// The template directory's variables, across its YAML files.
pub fn template_variables(
    dir: &Path,
    label: &str,
) -> Result<BTreeMap<String, Option<String>>, ScaffoldError> {
    let mut vars = BTreeMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(io(&file))?;
        let t = Template::new(&text).map_err(|problem| ScaffoldError::Template {
            template: label.into(),
            problem,
        })?;
        for (k, d) in t.variables() {
            vars.entry(k.to_string()).or_insert(d.map(str::to_string));
        }
    }
    Ok(vars)
}

/// Double-quoted YAML scalar (JSON string syntax is valid YAML).
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Checks everything and returns the files to write.
pub fn plan(root: &Path, new: &NewCluster) -> Result<Vec<PlannedFile>, ScaffoldError> {
    if !is_dns1123_label(&new.name) || new.name.len() > 63 - "-infrastructure".len() {
        return Err(ScaffoldError::Name(new.name.clone()));
    }
    let template = relative_dir(root, "--template", &new.template)?;
    let overlay = relative_dir(root, "--overlay", &new.overlay)?;
    let clusters_dir = relative_dir(root, "clusters directory", &new.clusters_dir)?;
    let folder = clusters_dir.join(&new.name);
    if root.join(&folder).exists() {
        return Err(ScaffoldError::Exists(root.join(&folder)));
    }
    let label = template.display().to_string();
    let variables = template_variables(&root.join(&template), &label)?;
    let mut values = new.values.clone();
    if let Some(value) = values.get("CLUSTER_NAME")
        && value != &new.name
    {
        return Err(ScaffoldError::ClusterNameSet {
            name: new.name.clone(),
            value: value.clone(),
        });
    }
    if variables.contains_key("CLUSTER_NAME") {
        values.insert("CLUSTER_NAME".into(), new.name.clone());
    }
    let template_error = |problem| ScaffoldError::Template {
        template: label.clone(),
        problem,
    };
    let mut unknown: Vec<String> = values
        .keys()
        .filter(|k| !variables.contains_key(*k))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        return Err(template_error(TemplateError::Unknown {
            unknown,
            known: variables.keys().cloned().collect(),
        }));
    }
    let missing: Vec<String> = variables
        .iter()
        .filter(|(k, d)| d.is_none() && !values.contains_key(*k))
        .map(|(k, _)| k.clone())
        .collect();
    if !missing.is_empty() {
        return Err(ScaffoldError::Missing {
            template: label,
            missing,
        });
    }
    if let Some(v) = values.get("KUBERNETES_VERSION") {
        let ok = v
            .strip_prefix('v')
            .is_some_and(|s| semver::Version::parse(s).is_ok());
        if !ok {
            return Err(ScaffoldError::KubernetesVersion(v.clone()));
        }
    }
    let name = &new.name;
    let (ns, source) = (&new.namespace, &new.source);
    let mut substitute = String::new();
    for (k, v) in &values {
        substitute.push_str(&format!("      {k}: {}\n", quoted(v)));
    }
    let cluster = format!(
        "# Cluster {name}: its Cluster API objects, rendered on the management cluster from the\n# shared template ./{tpl} with these values (scaffolded by `fleet cluster new`).\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}-cluster\n  namespace: {ns}\nspec:\n  interval: 10m\n  retryInterval: 1m\n  path: ./{tpl}\n  prune: true\n  wait: true\n  sourceRef:\n    kind: GitRepository\n    name: {source}\n  postBuild:\n    substitute:\n{substitute}",
        tpl = template.display()
    );
    let workloads = format!(
        "# Cluster {name}: what runs in it, applied through the kubeconfig Secret Cluster API\n# writes, once the cluster's own Kustomization is ready.\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}-infrastructure\n  namespace: {ns}\nspec:\n  dependsOn:\n  - name: {name}-cluster\n  interval: 10m\n  retryInterval: 1m\n  path: ./{overlay}\n  prune: true\n  wait: true\n  sourceRef:\n    kind: GitRepository\n    name: {source}\n  kubeConfig:\n    secretRef:\n      name: {name}-kubeconfig\n  postBuild:\n    substitute:\n      cluster_name: {}\n",
        quoted(name),
        overlay = overlay.display()
    );
    let kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- cluster.yaml\n- workloads.yaml\n".to_string();
    Ok(vec![
        PlannedFile {
            path: folder.join("kustomization.yaml"),
            text: kustomization,
        },
        PlannedFile {
            path: folder.join("cluster.yaml"),
            text: cluster,
        },
        PlannedFile {
            path: folder.join("workloads.yaml"),
            text: workloads,
        },
    ])
}

/// Plans and writes the folder: into a temporary sibling first, then
/// renamed into place, so a failure leaves nothing behind.
pub fn scaffold(root: &Path, new: &NewCluster) -> Result<Vec<PlannedFile>, ScaffoldError> {
    let files = plan(root, new)?;
    let folder = root
        .join(new.clusters_dir.trim_start_matches("./"))
        .join(&new.name);
    let staging = folder.with_file_name(format!(".{}.fleet-new", new.name));
    let _ = std::fs::remove_dir_all(&staging);
    let result = (|| {
        std::fs::create_dir_all(&staging).map_err(io(&staging))?;
        for f in &files {
            let name = f.path.file_name().map(PathBuf::from).unwrap_or_default();
            let path = staging.join(name);
            std::fs::write(&path, &f.text).map_err(io(&path))?;
        }
        std::fs::rename(&staging, &folder).map_err(io(&folder))
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    Ok(files)
}
