//! Cluster API objects: `cluster.x-k8s.io` Cluster, MachineDeployment,
//! MachineSet, Machine, MachineHealthCheck and `controlplane.cluster.x-k8s.io`
//! KubeadmControlPlane, in both `v1beta1` and `v1beta2`.
//!
//! Fleet types the fields it reads and keeps every other field in an `extra`
//! map, so an object read and written back loses nothing. [`convert`] moves
//! MachineHealthChecks between the two versions.
//!
//! ```
//! use fleet_model::capi::v1beta1::MachineDeployment;
//! let text = "apiVersion: cluster.x-k8s.io/v1beta1\nkind: MachineDeployment\nmetadata:\n  name: md-0\nspec:\n  clusterName: prod\n  replicas: 3\n  template:\n    spec:\n      clusterName: prod\n      version: v1.31.0\n      bootstrap:\n        configRef: {apiVersion: bootstrap.cluster.x-k8s.io/v1beta1, kind: KubeadmConfigTemplate, name: md-0}\n      infrastructureRef: {apiVersion: infrastructure.cluster.x-k8s.io/v1beta1, kind: DockerMachineTemplate, name: md-0}\n";
//! let md: MachineDeployment = fleet_model::Manifest::read_all(text, "md.yaml").unwrap()[0].to_typed().unwrap();
//! assert_eq!(md.spec.replicas, Some(3));
//! ```

pub mod common;
pub mod convert;
pub mod v1beta1;
pub mod v1beta2;
