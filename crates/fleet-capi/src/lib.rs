//! # fleet-capi
//!
//! Cluster API for fleets: clusterctl-style template rendering, scaffolding
//! new clusters in a fleet repository, MachineHealthCheck evaluation,
//! cluster-autoscaler rules, workload-cluster access through the
//! `<cluster>-kubeconfig` Secrets Cluster API writes, and cluster summaries.
//!
//! Depends on `fleet-model` for the Cluster API and Flux types.
//!
//! The first piece is how a kubeconfig is found in a Secret, in the order
//! Flux's kustomize-controller reads it: the key named in
//! `spec.kubeConfig.secretRef.key`, then `value`, then `value.yaml`.
//!
//! ```
//! use fleet_capi::kubeconfig::{kubeconfig_key, KeyChoice};
//! let keys = ["value"];
//! assert_eq!(kubeconfig_key(None, keys.iter().copied()), Ok(KeyChoice::Key("value")));
//! assert!(kubeconfig_key(Some("admin.conf"), keys.iter().copied()).is_err());
//! ```

pub mod autoscaler;
pub mod client_cache;
pub mod kubeconfig;
pub mod lint;
#[cfg(feature = "kube-client")]
pub mod management;
pub mod mhc;
pub mod scaffold;
pub mod summary;
pub mod template;
#[cfg(feature = "kube-client")]
pub mod workload;
