//! # fleet-kustomize
//!
//! The overlay engine: builds a kustomization directory as kustomize v5.5
//! does (resources, components, patches, generators with hash suffixes,
//! name references, vars…) and emits kustomize's bytes. Flux's post-build
//! steps (SOPS decryption, `${VAR}` substitution) build on it. It reads
//! through a small filesystem trait ([`fs::FileSystem`]) so the reconciler
//! can build straight from a fetched Git tree. No network, no async.
//!
//! Depends on `fleet-model` for the YAML reader and writer and the value model.
//!
//! ```
//! use fleet_kustomize::{build, fs::MemFs, BuildOptions};
//! let mut fs = MemFs::default();
//! fs.add("/base/kustomization.yaml", "resources: [deploy.yaml]\n");
//! fs.add("/base/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n");
//! fs.add("/prod/kustomization.yaml", "resources: [../base]\nnamespace: prod\nreplicas:\n- name: web\n  count: 3\n");
//! let set = build(&fs, "/prod", &BuildOptions::default()).unwrap();
//! assert_eq!(set.to_yaml(), "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  replicas: 3\n");
//! ```

mod build;
mod casefold;
/// `${VAR}` substitution, kept in `fleet-model` so that crates rendering
/// templates need not build the overlay engine.
pub use fleet_model::envsubst;
pub mod error;
pub mod fieldspec;
pub mod flux;
pub mod fs;
pub mod kustfile;
pub mod labels;
pub mod output;
pub mod postbuild;
pub mod resource;
pub mod sops;
pub mod transform;

pub use build::{BuildOptions, LoadRestrictor, build};
pub use error::{Error, Result};

use fleet_model::Value;

/// The output of a build: resources in output order.
#[derive(Debug, Clone, Default)]
pub struct ResourceSet {
    /// The resources.
    pub resources: Vec<Value>,
}

impl ResourceSet {
    /// The resources as YAML documents, byte for byte as `kubectl kustomize` prints them.
    pub fn to_yaml(&self) -> String {
        output::to_yaml(&self.resources)
    }

    /// The resources as JSON: one indented object per resource, each on its own lines.
    pub fn to_json(&self) -> std::result::Result<String, fleet_model::value::NonFiniteNumber> {
        let mut out = String::new();
        for r in &self.resources {
            out.push_str(&fleet_model::json::to_string_pretty(r)?);
            out.push('\n');
        }
        Ok(out)
    }
}
