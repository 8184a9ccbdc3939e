//! Name references: after prefixes, suffixes and hashes renamed resources,
//! every field that referred to a resource by its old name is pointed at the
//! new one (ConfigMaps in volumes and envFrom, ServiceAccounts in RBAC
//! subjects, roleRefs, Services in Ingress backends, …).
//!
//! Candidates are indexed by kind and by every name they have had, so each
//! reference is resolved without scanning the whole set — kustomize's own
//! implementation re-scans all resources per reference, which is where most
//! of its time goes on large fleets.

use crate::error::{Error, Result};
use crate::fieldspec::{Create, NameBackRef, TransformerConfig, visit};
use crate::resource::{ResId, ResMap, Resource, ensure_mapping, is_cluster_scoped};
use fleet_model::Value;
use std::collections::HashMap;

/// What a candidate referral looked like before and after renames.
struct Candidate {
    current: ResId,
    /// Its original id and every id it had since, and the current one.
    before: Vec<ResId>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Candidate {
    fn of(r: &Resource) -> Candidate {
        let current = r.id();
        let mut before = r.previous.clone();
        before.push(current.clone());
        Candidate {
            current,
            before,
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        }
    }

    fn kind_matches(&self, group: &str, version: &str, kind: &str) -> bool {
        let sel = |want: &str, have: &str| want.is_empty() || want == have;
        self.before
            .iter()
            .chain(std::iter::once(&self.current))
            .any(|id| id.kind == kind && sel(group, &id.group) && sel(version, &id.version))
    }
}

/// Fixes every name reference in the set.
pub fn fix(resmap: &mut ResMap, config: &TransformerConfig) -> Result<()> {
    let candidates: Vec<Candidate> = resmap.resources().iter().map(Candidate::of).collect();
    // kind -> name (any earlier name) -> candidate indices
    let mut by_name: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, c) in candidates.iter().enumerate() {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for id in &c.before {
            let key = (id.kind.as_str(), id.name.as_str());
            if !seen.contains(&key) {
                seen.push(key);
                by_name.entry(key).or_default().push(i);
            }
        }
    }
    // kind, name, prefixes and suffixes -> candidates: resolves references
    // between copies of one base (a fleet's clusters) without scanning them all.
    let mut by_signature: HashMap<(&str, &str, String), Vec<usize>> = HashMap::new();
    for (i, c) in candidates.iter().enumerate() {
        let sig = signature(&c.prefixes, &c.suffixes);
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for id in &c.before {
            let key = (id.kind.as_str(), id.name.as_str());
            if !seen.contains(&key) {
                seen.push(key);
                by_signature
                    .entry((key.0, key.1, sig.clone()))
                    .or_default()
                    .push(i);
            }
        }
    }
    let mut resources = std::mem::take(resmap).into_resources();
    for referrer in resources.iter_mut() {
        let rid = referrer.id();
        let role_ref = role_ref_hint(&referrer.value);
        let sig = signature(&referrer.prefixes, &referrer.suffixes);
        for backref in &config.name_reference {
            for fs in &backref.field_specs {
                if !fs.matches(&rid.group, &rid.version, &rid.kind) {
                    continue;
                }
                let no_create = crate::fieldspec::FieldSpec {
                    create: false,
                    ..fs.clone()
                };
                let ctx = Lookup {
                    candidates: &candidates,
                    by_name: &by_name,
                    by_signature: &by_signature,
                    signature: &sig,
                    backref,
                    referrer: &rid,
                    role_ref: role_ref.as_ref(),
                    prefixes: &referrer.prefixes,
                    suffixes: &referrer.suffixes,
                };
                visit(
                    &mut referrer.value,
                    &no_create,
                    Create::Scalar,
                    &mut |node| ctx.update(node),
                )?;
            }
        }
    }
    let mut out = ResMap::new();
    out.set_all(resources);
    *resmap = out;
    Ok(())
}

struct Lookup<'a> {
    candidates: &'a [Candidate],
    by_name: &'a HashMap<(&'a str, &'a str), Vec<usize>>,
    backref: &'a NameBackRef,
    by_signature: &'a HashMap<(&'a str, &'a str, String), Vec<usize>>,
    signature: &'a str,
    referrer: &'a ResId,
    role_ref: Option<&'a (String, String)>,
    prefixes: &'a [String],
    suffixes: &'a [String],
}

fn signature(prefixes: &[String], suffixes: &[String]) -> String {
    format!("{}\u{0}{}", prefixes.join("\u{1}"), suffixes.join("\u{1}"))
}

/// The kind and group a RoleBinding's `roleRef` names.
fn role_ref_hint(v: &Value) -> Option<(String, String)> {
    let rr = v.get("roleRef")?;
    let kind = rr.get("kind").and_then(Value::as_str)?.to_string();
    let group = rr
        .get("apiGroup")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Some((group, kind))
}

/// kustomize's `SameEndingSubSlice`: the shorter list is the tail of the longer.
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    long[long.len() - short.len()..] == *short
}

impl Lookup<'_> {
    /// The one candidate `name` (in `namespace`, when given) refers to.
    fn select(
        &self,
        name: &str,
        namespace: Option<&str>,
        kind_hint: Option<(&str, &str)>,
    ) -> Result<Option<&Candidate>> {
        let Some(mut ids) = self.by_name.get(&(self.backref.kind.as_str(), name)) else {
            return Ok(None);
        };
        if ids.len() > 16
            && let Some(same) = self.by_signature.get(&(
                self.backref.kind.as_str(),
                name,
                self.signature.to_string(),
            ))
        {
            ids = same;
        }
        let referrer_clustered = is_cluster_scoped(&self.referrer.group, &self.referrer.kind);
        let mut found: Vec<&Candidate> = Vec::new();
        for &i in ids {
            let c = &self.candidates[i];
            if !c.kind_matches(
                &self.backref.group,
                &self.backref.version,
                &self.backref.kind,
            ) {
                continue;
            }
            if let Some((group, kind)) = kind_hint
                && !c
                    .before
                    .iter()
                    .any(|id| id.kind == kind && (group.is_empty() || id.group == group))
            {
                continue;
            }
            let ns_ok = match namespace {
                Some(ns) => {
                    let want = if ns.is_empty() { "default" } else { ns };
                    c.before.iter().any(|id| id.effective_namespace() == want)
                        || c.current.effective_namespace() == want
                        || is_cluster_scoped(&c.current.group, &c.current.kind)
                }
                None => {
                    referrer_clustered
                        || is_cluster_scoped(&c.current.group, &c.current.kind)
                        || c.current.kind == "ServiceAccount"
                        || c.current.effective_namespace() == self.referrer.effective_namespace()
                }
            };
            if ns_ok {
                found.push(c);
            }
        }
        found.dedup_by(|a, b| a.current == b.current);
        if found.len() > 1 {
            // Tell apart copies of one base by the prefixes and suffixes they
            // share with the referrer: exactly first, then letting an empty
            // list match anything.
            let exact: Vec<&Candidate> = found
                .iter()
                .copied()
                .filter(|c| {
                    same_ending(&c.prefixes, self.prefixes)
                        && same_ending(&c.suffixes, self.suffixes)
                })
                .collect();
            if exact.is_empty() {
                found.retain(|c| {
                    (c.prefixes.is_empty()
                        || self.prefixes.is_empty()
                        || same_ending(&c.prefixes, self.prefixes))
                        && (c.suffixes.is_empty()
                            || self.suffixes.is_empty()
                            || same_ending(&c.suffixes, self.suffixes))
                });
            } else {
                found = exact;
            }
        }
        match found.len() {
            0 => Ok(None),
            1 => Ok(Some(found[0])),
            _ => {
                if found
                    .iter()
                    .all(|c| c.current.name == found[0].current.name)
                {
                    // kustomize v5.5 settles a tie between same-named
                    // referrals on the one added last.
                    return Ok(found.last().copied());
                }
                Err(Error::msg(format!(
                    "found multiple possible referrals for {} named {name:?} referred to by {}: {}",
                    self.backref.kind,
                    self.referrer,
                    found
                        .iter()
                        .map(|c| c.current.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        }
    }

    fn update(&self, node: &mut Value) -> Result<()> {
        match node {
            Value::String(name) => {
                let hint = self.role_ref;
                let is_role_ref = matches!(
                    self.referrer.kind.as_str(),
                    "RoleBinding" | "ClusterRoleBinding"
                ) && matches!(self.backref.kind.as_str(), "Role" | "ClusterRole");
                if is_role_ref
                    && let Some((_, kind)) = &hint
                    && *kind != self.backref.kind
                {
                    return Ok(());
                }
                if let Some(c) = self.select(name, None, None)? {
                    *name = c.current.name.clone();
                }
                Ok(())
            }
            Value::Sequence(items) => {
                for item in items.iter_mut() {
                    match item {
                        Value::String(_) => self.update(item)?,
                        Value::Mapping(_) => self.update_named_map(item, true)?,
                        _ => {}
                    }
                }
                Ok(())
            }
            Value::Mapping(_) => self.update_named_map(node, false),
            _ => Ok(()),
        }
    }

    /// A `{name, namespace[, kind]}` reference (RBAC subjects, webhook services).
    fn update_named_map(&self, node: &mut Value, check_kind: bool) -> Result<()> {
        if check_kind {
            let kind = node.get("kind").and_then(Value::as_str).unwrap_or("");
            if kind != self.backref.kind {
                return Ok(());
            }
        }
        let Some(name) = node.get("name").and_then(Value::as_str).map(str::to_string) else {
            return Ok(());
        };
        let ns_field = node.get("namespace").cloned();
        if let Some(Value::Null) = ns_field
            && check_kind
        {
            return Err(Error::msg(format!(
                "Invalid Input: namespace is blank for resource {}",
                self.referrer
            )));
        }
        let ns = ns_field
            .as_ref()
            .and_then(Value::as_str)
            .map(str::to_string);
        let ns_for_lookup = ns
            .clone()
            .unwrap_or_else(|| self.referrer.namespace.clone());
        let picked = self.select(&name, Some(&ns_for_lookup), None)?;
        if let Some(c) = picked {
            let m = ensure_mapping(node);
            m.insert("name".into(), Value::String(c.current.name.clone()));
            if ns.is_some() || !c.current.namespace.is_empty() {
                if c.current.namespace.is_empty() {
                    if ns.is_some() {
                        m.insert("namespace".into(), Value::String(ns.unwrap_or_default()));
                    }
                } else {
                    m.insert(
                        "namespace".into(),
                        Value::String(c.current.namespace.clone()),
                    );
                }
            }
        }
        Ok(())
    }
}
