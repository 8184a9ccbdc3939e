//! Builds a Flux `Kustomization` (`kustomize.toolkit.fluxcd.io/v1`) the way
//! kustomize-controller and `flux build kustomization` do:
//!
//! 1. when `spec.path` has no kustomization file, one is generated over the
//!    manifests below it (every `.yaml`/`.yml` file, and each subdirectory
//!    that has its own kustomization file, in walk order);
//! 2. `targetNamespace`, `namePrefix`, `nameSuffix`, `patches`,
//!    `components` (with `ignoreMissingComponents`) and `images` are written
//!    into that kustomization, as fluxcd/pkg's generator does;
//! 3. the result is built with load restrictions off; with
//!    `spec.decryption`, SOPS-encrypted files read as their plaintext
//!    ([`decrypt`]);
//! 4. Secret `data` entries holding SOPS files are decrypted, and an
//!    encrypted Secret left over (no `spec.decryption`) fails the build;
//! 5. each object is post-build substituted ([`crate::postbuild`]);
//! 6. owner labels (`kustomize.toolkit.fluxcd.io/name`, `/namespace`) and
//!    `commonMetadata` are set on every object.
//!
//! The generated kustomization is served from memory over the caller's
//! tree ([`FluxOverlayFs`]); nothing is written to disk, so concurrent
//! builds of one checkout cannot disturb each other (Flux takes a global
//! lock and rewrites the file in place).
//!
//! ```
//! use fleet_kustomize::flux::{build_kustomization, FluxBuildOptions};
//! use fleet_kustomize::fs::MemFs;
//! use fleet_model::Manifest;
//! use fleet_model::flux::kustomization::Kustomization;
//! let mut fs = MemFs::default();
//! fs.add("/repo/apps/web.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  env: ${env:=dev}\n");
//! let ks = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  targetNamespace: prod\n  sourceRef:\n    kind: GitRepository\n    name: repo\n  postBuild:\n    substitute:\n      env: prod\n";
//! let ks: Kustomization = Manifest::read_all(ks, "ks.yaml").unwrap()[0].to_typed().unwrap();
//! let out = build_kustomization(&fs, "/repo", &ks, &FluxBuildOptions::default()).unwrap();
//! assert!(out.to_yaml().contains("  env: prod\n"));
//! assert!(out.to_yaml().contains("  namespace: prod\n"));
//! assert!(out.to_yaml().contains("kustomize.toolkit.fluxcd.io/name: apps\n"));
//! ```

pub mod decrypt;
mod generated;
pub mod local;
mod metadata;
mod overlay_fs;
mod repo;
mod repo_objects;
mod secret_mask;
mod substitute_sources;
mod tree;

pub use generated::{flux_kustomization_file, is_excluded_from_artifacts, is_local_relative_path};
pub use overlay_fs::FluxOverlayFs;
pub use repo_objects::{
    RepoObject, SecretDataError, decrypt_repo_objects, objects_in_file, secret_entries, source_root,
};
pub use secret_mask::{SECRET_MASK, mask_secret};
pub use substitute_sources::{SourceError, SubstituteSources, substitute_sources};

pub use repo::{RenderFailure, RenderedKustomization, RepoRender, render_repo, render_repo_with};
pub use tree::{
    BuildOne, MAX_DEPTH, MAX_KUSTOMIZATIONS, Skipped, Tree, TreeNode, build_tree, build_tree_with,
    is_flux_kustomization,
};

use crate::build::{BuildOptions, LoadRestrictor, build};
use crate::fs::{self, FileSystem};
use crate::postbuild::{PostBuildError, Substitution, Variables};
use crate::resource::describe_object;
use crate::{Error, ResourceSet};
use fleet_model::Value;
use fleet_model::flux::kustomization::{Kustomization, SubstituteReference};
use indexmap::IndexMap;
use substitute_sources::kind_name;

/// The label naming the Kustomization that owns an object.
pub const OWNER_NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
/// The label naming that Kustomization's namespace.
pub const OWNER_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";

/// Why a Flux Kustomization could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FluxBuildError {
    /// Kustomizations rendering Kustomizations nest deeper than
    /// [`MAX_DEPTH`] (each level rendering a new one, for ever).
    #[error(
        "Kustomizations nest more than {} levels deep: {}; each renders the next, so the chain would not end",
        tree::MAX_DEPTH,
        .0.join(" > ")
    )]
    TooDeep(Vec<String>),
    /// One build renders more than [`MAX_KUSTOMIZATIONS`] Kustomizations.
    #[error(
        "more than {max} Kustomizations rendered from Kustomization {root}; stopping",
        max = tree::MAX_KUSTOMIZATIONS
    )]
    TooMany {
        /// `namespace/name` of the Kustomization the tree started from.
        root: String,
    },
    /// `spec.path` is not a directory of the source.
    #[error(
        "Kustomization {ks}: spec.path '{path}' is not a directory in the source; fix spec.path"
    )]
    MissingPath {
        /// `namespace/name` of the Kustomization.
        ks: String,
        /// The path.
        path: String,
    },
    /// A manifest the generator cannot read as Kubernetes YAML.
    #[error("failed to decode Kubernetes YAML from {file}: {message}")]
    BadManifest {
        /// The file.
        file: String,
        /// What the reader said.
        message: String,
    },
    /// A component path that is remote or absolute.
    #[error("component path '{0}' must be local and relative; vendor it into the repository")]
    RemoteComponent(String),
    /// The kustomize build failed.
    #[error("kustomize build failed: {0}")]
    Build(Error),
    /// Post-build substitution failed.
    #[error(transparent)]
    PostBuild(#[from] PostBuildError),
    /// SOPS decryption failed.
    #[error(transparent)]
    Decrypt(#[from] decrypt::DecryptError),
    /// An encrypted Secret in a Kustomization without `spec.decryption`.
    #[error(
        "{object} is SOPS encrypted, configuring decryption (spec.decryption) is required for this secret to be reconciled"
    )]
    Encrypted {
        /// The object.
        object: String,
    },
}

impl From<Error> for FluxBuildError {
    fn from(e: Error) -> Self {
        FluxBuildError::Build(e)
    }
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct FluxBuildOptions {
    /// Unset variables without a default fail the build (Flux's
    /// `StrictPostBuildSubstitutions` gate; on by default in the controller).
    pub strict_substitution: bool,
    /// The data of the ConfigMaps and Secrets `postBuild.substituteFrom`
    /// names, by (kind, name); Secret values already decoded.
    pub substitute_sources: IndexMap<(String, String), IndexMap<String, String>>,
    /// The keys of the Secret `spec.decryption.secretRef` names (see
    /// [`crate::sops::KeyRing::from_secret_data`]); `None` when it was not
    /// found, which fails the build only if an encrypted file is met.
    pub decryption_keys: Option<std::sync::Arc<crate::sops::KeyRing>>,
    /// Build without decrypting, as a preview that masks Secret values
    /// does (`flux build` without keys): SOPS-encrypted files and Secrets
    /// pass through as they are, `decryption_keys` unused.
    pub keep_encrypted: bool,
}

/// `namespace/name` of a Kustomization, as errors and trees name it.
pub(crate) fn kustomization_id(ks: &Kustomization) -> String {
    format!(
        "{}/{}",
        ks.metadata.namespace.as_deref().unwrap_or(""),
        ks.metadata.name.as_deref().unwrap_or("")
    )
}

/// Builds a Flux Kustomization whose source tree is rooted at `root`.
pub fn build_kustomization(
    fs: &dyn FileSystem,
    root: &str,
    ks: &Kustomization,
    opts: &FluxBuildOptions,
) -> Result<ResourceSet, FluxBuildError> {
    let dir = fs::join(root, ks.spec.path());
    if !fs.is_dir(&dir) {
        // Named as written in the Kustomization, not as joined here.
        return Err(FluxBuildError::MissingPath {
            ks: kustomization_id(ks),
            path: ks.spec.path().to_string(),
        });
    }
    build_kustomization_dir(fs, &dir, ks, opts)
}

/// Like [`build_kustomization`], with the directory to build given directly
/// (as `flux build kustomization --path DIR` does).
pub fn build_kustomization_dir(
    fs: &dyn FileSystem,
    dir: &str,
    ks: &Kustomization,
    opts: &FluxBuildOptions,
) -> Result<ResourceSet, FluxBuildError> {
    let dir = fs::join("/", dir);
    if !fs.is_dir(&dir) {
        return Err(FluxBuildError::MissingPath {
            ks: kustomization_id(ks),
            path: dir,
        });
    }
    let (file, text) = flux_kustomization_file(fs, &dir, ks)?;
    let overlay = FluxOverlayFs::new(fs, &file, text);
    let build_opts = BuildOptions {
        load_restrictor: LoadRestrictor::None,
    };
    let keys = opts.decryption_keys.as_deref();
    let mut set = match &ks.spec.decryption {
        _ if opts.keep_encrypted => build(&overlay, &dir, &build_opts)?,
        Some(decryption) => {
            let secret = decryption.secret_ref.as_ref().map(|r| {
                format!(
                    "{}/{}",
                    ks.metadata.namespace.as_deref().unwrap_or(""),
                    r.name
                )
            });
            let decrypting = decrypt::DecryptingFs::new(&overlay, keys, secret);
            let built = build(&decrypting, &dir, &build_opts);
            if let Some(e) = decrypting.take_error() {
                return Err(e.into());
            }
            let mut set = built?;
            for obj in &mut set.resources {
                decrypt::decrypt_secret_data(obj, keys)?;
            }
            set
        }
        None => build(&overlay, &dir, &build_opts)?,
    };
    if let Some(obj) = set.resources.iter().find(|r| {
        !opts.keep_encrypted
            && r.get("kind").and_then(Value::as_str) == Some("Secret")
            && crate::sops::is_encrypted(r)
            && !decrypt::is_decryption_disabled(r)
    }) {
        return Err(FluxBuildError::Encrypted {
            object: describe_object(obj),
        });
    }
    if let Some(post_build) = &ks.spec.post_build {
        let resolve = |r: &SubstituteReference| {
            opts.substitute_sources
                .get(&(kind_name(r).to_string(), r.name.clone()))
                .cloned()
        };
        let vars = Variables::merge(post_build, resolve)?;
        Substitution::new(post_build, vars, opts.strict_substitution)
            .apply_all(&mut set.resources)?;
    }
    for obj in &mut set.resources {
        metadata::stamp(obj, ks);
    }
    Ok(set)
}
