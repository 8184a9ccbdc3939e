//! Staged server-side apply, as kustomize-controller does it (fluxcd/pkg
//! `ssa` `ApplyAllStaged`), with one guarantee more.
//!
//! Objects go in three stages: CRDs, Namespaces and ClusterRoles (then the
//! apply waits until the CRDs are Established), kinds whose name ends in
//! `Class`, then the rest; within a stage, in Flux's kind order. Each object
//! is dry-run with forced ownership under the field manager, and applied
//! only when it is new or its dry-run differs from the live object (so an
//! unchanged object keeps its `resourceVersion`). Dry-runs run
//! concurrently; applies too, among objects of the same kind, while kinds
//! keep Flux's order.
//!
//! What fleet guarantees beyond Flux:
//! - Before anything is applied, every object that can be dry-run already
//!   (its kind is served and its namespace exists) is dry-run. If any of
//!   those fails, nothing at all is applied, and every failure is reported.
//! - Within a stage, every object is dry-run before any of it is applied; a
//!   failure applies nothing of that stage.
//! - What can only be checked once an earlier stage is applied (a custom
//!   object whose CRD, or a namespaced object whose Namespace, comes in the
//!   same apply) is checked then: if it fails, the earlier stages stay
//!   applied, as in Flux.

use crate::changeset::{Action, ChangeSet};
use crate::cleanup::cleanup_patch;
use crate::drift::has_drifted;
use crate::order::{Stage, compare};
use crate::unchanged::provably_unchanged;
use fleet_model::ObjectId;
use futures::stream::{self, StreamExt};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::discovery::{ApiCapabilities, Scope};
use kube::{Client, core::GroupVersionKind};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// Label or annotation that lets an apply recreate an object whose change
/// hits an immutable field.
pub const FORCE_KEY: &str = "kustomize.toolkit.fluxcd.io/force";
/// Annotation choosing how an object is applied (`Override`, `Merge`,
/// `IfNotPresent`, `Ignore`).
pub const SSA_KEY: &str = "kustomize.toolkit.fluxcd.io/ssa";
/// Label or annotation that, set to `disabled`, keeps an object out of the
/// apply and the prune.
pub const RECONCILE_KEY: &str = "kustomize.toolkit.fluxcd.io/reconcile";

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The field manager (`fleet`; `kustomize-controller` takes over objects
    /// Flux applied without field conflicts).
    pub field_manager: String,
    /// Recreate objects whose change hits an immutable field (`spec.force`).
    pub force: bool,
    /// Dry-runs in flight at once.
    pub concurrency: usize,
    /// How often to look at CRDs waiting to be Established.
    pub wait_interval: Duration,
    /// How long to wait for them.
    pub wait_timeout: Duration,
    /// Kinds already discovered on this cluster, kept across applies.
    pub discovery: Option<std::sync::Arc<DiscoveryCache>>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            field_manager: "fleet".to_string(),
            force: false,
            concurrency: 4,
            wait_interval: Duration::from_secs(2),
            wait_timeout: Duration::from_secs(60),
            discovery: None,
        }
    }
}

/// Why an apply failed. Nothing is applied after the failure; see the
/// module documentation for what may have been applied before it.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A manifest lacks apiVersion, kind or metadata.name.
    #[error("object {index} of the build has no {field}")]
    Invalid {
        /// Its position in the build output.
        index: usize,
        /// The missing field.
        field: &'static str,
    },
    /// The same object twice.
    #[error("{0} is in the build twice")]
    Duplicate(String),
    /// Dry-runs failed; each line names the object and the server's reason.
    #[error("{}", .failures.join("\n"))]
    DryRun {
        /// One message per failed object.
        failures: Vec<String>,
        /// Whether anything had been applied before (an earlier stage).
        partial: bool,
    },
    /// The server refused an apply that its dry-run accepted.
    #[error("{id} apply failed: {error}")]
    Apply {
        /// The object (`Kind/namespace/name`).
        id: String,
        /// The server's error.
        error: Box<kube::Error>,
    },
    /// The metadata clean-up before an apply was refused.
    #[error("{id} metadata.managedFields cleanup failed: {error}")]
    Cleanup {
        /// The object (`Kind/namespace/name`).
        id: String,
        /// The server's error.
        error: Box<kube::Error>,
    },
    /// CRDs did not become Established in time.
    #[error("timeout waiting for CRDs to be Established: {}", .0.join(", "))]
    CrdTimeout(Vec<String>),
    /// Talking to the API server failed.
    #[error("{context}: {error}")]
    Kube {
        /// What was being done.
        context: String,
        /// The error.
        error: Box<kube::Error>,
    },
}

/// One object to apply.
#[derive(Debug, Clone)]
struct Desired {
    id: ObjectId,
    object: Value,
    stage: Stage,
}

/// The result of dry-running one object.
enum Checked {
    /// Annotations keep it out.
    Skip,
    /// Apply it (`Created` or `Configured`) or not (`Unchanged`); with the
    /// metadata clean-up to send first ([`crate::cleanup`]).
    Ready(Action, Option<Value>),
}

type KindKey = (String, String, String);

/// The API resources discovery found on one cluster, kept across
/// reconciles so a reconcile of known kinds asks the API server nothing
/// about them (Flux runs discovery on every reconcile of a remote
/// cluster). Only kinds found are kept: a kind not served yet (its CRD
/// arrives later) is asked for again.
#[derive(Debug, Default)]
pub struct DiscoveryCache {
    known: std::sync::Mutex<HashMap<KindKey, (ApiResource, ApiCapabilities)>>,
}

impl DiscoveryCache {
    /// How many kinds are known.
    pub fn len(&self) -> usize {
        self.known.lock().map(|k| k.len()).unwrap_or(0)
    }

    /// Whether no kind is known yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, key: &KindKey) -> Option<(ApiResource, ApiCapabilities)> {
        self.known.lock().ok()?.get(key).cloned()
    }

    fn insert(&self, key: KindKey, found: (ApiResource, ApiCapabilities)) {
        if let Ok(mut known) = self.known.lock() {
            known.insert(key, found);
        }
    }
}

/// Resolves kinds to API resources (one discovery call per group/version,
/// remembered for the apply, and in a [`DiscoveryCache`] when given).
pub(crate) struct Resolver {
    client: Client,
    known: HashMap<KindKey, Option<(ApiResource, ApiCapabilities)>>,
    shared: Option<std::sync::Arc<DiscoveryCache>>,
}

impl Resolver {
    /// A resolver for the cluster behind `client`.
    pub(crate) fn new(client: Client) -> Resolver {
        Resolver::with_cache(client, None)
    }

    /// A resolver that also reads and fills `shared`.
    pub(crate) fn with_cache(
        client: Client,
        shared: Option<std::sync::Arc<DiscoveryCache>>,
    ) -> Resolver {
        Resolver {
            client,
            known: HashMap::new(),
            shared,
        }
    }

    /// The scope of a kind already resolved.
    fn known_scope(&self, id: &ObjectId) -> Option<Scope> {
        self.known
            .get(&(id.group.clone(), id.version.clone(), id.kind.clone()))
            .and_then(|f| f.as_ref().map(|(_, caps)| caps.scope.clone()))
    }

    pub(crate) async fn resolve(
        &mut self,
        id: &ObjectId,
    ) -> Option<(ApiResource, ApiCapabilities)> {
        let key = (id.group.clone(), id.version.clone(), id.kind.clone());
        if let Some(found) = self.known.get(&key) {
            return found.clone();
        }
        if let Some(found) = self.shared.as_ref().and_then(|s| s.get(&key)) {
            self.known.insert(key, Some(found.clone()));
            return Some(found);
        }
        let gvk = GroupVersionKind::gvk(&id.group, &id.version, &id.kind);
        let found = kube::discovery::pinned_kind(&self.client, &gvk).await.ok();
        if let Some(found) = &found {
            self.known.insert(key.clone(), Some(found.clone()));
            if let Some(shared) = &self.shared {
                shared.insert(key, found.clone());
            }
        }
        found
    }
}

impl Resolver {
    /// Resolves a kind whose CRD this apply just made Established. The API
    /// server serves the kind's discovery a moment after the condition is
    /// set (later on a busy server), so a miss is retried until
    /// `options.wait_timeout`, as the CRD wait itself is bounded.
    async fn resolve_defined(
        &mut self,
        id: &ObjectId,
        options: &ApplyOptions,
    ) -> Option<(ApiResource, ApiCapabilities)> {
        let deadline = tokio::time::Instant::now() + options.wait_timeout;
        loop {
            if let Some(found) = self.resolve(id).await {
                return Some(found);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(options.wait_interval.min(Duration::from_millis(200))).await;
        }
    }
}

pub(crate) fn metadata_value<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    ["labels", "annotations"]
        .iter()
        .find_map(|field| object.get("metadata")?.get(field)?.get(key)?.as_str())
}

pub(crate) fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .get("metadata")?
        .get("annotations")?
        .get(key)?
        .as_str()
}

/// The object's id from its manifest.
fn object_id(index: usize, object: &Value) -> Result<ObjectId, ApplyError> {
    let field = |path: &str, name: &'static str| {
        object
            .pointer(path)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(ApplyError::Invalid { index, field: name })
    };
    let api_version = field("/apiVersion", "apiVersion")?;
    let kind = field("/kind", "kind")?;
    let name = field("/metadata/name", "metadata.name")?;
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    Ok(ObjectId::new(api_version, kind, namespace, name))
}

/// The `Api` for one object: namespaced (in its namespace, `default` when it
/// names none, as kubectl does) or cluster-wide.
pub(crate) fn api_for(
    client: &Client,
    resource: &ApiResource,
    caps: &ApiCapabilities,
    id: &ObjectId,
) -> Api<DynamicObject> {
    match caps.scope {
        Scope::Namespaced => Api::namespaced_with(
            client.clone(),
            id.namespace.as_deref().unwrap_or("default"),
            resource,
        ),
        Scope::Cluster => Api::all_with(client.clone(), resource),
    }
}

fn reason_of(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => format!("({}): {}", status.reason, status.message),
        other => format!(": {other}"),
    }
}

/// Whether a dry-run error means an immutable field changed: any 409 or 422,
/// or a message saying so (fluxcd/pkg `ssa/errors` `IsImmutableError`, false
/// positives included).
fn is_immutable(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => {
            status.code == 409
                || status.code == 422
                || status.message.contains("is immutable")
                || status.message.contains("immutable field")
        }
        _ => false,
    }
}

/// Applies `objects` to the cluster behind `client` in stages and returns
/// what happened to each.
///
/// ```no_run
/// # async fn example(client: kube::Client) -> Result<(), fleet_reconcile::apply::ApplyError> {
/// use fleet_reconcile::apply::{apply_staged, ApplyOptions};
/// let objects = vec![serde_json::json!({
///     "apiVersion": "v1", "kind": "ConfigMap",
///     "metadata": {"name": "settings", "namespace": "default"},
///     "data": {"color": "blue"}
/// })];
/// let changes = apply_staged(&client, &objects, &ApplyOptions::default()).await?;
/// print!("{changes}"); // ConfigMap/default/settings created
/// # Ok(()) }
/// ```
pub async fn apply_staged(
    client: &Client,
    objects: &[Value],
    options: &ApplyOptions,
) -> Result<ChangeSet, ApplyError> {
    let mut desired = Vec::with_capacity(objects.len());
    let mut seen = BTreeSet::new();
    for (index, object) in objects.iter().enumerate() {
        let id = object_id(index, object)?;
        let key = (
            id.group.clone(),
            id.kind.clone(),
            id.namespace.clone(),
            id.name.clone(),
        );
        if !seen.insert(key) {
            return Err(ApplyError::Duplicate(id.to_string()));
        }
        let stage = Stage::of(&id.group, &id.kind);
        desired.push(Desired {
            id,
            object: object.clone(),
            stage,
        });
    }
    desired.sort_by(|a, b| a.stage.cmp(&b.stage).then_with(|| compare(&a.id, &b.id)));

    let mut resolver = Resolver::with_cache(client.clone(), options.discovery.clone());
    // Kinds and namespaces this apply itself creates: objects needing them
    // are checked once their stage comes.
    let defined_kinds: BTreeSet<(String, String)> = desired
        .iter()
        .filter(|d| d.id.kind == "CustomResourceDefinition")
        .filter_map(|d| {
            let group = d.object.pointer("/spec/group")?.as_str()?;
            let kind = d.object.pointer("/spec/names/kind")?.as_str()?;
            Some((group.to_string(), kind.to_string()))
        })
        .collect();
    let defined_namespaces: BTreeSet<&str> = desired
        .iter()
        .filter(|d| d.id.group.is_empty() && d.id.kind == "Namespace")
        .map(|d| d.id.name.as_str())
        .collect();

    // Up front: dry-run whatever can be, before anything is applied.
    let mut existing_namespaces = BTreeMap::new();
    let mut upfront = Vec::new();
    for (i, d) in desired.iter().enumerate() {
        let Some((resource, caps)) = resolver.resolve(&d.id).await else {
            if defined_kinds.contains(&(d.id.group.clone(), d.id.kind.clone())) {
                continue;
            }
            upfront.push((i, None));
            continue;
        };
        if caps.scope == Scope::Namespaced {
            let ns = d.id.namespace.as_deref().unwrap_or("default");
            if defined_namespaces.contains(ns) {
                let exists = match existing_namespaces.get(ns) {
                    Some(exists) => *exists,
                    None => {
                        let api: Api<k8s_openapi::api::core::v1::Namespace> =
                            Api::all(client.clone());
                        let exists = api
                            .get_opt(ns)
                            .await
                            .map_err(|source| ApplyError::Kube {
                                context: format!("reading namespace {ns}"),
                                error: Box::new(source),
                            })?
                            .is_some();
                        existing_namespaces.insert(ns.to_string(), exists);
                        exists
                    }
                };
                if !exists {
                    continue;
                }
            }
        }
        upfront.push((i, Some((resource, caps))));
    }
    let mut results: HashMap<usize, Checked> = HashMap::new();
    let checks = check_all(client, &desired, upfront, options).await;
    record(checks, &mut results, false)?;

    let mut changes = ChangeSet::default();
    let mut applied_any = false;
    for stage in [Stage::Definitions, Stage::Classes, Stage::Rest] {
        let members: Vec<usize> = (0..desired.len())
            .filter(|i| desired[*i].stage == stage)
            .collect();
        if members.is_empty() {
            continue;
        }
        // What an earlier stage changed may change this stage's dry-runs:
        // check again then; otherwise the up-front answers stand.
        let mut pending = Vec::new();
        for &i in &members {
            if applied_any || !results.contains_key(&i) {
                let id = &desired[i].id;
                let resolved = if defined_kinds.contains(&(id.group.clone(), id.kind.clone())) {
                    resolver.resolve_defined(id, options).await
                } else {
                    resolver.resolve(id).await
                };
                pending.push((i, resolved));
            }
        }
        let checks = check_all(client, &desired, pending, options).await;
        record(checks, &mut results, applied_any)?;
        // Objects of one kind go to the server together (up to
        // `concurrency` at once); kinds go in order, so what Flux orders
        // first (a ServiceAccount before the Deployment that uses it) and
        // last (webhooks) still is.
        let mut start = 0;
        while start < members.len() {
            let kind_of = |i: usize| (&desired[i].id.group, &desired[i].id.kind);
            let end = (start..members.len())
                .find(|&k| kind_of(members[k]) != kind_of(members[start]))
                .unwrap_or(members.len());
            let mut batch = Vec::new();
            for &i in &members[start..end] {
                let (action, cleanup) = match results.get(&i) {
                    Some(Checked::Skip) | None => (Action::Skipped, None),
                    Some(Checked::Ready(action, cleanup)) => (*action, cleanup.as_ref()),
                };
                let resolved = match action {
                    Action::Created | Action::Configured => resolver.resolve(&desired[i].id).await,
                    _ => None,
                };
                batch.push((i, action, resolved, cleanup));
            }
            let desired = &desired;
            let outcomes: Vec<Result<(), ApplyError>> = stream::iter(batch.iter())
                .map(|(i, _, resolved, cleanup)| async move {
                    let Some((resource, caps)) = resolved else {
                        return Ok(());
                    };
                    let d = &desired[*i];
                    let api = api_for(client, resource, caps, &d.id);
                    if let Some(cleanup) = cleanup {
                        let params = PatchParams {
                            field_manager: Some(options.field_manager.clone()),
                            ..PatchParams::default()
                        };
                        api.patch(&d.id.name, &params, &Patch::Merge(cleanup))
                            .await
                            .map_err(|source| ApplyError::Cleanup {
                                id: d.id.to_string(),
                                error: Box::new(source),
                            })?;
                    }
                    let params = PatchParams::apply(&options.field_manager).force();
                    api.patch(&d.id.name, &params, &Patch::Apply(&d.object))
                        .await
                        .map(|_| ())
                        .map_err(|source| ApplyError::Apply {
                            id: d.id.to_string(),
                            error: Box::new(source),
                        })
                })
                .buffered(options.concurrency.max(1))
                .collect()
                .await;
            applied_any |= batch.iter().any(|(_, _, resolved, _)| resolved.is_some());
            if let Some(error) = outcomes.into_iter().find_map(Result::err) {
                return Err(error);
            }
            for (i, action, _, _) in batch {
                changes.push(
                    with_namespace(&desired[i].id, resolver.known_scope(&desired[i].id)),
                    action,
                );
            }
            start = end;
        }
        if stage == Stage::Definitions {
            wait_for_crds(client, &desired, &members, options).await?;
        }
    }
    Ok(changes)
}

/// The id as applied: a namespaced object without a namespace lands in `default`.
/// A cluster-scoped object has none, whatever the manifest says (the API
/// server ignores it, as in `ClusterIssuer/letsencrypt` after a
/// kustomize `namespace:` that does not know the kind is cluster-scoped).
pub(crate) fn with_namespace(id: &ObjectId, scope: Option<Scope>) -> ObjectId {
    let mut id = id.clone();
    match scope {
        Some(Scope::Namespaced) if id.namespace.is_none() => {
            id.namespace = Some("default".to_string());
        }
        Some(Scope::Cluster) => id.namespace = None,
        _ => {}
    }
    id
}

/// Keeps the checks that passed; every failure, in apply order, is the error.
fn record(
    mut checks: Vec<(usize, Result<Checked, String>)>,
    results: &mut HashMap<usize, Checked>,
    partial: bool,
) -> Result<(), ApplyError> {
    checks.sort_by_key(|(i, _)| *i);
    let mut failures = Vec::new();
    for (i, outcome) in checks {
        match outcome {
            Ok(checked) => {
                results.insert(i, checked);
            }
            Err(message) => failures.push(message),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(ApplyError::DryRun { failures, partial })
    }
}

/// Dry-runs `which` concurrently; each result is the check or the failure message.
async fn check_all(
    client: &Client,
    desired: &[Desired],
    which: Vec<(usize, Option<(ApiResource, ApiCapabilities)>)>,
    options: &ApplyOptions,
) -> Vec<(usize, Result<Checked, String>)> {
    let mut prefetched = prefetch(client, desired, &which, options).await;
    let which: Vec<_> = which
        .into_iter()
        .map(|(i, resolved)| (i, resolved, prefetched.remove(&i)))
        .collect();
    stream::iter(which)
        .map(|(i, resolved, live)| async move {
            let d = &desired[i];
            let outcome = match resolved {
                None => Err(format!(
                    "{} dry-run failed: no matches for kind \"{}\" in version \"{}\"",
                    d.id,
                    d.id.kind,
                    d.id.api_version()
                )),
                Some((resource, caps)) => check(client, d, &resource, &caps, live, options).await,
            };
            (i, outcome)
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await
}

/// The live objects of kinds that have several desired objects in one
/// namespace, read with one LIST per kind and namespace instead of one GET
/// per object: `Some(None)` for an object known to be absent. Objects not
/// in the answer (alone of their kind, or a LIST that failed) are read one
/// by one.
async fn prefetch(
    client: &Client,
    desired: &[Desired],
    which: &[(usize, Option<(ApiResource, ApiCapabilities)>)],
    options: &ApplyOptions,
) -> HashMap<usize, Option<Value>> {
    type Group<'a> = (&'a ApiResource, &'a ApiCapabilities, Vec<usize>);
    let mut groups: BTreeMap<(String, String, String, Option<String>), Group<'_>> = BTreeMap::new();
    for (i, resolved) in which {
        let Some((resource, caps)) = resolved else {
            continue;
        };
        let id = &desired[*i].id;
        let namespace = match caps.scope {
            Scope::Namespaced => Some(
                id.namespace
                    .clone()
                    .unwrap_or_else(|| "default".to_string()),
            ),
            Scope::Cluster => None,
        };
        let key = (
            id.group.clone(),
            id.version.clone(),
            id.kind.clone(),
            namespace,
        );
        groups
            .entry(key)
            .or_insert_with(|| (resource, caps, Vec::new()))
            .2
            .push(*i);
    }
    let lists = groups
        .into_values()
        .filter(|(_, _, members)| members.len() > 1);
    let answers: Vec<Vec<(usize, Option<Value>)>> = stream::iter(lists)
        .map(|(resource, caps, members)| async move {
            let api = api_for(client, resource, caps, &desired[members[0]].id);
            let Ok(list) = api.list(&kube::api::ListParams::default()).await else {
                return Vec::new();
            };
            let mut live: HashMap<String, Value> = list
                .items
                .into_iter()
                .filter_map(|o| {
                    let name = o.metadata.name.clone()?;
                    let mut value = serde_json::to_value(o).ok()?;
                    // Items of a list carry no apiVersion and kind; a GET's answer does.
                    value["apiVersion"] = Value::String(resource.api_version.clone());
                    value["kind"] = Value::String(resource.kind.clone());
                    Some((name, value))
                })
                .collect();
            members
                .into_iter()
                .map(|i| (i, live.remove(&desired[i].id.name)))
                .collect()
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    answers.into_iter().flatten().collect()
}

/// Reads the live object, applies the skip rules, dry-runs the desired one
/// (recreating it first when an immutable field changed and force is on)
/// and compares.
async fn check(
    client: &Client,
    d: &Desired,
    resource: &ApiResource,
    caps: &ApiCapabilities,
    prefetched: Option<Option<Value>>,
    options: &ApplyOptions,
) -> Result<Checked, String> {
    let api = api_for(client, resource, caps, &d.id);
    let live = match prefetched {
        Some(live) => live,
        None => match api.get_opt(&d.id.name).await {
            Ok(Some(live)) => {
                Some(serde_json::to_value(live).map_err(|e| format!("{}: {e}", d.id))?)
            }
            Ok(None) => None,
            Err(e) => {
                return Err(format!(
                    "{} reading the live object failed{}",
                    d.id,
                    reason_of(&e)
                ));
            }
        },
    };
    let excluded = |object: &Value| {
        metadata_value(object, RECONCILE_KEY) == Some("disabled")
            || annotation(object, SSA_KEY) == Some("Ignore")
    };
    if excluded(&d.object) || live.as_ref().is_some_and(excluded) {
        return Ok(Checked::Skip);
    }
    if live.is_some() && annotation(&d.object, SSA_KEY) == Some("IfNotPresent") {
        return Ok(Checked::Skip);
    }
    // The same values on the fields this manager owns, nothing to clean:
    // the dry-run could only say unchanged, so it is not sent.
    if let Some(live) = &live
        && provably_unchanged(&d.object, live, &options.field_manager)
        && cleanup_patch(&d.object, live, &options.field_manager).is_none()
    {
        return Ok(Checked::Ready(Action::Unchanged, None));
    }
    let params = PatchParams::apply(&options.field_manager).force().dry_run();
    let dry_run = match api
        .patch(&d.id.name, &params, &Patch::Apply(&d.object))
        .await
    {
        Ok(object) => object,
        Err(error) => {
            let forced = options.force
                || metadata_value(&d.object, FORCE_KEY) == Some("enabled")
                || live
                    .as_ref()
                    .is_some_and(|l| metadata_value(l, FORCE_KEY) == Some("enabled"));
            if live.is_none() || !forced || !is_immutable(&error) {
                return Err(format!(
                    "{} dry-run failed {}",
                    d.id,
                    reason_of(&error).trim_start()
                ));
            }
            recreate(&api, d, options).await?;
            api.patch(&d.id.name, &params, &Patch::Apply(&d.object))
                .await
                .map_err(|e| format!("{} dry-run failed {}", d.id, reason_of(&e).trim_start()))?
        }
    };
    let dry_run = serde_json::to_value(dry_run).map_err(|e| format!("{}: {e}", d.id))?;
    let created = dry_run
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty);
    let action = match &live {
        _ if created => Action::Created,
        Some(live) if has_drifted(live, &dry_run) => Action::Configured,
        Some(_) => Action::Unchanged,
        None => Action::Created,
    };
    // Fields another manager (kubectl) took are handed back first, so the
    // apply reverts them; an object needing that is applied even when its
    // dry-run shows no drift, as in Flux.
    let cleanup = match (&live, action) {
        (Some(live), Action::Configured | Action::Unchanged) => {
            cleanup_patch(&d.object, live, &options.field_manager)
        }
        _ => None,
    };
    let action = match (&cleanup, action) {
        (Some(_), Action::Unchanged) => Action::Configured,
        (_, action) => action,
    };
    Ok(Checked::Ready(action, cleanup))
}

/// Deletes an object (background propagation) and waits until it is gone.
async fn recreate(
    api: &Api<DynamicObject>,
    d: &Desired,
    options: &ApplyOptions,
) -> Result<(), String> {
    let fail = |message: String| {
        format!(
            "{} immutable field detected, failed to delete object: {message}",
            d.id
        )
    };
    match api.delete(&d.id.name, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => return Err(fail(e.to_string())),
    }
    let deadline = tokio::time::Instant::now() + options.wait_timeout;
    loop {
        match api.get_opt(&d.id.name).await {
            Ok(None) => return Ok(()),
            Ok(Some(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(options.wait_interval.min(Duration::from_millis(500))).await;
            }
            Ok(Some(_)) => return Err(fail("it was not deleted in time".to_string())),
            Err(e) => return Err(fail(e.to_string())),
        }
    }
}

/// Waits until the stage's CRDs are Established (kstatus: `Established=True`
/// is Current; `NamesAccepted=False` is Failed).
async fn wait_for_crds(
    client: &Client,
    desired: &[Desired],
    members: &[usize],
    options: &ApplyOptions,
) -> Result<(), ApplyError> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let names: Vec<&str> = members
        .iter()
        .map(|i| &desired[*i])
        .filter(|d| d.id.group == "apiextensions.k8s.io" && d.id.kind == "CustomResourceDefinition")
        .map(|d| d.id.name.as_str())
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let deadline = tokio::time::Instant::now() + options.wait_timeout;
    loop {
        let mut waiting = Vec::new();
        for name in &names {
            let crd = api.get_opt(name).await.map_err(|source| ApplyError::Kube {
                context: format!("reading CustomResourceDefinition {name}"),
                error: Box::new(source),
            })?;
            let conditions = crd
                .and_then(|c| c.status)
                .and_then(|s| s.conditions)
                .unwrap_or_default();
            let is = |kind: &str, status: &str| {
                conditions
                    .iter()
                    .any(|c| c.type_ == kind && c.status == status)
            };
            if is("NamesAccepted", "False") {
                return Err(ApplyError::CrdTimeout(vec![format!(
                    "CustomResourceDefinition/{name}: names not accepted"
                )]));
            }
            if !is("Established", "True") {
                waiting.push(format!("CustomResourceDefinition/{name}"));
            }
        }
        if waiting.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApplyError::CrdTimeout(waiting));
        }
        tokio::time::sleep(options.wait_interval.min(Duration::from_millis(500))).await;
    }
}
