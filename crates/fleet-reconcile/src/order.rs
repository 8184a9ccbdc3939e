//! The order kustomize-controller applies objects in: the stages of a
//! staged server-side apply, and Flux's kind order within a stage
//! (fluxcd/pkg `ssa/sort.go` `ReconcileOrder`).

use fleet_model::ObjectId;
use std::cmp::Ordering;

/// Kinds applied first, in this order (`ReconcileOrder.First`).
const FIRST: &[&str] = &[
    "CustomResourceDefinition",
    "Namespace",
    "ClusterClass",
    "RuntimeClass",
    "PriorityClass",
    "StorageClass",
    "VolumeSnapshotClass",
    "IngressClass",
    "GatewayClass",
    "ResourceQuota",
    "ServiceAccount",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "LimitRange",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds applied last (`ReconcileOrder.Last`): webhooks, so that they do not
/// intercept the objects of the same apply.
const LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Which stage of a staged apply an object belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// CRDs, Namespaces and ClusterRoles: what the rest needs to exist. The
    /// apply waits for the CRDs to be Established before the next stage.
    Definitions,
    /// Every kind whose name ends in `Class` (StorageClass, IngressClass,
    /// GatewayClass, ClusterClass…).
    Classes,
    /// Everything else.
    Rest,
}

impl Stage {
    /// The stage of an object of `group`/`kind`.
    ///
    /// ```
    /// use fleet_reconcile::order::Stage;
    /// assert_eq!(Stage::of("apiextensions.k8s.io", "CustomResourceDefinition"), Stage::Definitions);
    /// assert_eq!(Stage::of("networking.k8s.io", "IngressClass"), Stage::Classes);
    /// assert_eq!(Stage::of("apps", "Deployment"), Stage::Rest);
    /// ```
    pub fn of(group: &str, kind: &str) -> Stage {
        let definition = (group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition")
            || (group.is_empty() && kind == "Namespace")
            || (group == "rbac.authorization.k8s.io" && kind == "ClusterRole");
        if definition {
            Stage::Definitions
        } else if kind.ends_with("Class") {
            Stage::Classes
        } else {
            Stage::Rest
        }
    }

    /// The stage's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Definitions => "CRDs, Namespaces and ClusterRoles",
            Stage::Classes => "classes",
            Stage::Rest => "the other objects",
        }
    }
}

/// The kind's rank: `FIRST` kinds below zero in their order, unknown kinds
/// zero, `LAST` kinds above.
fn kind_rank(kind: &str) -> i64 {
    if let Some(i) = FIRST.iter().position(|k| *k == kind) {
        return i as i64 - FIRST.len() as i64;
    }
    if let Some(i) = LAST.iter().position(|k| *k == kind) {
        return 1 + i as i64;
    }
    0
}

/// Flux's apply order: by kind rank, then group, then kind, then namespace,
/// then name.
pub fn compare(a: &ObjectId, b: &ObjectId) -> Ordering {
    kind_rank(&a.kind)
        .cmp(&kind_rank(&b.kind))
        .then_with(|| a.group.cmp(&b.group))
        .then_with(|| a.kind.cmp(&b.kind))
        .then_with(|| a.namespace.cmp(&b.namespace))
        .then_with(|| a.name.cmp(&b.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(api_version: &str, kind: &str, ns: Option<&str>, name: &str) -> ObjectId {
        ObjectId::new(api_version, kind, ns, name)
    }

    #[test]
    fn objects_sort_in_flux_reconcile_order() {
        let mut ids = vec![
            id(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                None,
                "v",
            ),
            id("example.com/v1", "Widget", Some("a"), "w"),
            id("apps/v1", "Deployment", Some("b"), "web"),
            id("apps/v1", "Deployment", Some("a"), "web"),
            id("v1", "Service", Some("a"), "web"),
            id("v1", "Namespace", None, "a"),
            id(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                None,
                "widgets.example.com",
            ),
            id("v1", "ConfigMap", Some("a"), "c"),
            id("batch/v1", "Job", Some("a"), "j"),
        ];
        ids.sort_by(compare);
        let order: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            order,
            [
                "CustomResourceDefinition/widgets.example.com",
                "Namespace/a",
                "ConfigMap/a/c",
                "Service/a/web",
                "Deployment/a/web",
                "Deployment/b/web",
                "Job/a/j",
                "Widget/a/w",
                "ValidatingWebhookConfiguration/v",
            ]
        );
    }

    #[test]
    fn stages_put_definitions_then_classes_then_the_rest() {
        assert_eq!(Stage::of("", "Namespace"), Stage::Definitions);
        assert_eq!(
            Stage::of("rbac.authorization.k8s.io", "ClusterRole"),
            Stage::Definitions
        );
        assert_eq!(Stage::of("rbac.authorization.k8s.io", "Role"), Stage::Rest);
        assert_eq!(Stage::of("storage.k8s.io", "StorageClass"), Stage::Classes);
        assert_eq!(
            Stage::of("cluster.x-k8s.io", "ClusterClass"),
            Stage::Classes
        );
        assert_eq!(Stage::of("example.com", "Namespace"), Stage::Rest);
        assert!(Stage::Definitions < Stage::Classes && Stage::Classes < Stage::Rest);
    }
}
