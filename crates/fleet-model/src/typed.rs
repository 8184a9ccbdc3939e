//! Reading a manifest as the typed object its apiVersion and kind name.

use crate::capi::{v1beta1, v1beta2};
use crate::flux::image::{self, ImagePolicy, ImageRepository, ImageUpdateAutomation};
use crate::flux::kustomization::Kustomization;
use crate::flux::source::GitRepository;
use crate::manifest::{FromTypedError, Manifest, TypedError};

/// A Flux or Cluster API object fleet understands.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum TypedObject {
    /// `source.toolkit.fluxcd.io/v1` GitRepository.
    GitRepository(GitRepository),
    /// `kustomize.toolkit.fluxcd.io/v1` Kustomization.
    Kustomization(Kustomization),
    /// `image.toolkit.fluxcd.io/v1` (or `v1beta2`) ImageRepository.
    ImageRepository(ImageRepository),
    /// `image.toolkit.fluxcd.io/v1` (or `v1beta2`) ImagePolicy.
    ImagePolicy(ImagePolicy),
    /// `image.toolkit.fluxcd.io/v1` (or `v1beta2`) ImageUpdateAutomation.
    ImageUpdateAutomation(ImageUpdateAutomation),
    /// `cluster.x-k8s.io/v1beta1` Cluster.
    ClusterV1beta1(v1beta1::Cluster),
    /// `cluster.x-k8s.io/v1beta2` Cluster.
    ClusterV1beta2(v1beta2::Cluster),
    /// `cluster.x-k8s.io/v1beta1` MachineDeployment.
    MachineDeploymentV1beta1(v1beta1::MachineDeployment),
    /// `cluster.x-k8s.io/v1beta2` MachineDeployment.
    MachineDeploymentV1beta2(v1beta2::MachineDeployment),
    /// `cluster.x-k8s.io/v1beta1` MachineSet.
    MachineSetV1beta1(v1beta1::MachineSet),
    /// `cluster.x-k8s.io/v1beta2` MachineSet.
    MachineSetV1beta2(v1beta2::MachineSet),
    /// `cluster.x-k8s.io/v1beta1` Machine.
    MachineV1beta1(v1beta1::Machine),
    /// `cluster.x-k8s.io/v1beta2` Machine.
    MachineV1beta2(v1beta2::Machine),
    /// `cluster.x-k8s.io/v1beta1` MachineHealthCheck.
    MachineHealthCheckV1beta1(v1beta1::MachineHealthCheck),
    /// `cluster.x-k8s.io/v1beta2` MachineHealthCheck.
    MachineHealthCheckV1beta2(v1beta2::MachineHealthCheck),
    /// `controlplane.cluster.x-k8s.io/v1beta1` KubeadmControlPlane.
    KubeadmControlPlaneV1beta1(v1beta1::KubeadmControlPlane),
    /// `controlplane.cluster.x-k8s.io/v1beta2` KubeadmControlPlane.
    KubeadmControlPlaneV1beta2(v1beta2::KubeadmControlPlane),
}

impl TypedObject {
    /// Reads a manifest whose apiVersion and kind fleet models.
    ///
    /// `Ok(None)` means fleet has no type for it (a Deployment, say); an error
    /// means the kind is known but the object does not fit its schema, and
    /// names the field.
    ///
    /// ```
    /// use fleet_model::{Manifest, TypedObject};
    /// let bad = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: repo\nspec:\n  url: https://example.com/repo\n  interval: [1m]\n";
    /// let err = TypedObject::from_manifest(&Manifest::read_all(bad, "repo.yaml").unwrap()[0]).unwrap_err();
    /// assert_eq!(err.path, "spec.interval");
    /// ```
    pub fn from_manifest(manifest: &Manifest) -> Result<Option<TypedObject>, TypedError> {
        let id = manifest.id();
        let object = match (id.group.as_str(), id.version.as_str(), id.kind.as_str()) {
            ("source.toolkit.fluxcd.io", "v1", "GitRepository") => {
                TypedObject::GitRepository(manifest.to_typed()?)
            }
            ("kustomize.toolkit.fluxcd.io", "v1", "Kustomization") => {
                TypedObject::Kustomization(manifest.to_typed()?)
            }
            (image::GROUP, "v1" | "v1beta2", kind) => {
                let upgraded = Manifest::new(
                    image::upgrade_v1beta2(manifest.value()),
                    manifest.source().cloned(),
                )
                .map_err(|e| TypedError {
                    where_: String::new(),
                    id: Box::new(id.clone()),
                    path: ".".into(),
                    message: e.to_string(),
                })?;
                match kind {
                    "ImageRepository" => TypedObject::ImageRepository(upgraded.to_typed()?),
                    "ImagePolicy" => TypedObject::ImagePolicy(upgraded.to_typed()?),
                    "ImageUpdateAutomation" => {
                        TypedObject::ImageUpdateAutomation(upgraded.to_typed()?)
                    }
                    _ => return Ok(None),
                }
            }
            ("cluster.x-k8s.io", "v1beta1", "Cluster") => {
                TypedObject::ClusterV1beta1(manifest.to_typed()?)
            }
            ("cluster.x-k8s.io", "v1beta2", "Cluster") => {
                TypedObject::ClusterV1beta2(manifest.to_typed()?)
            }
            ("cluster.x-k8s.io", "v1beta1", "MachineDeployment") => {
                TypedObject::MachineDeploymentV1beta1(manifest.to_typed()?)
            }
            ("cluster.x-k8s.io", "v1beta2", "MachineDeployment") => {
                TypedObject::MachineDeploymentV1beta2(manifest.to_typed()?)
            }
            ("cluster.x-k8s.io", "v1beta1", "MachineSet") => {
                TypedObject::MachineSetV1beta1(manifest.to_typed()?)
            }
            ("cluster.x-k8s.io", "v1beta2", "MachineSet") => {
                TypedObject::MachineSetV1beta2(manifest.to_typed()?)
            }
            ("cluster.x-k8s.io", "v1beta1", "Machine") => {
                TypedObject::MachineV1beta1(manifest.to_typed()?)
            }
            ("cluster.x-k8s.io", "v1beta2", "Machine") => {
                TypedObject::MachineV1beta2(manifest.to_typed()?)
            }
            ("cluster.x-k8s.io", "v1beta1", "MachineHealthCheck") => {
                TypedObject::MachineHealthCheckV1beta1(manifest.to_typed()?)
            }
            ("cluster.x-k8s.io", "v1beta2", "MachineHealthCheck") => {
                TypedObject::MachineHealthCheckV1beta2(manifest.to_typed()?)
            }
            ("controlplane.cluster.x-k8s.io", "v1beta1", "KubeadmControlPlane") => {
                TypedObject::KubeadmControlPlaneV1beta1(manifest.to_typed()?)
            }
            ("controlplane.cluster.x-k8s.io", "v1beta2", "KubeadmControlPlane") => {
                TypedObject::KubeadmControlPlaneV1beta2(manifest.to_typed()?)
            }
            _ => return Ok(None),
        };
        Ok(Some(object))
    }

    /// Writes the object back as a manifest.
    pub fn to_manifest(&self) -> Result<Manifest, FromTypedError> {
        match self {
            TypedObject::GitRepository(o) => Manifest::from_typed(o),
            TypedObject::Kustomization(o) => Manifest::from_typed(o),
            TypedObject::ImageRepository(o) => Manifest::from_typed(o),
            TypedObject::ImagePolicy(o) => Manifest::from_typed(o),
            TypedObject::ImageUpdateAutomation(o) => Manifest::from_typed(o),
            TypedObject::ClusterV1beta1(o) => Manifest::from_typed(o),
            TypedObject::ClusterV1beta2(o) => Manifest::from_typed(o),
            TypedObject::MachineDeploymentV1beta1(o) => Manifest::from_typed(o),
            TypedObject::MachineDeploymentV1beta2(o) => Manifest::from_typed(o),
            TypedObject::MachineSetV1beta1(o) => Manifest::from_typed(o),
            TypedObject::MachineSetV1beta2(o) => Manifest::from_typed(o),
            TypedObject::MachineV1beta1(o) => Manifest::from_typed(o),
            TypedObject::MachineV1beta2(o) => Manifest::from_typed(o),
            TypedObject::MachineHealthCheckV1beta1(o) => Manifest::from_typed(o),
            TypedObject::MachineHealthCheckV1beta2(o) => Manifest::from_typed(o),
            TypedObject::KubeadmControlPlaneV1beta1(o) => Manifest::from_typed(o),
            TypedObject::KubeadmControlPlaneV1beta2(o) => Manifest::from_typed(o),
        }
    }
}
