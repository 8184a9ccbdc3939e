//! One reconcile of a Flux Kustomization, as kustomize-controller makes it
//! (its `reconcile` step list, after the source is fetched): build, staged
//! server-side apply, inventory, prune, health, status. The controller,
//! `fleet apply ks` and (later) `fleet diff ks` call this one function.
//!
//! What is read from the cluster, in the Kustomization's namespace, as the
//! controller reads it: the ConfigMaps and Secrets of
//! `postBuild.substituteFrom` (an `optional` one may be missing) and the
//! decryption Secret of `spec.decryption.secretRef`.
//!
//! Guarantees: a build, decryption or substitution failure applies and
//! prunes nothing; an apply failure prunes nothing; a prune failure keeps
//! the objects that could not be deleted in the inventory, so the next
//! reconcile tries again (as kustomize-controller does since v1.9).
//!
//! ```no_run
//! # async fn run(client: kube::Client, ks: fleet_model::flux::kustomization::Kustomization) {
//! use fleet_kustomize::fs::DiskFs;
//! use fleet_reconcile::reconcile::{reconcile, ReconcileOptions, SourceTree};
//! let source = SourceTree { fs: &DiskFs, dir: "/checkout/apps/prod".into(), revision: "main@sha1:0123".into() };
//! let outcome = reconcile(&client, &ks, &source, &ReconcileOptions::default()).await;
//! print!("{}", outcome.changes);
//! if let Err(e) = &outcome.result {
//!     eprintln!("{e}");
//! }
//! # }
//! ```

use crate::apply::{ApplyError, ApplyOptions, apply_staged};
use crate::cel_expr::{Expr, ExprError, compile_health_checks};
use crate::changeset::{Action, ChangeSet};
use crate::depends::{DependencyError, check_dependencies};
use crate::health::{HealthError, WaitOptions, wait_for};
use crate::inventory::Inventory;
use crate::prune::{Owner, PruneError, prune_with};
use crate::target::{Access, TargetError, target};
use fleet_kustomize::flux::{FluxBuildError, FluxBuildOptions, build_kustomization_dir};
use fleet_kustomize::fs::FileSystem;
use fleet_kustomize::sops::KeyRing;
use fleet_model::ObjectId;
use fleet_model::condition::{ConditionStatus, Conditions, HEALTHY, RECONCILING};
use fleet_model::flux::kustomization::{Kustomization, KustomizationStatus, SubstituteKind};
use fleet_model::flux::meta::Snapshot;
use indexmap::IndexMap;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// kustomize-controller's reasons on the `Ready` condition.
pub mod reason {
    /// Applied, pruned and healthy.
    pub const SUCCEEDED: &str = "ReconciliationSucceeded";
    /// Work in progress.
    pub const PROGRESSING: &str = "Progressing";
    /// The build (kustomize, decryption, substitution) failed.
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// The apply failed.
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
    /// Pruning failed.
    pub const PRUNE_FAILED: &str = "PruneFailed";
    /// The health checks failed.
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    /// `Healthy=True`.
    pub const HEALTHY_SUCCEEDED: &str = "Succeeded";
    /// A `dependsOn` entry is missing or not ready; retried later.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// The Kustomization is on a dependency cycle (`Stalled=True`; fleet's
    /// own reason: Flux never reports cycles).
    pub const DEPENDENCY_CYCLE: &str = "DependencyCycle";
    /// A `healthCheckExprs` or `readyExpr` expression does not compile
    /// (`Stalled=True`).
    pub const INVALID_CEL_EXPRESSION: &str = "InvalidCELExpression";
    /// The source's artifact could not be had.
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
}

/// The tree to build: the directory `spec.path` names in a fetched
/// source, and the source's revision.
pub struct SourceTree<'a> {
    /// The file system the tree is on.
    pub fs: &'a dyn FileSystem,
    /// The directory to build (the source root joined with `spec.path`).
    pub dir: String,
    /// The source revision (`main@sha1:…`), written to the status.
    pub revision: String,
}

/// How to reconcile.
#[derive(Debug, Clone)]
pub struct ReconcileOptions {
    /// The field manager for server-side apply (`fleet`; set
    /// `kustomize-controller` to take over from Flux without conflicts).
    pub field_manager: String,
    /// Unset variables without a default fail the build (on by default in
    /// kustomize-controller).
    pub strict_substitution: bool,
    /// Wait for health even when the Kustomization does not ask
    /// (`fleet apply ks --wait`): every applied object is checked.
    pub wait: bool,
    /// How often to look at objects during the health wait (Flux: 5 s).
    pub health_interval: Duration,
    /// Overrides the health wait's timeout (default: the Kustomization's).
    pub timeout: Option<Duration>,
    /// How to reach workload clusters (`spec.kubeConfig`) and impersonate
    /// service accounts (`spec.serviceAccountName`).
    pub access: Access,
    /// Write the Kustomization's status between phases, as the controller
    /// does (`Reconciling=True`, `Ready=Unknown`, reason `Progressing`,
    /// "Building manifests for revision R with a timeout of T", …); only
    /// for a Kustomization that exists in the cluster.
    pub report_progress: bool,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        ReconcileOptions {
            field_manager: "fleet".to_string(),
            strict_substitution: true,
            wait: false,
            health_interval: Duration::from_secs(5),
            timeout: None,
            access: Access::default(),
            report_progress: false,
        }
    }
}

/// Why a reconcile failed; each maps to a `Ready` reason.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A `substituteFrom` source or the decryption Secret is missing or
    /// unreadable.
    #[error("{0}")]
    Inputs(String),
    /// The build failed.
    #[error(transparent)]
    Build(#[from] FluxBuildError),
    /// The apply failed.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// Pruning failed for some objects.
    #[error(transparent)]
    Prune(#[from] PruneError),
    /// The health checks failed.
    #[error(transparent)]
    Health(#[from] HealthError),
    /// The Kustomization's timeout does not parse.
    #[error("spec.timeout: {0}")]
    Timeout(String),
    /// The cluster to apply to cannot be reached (kubeConfig Secret,
    /// impersonation).
    #[error(transparent)]
    Target(#[from] TargetError),
    /// `dependsOn`: a dependency is not ready, or there is a cycle.
    #[error(transparent)]
    Dependency(#[from] DependencyError),
    /// A CEL expression of the Kustomization does not compile.
    #[error(transparent)]
    InvalidExpression(#[from] ExprError),
    /// The source's artifact could not be had.
    #[error(transparent)]
    Artifact(#[from] crate::artifact::ArtifactError),
}

impl ReconcileError {
    /// The `Ready` reason kustomize-controller writes for this failure.
    pub fn reason(&self) -> &'static str {
        match self {
            ReconcileError::Inputs(_) | ReconcileError::Build(_) => reason::BUILD_FAILED,
            ReconcileError::Apply(_) | ReconcileError::Timeout(_) | ReconcileError::Target(_) => {
                reason::RECONCILIATION_FAILED
            }
            ReconcileError::Prune(_) => reason::PRUNE_FAILED,
            ReconcileError::Health(_) => reason::HEALTH_CHECK_FAILED,
            ReconcileError::Dependency(DependencyError::Cycle(_)) => reason::DEPENDENCY_CYCLE,
            ReconcileError::Dependency(_) => reason::DEPENDENCY_NOT_READY,
            ReconcileError::InvalidExpression(_) => reason::INVALID_CEL_EXPRESSION,
            ReconcileError::Artifact(_) => reason::ARTIFACT_FAILED,
        }
    }

    /// Whether only a change to the objects can fix it (`Stalled=True`).
    pub fn is_stalled(&self) -> bool {
        matches!(
            self,
            ReconcileError::Dependency(DependencyError::Cycle(_))
                | ReconcileError::InvalidExpression(_)
        )
    }
}

/// What one reconcile did.
#[derive(Debug)]
pub struct Outcome {
    /// Applied and pruned objects, in Flux's words.
    pub changes: ChangeSet,
    /// The Kustomization's new status.
    pub status: KustomizationStatus,
    /// Whether it succeeded.
    pub result: Result<(), ReconcileError>,
    /// `spec.suspend` was set: nothing was done.
    pub suspended: bool,
}

impl Outcome {
    /// `spec.suspend` is set: nothing done, the status as it was.
    pub fn suspended(ks: &Kustomization) -> Outcome {
        Outcome {
            changes: ChangeSet::default(),
            status: ks.status.clone().unwrap_or_default(),
            result: Ok(()),
            suspended: true,
        }
    }
}

/// Reconciles `ks` from `source` onto the cluster `client` reaches, and
/// returns the change set and the status to write. The previous inventory
/// is `ks.status.inventory`.
pub async fn reconcile(
    client: &kube::Client,
    ks: &Kustomization,
    source: &SourceTree<'_>,
    options: &ReconcileOptions,
) -> Outcome {
    if ks.spec.suspend {
        return Outcome::suspended(ks);
    }
    let mut status = ks.status.clone().unwrap_or_default();
    let generation = ks.metadata.generation.unwrap_or(0);
    let started = Instant::now();
    let mut changes = ChangeSet::default();
    let result = run(
        client,
        ks,
        source,
        options,
        started,
        &mut status,
        &mut changes,
    )
    .await;
    let now = Timestamp::now();
    let conditions = &mut status.conditions;
    match &result {
        Ok(health_checked) => {
            let message = format!("Applied revision: {}", source.revision);
            conditions.mark_ready(reason::SUCCEEDED, &message, generation, now);
            if *health_checked {
                let passed = format!(
                    "Health check passed in {}",
                    fleet_model::GoDuration::format(started.elapsed())
                );
                conditions.set(
                    HEALTHY,
                    ConditionStatus::True,
                    reason::HEALTHY_SUCCEEDED,
                    &passed,
                    generation,
                    now,
                );
            }
            status.last_applied_revision = Some(source.revision.clone());
            status.observed_generation = Some(generation);
        }
        Err(e) if e.is_stalled() => {
            conditions.mark_stalled(e.reason(), &e.to_string(), generation, now);
        }
        Err(e) => {
            let message = e.to_string();
            conditions.mark_failed(e.reason(), &message, generation, now);
            if matches!(e, ReconcileError::Health(_)) {
                conditions.set(
                    HEALTHY,
                    ConditionStatus::False,
                    reason::HEALTH_CHECK_FAILED,
                    &message,
                    generation,
                    now,
                );
            }
            // finalizeStatus: a failure while reconciling retries.
            if conditions.get(RECONCILING).is_some() {
                conditions.set(
                    RECONCILING,
                    ConditionStatus::True,
                    "ProgressingWithRetry",
                    &message,
                    generation,
                    now,
                );
            }
        }
    }
    if let Some(at) = ks
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("reconcile.fluxcd.io/requestedAt"))
    {
        status.reconcile_request.last_handled_reconcile_at = Some(at.clone());
    }
    Outcome {
        changes,
        status,
        result: result.map(|_| ()),
        suspended: false,
    }
}

/// The steps; returns whether health was checked.
async fn run(
    client: &kube::Client,
    ks: &Kustomization,
    source: &SourceTree<'_>,
    options: &ReconcileOptions,
    started: Instant,
    status: &mut KustomizationStatus,
    changes: &mut ChangeSet,
) -> Result<bool, ReconcileError> {
    // CEL expressions compile first: a broken one is terminal (Stalled).
    let expressions = compile_health_checks(&ks.spec.health_check_exprs)?;
    for dep in &ks.spec.depends_on {
        if let Some(ready_expr) = dep.ready_expr.as_deref().filter(|e| !e.trim().is_empty()) {
            Expr::compile(ready_expr)?;
        }
    }
    // dependsOn: nothing is attempted while a dependency is not ready
    // (lastAttemptedRevision stays), and a cycle stalls.
    check_dependencies(client, ks, &source.revision).await?;
    status.last_attempted_revision = Some(source.revision.clone());
    let progress = Progress {
        client,
        ks,
        options,
        revision: &source.revision,
        timeout: ks.spec.timeout().ok(),
    };
    progress.report(status, "Building manifests").await;
    // Flux builds the client first: an unreachable cluster is a
    // ReconciliationFailed before any build.
    let reached = target(client, ks, &options.access).await?;
    let discovery = Some(Arc::clone(&reached.discovery));
    let target = reached.client;
    let (objects, digest) = build_objects(client, ks, source, options).await?;
    let client = &target;
    progress.report(status, "Detecting drift").await;
    let namespace = ks.metadata.namespace.as_deref().unwrap_or("default");
    let apply_options = ApplyOptions {
        field_manager: options.field_manager.clone(),
        force: ks.spec.force,
        discovery: discovery.clone(),
        ..ApplyOptions::default()
    };
    let applied = apply_staged(client, &objects, &apply_options).await?;
    let mut inventory = Inventory::from_change_set(&applied);
    changes.entries.extend(applied.entries.iter().cloned());
    let previous = status
        .inventory
        .as_ref()
        .and_then(|i| Inventory::from_status(i).ok());
    let mut result = Ok(());
    if ks.spec.prune
        && let Some(previous) = &previous
    {
        let stale: Vec<ObjectId> = previous.stale_against(&inventory).cloned().collect();
        let owner = Owner {
            name: ks.metadata.name.clone().unwrap_or_default(),
            namespace: namespace.to_string(),
        };
        match prune_with(client, &stale, &owner, discovery.clone()).await {
            Ok(pruned) => changes.entries.extend(pruned.entries),
            Err(e) => {
                changes.entries.extend(e.changes.entries.iter().cloned());
                // Survivors stay in the inventory to be retried.
                inventory =
                    Inventory::from_ids(inventory.ids().cloned().chain(e.survivors.clone()));
                result = Err(ReconcileError::Prune(e));
            }
        }
    }
    status.inventory = Some(inventory.to_status());
    result?;
    let checked = health_targets(ks, options, &applied);
    let health_checked = !checked.is_empty();
    if health_checked {
        let timeout = match options.timeout {
            Some(t) => t,
            None => ks
                .spec
                .timeout()
                .map_err(|e| ReconcileError::Timeout(e.to_string()))?,
        };
        progress.report(status, "Running health checks").await;
        let wait = WaitOptions {
            interval: options.health_interval,
            timeout,
            expressions: expressions.into(),
            discovery,
        };
        let outcome = wait_for(client, &checked, &wait).await;
        record_history(status, &digest, &source.revision, outcome.is_ok(), started);
        outcome?;
    } else {
        record_history(status, &digest, &source.revision, true, started);
    }
    Ok(health_checked)
}

/// Writes the status between phases when asked to, as kustomize-controller
/// patches it while it works.
struct Progress<'a> {
    client: &'a kube::Client,
    ks: &'a Kustomization,
    options: &'a ReconcileOptions,
    revision: &'a str,
    timeout: Option<Duration>,
}

impl Progress<'_> {
    /// `Reconciling=True` and `Ready=Unknown` with reason `Progressing` and
    /// "PHASE for revision R with a timeout of T", written to the cluster.
    /// A failed write is not fatal: the final status write reports errors.
    async fn report(&self, status: &mut KustomizationStatus, phase: &str) {
        if !self.options.report_progress {
            return;
        }
        let timeout = self
            .timeout
            .map(fleet_model::GoDuration::format)
            .unwrap_or_else(|| "(invalid)".to_string());
        let message = format!(
            "{phase} for revision {} with a timeout of {timeout}",
            self.revision
        );
        let generation = self.ks.metadata.generation.unwrap_or(0);
        let now = Timestamp::now();
        status.conditions.set(
            RECONCILING,
            ConditionStatus::True,
            reason::PROGRESSING,
            &message,
            generation,
            now,
        );
        status.conditions.set(
            fleet_model::condition::READY,
            ConditionStatus::Unknown,
            reason::PROGRESSING,
            "Reconciliation in progress",
            generation,
            now,
        );
        let _ = write_status(self.client, self.ks, status).await;
    }
}

/// The build of `ks` from `source` with its inputs read from the cluster,
/// as JSON objects for the API server, and the digest of its YAML (the
/// history's `digest`).
pub(crate) async fn build_objects(
    client: &kube::Client,
    ks: &Kustomization,
    source: &SourceTree<'_>,
    options: &ReconcileOptions,
) -> Result<(Vec<serde_json::Value>, String), ReconcileError> {
    let namespace = ks.metadata.namespace.as_deref().unwrap_or("default");
    let build_options = FluxBuildOptions {
        strict_substitution: options.strict_substitution,
        substitute_sources: substitute_sources(client, ks, namespace).await?,
        decryption_keys: decryption_keys(client, ks, namespace).await?,
        keep_encrypted: false,
    };
    let set = build_kustomization_dir(source.fs, &source.dir, ks, &build_options)?;
    let digest = crate::source::storage::digest_string(&Sha256::digest(set.to_yaml().as_bytes()));
    let mut objects = Vec::with_capacity(set.resources.len());
    for (index, object) in set.resources.iter().enumerate() {
        let json = object
            .to_json_value()
            .map_err(|e| ReconcileError::Inputs(format!("object {index} of the build: {e}")))?;
        objects.push(json);
    }
    Ok((objects, digest))
}

/// What the health wait looks at: every applied object with `wait` (not
/// those skipped), else the `healthChecks` references.
fn health_targets(
    ks: &Kustomization,
    options: &ReconcileOptions,
    applied: &ChangeSet,
) -> Vec<ObjectId> {
    if ks.spec.wait || options.wait {
        return applied
            .entries
            .iter()
            .filter(|c| c.action != Action::Skipped)
            .map(|c| c.id.clone())
            .collect();
    }
    ks.spec
        .health_checks
        .iter()
        .map(|r| {
            let namespace = r.namespace.as_deref().or(ks.metadata.namespace.as_deref());
            // Without an apiVersion, the version of the applied object of that
            // kind and name (the server's preferred one otherwise).
            let api_version = r.api_version.clone().unwrap_or_else(|| {
                applied
                    .entries
                    .iter()
                    .find(|c| c.id.kind == r.kind && c.id.name == r.name)
                    .map(|c| c.id.api_version())
                    .unwrap_or_else(|| "v1".to_string())
            });
            ObjectId::new(&api_version, &r.kind, namespace, &r.name)
        })
        .collect()
}

/// Upserts a history entry (deduplicated on digest and status), keeping
/// the last five, newest first, as `fluxcd/pkg/apis/meta` does.
fn record_history(
    status: &mut KustomizationStatus,
    digest: &str,
    revision: &str,
    ok: bool,
    started: Instant,
) {
    let now = Timestamp::now().to_string();
    let took =
        fleet_model::GoDuration::from(fleet_model::GoDuration::format(started.elapsed()).as_str());
    let outcome = if ok { "success" } else { "failure" };
    let history = &mut status.history;
    if let Some(i) = history
        .iter()
        .position(|s| s.digest == digest && s.last_reconciled_status == outcome)
    {
        let mut entry = history.remove(i);
        entry.last_reconciled = now;
        entry.last_reconciled_duration = took;
        entry.total_reconciliations += 1;
        entry
            .metadata
            .insert("revision".into(), revision.to_string());
        history.insert(0, entry);
    } else {
        let mut metadata = IndexMap::new();
        metadata.insert("revision".to_string(), revision.to_string());
        history.insert(
            0,
            Snapshot {
                digest: digest.to_string(),
                first_reconciled: now.clone(),
                last_reconciled: now,
                last_reconciled_duration: took,
                last_reconciled_status: outcome.to_string(),
                total_reconciliations: 1,
                metadata,
            },
        );
    }
    history.truncate(5);
}

/// The `substituteFrom` data, read from the cluster.
async fn substitute_sources(
    client: &kube::Client,
    ks: &Kustomization,
    namespace: &str,
) -> Result<IndexMap<(String, String), IndexMap<String, String>>, ReconcileError> {
    let mut out = IndexMap::new();
    let Some(post_build) = &ks.spec.post_build else {
        return Ok(out);
    };
    for r in &post_build.substitute_from {
        let data = match r.kind {
            SubstituteKind::ConfigMap => {
                let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
                api.get_opt(&r.name)
                    .await
                    .map_err(|e| input_error("ConfigMap", namespace, &r.name, &e))?
                    .map(|cm| cm.data.unwrap_or_default().into_iter().collect())
            }
            SubstituteKind::Secret => {
                let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
                api.get_opt(&r.name)
                    .await
                    .map_err(|e| input_error("Secret", namespace, &r.name, &e))?
                    .map(|s| {
                        s.data
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                            .collect()
                    })
            }
        };
        let kind = match r.kind {
            SubstituteKind::ConfigMap => "ConfigMap",
            SubstituteKind::Secret => "Secret",
        };
        match data {
            Some(data) => {
                out.insert((kind.to_string(), r.name.clone()), data);
            }
            None if r.optional => {}
            None => {
                return Err(ReconcileError::Inputs(format!(
                    "substitute from '{kind}/{}' failed: {kind} '{namespace}/{}' not found",
                    r.name, r.name
                )));
            }
        }
    }
    Ok(out)
}

/// The SOPS keys of the decryption Secret, read from the cluster.
async fn decryption_keys(
    client: &kube::Client,
    ks: &Kustomization,
    namespace: &str,
) -> Result<Option<Arc<KeyRing>>, ReconcileError> {
    let Some(name) = ks
        .spec
        .decryption
        .as_ref()
        .and_then(|d| d.secret_ref.as_ref())
        .map(|r| r.name.clone())
    else {
        return Ok(None);
    };
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = api
        .get_opt(&name)
        .await
        .map_err(|e| input_error("Secret", namespace, &name, &e))?
        .ok_or_else(|| {
            ReconcileError::Inputs(format!(
                "cannot get decryption Secret '{namespace}/{name}': not found"
            ))
        })?;
    let data = secret.data.unwrap_or_default();
    let ring = KeyRing::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.0.as_slice())))
        .map_err(|e| {
            ReconcileError::Inputs(format!("decryption Secret '{namespace}/{name}': {e}"))
        })?;
    Ok(Some(Arc::new(ring)))
}

fn input_error(kind: &str, namespace: &str, name: &str, e: &kube::Error) -> ReconcileError {
    ReconcileError::Inputs(format!("cannot get {kind} '{namespace}/{name}': {e}"))
}

/// The Kustomization `namespace/name` as the cluster has it, if it does
/// (a missing object, or a cluster without Flux's CRDs, is `None`).
pub async fn live_kustomization(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Option<Kustomization>, kube::Error> {
    let api: Api<Kustomization> = Api::namespaced(client.clone(), namespace);
    match api.get_opt(name).await {
        Ok(found) => Ok(found),
        // The kind is not served: Flux is not installed.
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `status` to the Kustomization's status subresource, as the
/// controller's deferred status patch does.
pub async fn write_status(
    client: &kube::Client,
    ks: &Kustomization,
    status: &KustomizationStatus,
) -> Result<(), kube::Error> {
    let namespace = ks.metadata.namespace.as_deref().unwrap_or("default");
    let name = ks.metadata.name.as_deref().unwrap_or_default();
    let api: Api<Kustomization> = Api::namespaced(client.clone(), namespace);
    let patch = serde_json::json!({ "status": status });
    api.patch_status(
        name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

/// One reconcile from a local tree (`fleet apply ks`).
#[derive(Debug, Clone)]
pub struct LocalApply {
    /// The Kustomization's name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The directory holding the manifests of `spec.path`.
    pub path: std::path::PathBuf,
    /// A file holding the Kustomization; without it, the cluster's object
    /// is used, else the repository around `path` is searched.
    pub kustomization_file: Option<std::path::PathBuf>,
    /// How to reconcile.
    pub options: ReconcileOptions,
}

/// What [`apply_local`] did.
#[derive(Debug)]
pub struct LocalApplyOutcome {
    /// The reconcile.
    pub outcome: Outcome,
    /// Whether the Kustomization exists in the cluster (its inventory drove
    /// pruning and its status was written).
    pub in_cluster: bool,
}

/// Why a local apply could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalApplyError {
    /// Finding the Kustomization or the directory failed.
    #[error(transparent)]
    Local(#[from] fleet_kustomize::flux::local::LocalError),
    /// Reading the Kustomization from the cluster failed.
    #[error("reading Kustomization {namespace}/{name} from the cluster: {message}")]
    Get {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// What the server said.
        message: String,
    },
    /// Building or dry-running failed (`fleet diff ks`).
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    /// Writing its status failed (the apply itself happened).
    #[error("writing the status of Kustomization {namespace}/{name}: {message}")]
    WriteStatus {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// What the server said.
        message: String,
    },
}

/// Reconciles a Kustomization from a local directory onto the cluster, by
/// the same [`reconcile`] the controller runs. The Kustomization comes from
/// `kustomization_file`, else the cluster, else the repository around
/// `path`. When the cluster has the object, its inventory drives pruning
/// and the new status is written to it; when it does not, nothing is
/// pruned.
pub async fn apply_local(
    client: &kube::Client,
    request: &LocalApply,
) -> Result<LocalApplyOutcome, LocalApplyError> {
    let (ks, live, dir) = local_target(client, request).await?;
    let source = SourceTree {
        fs: &fleet_kustomize::fs::DiskFs,
        dir: dir.to_string_lossy().into_owned(),
        revision: local_revision(&dir),
    };
    let options = ReconcileOptions {
        report_progress: live.is_some(),
        ..request.options.clone()
    };
    let outcome = reconcile(client, &ks, &source, &options).await;
    if let Some(live) = &live
        && !outcome.suspended
    {
        write_status(client, live, &outcome.status)
            .await
            .map_err(|e| LocalApplyError::WriteStatus {
                namespace: request.namespace.clone(),
                name: request.name.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(LocalApplyOutcome {
        outcome,
        in_cluster: live.is_some(),
    })
}

/// The Kustomization a local request means (from its file, else the
/// cluster, else the repository around its path), with the cluster's status
/// and generation as the previous state; the cluster's object, if any; and
/// the directory to build.
pub(crate) async fn local_target(
    client: &kube::Client,
    request: &LocalApply,
) -> Result<(Kustomization, Option<Kustomization>, std::path::PathBuf), LocalApplyError> {
    use fleet_kustomize::flux::local;
    let dir =
        std::fs::canonicalize(&request.path).map_err(|_| local::LocalError::NoSuchDirectory {
            what: "--path",
            path: request.path.clone(),
        })?;
    let live = live_kustomization(client, &request.namespace, &request.name)
        .await
        .map_err(|e| LocalApplyError::Get {
            namespace: request.namespace.clone(),
            name: request.name.clone(),
            message: e.to_string(),
        })?;
    let mut ks = match (&request.kustomization_file, &live) {
        (Some(file), _) => local::kustomization_in_file(file, &request.name, &request.namespace)?,
        (None, Some(live)) => live.clone(),
        (None, None) => {
            let repo = local::repository_root(&dir);
            let objects = local::repository_objects(&repo);
            local::kustomization_in_repository(
                &objects,
                &repo,
                &dir,
                &request.name,
                &request.namespace,
            )?
        }
    };
    if ks.metadata.namespace.is_none() {
        ks.metadata.namespace = Some(request.namespace.clone());
    }
    // The cluster's status (inventory, history) and generation are the
    // previous state; without the object there is none.
    ks.status = live.as_ref().and_then(|l| l.status.clone());
    ks.metadata.generation = live.as_ref().and_then(|l| l.metadata.generation);
    Ok((ks, live, dir))
}

/// The revision a local tree stands for: its Git HEAD as Flux writes
/// revisions (`main@sha1:…`, or `sha1:…` when detached), else `local`.
pub(crate) fn local_revision(dir: &std::path::Path) -> String {
    let Ok(repo) = gix::discover(dir) else {
        return "local".to_string();
    };
    let Ok(head) = repo.head() else {
        return "local".to_string();
    };
    let Some(id) = head.id() else {
        return "local".to_string();
    };
    match head.referent_name() {
        Some(name) => format!("{}@sha1:{id}", name.shorten()),
        None => format!("sha1:{id}"),
    }
}
