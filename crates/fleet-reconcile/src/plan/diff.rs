//! Comparing two renders of a fleet: per cluster, per Kustomization, per
//! object; the images that change and the lint findings that appear.

use std::collections::{BTreeMap, BTreeSet};

use fleet_capi::autoscaler::Severity;
use fleet_kustomize::flux::mask_secret;
use fleet_kustomize::output::to_yaml;
use fleet_kustomize::postbuild::holds_placeholder;
use fleet_model::{Manifest, ObjectId, TypedObject, Value};

use std::borrow::Cow;

use super::render::{FleetRender, KsOutput, Objects};
use super::snapshot::Build;
use super::{
    Action, ClusterPlan, ImageChange, KustomizationPlan, NewFinding, ObjectChange, Plan, Presence,
    RevisionInfo, TreeFailure,
};

/// The builds of a base snapshot that outputs may stand for
/// ([`Objects::Build`]), and how to get one's objects when they must be
/// shown one by one.
pub(super) struct Builds<'a> {
    /// The snapshot's builds.
    pub builds: &'a [Build],
    /// Builds one again.
    pub objects: &'a dyn Fn(usize) -> Result<fleet_kustomize::ResourceSet, String>,
}

/// Compares `base` with `head`.
pub(super) fn compare(
    base_info: RevisionInfo,
    head_info: RevisionInfo,
    base: &FleetRender,
    head: &FleetRender,
    builds: &Builds<'_>,
    show_secrets: bool,
) -> Plan {
    let names: BTreeSet<&String> = base.clusters.keys().chain(head.clusters.keys()).collect();
    let empty = BTreeMap::new();
    let clusters = names
        .into_iter()
        .map(|name| {
            let b = base.clusters.get(name);
            let h = head.clusters.get(name);
            compare_cluster(
                name,
                presence(b.is_some(), h.is_some()),
                b.unwrap_or(&empty),
                h.unwrap_or(&empty),
                builds,
                show_secrets,
            )
        })
        .collect();
    let failures = head
        .failures
        .iter()
        .filter(|(id, failure)| base.failures.get(*id) != Some(failure))
        .map(|(id, (origin, error))| TreeFailure {
            kustomization: id.clone(),
            origin: origin.clone(),
            error: error.clone(),
        })
        .collect();
    Plan {
        base: base_info,
        head: head_info,
        clusters,
        failures,
    }
}

fn presence(at_base: bool, at_head: bool) -> Presence {
    match (at_base, at_head) {
        (false, true) => Presence::Added,
        (true, false) => Presence::Removed,
        _ => Presence::Kept,
    }
}

fn compare_cluster(
    name: &str,
    presence: Presence,
    base: &BTreeMap<String, KsOutput>,
    head: &BTreeMap<String, KsOutput>,
    builds: &Builds<'_>,
    show_secrets: bool,
) -> ClusterPlan {
    let keys: BTreeSet<&String> = base.keys().chain(head.keys()).collect();
    let mut kustomizations = Vec::new();
    let mut findings = Vec::new();
    let mut base_images = BTreeMap::new();
    let mut head_images = BTreeMap::new();
    let build_of = |o: Option<&KsOutput>| match o.map(|o| &o.result) {
        Some(Ok(Objects::Build(i))) => builds.builds.get(*i),
        _ => None,
    };
    for key in keys {
        let (b, h) = (base.get(key), head.get(key));
        // One build at both revisions (or two with the same output): the
        // same objects, counted and their images taken from the summary.
        if let (Some(bb), Some(hb)) = (build_of(b), build_of(h))
            && bb.output.digest == hb.output.digest
            && let (Some(b), Some(h)) = (b, h)
        {
            for (images, build) in [(&mut base_images, bb), (&mut head_images, hb)] {
                for (object, container, image) in &build.output.images {
                    images.insert((object.clone(), container.clone()), image.clone());
                }
            }
            kustomizations.push(KustomizationPlan {
                name: key.to_string(),
                path: h.path.clone(),
                origin: origin_of(h),
                presence: Presence::Kept,
                prune: b.prune,
                broken: None,
                fixed: None,
                changes: Vec::new(),
                unchanged: hb.output.count,
            });
            continue;
        }
        // Otherwise a build's objects are needed one by one.
        let head_broken = matches!(h.map(|h| &h.result), Some(Err(_)));
        let (b, h) = (
            with_objects(b, head_broken, builds),
            with_objects(h, head_broken, builds),
        );
        let (b, h) = (b.as_deref(), h.as_deref());
        let plan = compare_kustomization(key, b, h, show_secrets);
        // What a broken Kustomization applies stays as it was: its images
        // and findings are not compared.
        if plan.broken.is_none() {
            fn ok(o: Option<&KsOutput>) -> Option<&fleet_kustomize::ResourceSet> {
                match o.map(|o| &o.result) {
                    Some(Ok(Objects::Set(set))) => Some(set),
                    _ => None,
                }
            }
            let (b_set, h_set) = (ok(b), ok(h));
            for (set, images) in [(b_set, &mut base_images), (h_set, &mut head_images)] {
                for obj in set.iter().flat_map(|s| &s.resources) {
                    let object = object_name(obj);
                    for (container, image) in container_images(obj) {
                        images.insert((object.clone(), container), image);
                    }
                }
            }
            if h_set.is_some() && b_set.map(|s| &s.resources) != h_set.map(|s| &s.resources) {
                findings.extend(new_findings(key, b_set, h_set));
            }
        }
        kustomizations.push(plan);
    }
    let image_keys: BTreeSet<&(String, String)> =
        base_images.keys().chain(head_images.keys()).collect();
    let images = image_keys
        .into_iter()
        .filter_map(|key| {
            let (from, to) = (base_images.get(key), head_images.get(key));
            (from != to).then(|| ImageChange {
                object: key.0.clone(),
                container: key.1.clone(),
                from: from.cloned(),
                to: to.cloned(),
            })
        })
        .collect();
    ClusterPlan {
        name: name.to_string(),
        presence,
        kustomizations,
        images,
        findings,
    }
}

/// The output with a build's objects in place of the build (unless the
/// head is broken, when no objects are compared).
fn with_objects<'a>(
    o: Option<&'a KsOutput>,
    head_broken: bool,
    builds: &Builds<'_>,
) -> Option<Cow<'a, KsOutput>> {
    let o = o?;
    match &o.result {
        Ok(Objects::Build(i)) if !head_broken => {
            let mut owned = o.clone();
            owned.result = (builds.objects)(*i).map(Objects::Set);
            Some(Cow::Owned(owned))
        }
        _ => Some(Cow::Borrowed(o)),
    }
}

/// `Kind/name` from whatever an object without a full id has.
fn describe_object(obj: &Value) -> String {
    let field = |path: &[&str]| obj.pointer(path).and_then(Value::as_str).unwrap_or("?");
    format!("{}/{}", field(&["kind"]), field(&["metadata", "name"]))
}

/// `Kind/namespace/name`, Flux's way of naming an object.
pub(super) fn object_name(obj: &Value) -> String {
    ObjectId::from_manifest(obj)
        .map(|id| id.to_string())
        .unwrap_or_else(|_| describe_object(obj))
}

/// What identifies an object across revisions (not its API version), in
/// the order objects are listed.
pub(super) fn object_key(obj: &Value) -> (String, String, String, String) {
    match ObjectId::from_manifest(obj) {
        Ok(id) => (id.kind, id.namespace.unwrap_or_default(), id.name, id.group),
        Err(_) => (
            describe_object(obj),
            String::new(),
            String::new(),
            String::new(),
        ),
    }
}

fn origin_of(output: &KsOutput) -> String {
    if output.parents.is_empty() {
        output.origin.clone()
    } else {
        format!("{} (via {})", output.origin, output.parents.join(" > "))
    }
}

fn compare_kustomization(
    key: &str,
    base: Option<&KsOutput>,
    head: Option<&KsOutput>,
    show_secrets: bool,
) -> KustomizationPlan {
    let shown = head.or(base);
    let mut plan = KustomizationPlan {
        name: key.to_string(),
        path: shown.map(|o| o.path.clone()).unwrap_or_default(),
        origin: shown.map(origin_of).unwrap_or_default(),
        presence: presence(base.is_some(), head.is_some()),
        prune: base.or(head).is_some_and(|o| o.prune),
        broken: None,
        fixed: None,
        changes: Vec::new(),
        unchanged: 0,
    };
    if let Some(Err(error)) = head.map(|h| &h.result) {
        let base_error = base.and_then(|b| b.result.as_ref().err());
        if base_error != Some(error) {
            plan.broken = Some(error.clone());
        }
        return plan;
    }
    let empty = Vec::new();
    // Builds standing for objects were given their objects by the caller
    // (`compare_cluster`) unless the head is broken, which returned above.
    let base_objects = match base.map(|b| &b.result) {
        Some(Ok(Objects::Set(set))) => &set.resources,
        Some(Ok(Objects::Build(_))) => &empty,
        Some(Err(error)) => {
            plan.fixed = Some(error.clone());
            &empty
        }
        None => &empty,
    };
    let head_objects = match head.map(|h| &h.result) {
        Some(Ok(Objects::Set(set))) => &set.resources,
        _ => &empty,
    };
    let removed = if plan.prune {
        Action::Pruned
    } else {
        Action::Orphaned
    };
    let by_key = |objects: &'_ [Value]| -> BTreeMap<_, usize> {
        objects
            .iter()
            .enumerate()
            .map(|(i, o)| (object_key(o), i))
            .collect()
    };
    let (b, h) = (by_key(base_objects), by_key(head_objects));
    let keys: BTreeSet<&(String, String, String, String)> = b.keys().chain(h.keys()).collect();
    for key in keys {
        match (b.get(key), h.get(key)) {
            (Some(&i), Some(&j)) if base_objects[i] == head_objects[j] => plan.unchanged += 1,
            (Some(&i), Some(&j)) => {
                plan.changes
                    .push(changed(&base_objects[i], &head_objects[j], show_secrets));
            }
            (None, Some(&j)) => plan.changes.push(ObjectChange {
                object: object_name(&head_objects[j]),
                action: Action::Added,
                fields: Vec::new(),
                diff: String::new(),
                masked: false,
            }),
            (Some(&i), None) => plan.changes.push(ObjectChange {
                object: object_name(&base_objects[i]),
                action: removed,
                fields: Vec::new(),
                diff: String::new(),
                masked: false,
            }),
            (None, None) => {}
        }
    }
    plan
}

/// A changed object: the fields that differ and the diff of its YAML.
fn changed(base: &Value, head: &Value, show_secrets: bool) -> ObjectChange {
    let mut fields = Vec::new();
    changed_fields("", Some(base), Some(head), &mut fields);
    let (mut b, mut h) = (base.clone(), head.clone());
    if !show_secrets {
        mask_secret(&mut b);
        mask_secret(&mut h);
    }
    let (b, h) = (to_yaml(&[b]), to_yaml(&[h]));
    let diff = if b == h {
        String::new()
    } else {
        similar::TextDiff::from_lines(&b, &h)
            .unified_diff()
            .context_radius(3)
            .to_string()
    };
    ObjectChange {
        object: object_name(head),
        action: Action::Changed,
        masked: diff.is_empty(),
        fields,
        diff,
    }
}

/// `parent.key`, or `parent[key]` for a key that holds dots or slashes.
fn field_path(parent: &str, key: &str) -> String {
    if key.contains(['.', '/', '[', ']']) {
        format!("{parent}[{key}]")
    } else if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The paths of the fields that differ between `a` and `b`, leaves first
/// reached in document order.
fn changed_fields(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<String>) {
    match (a, b) {
        (Some(Value::Mapping(x)), Some(Value::Mapping(y))) => {
            let keys: Vec<&String> = x
                .keys()
                .chain(y.keys().filter(|k| !x.contains_key(*k)))
                .collect();
            for key in keys {
                changed_fields(&field_path(path, key), x.get(key), y.get(key), out);
            }
        }
        (Some(Value::Sequence(x)), Some(Value::Sequence(y))) => {
            for i in 0..x.len().max(y.len()) {
                changed_fields(&format!("{path}[{i}]"), x.get(i), y.get(i), out);
            }
        }
        (x, y) if x != y => out.push(path.to_string()),
        _ => {}
    }
}

/// The images of an object's containers (any `containers`,
/// `initContainers` or `ephemeralContainers` list in it), by container.
pub(super) fn container_images(obj: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect_images(obj, &mut out);
    out
}

fn collect_images(value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Mapping(map) => {
            for (key, v) in map {
                if matches!(
                    key.as_str(),
                    "containers" | "initContainers" | "ephemeralContainers"
                ) && let Value::Sequence(items) = v
                {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(image) = item.get("image").and_then(Value::as_str) {
                            let name = item
                                .get("name")
                                .and_then(Value::as_str)
                                .map(str::to_string)
                                .unwrap_or_else(|| format!("{key}[{i}]"));
                            out.push((name, image.to_string()));
                        }
                    }
                } else {
                    collect_images(v, out);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| collect_images(v, out)),
        _ => {}
    }
}

/// `fleet validate`'s findings on a Kustomization's objects: schema and
/// lint rules.
fn findings(key: &str, set: Option<&fleet_kustomize::ResourceSet>) -> BTreeSet<NewFinding> {
    let mut out = BTreeSet::new();
    for obj in set.iter().flat_map(|s| &s.resources) {
        let object = object_name(obj);
        let mut push = |rule: &str, severity: Severity, message: String| {
            out.insert(NewFinding {
                kustomization: key.to_string(),
                object: object.clone(),
                rule: rule.to_string(),
                severity: match severity {
                    Severity::Error => "error".into(),
                    Severity::Warning => "warning".into(),
                },
                message,
            });
        };
        if !holds_placeholder(obj)
            && let Ok(manifest) = Manifest::new(obj.clone(), None)
            && let Err(e) = TypedObject::from_manifest(&manifest)
        {
            push(
                "schema/invalid",
                Severity::Error,
                format!("field `{}`: {}", e.path, e.message),
            );
        }
        for finding in fleet_capi::lint::lint(obj) {
            push(finding.rule, finding.severity, finding.message);
        }
    }
    out
}

/// Findings on `head` that `base` did not have.
fn new_findings(
    key: &str,
    base: Option<&fleet_kustomize::ResourceSet>,
    head: Option<&fleet_kustomize::ResourceSet>,
) -> Vec<NewFinding> {
    let before = findings(key, base);
    findings(key, head)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_model::yaml::parse_one;

    fn value(text: &str) -> Value {
        parse_one(text).unwrap_or_default()
    }

    #[test]
    fn changed_fields_name_each_leaf_that_differs() {
        let a = value(
            "spec:\n  replicas: 1\n  template:\n    metadata:\n      labels: {app.kubernetes.io/name: web}\n    spec:\n      containers:\n      - {name: web, image: web:1}\n",
        );
        let b = value(
            "spec:\n  replicas: 2\n  template:\n    metadata:\n      labels: {app.kubernetes.io/name: api}\n    spec:\n      containers:\n      - {name: web, image: web:2}\n      - {name: side, image: side:1}\n",
        );
        let mut out = Vec::new();
        changed_fields("", Some(&a), Some(&b), &mut out);
        assert_eq!(
            out,
            [
                "spec.replicas",
                "spec.template.metadata.labels[app.kubernetes.io/name]",
                "spec.template.spec.containers[0].image",
                "spec.template.spec.containers[1]",
            ]
        );
    }

    #[test]
    fn container_images_are_found_in_any_pod_template() {
        let cron = value(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers: [{name: init, image: busybox:1}]\n          containers: [{image: app:2}]\n",
        );
        assert_eq!(
            container_images(&cron),
            [
                ("init".to_string(), "busybox:1".to_string()),
                ("containers[0]".to_string(), "app:2".to_string())
            ]
        );
    }

    #[test]
    fn a_secret_whose_values_alone_change_is_reported_as_masked() {
        let a = value(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: one}\n",
        );
        let b = value(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: two}\n",
        );
        let masked = changed(&a, &b, false);
        assert!(masked.masked && masked.diff.is_empty());
        assert_eq!(masked.fields, ["stringData.password"]);
        let shown = changed(&a, &b, true);
        assert!(!shown.masked);
        assert!(
            shown.diff.contains("-  password: one\n+  password: two\n"),
            "{}",
            shown.diff
        );
    }
}
