//! # fleet-capi
//!
//! Cluster API for fleets: clusterctl-style template rendering
//! ([`template::Template::render`]), scaffolding new clusters in a fleet
//! repository ([`scaffold`]), MachineHealthCheck evaluation ([`mhc`]),
//! cluster-autoscaler rules ([`autoscaler`], [`lint`]), cluster summaries
//! ([`summary`]), and, behind the default `kube-client` feature, the
//! management cluster's client and workload-cluster access through the
//! `<cluster>-kubeconfig` Secrets Cluster API writes (`management`,
//! `workload`).
//!
//! Depends on `fleet-model` for the Cluster API and Flux types and for
//! envsubst; without `kube-client` it has no HTTP or TLS stack.
//!
//! ```
//! use fleet_capi::template::{Template, Variables};
//! let template = Template::new("kind: Cluster\nmetadata:\n  name: ${CLUSTER_NAME}\nspec:\n  workers: ${WORKER_MACHINE_COUNT:=3}\n").unwrap();
//! assert_eq!(template.required(), vec!["CLUSTER_NAME"]);
//! let mut vars = Variables::default();
//! vars.set("CLUSTER_NAME", "edge-1");
//! assert_eq!(template.render(&vars).unwrap(), "kind: Cluster\nmetadata:\n  name: edge-1\nspec:\n  workers: 3\n");
//! ```
//!
//! A kubeconfig is found in a Secret in the order Flux's
//! kustomize-controller reads it: the key named in
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
