//! `spec.dependsOn`: when a dependency counts as ready (kustomize-controller's
//! `checkDependencies`), the order to reconcile a set of Kustomizations in,
//! and the dependency cycles Flux silently never reconciles
//! (kustomize-controller issue #1712), reported here with every member.
//! [`check_dependencies`] is the check `reconcile` runs against the
//! cluster before anything else.
//!
//! ```
//! use fleet_reconcile::depends::{order, Key};
//! use fleet_model::flux::kustomization::Kustomization;
//! let ks = |name: &str, deps: &[&str]| -> Kustomization {
//!     let deps: Vec<_> = deps.iter().map(|d| serde_json::json!({"name": d})).collect();
//!     serde_json::from_value(serde_json::json!({
//!         "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
//!         "metadata": {"name": name, "namespace": "flux-system"},
//!         "spec": {"interval": "10m", "prune": true, "dependsOn": deps,
//!                  "sourceRef": {"kind": "GitRepository", "name": "fleet"}}})).unwrap()
//! };
//! let all = [ks("apps", &["infra"]), ks("infra", &[]), ks("a", &["b"]), ks("b", &["a"])];
//! let plan = order(&all);
//! let names: Vec<&str> = plan.order.iter().map(|k| k.name.as_str()).collect();
//! assert_eq!(names, ["infra", "apps"]);
//! assert_eq!(plan.cycles[0].to_string(), "flux-system/a -> flux-system/b -> flux-system/a");
//! ```

use fleet_model::condition::{ConditionStatus, Conditions, READY};
use fleet_model::flux::kustomization::Kustomization;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A Kustomization's `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl Key {
    /// The key of `ks`.
    pub fn of(ks: &Kustomization) -> Key {
        Key {
            namespace: ks.metadata.namespace.clone().unwrap_or_default(),
            name: ks.metadata.name.clone().unwrap_or_default(),
        }
    }

    /// The keys `ks` depends on (a dependency without a namespace is in
    /// the Kustomization's own).
    pub fn dependencies(ks: &Kustomization) -> Vec<Key> {
        let own = ks.metadata.namespace.clone().unwrap_or_default();
        ks.spec
            .depends_on
            .iter()
            .map(|d| Key {
                namespace: d.namespace.clone().unwrap_or_else(|| own.clone()),
                name: d.name.clone(),
            })
            .collect()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A dependency cycle: each member depends on the next, the last on the
/// first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<Key>);

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for key in &self.0 {
            write!(f, "{key} -> ")?;
        }
        match self.0.first() {
            Some(first) => write!(f, "{first}"),
            None => Ok(()),
        }
    }
}

/// The reconcile order of a set of Kustomizations.
#[derive(Debug, Clone, Default)]
pub struct Order {
    /// Every Kustomization not in or behind a cycle, dependencies first
    /// (ties by namespace and name).
    pub order: Vec<Key>,
    /// The cycles found, each once, starting at its smallest member.
    pub cycles: Vec<Cycle>,
    /// Kustomizations that depend, directly or not, on a cycle: they wait
    /// for ever, as in Flux.
    pub blocked: Vec<Key>,
}

impl Order {
    /// The cycle `key` is a member of, if any (to report it as Stalled on
    /// every member).
    pub fn cycle_of(&self, key: &Key) -> Option<&Cycle> {
        self.cycles.iter().find(|c| c.0.contains(key))
    }
}

/// Orders `all` so that dependencies come first, and finds the cycles.
/// Dependencies outside `all` are not ordered (they may live elsewhere);
/// [`dependency_ready`] decides about them at reconcile time.
pub fn order(all: &[Kustomization]) -> Order {
    let keys: BTreeSet<Key> = all.iter().map(Key::of).collect();
    let edges: BTreeMap<Key, Vec<Key>> = all
        .iter()
        .map(|ks| {
            let deps = Key::dependencies(ks)
                .into_iter()
                .filter(|d| keys.contains(d))
                .collect();
            (Key::of(ks), deps)
        })
        .collect();
    let cycles = find_cycles(&edges);
    let in_cycle: BTreeSet<&Key> = cycles.iter().flat_map(|c| c.0.iter()).collect();
    let mut out = Order {
        cycles: cycles.clone(),
        ..Order::default()
    };
    // Kahn's algorithm over what is not in a cycle; what never becomes
    // free depends on a cycle.
    let mut done: BTreeSet<Key> = BTreeSet::new();
    loop {
        let ready: Vec<Key> = edges
            .iter()
            .filter(|(k, deps)| {
                !done.contains(*k) && !in_cycle.contains(k) && deps.iter().all(|d| done.contains(d))
            })
            .map(|(k, _)| k.clone())
            .collect();
        if ready.is_empty() {
            break;
        }
        for k in ready {
            done.insert(k.clone());
            out.order.push(k);
        }
    }
    out.blocked = edges
        .keys()
        .filter(|k| !done.contains(*k) && !in_cycle.contains(k))
        .cloned()
        .collect();
    out
}

/// Every elementary cycle reachable in the graph, found once each by a
/// depth-first search (Tarjan's strongly connected components, then one
/// cycle through each component's smallest member).
fn find_cycles(edges: &BTreeMap<Key, Vec<Key>>) -> Vec<Cycle> {
    let mut cycles = Vec::new();
    for component in strongly_connected(edges) {
        let self_loop = component.len() == 1
            && edges
                .get(&component[0])
                .is_some_and(|d| d.contains(&component[0]));
        if component.len() < 2 && !self_loop {
            continue;
        }
        let members: BTreeSet<&Key> = component.iter().collect();
        let start = component
            .iter()
            .min()
            .cloned()
            .unwrap_or_else(|| component[0].clone());
        // Walk from the smallest member, always to the smallest next member
        // not yet on the path, until the start comes round again.
        let mut path = vec![start.clone()];
        let mut current = start.clone();
        loop {
            let next = edges
                .get(&current)
                .into_iter()
                .flatten()
                .filter(|d| members.contains(d))
                .filter(|d| **d == start || !path.contains(d))
                .min_by_key(|d| (**d != start, (*d).clone()));
            match next {
                Some(n) if *n == start => break,
                Some(n) => {
                    path.push(n.clone());
                    current = n.clone();
                }
                None => break,
            }
        }
        cycles.push(Cycle(path));
    }
    cycles.sort_by(|a, b| a.0.cmp(&b.0));
    cycles
}

/// Tarjan's algorithm, iterative enough for the sizes of a fleet.
fn strongly_connected(edges: &BTreeMap<Key, Vec<Key>>) -> Vec<Vec<Key>> {
    struct State<'a> {
        edges: &'a BTreeMap<Key, Vec<Key>>,
        index: BTreeMap<&'a Key, usize>,
        low: BTreeMap<&'a Key, usize>,
        stack: Vec<&'a Key>,
        on_stack: BTreeSet<&'a Key>,
        next: usize,
        out: Vec<Vec<Key>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Key) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let deps: &'a [Key] = s.edges.get(v).map(Vec::as_slice).unwrap_or(&[]);
        for w in deps {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[w].min(s.low[v]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.index[w].min(s.low[v]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            s.out.push(component);
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.out
}

/// Why a dependency is not ready, in kustomize-controller's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// The dependency does not exist.
    #[error("unable to get '{0}' dependency: not found")]
    Missing(Key),
    /// It has not reconciled its current generation yet.
    #[error("dependency '{0}' is not ready")]
    NotReconciled(Key),
    /// It reads the same source and has not applied the current revision.
    #[error("dependency '{0}' revision is not up to date")]
    Behind(Key),
    /// Its `readyExpr` is false.
    #[error("dependency '{0}' is not ready according to readyExpr eval")]
    ReadyExprFalse(Key),
    /// Its `readyExpr` could not be evaluated.
    #[error("dependency '{0}' readyExpr: {1}")]
    ReadyExprError(Key, String),
}

/// Whether the dependency `dep` (looked up by its key; `None` when it does
/// not exist) lets `ks`, about to apply `revision`, go ahead: it exists,
/// its generation is observed, it is Ready, and when it reads the same
/// source its last applied revision is `revision`. (`readyExpr` is not
/// evaluated yet.)
pub fn dependency_ready(
    ks: &Kustomization,
    key: &Key,
    dep: Option<&Kustomization>,
    revision: &str,
) -> Result<(), NotReady> {
    let Some(dep) = dep else {
        return Err(NotReady::Missing(key.clone()));
    };
    let status = dep.status.clone().unwrap_or_default();
    let observed =
        dep.metadata.generation.is_some() && dep.metadata.generation == status.observed_generation;
    let ready = status
        .conditions
        .get(READY)
        .is_some_and(|c| c.status == ConditionStatus::True);
    if status.conditions.is_empty() || !observed || !ready {
        return Err(NotReady::NotReconciled(key.clone()));
    }
    let source_key = |k: &Kustomization| {
        let r = &k.spec.source_ref;
        (
            format!("{:?}", r.kind),
            r.name.clone(),
            r.namespace
                .clone()
                .or_else(|| k.metadata.namespace.clone())
                .unwrap_or_default(),
        )
    };
    if source_key(ks) == source_key(dep)
        && status.last_applied_revision.as_deref() != Some(revision)
    {
        return Err(NotReady::Behind(key.clone()));
    }
    Ok(())
}

/// Why a Kustomization may not reconcile yet (kustomize-controller's
/// `checkDependencies`, plus the cycle report Flux lacks).
#[derive(Debug, thiserror::Error)]
pub enum DependencyError {
    /// A dependency is missing or not ready: retry later
    /// (`DependencyNotReady`).
    #[error(transparent)]
    NotReady(#[from] NotReady),
    /// The Kustomization is a member of a dependency cycle: it can never
    /// become ready, so it is reported as Stalled until the cycle is broken.
    #[error("dependency cycle: {0}; remove one of these dependsOn entries")]
    Cycle(Cycle),
    /// A dependency could not be read.
    #[error("unable to get '{key}' dependency: {error}")]
    Get {
        /// The dependency.
        key: Key,
        /// What the server said.
        error: Box<kube::Error>,
    },
}

/// How many Kustomizations the cycle search reads at most; a longer
/// dependency chain is not searched further (its members are still checked
/// for readiness).
const CYCLE_SEARCH_LIMIT: usize = 1_000;

/// Checks `ks`'s `dependsOn` against the cluster before it reconciles
/// `revision`: first whether `ks` is on a dependency cycle (following
/// dependencies through the cluster, each read once), then whether each
/// direct dependency is ready ([`dependency_ready`]), in the order listed.
/// Dependencies are read from the API server directly, as Flux's
/// APIReader does.
pub async fn check_dependencies(
    client: &kube::Client,
    ks: &Kustomization,
    revision: &str,
) -> Result<(), DependencyError> {
    let direct = Key::dependencies(ks);
    if direct.is_empty() {
        return Ok(());
    }
    let me = Key::of(ks);
    if direct.contains(&me) {
        return Err(DependencyError::Cycle(Cycle(vec![me])));
    }
    // Breadth-first over the dependency graph; `parent` leads back to `ks`.
    let mut fetched: BTreeMap<Key, Option<Kustomization>> = BTreeMap::new();
    let mut parent: BTreeMap<Key, Key> = BTreeMap::new();
    let mut queue: std::collections::VecDeque<Key> = std::collections::VecDeque::new();
    for dep in &direct {
        if !parent.contains_key(dep) {
            parent.insert(dep.clone(), me.clone());
            queue.push_back(dep.clone());
        }
    }
    while let Some(key) = queue.pop_front() {
        if fetched.len() >= CYCLE_SEARCH_LIMIT {
            break;
        }
        let found = get(client, &key).await?;
        for next in found.iter().flat_map(Key::dependencies) {
            if next == me {
                return Err(DependencyError::Cycle(cycle_back_to(&me, &key, &parent)));
            }
            if !parent.contains_key(&next) {
                parent.insert(next.clone(), key.clone());
                queue.push_back(next);
            }
        }
        fetched.insert(key, found);
    }
    for (key, reference) in direct.iter().zip(&ks.spec.depends_on) {
        let dep = match fetched.get(key) {
            Some(found) => found.clone(),
            None => get(client, key).await?,
        };
        match reference
            .ready_expr
            .as_deref()
            .filter(|e| !e.trim().is_empty())
        {
            // A readyExpr replaces the built-in check, as in Flux without
            // its AdditiveCELDependencyCheck gate.
            Some(expr) => ready_by_expression(ks, key, dep.as_ref(), expr)?,
            None => dependency_ready(ks, key, dep.as_ref(), revision)?,
        }
    }
    Ok(())
}

/// A dependency is ready when its `readyExpr` is true, with `self` the
/// Kustomization being reconciled and `dep` the dependency.
pub fn ready_by_expression(
    ks: &Kustomization,
    key: &Key,
    dep: Option<&Kustomization>,
    expr: &str,
) -> Result<(), NotReady> {
    let Some(dep) = dep else {
        return Err(NotReady::Missing(key.clone()));
    };
    let failed = |e: String| NotReady::ReadyExprError(key.clone(), e);
    let compiled = crate::cel_expr::Expr::compile(expr).map_err(|e| failed(e.to_string()))?;
    let me = serde_json::to_value(ks).map_err(|e| failed(e.to_string()))?;
    let dep = serde_json::to_value(dep).map_err(|e| failed(e.to_string()))?;
    match compiled.evaluate(&[("self", &me), ("dep", &dep)]) {
        Ok(true) => Ok(()),
        Ok(false) => Err(NotReady::ReadyExprFalse(key.clone())),
        Err(e) => Err(failed(e.to_string())),
    }
}

async fn get(client: &kube::Client, key: &Key) -> Result<Option<Kustomization>, DependencyError> {
    let api: kube::Api<Kustomization> = kube::Api::namespaced(client.clone(), &key.namespace);
    api.get_opt(&key.name)
        .await
        .map_err(|error| DependencyError::Get {
            key: key.clone(),
            error: Box::new(error),
        })
}

/// The cycle `me -> … -> last -> me` where `last` depends on `me`, from
/// the breadth-first `parent` links (each points one step back towards
/// `me`), rotated to start at its smallest member so every member reports
/// the same text.
fn cycle_back_to(me: &Key, last: &Key, parent: &BTreeMap<Key, Key>) -> Cycle {
    let mut path = vec![last.clone()];
    let mut at = last;
    while let Some(p) = parent.get(at) {
        if p == me {
            break;
        }
        path.push(p.clone());
        at = p;
    }
    path.push(me.clone());
    path.reverse();
    rotate_to_smallest(path)
}

fn rotate_to_smallest(mut path: Vec<Key>) -> Cycle {
    if let Some(start) = path
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.cmp(b.1))
        .map(|(i, _)| i)
    {
        path.rotate_left(start);
    }
    Cycle(path)
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn ks(ns: &str, name: &str, deps: &[&str]) -> Kustomization {
        let deps: Vec<serde_json::Value> = deps
            .iter()
            .map(|d| match d.split_once('/') {
                Some((n, name)) => serde_json::json!({"name": name, "namespace": n}),
                None => serde_json::json!({"name": d}),
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": ns, "generation": 2},
            "spec": {"interval": "10m", "prune": true, "dependsOn": deps,
                     "sourceRef": {"kind": "GitRepository", "name": "fleet"}}}))
        .expect("kustomization")
    }

    fn names(keys: &[Key]) -> Vec<String> {
        keys.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn dependencies_come_first_and_cycles_are_reported_whole() {
        let all = [
            ks("fx", "apps", &["infra", "crds"]),
            ks("fx", "infra", &["crds"]),
            ks("fx", "crds", &[]),
            ks("fx", "x", &["y"]),
            ks("fx", "y", &["z"]),
            ks("fx", "z", &["x"]),
            ks("fx", "after-cycle", &["y"]),
            ks("fx", "self", &["self"]),
            ks("other", "remote-dep", &["fx/crds", "elsewhere"]),
        ];
        let plan = order(&all);
        assert_eq!(
            names(&plan.order),
            ["fx/crds", "fx/infra", "other/remote-dep", "fx/apps"]
        );
        let cycles: Vec<String> = plan.cycles.iter().map(ToString::to_string).collect();
        assert_eq!(
            cycles,
            ["fx/self -> fx/self", "fx/x -> fx/y -> fx/z -> fx/x"]
        );
        assert_eq!(names(&plan.blocked), ["fx/after-cycle"]);
        let y = Key {
            namespace: "fx".into(),
            name: "y".into(),
        };
        assert_eq!(
            plan.cycle_of(&y).map(ToString::to_string).as_deref(),
            Some("fx/x -> fx/y -> fx/z -> fx/x")
        );
    }

    #[test]
    fn a_dependency_is_ready_when_observed_ready_and_at_the_same_revision() {
        let app = ks("fx", "apps", &["infra"]);
        let key = Key {
            namespace: "fx".into(),
            name: "infra".into(),
        };
        assert_eq!(
            dependency_ready(&app, &key, None, "main@sha1:1"),
            Err(NotReady::Missing(key.clone()))
        );
        let mut infra = ks("fx", "infra", &[]);
        assert_eq!(
            dependency_ready(&app, &key, Some(&infra), "main@sha1:1"),
            Err(NotReady::NotReconciled(key.clone()))
        );
        let status = serde_json::json!({
            "observedGeneration": 2, "lastAppliedRevision": "main@sha1:1",
            "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                            "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]});
        infra.status = Some(serde_json::from_value(status).expect("status"));
        assert_eq!(
            dependency_ready(&app, &key, Some(&infra), "main@sha1:1"),
            Ok(())
        );
        assert_eq!(
            dependency_ready(&app, &key, Some(&infra), "main@sha1:2"),
            Err(NotReady::Behind(key.clone()))
        );
        // Another source: the revision does not matter.
        let mut other_source = app.clone();
        other_source.spec.source_ref.name = "other".into();
        assert_eq!(
            dependency_ready(&other_source, &key, Some(&infra), "main@sha1:2"),
            Ok(())
        );
        // A new generation not yet observed.
        infra.metadata.generation = Some(3);
        assert_eq!(
            dependency_ready(&app, &key, Some(&infra), "main@sha1:1"),
            Err(NotReady::NotReconciled(key))
        );
    }
}
