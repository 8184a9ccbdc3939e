//! Flux objects in Flux's own API groups and schemas.
//!
//! - [`source`]: `source.toolkit.fluxcd.io/v1` GitRepository;
//! - [`kustomization`]: `kustomize.toolkit.fluxcd.io/v1` Kustomization;
//! - [`image`]: `image.toolkit.fluxcd.io/v1` ImageRepository, ImagePolicy,
//!   ImageUpdateAutomation (and a reader for `v1beta2`);
//! - [`meta`]: the reference, artifact and selector types they share.
//!
//! Each kind derives kube's `CustomResource`, so it works with `kube::Api`
//! and its CRD can be generated (`cargo xtask crds`).
//!
//! ```
//! use fleet_model::flux::kustomization::Kustomization;
//! let text = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n";
//! let m = &fleet_model::Manifest::read_all(text, "apps.yaml").unwrap()[0];
//! let ks: Kustomization = m.to_typed().unwrap();
//! assert_eq!(ks.spec.path(), "./apps");
//! assert_eq!(ks.spec.timeout().unwrap().as_secs(), 570);
//! ```

pub mod image;
pub mod kustomization;
pub mod meta;
pub mod source;
