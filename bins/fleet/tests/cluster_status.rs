//! `fleet cluster status`: from saved `kubectl get -o yaml` output, and from
//! a management cluster's API (a loopback stand-in serving discovery and
//! lists, since no real API server can be had here).

use fleet_model::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

mod support;
use support::fleet;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cluster-status/objects.yaml")
}

const TABLE: &str = "\
NAMESPACE  CLUSTER  PHASE         CONTROL PLANE  INFRASTRUCTURE  MACHINES
fleet      edge-1   Provisioned   ready          ready           2/3
  blocking: Machine edge-1-md-0-5d8f-fghij: Ready is False (WaitingForNodeRef): the node has not joined yet
fleet      edge-2   Provisioning  not ready      ready           0/3
  blocking: Cluster edge-2: ControlPlaneAvailable is False (NotAvailable): waiting for the first control plane machine
";

#[test]
fn saved_objects_are_summarised_per_cluster() {
    let file = fixture().display().to_string();
    let (code, out, err) = fleet(&["cluster", "status", "--from", &file], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, TABLE);

    let (code, json, err) = fleet(
        &["cluster", "status", "edge-1", "--from", &file, "-o", "json"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(rows.as_array().map(Vec::len), Some(1));
    assert_eq!(rows[0]["name"], "edge-1");
    assert_eq!(rows[0]["controlPlaneReady"], true);
    assert_eq!(
        (&rows[0]["machinesReady"], &rows[0]["machinesDesired"]),
        (&serde_json::json!(2), &serde_json::json!(3))
    );

    let (code, _, err) = fleet(
        &[
            "cluster", "status", "edge-1", "-n", "other", "--from", &file,
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("no Cluster named edge-1 in namespace other"),
        "{err}"
    );
}

/// A loopback HTTP stand-in for the management cluster's API server: the
/// discovery documents and list endpoints `fleet cluster status` reads.
struct FakeApi {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeApi {
    fn start(routes: BTreeMap<String, String>) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let url = format!(
            "http://{}",
            listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
        );
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(match stream.try_clone() {
                    Ok(s) => s,
                    Err(_) => continue,
                });
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                loop {
                    let mut header = String::new();
                    match reader.read_line(&mut header) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if header == "\r\n" => break,
                        Ok(_) => {}
                    }
                }
                let target = line.split_whitespace().nth(1).unwrap_or_default();
                let path = target.split('?').next().unwrap_or_default().to_string();
                if let Ok(mut seen) = seen.lock() {
                    seen.push(path.clone());
                }
                let (status, body) = match routes.get(&path) {
                    Some(body) => ("200 OK", body.clone()),
                    None => (
                        "404 Not Found",
                        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","reason":"NotFound","code":404}"#.to_string(),
                    ),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        FakeApi { url, requests }
    }
}

fn group(name: &str, version: &str) -> serde_json::Value {
    let gv = serde_json::json!({"groupVersion": format!("{name}/{version}"), "version": version});
    serde_json::json!({"name": name, "versions": [gv], "preferredVersion": gv})
}

fn resources(group_version: &str, kinds: &[(&str, &str)]) -> String {
    let list: Vec<serde_json::Value> = kinds
        .iter()
        .map(|(kind, plural)| {
            serde_json::json!({"name": plural, "singularName": kind.to_lowercase(), "namespaced": true, "kind": kind, "verbs": ["get", "list", "watch"]})
        })
        .collect();
    serde_json::json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list}).to_string()
}

/// The fixture's objects of one kind, as the API server lists them.
fn list_of(objects: &[serde_json::Value], api_version: &str, kind: &str) -> String {
    let items: Vec<&serde_json::Value> = objects.iter().filter(|o| o["kind"] == kind).collect();
    serde_json::json!({"apiVersion": api_version, "kind": format!("{kind}List"), "metadata": {"resourceVersion": "42"}, "items": items}).to_string()
}

#[test]
fn live_objects_come_from_the_management_cluster_api() {
    let text = std::fs::read_to_string(fixture()).unwrap_or_else(|e| panic!("{e}"));
    let list = fleet_model::yaml::parse_one(&text).unwrap_or_else(|e| panic!("{e}"));
    let objects: Vec<serde_json::Value> = list
        .get("items")
        .and_then(Value::as_sequence)
        .unwrap_or_default()
        .iter()
        .map(|v| v.to_json_value().unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let capi = "cluster.x-k8s.io/v1beta2";
    let kcp = "controlplane.cluster.x-k8s.io/v1beta1";
    let routes: BTreeMap<String, String> = [
        (
            "/apis".to_string(),
            serde_json::json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                group("cluster.x-k8s.io", "v1beta2"),
                group("controlplane.cluster.x-k8s.io", "v1beta1"),
            ]})
            .to_string(),
        ),
        (
            format!("/apis/{capi}"),
            resources(
                capi,
                &[
                    ("Cluster", "clusters"),
                    ("MachineDeployment", "machinedeployments"),
                    ("Machine", "machines"),
                ],
            ),
        ),
        (
            format!("/apis/{kcp}"),
            resources(kcp, &[("KubeadmControlPlane", "kubeadmcontrolplanes")]),
        ),
        (
            format!("/apis/{capi}/clusters"),
            list_of(&objects, capi, "Cluster"),
        ),
        (
            format!("/apis/{capi}/machinedeployments"),
            list_of(&objects, capi, "MachineDeployment"),
        ),
        (
            format!("/apis/{capi}/machines"),
            list_of(&objects, capi, "Machine"),
        ),
        (
            format!("/apis/{kcp}/kubeadmcontrolplanes"),
            list_of(&objects, kcp, "KubeadmControlPlane"),
        ),
        (
            format!("/apis/{capi}/namespaces/fleet/clusters"),
            list_of(&objects, capi, "Cluster"),
        ),
        (
            format!("/apis/{capi}/namespaces/fleet/machinedeployments"),
            list_of(&objects, capi, "MachineDeployment"),
        ),
        (
            format!("/apis/{capi}/namespaces/fleet/machines"),
            list_of(&objects, capi, "Machine"),
        ),
        (
            format!("/apis/{kcp}/namespaces/fleet/kubeadmcontrolplanes"),
            list_of(&objects, kcp, "KubeadmControlPlane"),
        ),
    ]
    .into_iter()
    .collect();
    // The same management cluster without the control plane's provider.
    let mut without_kcp: BTreeMap<String, String> = routes
        .iter()
        .filter(|(path, _)| !path.contains("controlplane"))
        .map(|(p, b)| (p.clone(), b.clone()))
        .collect();
    without_kcp.insert(
        "/apis".to_string(),
        serde_json::json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [group("cluster.x-k8s.io", "v1beta2")]}).to_string(),
    );
    let no_kcp = FakeApi::start(without_kcp);
    let api = FakeApi::start(routes);
    let dir = std::env::temp_dir().join(format!("fleet-cluster-status-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: management\n  cluster:\n    server: {}\ncontexts:\n- name: admin@management\n  context:\n    cluster: management\n    user: admin\ncurrent-context: admin@management\nusers:\n- name: admin\n  user:\n    token: t0ken\n",
            api.url
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = kubeconfig.display().to_string();

    // From $KUBECONFIG, all namespaces: the same table as the saved objects give.
    let (code, out, err) = fleet(&["cluster", "status"], &[("KUBECONFIG", path.as_str())]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, TABLE);
    let requests = api.requests.lock().map(|r| r.clone()).unwrap_or_default();
    assert!(
        requests.contains(&format!("/apis/{kcp}/kubeadmcontrolplanes")),
        "the control plane kind named by the Clusters is listed: {requests:?}"
    );

    // --kubeconfig and a namespace: namespaced lists.
    let (code, out, err) = fleet(
        &[
            "cluster",
            "status",
            "edge-2",
            "-n",
            "fleet",
            "--kubeconfig",
            &path,
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("edge-2") && !out.contains("edge-1"), "{out}");
    let requests = api.requests.lock().map(|r| r.clone()).unwrap_or_default();
    assert!(requests.contains(&format!("/apis/{capi}/namespaces/fleet/clusters")));

    // A control-plane provider missing: a warning, and the clusters still listed.
    let no_kcp_config = dir.join("no-kcp");
    std::fs::write(
        &no_kcp_config,
        std::fs::read_to_string(&kubeconfig)
            .unwrap_or_default()
            .replace(&api.url, &no_kcp.url),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = fleet(
        &[
            "cluster",
            "status",
            "--kubeconfig",
            &no_kcp_config.display().to_string(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: discovering API group controlplane.cluster.x-k8s.io"),
        "{err}"
    );
    assert!(out.contains("edge-1") && out.contains("edge-2"), "{out}");

    // A management cluster without Cluster API: a clear error.
    let bare = FakeApi::start(
        [(
            "/apis".to_string(),
            r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[]}"#.to_string(),
        )]
        .into_iter()
        .collect(),
    );
    let bare_config = dir.join("bare");
    std::fs::write(
        &bare_config,
        std::fs::read_to_string(&kubeconfig)
            .unwrap_or_default()
            .replace(&api.url, &bare.url),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = fleet(
        &[
            "cluster",
            "status",
            "--kubeconfig",
            &bare_config.display().to_string(),
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("discovering API group cluster.x-k8s.io (is its provider installed"),
        "{err}"
    );
}
