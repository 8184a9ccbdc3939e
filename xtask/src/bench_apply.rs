//! `cargo xtask bench apply`: fleet's staged server-side apply of 1,000
//! objects across 10 namespaces on fleet-testenv (a real kube-apiserver),
//! first on an empty cluster and again unchanged, beside the API server's
//! own floor: a bare kube-rs loop that sends one server-side apply per
//! object. Requests are counted as the client sends them.

use anyhow::{Context, Result, anyhow};
use fleet_reconcile::apply::{ApplyOptions, apply_staged};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::bench::median;

const NAMESPACES: usize = 10;
const PER_NAMESPACE: usize = 99; // plus the Namespace itself: 1,000 objects

/// The objects of one run; names carry `run` so every run starts empty.
fn objects(run: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for n in 0..NAMESPACES {
        let ns = format!("bench-{run}-{n}");
        out.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
        for i in 0..PER_NAMESPACE {
            let name = format!("obj-{i}");
            let labels = json!({"app.kubernetes.io/name": format!("app-{}", i % 10), "bench": run});
            out.push(match i % 9 {
                0..=3 => json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": ns, "labels": labels},
                    "data": {"settings.yaml": format!("replicas: {i}\nlog: info\n"), "color": "blue"}}),
                4 => json!({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": name, "namespace": ns, "labels": labels},
                    "stringData": {"token": format!("t-{i}")}}),
                5 => json!({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": name, "namespace": ns, "labels": labels},
                    "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}),
                6 => json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": name, "namespace": ns, "labels": labels}}),
                7 => json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": name, "namespace": ns, "labels": labels},
                    "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}),
                _ => json!({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": name, "namespace": ns, "labels": labels},
                    "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                        "template": {"metadata": {"labels": {"app": name}},
                            "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.0"}]}}}}),
            });
        }
    }
    out
}

/// A client that counts the requests it sends.
async fn counting_client(env: &fleet_testenv::TestEnv) -> Result<(kube::Client, Arc<AtomicUsize>)> {
    let path = &env.cluster("management").kubeconfig;
    let kubeconfig = kube::config::Kubeconfig::read_from(path)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    let client = kube::client::ClientBuilder::try_from(config)?
        .with_layer(&tower::util::MapRequestLayer::new(move |request| {
            counter.fetch_add(1, Ordering::Relaxed);
            request
        }))
        .build();
    Ok((client, count))
}

/// The floor: one server-side apply per object, in order, nothing else.
async fn bare_loop(client: &kube::Client, objects: &[Value]) -> Result<()> {
    let params = PatchParams::apply("bench-floor").force();
    for object in objects {
        let api_version = object["apiVersion"].as_str().unwrap_or("v1");
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let kind = object["kind"].as_str().unwrap_or("");
        let name = object["metadata"]["name"].as_str().unwrap_or("");
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        api.patch(name, &params, &Patch::Apply(object))
            .await
            .with_context(|| format!("applying {kind}/{name}"))?;
    }
    Ok(())
}

struct Sample {
    time: Duration,
    requests: f64,
}

async fn measure<F, Fut>(count: &AtomicUsize, run: F) -> Result<Sample>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let before = count.load(Ordering::Relaxed);
    let started = Instant::now();
    run().await?;
    let time = started.elapsed();
    let after = count.load(Ordering::Relaxed);
    Ok(Sample {
        time,
        requests: (after - before) as f64,
    })
}

/// Runs the benchmark and prints medians and ratios.
pub fn apply(root: &Path, repeats: usize) -> Result<()> {
    let binary = match std::env::var_os(fleet_testenv::BINARY_VAR) {
        Some(path) => path.into(),
        None => crate::testenv::build(root)?,
    };
    let options = fleet_testenv::Options {
        clusters: 0,
        nodes: 1,
        ..Default::default()
    };
    let runs = crate::testenv::binary_path(root).with_file_name("runs");
    let env =
        fleet_testenv::TestEnv::start_with(&binary, &runs, &options).map_err(|e| anyhow!("{e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(run(&env, repeats));
    env.stop();
    result
}

async fn run(env: &fleet_testenv::TestEnv, repeats: usize) -> Result<()> {
    let (client, sent) = counting_client(env).await?;
    let count = objects("x").len();
    println!(
        "apply: {count} objects in {NAMESPACES} namespaces on a real kube-apiserver {} (fleet-testenv), medians of {repeats}",
        env.manifest().kubernetes
    );
    let options = ApplyOptions::default();
    let (mut floor, mut first, mut again, mut floor_again) = (vec![], vec![], vec![], vec![]);
    let (mut floor_req, mut first_req, mut again_req) = (vec![], vec![], vec![]);
    for r in 0..repeats {
        let set = objects(&format!("f{r}"));
        let s = measure(&sent, || bare_loop(&client, &set)).await?;
        floor.push(s.time);
        floor_req.push(s.requests);
        let s = measure(&sent, || bare_loop(&client, &set)).await?;
        floor_again.push(s.time);

        let set = objects(&format!("a{r}"));
        let s = measure(&sent, || async {
            let changes = apply_staged(&client, &set, &options).await?;
            anyhow::ensure!(
                changes.entries.len() == count,
                "{} changes",
                changes.entries.len()
            );
            Ok(())
        })
        .await?;
        first.push(s.time);
        first_req.push(s.requests);
        let s = measure(&sent, || async {
            let changes = apply_staged(&client, &set, &options).await?;
            anyhow::ensure!(
                !changes.changed(),
                "the re-apply changed something:\n{changes}"
            );
            Ok(())
        })
        .await?;
        again.push(s.time);
        again_req.push(s.requests);
        eprintln!("run {}/{repeats} done", r + 1);
    }
    let per_object = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2] / count as f64
    };
    let (floor, first, again, floor_again) = (
        median(floor),
        median(first),
        median(again),
        median(floor_again),
    );
    println!("| measurement | median | requests per object |");
    println!("| --- | --- | --- |");
    println!(
        "| floor: one server-side apply per object (bare kube-rs loop) | {:.2} s | {:.2} |",
        floor.as_secs_f64(),
        per_object(&floor_req)
    );
    println!(
        "| floor, the same objects again | {:.2} s | — |",
        floor_again.as_secs_f64()
    );
    println!(
        "| fleet first apply (`apply_staged`) | {:.2} s | {:.2} |",
        first.as_secs_f64(),
        per_object(&first_req)
    );
    println!(
        "| fleet re-apply, nothing changed | {:.2} s | {:.2} |",
        again.as_secs_f64(),
        per_object(&again_req)
    );
    println!(
        "ratios: first apply / floor = {:.2}x; re-apply / first apply = {:.2}x",
        first.as_secs_f64() / floor.as_secs_f64(),
        again.as_secs_f64() / first.as_secs_f64()
    );
    Ok(())
}
