//! Output order: kustomize's legacy order by default, or input order with
//! `sortOptions: {order: fifo}`.

use crate::error::{Error, Result};
use crate::kustfile::SortOptions;
use crate::resource::{ResId, ResMap, or_placeholder};
use std::collections::HashMap;

const DEFAULT_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const DEFAULT_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// kustomize's `Gvk.IsLessThan` rank of a kind under the default order:
/// the default first kinds below zero, the last ones above, others zero.
pub(crate) fn default_kind_rank(kind: &str) -> i64 {
    let n = DEFAULT_FIRST.len() as i64;
    if let Some(i) = DEFAULT_FIRST.iter().position(|k| *k == kind) {
        return -n + i as i64;
    }
    DEFAULT_LAST
        .iter()
        .position(|k| *k == kind)
        .map_or(0, |i| 1 + i as i64)
}

fn gvk_sort_string(id: &ResId) -> String {
    format!(
        "{}_{}_{}",
        or_placeholder(&id.group, "~G"),
        or_placeholder(&id.version, "~V"),
        or_placeholder(&id.kind, "~K")
    )
}

fn id_sort_string(id: &ResId) -> String {
    let ns = if id.namespace.is_empty() {
        "~X"
    } else {
        &id.namespace
    };
    let name = if id.name.is_empty() { "~N" } else { &id.name };
    format!("{}|{ns}|{name}", id.gvk_string())
}

/// Sorts the set in place.
pub fn sort(resmap: &mut ResMap, opts: Option<&SortOptions>) -> Result<()> {
    let (first, last): (Vec<String>, Vec<String>) = match opts {
        None => (
            DEFAULT_FIRST.iter().map(|s| s.to_string()).collect(),
            DEFAULT_LAST.iter().map(|s| s.to_string()).collect(),
        ),
        Some(o) => match o.order.as_deref() {
            Some("fifo") => {
                if o.legacy_sort_options.is_some() {
                    return Err(Error::msg(
                        "the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'",
                    ));
                }
                return Ok(());
            }
            Some("legacy") => match &o.legacy_sort_options {
                Some(l) => (l.order_first.clone(), l.order_last.clone()),
                None => (
                    DEFAULT_FIRST.iter().map(|s| s.to_string()).collect(),
                    DEFAULT_LAST.iter().map(|s| s.to_string()).collect(),
                ),
            },
            _ => {
                return Err(Error::msg(
                    "the field 'sortOptions.order' must be one of [fifo, legacy]",
                ));
            }
        },
    };
    let mut rank: HashMap<&str, i64> = HashMap::new();
    let n = first.len() as i64;
    for (i, k) in first.iter().enumerate() {
        rank.insert(k, -n + i as i64);
    }
    for (i, k) in last.iter().enumerate() {
        rank.insert(k, 1 + i as i64);
    }
    let resources = std::mem::take(resmap).into_resources();
    let mut keyed: Vec<(i64, String, String, crate::resource::Resource)> = resources
        .into_iter()
        .map(|r| {
            let id = r.id();
            (
                rank.get(id.kind.as_str()).copied().unwrap_or(0),
                gvk_sort_string(&id),
                id_sort_string(&id),
                r,
            )
        })
        .collect();
    keyed.sort_by(|a, b| {
        if a.1 != b.1 {
            (a.0, &a.1).cmp(&(b.0, &b.1))
        } else {
            a.2.cmp(&b.2)
        }
    });
    resmap.set_all(keyed.into_iter().map(|k| k.3).collect());
    Ok(())
}
