//! # fleet-model
//!
//! The vocabulary every fleet crate shares, with no I/O:
//!
//! - [`ObjectId`]: group, version, kind, namespace and name of a Kubernetes
//!   object, printed as Flux prints it (`Deployment/web/frontend`);
//! - [`Value`] and [`Manifest`]: an order-preserving, lossless model of a
//!   manifest, read from YAML or JSON ([`yaml`], [`json`]) and converted to
//!   and from typed objects with errors that name the field;
//! - [`flux`]: Flux's GitRepository, Kustomization, ImageRepository,
//!   ImagePolicy and ImageUpdateAutomation in Flux's own API groups;
//! - [`capi`]: Cluster API's Cluster, MachineDeployment, MachineSet, Machine,
//!   MachineHealthCheck and KubeadmControlPlane in `v1beta1` and `v1beta2`;
//! - [`condition`]: status conditions with Ready / Reconciling / Stalled helpers;
//! - [`crd`]: the CRDs of the Flux kinds.
//!
//! Depends on `kube` (derive only, no client), `k8s-openapi`, `serde`,
//! `serde_json`, `saphyr-parser` and `jiff`; nothing async.
//!
//! ```
//! use fleet_model::{Manifest, TypedObject};
//! let text = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: fleet\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://git.example.com/fleet.git\n  ref:\n    branch: main\n";
//! let manifests = Manifest::read_all(text, "clusters/prod/source.yaml").unwrap();
//! assert_eq!(manifests[0].id().to_string(), "GitRepository/flux-system/fleet");
//! match TypedObject::from_manifest(&manifests[0]).unwrap() {
//!     Some(TypedObject::GitRepository(repo)) => {
//!         assert_eq!(repo.spec.reference.unwrap().branch.as_deref(), Some("main"))
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```

pub mod capi;
pub mod condition;
pub mod crd;
pub mod duration;
pub mod envsubst;
pub mod flux;
pub mod goquote;
pub mod id;
pub mod json;
pub mod manifest;
pub mod typed;
pub mod value;
mod value_de;
pub mod yaml;

pub use duration::GoDuration;
pub use id::ObjectId;
pub use manifest::{Manifest, ManifestError, Source, TypedError};
pub use typed::TypedObject;
pub use value::{Mapping, Number, Value};
