//! CustomResourceDefinitions for the Flux kinds fleet serves.
//!
//! `cargo xtask crds` writes these to `config/crd/`; a test fails when the
//! committed files differ from what the types generate.

use crate::flux::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use crate::flux::kustomization::Kustomization;
use crate::flux::source::GitRepository;
use crate::value::Value;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// The CRDs of every Flux kind fleet models, in a stable order.
pub fn flux_crds() -> Vec<CustomResourceDefinition> {
    vec![
        GitRepository::crd(),
        Kustomization::crd(),
        ImageRepository::crd(),
        ImagePolicy::crd(),
        ImageUpdateAutomation::crd(),
    ]
}

/// Each CRD as `(file name, YAML)`, named as kubebuilder names them:
/// `<group>_<plural>.yaml`.
pub fn flux_crd_files() -> Result<Vec<(String, String)>, serde_json::Error> {
    flux_crds()
        .into_iter()
        .map(|crd| {
            let name = format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural);
            let json = serde_json::to_value(&crd)?;
            Ok((
                name,
                format!("---\n{}", crate::yaml::to_string(&Value::from(json))),
            ))
        })
        .collect()
}
