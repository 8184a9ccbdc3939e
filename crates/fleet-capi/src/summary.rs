//! A cluster's state at a glance, from the conditions and status Cluster
//! API writes on the Cluster, its control plane, MachineDeployments and
//! Machines (v1beta1 and v1beta2 fields both read).
//!
//! ```
//! use fleet_capi::summary::summarize;
//! let cluster = fleet_model::yaml::parse_one(
//!     "kind: Cluster\nmetadata: {name: edge-1}\nstatus:\n  phase: Provisioned\n  infrastructureReady: true\n  conditions:\n  - {type: ControlPlaneReady, status: \"False\", reason: WaitingForKubeadmInit, message: control plane not yet initialized}\n",
//! ).unwrap();
//! let s = summarize(&cluster, None, &[], &[]);
//! assert_eq!(s.phase, "Provisioned");
//! assert!(s.infrastructure_ready && !s.control_plane_ready);
//! assert_eq!(s.blocking, ["Cluster edge-1: ControlPlaneReady is False (WaitingForKubeadmInit): control plane not yet initialized"]);
//! ```

use fleet_model::Value;

/// What a cluster looks like now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSummary {
    /// The cluster's namespace.
    pub namespace: String,
    /// The cluster's name.
    pub name: String,
    /// `status.phase` (`Pending` when not reported yet).
    pub phase: String,
    /// The control plane is ready (available).
    pub control_plane_ready: bool,
    /// The infrastructure is ready (provisioned).
    pub infrastructure_ready: bool,
    /// Machines whose `Ready` condition is True.
    pub machines_ready: u64,
    /// Machines wanted: control plane and MachineDeployment replicas.
    pub machines_desired: u64,
    /// What holds the cluster back: each False condition, with reason and message.
    pub blocking: Vec<String>,
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    v.pointer(path).and_then(Value::as_str)
}

fn conditions(v: &Value) -> &[Value] {
    v.pointer(&["status", "conditions"])
        .and_then(Value::as_sequence)
        .unwrap_or(&[])
}

fn condition_true(v: &Value, types: &[&str]) -> bool {
    conditions(v).iter().any(|c| {
        types.contains(&c.get("type").and_then(Value::as_str).unwrap_or_default())
            && c.get("status").and_then(Value::as_str) == Some("True")
    })
}

fn flag(v: &Value, paths: &[&[&str]]) -> bool {
    paths
        .iter()
        .any(|p| matches!(v.pointer(p), Some(Value::Bool(true))))
}

/// Conditions that are False, described; `Ready`-style roll-ups that only
/// repeat another condition are kept, since they carry the message users see.
fn blocking(kind: &str, v: &Value, out: &mut Vec<String>) {
    let name = text(v, &["metadata", "name"]).unwrap_or("?");
    for c in conditions(v) {
        if c.get("status").and_then(Value::as_str) != Some("False") {
            continue;
        }
        let type_ = c.get("type").and_then(Value::as_str).unwrap_or("?");
        let reason = c.get("reason").and_then(Value::as_str).unwrap_or_default();
        let message = c.get("message").and_then(Value::as_str).unwrap_or_default();
        let mut line = format!("{kind} {name}: {type_} is False");
        if !reason.is_empty() {
            line.push_str(&format!(" ({reason})"));
        }
        if !message.is_empty() {
            line.push_str(&format!(": {message}"));
        }
        out.push(line);
    }
}

fn replicas(v: &Value) -> u64 {
    v.pointer(&["spec", "replicas"])
        .or_else(|| v.pointer(&["status", "replicas"]))
        .and_then(Value::as_i64)
        .map_or(0, |n| n.max(0) as u64)
}

/// Summarizes a cluster from its objects (as read from the management cluster).
pub fn summarize(
    cluster: &Value,
    control_plane: Option<&Value>,
    machine_deployments: &[&Value],
    machines: &[&Value],
) -> ClusterSummary {
    let mut blocked = Vec::new();
    blocking("Cluster", cluster, &mut blocked);
    if let Some(cp) = control_plane {
        blocking(
            cp.get("kind")
                .and_then(Value::as_str)
                .unwrap_or("ControlPlane"),
            cp,
            &mut blocked,
        );
    }
    for &md in machine_deployments {
        blocking("MachineDeployment", md, &mut blocked);
    }
    let mut ready = 0;
    for &m in machines {
        if condition_true(m, &["Ready"]) {
            ready += 1;
        } else {
            blocking("Machine", m, &mut blocked);
        }
    }
    let control_plane_ready =
        flag(
            cluster,
            &[
                &["status", "controlPlaneReady"],
                &["status", "initialization", "controlPlaneInitialized"],
            ],
        ) && !conditions(cluster).iter().any(|c| {
            matches!(
                c.get("type").and_then(Value::as_str),
                Some("ControlPlaneReady" | "ControlPlaneAvailable")
            ) && c.get("status").and_then(Value::as_str) == Some("False")
        }) || condition_true(cluster, &["ControlPlaneReady", "ControlPlaneAvailable"]);
    let infrastructure_ready = flag(
        cluster,
        &[
            &["status", "infrastructureReady"],
            &["status", "initialization", "infrastructureProvisioned"],
        ],
    ) || condition_true(cluster, &["InfrastructureReady"]);
    let desired = control_plane.map_or(0, replicas)
        + machine_deployments
            .iter()
            .map(|md| replicas(md))
            .sum::<u64>();
    ClusterSummary {
        namespace: text(cluster, &["metadata", "namespace"])
            .unwrap_or_default()
            .to_string(),
        name: text(cluster, &["metadata", "name"])
            .unwrap_or_default()
            .to_string(),
        phase: text(cluster, &["status", "phase"])
            .unwrap_or("Pending")
            .to_string(),
        control_plane_ready,
        infrastructure_ready,
        machines_ready: ready,
        machines_desired: desired,
        blocking: blocked,
    }
}

/// The Cluster API group of Cluster, MachineDeployment and Machine.
const CAPI_GROUP: &str = "cluster.x-k8s.io";

fn group_of(v: &Value) -> &str {
    let api_version = v
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    fleet_model::id::split_api_version(api_version).0
}

fn is_capi(v: &Value, kind: &str) -> bool {
    v.get("kind").and_then(Value::as_str) == Some(kind) && group_of(v) == CAPI_GROUP
}

/// The cluster an object belongs to: `spec.clusterName`, else the
/// `cluster.x-k8s.io/cluster-name` label (both set by Cluster API).
fn owning_cluster(v: &Value) -> Option<&str> {
    text(v, &["spec", "clusterName"]).or_else(|| {
        v.pointer(&["metadata", "labels"])
            .and_then(|l| l.get("cluster.x-k8s.io/cluster-name"))
            .and_then(Value::as_str)
    })
}

fn namespace_of(v: &Value) -> &str {
    text(v, &["metadata", "namespace"]).unwrap_or_default()
}

/// Summarizes every Cluster among `objects` (as `kubectl get -o yaml`
/// lists them, in any order), pairing each with its control plane (by
/// `spec.controlPlaneRef` kind and name), MachineDeployments and Machines
/// (by `spec.clusterName` or the `cluster.x-k8s.io/cluster-name` label),
/// all in the cluster's namespace. Clusters come out sorted by namespace
/// and name.
///
/// ```
/// use fleet_capi::summary::summarize_objects;
/// let objects = fleet_model::yaml::parse_documents(
///     "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata: {name: edge-1, namespace: fleet}\nstatus: {phase: Provisioned}\n---\napiVersion: cluster.x-k8s.io/v1beta1\nkind: MachineDeployment\nmetadata: {name: edge-1-md-0, namespace: fleet}\nspec: {clusterName: edge-1, replicas: 2}\n",
/// ).unwrap().into_iter().map(|d| d.value).collect::<Vec<_>>();
/// let summaries = summarize_objects(&objects);
/// assert_eq!(summaries.len(), 1);
/// assert_eq!((summaries[0].name.as_str(), summaries[0].machines_desired), ("edge-1", 2));
/// ```
pub fn summarize_objects(objects: &[Value]) -> Vec<ClusterSummary> {
    let mut clusters: Vec<&Value> = objects.iter().filter(|v| is_capi(v, "Cluster")).collect();
    clusters.sort_by_key(|c| (namespace_of(c), text(c, &["metadata", "name"])));
    clusters
        .into_iter()
        .map(|cluster| {
            let namespace = namespace_of(cluster);
            let name = text(cluster, &["metadata", "name"]).unwrap_or_default();
            let belongs =
                |v: &&Value| namespace_of(v) == namespace && owning_cluster(v) == Some(name);
            let control_plane = cluster
                .pointer(&["spec", "controlPlaneRef"])
                .and_then(|r| Some((text(r, &["kind"])?, text(r, &["name"])?)))
                .and_then(|(kind, cp_name)| {
                    objects.iter().find(|v| {
                        v.get("kind").and_then(Value::as_str) == Some(kind)
                            && text(v, &["metadata", "name"]) == Some(cp_name)
                            && namespace_of(v) == namespace
                    })
                });
            let deployments: Vec<&Value> = objects
                .iter()
                .filter(|v| is_capi(v, "MachineDeployment"))
                .filter(belongs)
                .collect();
            let machines: Vec<&Value> = objects
                .iter()
                .filter(|v| is_capi(v, "Machine"))
                .filter(belongs)
                .collect();
            summarize(cluster, control_plane, &deployments, &machines)
        })
        .collect()
}

/// The objects in a YAML or JSON text, `kind: List` documents (as
/// `kubectl get -o yaml` writes them) unpacked into their items.
///
/// ```
/// let text = "apiVersion: v1\nkind: List\nitems:\n- kind: Cluster\n  metadata: {name: a}\n- kind: Machine\n  metadata: {name: b}\n";
/// let objects = fleet_capi::summary::objects_in_text(text).unwrap();
/// assert_eq!(objects.len(), 2);
/// ```
pub fn objects_in_text(text: &str) -> Result<Vec<Value>, fleet_model::yaml::YamlError> {
    let mut objects = Vec::new();
    for document in fleet_model::yaml::parse_documents(text)? {
        let value = document.value;
        let is_list = value
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k == "List" || k.ends_with("List"));
        match value.get("items").and_then(Value::as_sequence) {
            Some(items) if is_list => objects.extend(items.iter().cloned()),
            _ => objects.push(value),
        }
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Value {
        fleet_model::yaml::parse_one(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_provisioning_cluster_names_what_it_waits_for() {
        let cluster = yaml(
            "kind: Cluster\nmetadata: {name: c}\nstatus:\n  phase: Provisioned\n  initialization: {infrastructureProvisioned: true, controlPlaneInitialized: true}\n  conditions:\n  - {type: ControlPlaneAvailable, status: \"True\"}\n",
        );
        let cp = yaml("kind: KubeadmControlPlane\nmetadata: {name: c-cp}\nspec: {replicas: 3}\n");
        let md = yaml("kind: MachineDeployment\nmetadata: {name: c-md}\nstatus: {replicas: 2}\n");
        let machines = [
            yaml(
                "kind: Machine\nmetadata: {name: m1}\nstatus:\n  conditions:\n  - {type: Ready, status: \"True\"}\n",
            ),
            yaml(
                "kind: Machine\nmetadata: {name: m2}\nstatus:\n  conditions:\n  - {type: Ready, status: \"False\", reason: NodeStartup, message: waiting for node}\n",
            ),
        ];
        let s = summarize(&cluster, Some(&cp), &[&md], &[&machines[0], &machines[1]]);
        assert!(s.control_plane_ready && s.infrastructure_ready);
        assert_eq!((s.machines_ready, s.machines_desired), (1, 5));
        assert_eq!(
            s.blocking,
            ["Machine m2: Ready is False (NodeStartup): waiting for node"]
        );
    }

    #[test]
    fn objects_are_grouped_by_cluster_and_namespace() {
        let docs = fleet_model::yaml::parse_documents(concat!(
            "apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster\nmetadata: {name: edge, namespace: b}\n",
            "spec:\n  controlPlaneRef: {apiGroup: controlplane.cluster.x-k8s.io, kind: KubeadmControlPlane, name: edge-cp}\n",
            "---\napiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata: {name: edge, namespace: a}\n",
            "spec:\n  controlPlaneRef: {apiVersion: controlplane.cluster.x-k8s.io/v1beta1, kind: KubeadmControlPlane, name: edge-cp}\n",
            "---\napiVersion: controlplane.cluster.x-k8s.io/v1beta1\nkind: KubeadmControlPlane\nmetadata: {name: edge-cp, namespace: a}\nspec: {replicas: 3}\n",
            "---\napiVersion: controlplane.cluster.x-k8s.io/v1beta2\nkind: KubeadmControlPlane\nmetadata: {name: edge-cp, namespace: b}\nspec: {replicas: 1}\n",
            "---\napiVersion: cluster.x-k8s.io/v1beta1\nkind: MachineDeployment\nmetadata: {name: md, namespace: a}\nspec: {clusterName: edge, replicas: 4}\n",
            "---\napiVersion: cluster.x-k8s.io/v1beta1\nkind: MachineDeployment\n",
            "metadata:\n  name: md\n  namespace: b\n  labels: {cluster.x-k8s.io/cluster-name: edge}\nspec: {replicas: 2}\n",
            "---\napiVersion: cluster.x-k8s.io/v1beta1\nkind: MachineDeployment\nmetadata: {name: other, namespace: b}\nspec: {clusterName: other, replicas: 9}\n",
            "---\napiVersion: example.com/v1\nkind: MachineDeployment\nmetadata: {name: lookalike, namespace: b}\nspec: {clusterName: edge, replicas: 50}\n",
            "---\napiVersion: cluster.x-k8s.io/v1beta1\nkind: Machine\nmetadata: {name: m, namespace: b}\nspec: {clusterName: edge}\n",
            "status:\n  conditions:\n  - {type: Ready, status: \"True\"}\n",
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let objects: Vec<Value> = docs.into_iter().map(|d| d.value).collect();
        let found: Vec<_> = summarize_objects(&objects)
            .into_iter()
            .map(|s| (s.namespace, s.name, s.machines_ready, s.machines_desired))
            .collect();
        assert_eq!(
            found,
            [
                ("a".to_string(), "edge".to_string(), 0, 3 + 4),
                ("b".to_string(), "edge".to_string(), 1, 1 + 2),
            ]
        );
    }
}
