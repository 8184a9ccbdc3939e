//! Strategic merge patch, as kustomize applies it (kyaml's `merge2`):
//! mappings merge key by key (`null` deletes), lists of objects merge by
//! their merge key (Kubernetes' schema keys for built-in kinds, otherwise
//! kyaml's associative-key guess), other lists are replaced, and the
//! directives `$patch: delete|replace|merge`, `$setElementOrder/…`,
//! `$retainKeys` and `$deleteFromPrimitiveList/…` are honoured.

use fleet_model::{Mapping, Value};

/// The keys kyaml tries, in order, to treat a list of objects as associative.
const ASSOCIATIVE_KEYS: &[&str] = &[
    "mountPath",
    "devicePath",
    "ip",
    "type",
    "topologyKey",
    "name",
    "containerPort",
];

/// API groups whose kinds kustomize has an OpenAPI schema for.
fn is_builtin_group(group: &str) -> bool {
    group.is_empty()
        || (group.ends_with(".k8s.io") && !group.contains("x-k8s.io"))
        || matches!(
            group,
            "apps" | "batch" | "autoscaling" | "policy" | "extensions" | "networking.k8s.io"
        )
}

/// How a list field merges.
#[derive(Debug, Clone, PartialEq)]
enum ListMerge {
    /// Objects matched by this key.
    Key(&'static str),
    /// Scalars, unioned.
    Union,
    /// Replaced wholesale.
    Replace,
}

/// The merge strategy Kubernetes' schema gives a list field of a built-in kind.
fn schema_list_merge(field: &str, parent: &str) -> Option<ListMerge> {
    use ListMerge::*;
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "env"
        | "resourceClaims"
        | "schedulingGates" => Key("name"),
        "volumeMounts" => Key("mountPath"),
        "volumeDevices" => Key("devicePath"),
        "hostAliases" => Key("ip"),
        "topologySpreadConstraints" => Key("topologyKey"),
        "ownerReferences" => Key("uid"),
        "conditions" => Key("type"),
        "ports" if parent == "spec" => Key("port"),
        "ports" => Key("containerPort"),
        "finalizers" => Union,
        "tolerations" | "envFrom" | "args" | "command" => Replace,
        _ => return None,
    })
}

/// Merge context: whether the resource is a built-in kind, and the field we are in.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// Whether kustomize has a schema for the kind.
    pub builtin: bool,
    /// Name of the field being merged.
    pub field: &'a str,
    /// Name of the field holding it.
    pub parent: &'a str,
}

impl Context<'_> {
    /// The context of a resource of this API group.
    pub fn for_group(group: &str) -> Context<'static> {
        Context {
            builtin: is_builtin_group(group),
            field: "",
            parent: "",
        }
    }
}

/// The outcome of merging into a node.
pub enum Merged {
    /// The merged value.
    Value(Value),
    /// The patch deleted the node (`$patch: delete`).
    Deleted,
}

fn directive(m: &Mapping) -> Option<&str> {
    m.get("$patch").and_then(Value::as_str)
}

/// Removes every `$…` directive, at any depth, from a value that is copied
/// from the patch into the result.
fn strip_directives(v: Value) -> Option<Value> {
    match v {
        Value::Mapping(m) => {
            if directive(&m) == Some("delete") {
                return None;
            }
            let out: Mapping = m
                .into_iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .filter_map(|(k, v)| strip_directives(v).map(|v| (k, v)))
                .collect();
            Some(Value::Mapping(out))
        }
        Value::Sequence(items) => Some(Value::Sequence(
            items.into_iter().filter_map(strip_directives).collect(),
        )),
        other => Some(other),
    }
}

/// Merges `patch` into `dest` and, as kyaml's walk does while merging,
/// removes the null fields of every mapping it walks (see [`drop_nulls`]).
pub fn merge_resource(dest: Value, patch: Value, ctx: Context<'_>) -> Merged {
    match merge(Some(dest), patch, ctx) {
        Merged::Value(mut v) => {
            drop_nulls(&mut v, ctx);
            Merged::Value(v)
        }
        Merged::Deleted => Merged::Deleted,
    }
}

/// Removes null fields from the mappings kyaml's merge walk visits: every
/// mapping reached through mappings and through the elements (carrying
/// their key) of lists it merges by key. Lists it replaces or unions, and
/// lists of objects without a merge key, are not walked, so nulls there
/// stay, as in kustomize's output.
pub fn drop_nulls(value: &mut Value, ctx: Context<'_>) {
    let Value::Mapping(m) = value else { return };
    m.retain(|_, v| !v.is_null());
    for (k, v) in m.iter_mut() {
        let child = Context {
            builtin: ctx.builtin,
            field: k,
            parent: ctx.field,
        };
        match v {
            Value::Mapping(_) => drop_nulls(v, child),
            Value::Sequence(items) => {
                let strategy = if child.builtin {
                    schema_list_merge(child.field, child.parent)
                } else {
                    None
                };
                let key = match &strategy {
                    Some(ListMerge::Key(key)) => Some(*key),
                    Some(_) => None,
                    None => guess_key(items, &[]),
                };
                let Some(key) = key else { continue };
                for item in items.iter_mut() {
                    if item.get(key).is_some_and(|k| !k.is_null()) {
                        drop_nulls(item, child);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Merges `patch` into `dest`.
pub fn merge(dest: Option<Value>, patch: Value, ctx: Context<'_>) -> Merged {
    match patch {
        Value::Mapping(pm) => {
            match directive(&pm) {
                Some("delete") => return Merged::Deleted,
                Some("replace") => {
                    let mut pm = pm;
                    pm.shift_remove("$patch");
                    return Merged::Value(strip_directives(Value::Mapping(pm)).unwrap_or_default());
                }
                _ => {}
            }
            let mut dm = match dest {
                Some(Value::Mapping(m)) => m,
                _ => Mapping::new(),
            };
            merge_mapping(&mut dm, pm, ctx);
            Merged::Value(Value::Mapping(dm))
        }
        Value::Sequence(items) => Merged::Value(merge_list(dest, items, ctx)),
        other => Merged::Value(scalar_over(dest.as_ref(), other)),
    }
}

/// A scalar of the patch merged over `dest`. kyaml gives the patch's node
/// the destination's style (`Merger.SetStyle`), so a number or boolean
/// merged over a quoted string is written quoted and reads back as a
/// string. A string that had to be quoted tells that its node was; one
/// that could be plain is taken to have been plain. Not modelled: a quoted
/// string merged over a number keeps the number's plain style in kyaml
/// until the resource is next written out, so a second patch in the same
/// run that merges a number over it gets a number there.
fn scalar_over(dest: Option<&Value>, patch: Value) -> Value {
    let quoted = matches!(dest, Some(Value::String(d)) if fleet_model::yaml::is_written_quoted(d));
    match patch {
        Value::Number(n) if quoted => Value::String(n.as_text().to_string()),
        Value::Bool(b) if quoted => Value::String(b.to_string()),
        other => other,
    }
}

fn merge_mapping(dm: &mut Mapping, pm: Mapping, ctx: Context<'_>) {
    let mut retain: Option<Vec<String>> = None;
    let mut orders: Vec<(String, Vec<Value>)> = Vec::new();
    let mut deletes: Vec<(String, Vec<Value>)> = Vec::new();
    for (k, pv) in pm {
        if k == "$patch" {
            continue;
        }
        if k == "$retainKeys" {
            retain = pv.as_sequence().map(|s| {
                s.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            });
            continue;
        }
        if let Some(field) = k.strip_prefix("$setElementOrder/") {
            orders.push((
                field.to_string(),
                pv.as_sequence().map(<[Value]>::to_vec).unwrap_or_default(),
            ));
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            deletes.push((
                field.to_string(),
                pv.as_sequence().map(<[Value]>::to_vec).unwrap_or_default(),
            ));
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        if pv.is_null() {
            dm.shift_remove(&k);
            continue;
        }
        let child = Context {
            builtin: ctx.builtin,
            field: &k,
            parent: ctx.field,
        };
        let existing = dm.get_mut(&k).map(std::mem::take);
        match merge(existing, pv, child) {
            Merged::Deleted => {
                dm.shift_remove(&k);
            }
            Merged::Value(v) => {
                dm.insert(k, v);
            }
        }
    }
    for (field, values) in deletes {
        if let Some(Value::Sequence(items)) = dm.get_mut(&field) {
            items.retain(|i| !values.contains(i));
        }
    }
    for (field, order) in orders {
        if let Some(Value::Sequence(items)) = dm.get_mut(&field) {
            reorder(items, &order);
        }
    }
    if let Some(keep) = retain {
        dm.retain(|k, _| keep.iter().any(|x| x == k));
    }
}

fn element_key(merge: &ListMerge) -> Option<&'static str> {
    match merge {
        ListMerge::Key(k) => Some(k),
        _ => None,
    }
}

fn guess_key(dest: &[Value], patch: &[Value]) -> Option<&'static str> {
    let all: Vec<&Value> = dest
        .iter()
        .chain(patch.iter())
        .filter(|v| !is_directive_only(v))
        .collect();
    if all.is_empty() || !all.iter().all(|v| matches!(v, Value::Mapping(_))) {
        return None;
    }
    let first = all[0];
    ASSOCIATIVE_KEYS
        .iter()
        .copied()
        .find(|k| first.get(k).is_some_and(|v| !v.is_null()))
        .filter(|k| all.iter().all(|v| v.get(k).is_some()))
}

fn is_directive_only(v: &Value) -> bool {
    v.as_mapping()
        .is_some_and(|m| m.keys().all(|k| k.starts_with('$')))
}

fn key_of<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key)
}

fn merge_list(dest: Option<Value>, patch: Vec<Value>, ctx: Context<'_>) -> Value {
    // A list holding `{$patch: replace}` replaces the destination outright.
    let replace = patch.iter().any(|v| {
        v.as_mapping()
            .is_some_and(|m| directive(m) == Some("replace") && m.len() == 1)
    });
    let dest_items = match dest {
        Some(Value::Sequence(d)) => d,
        _ => Vec::new(),
    };
    if replace {
        let kept: Vec<Value> = patch
            .into_iter()
            .filter(|v| !is_directive_only(v))
            .filter_map(strip_directives)
            .collect();
        return Value::Sequence(kept);
    }
    let strategy = if ctx.builtin {
        schema_list_merge(ctx.field, ctx.parent)
    } else {
        None
    };
    let key = match &strategy {
        Some(ListMerge::Union) => {
            let mut out = dest_items;
            for p in patch {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
            return Value::Sequence(out);
        }
        Some(ListMerge::Replace) => None,
        Some(m) => element_key(m),
        None => guess_key(&dest_items, &patch),
    };
    let Some(key) = key else {
        return Value::Sequence(patch.into_iter().filter_map(strip_directives).collect());
    };
    // kustomize merges with kyaml's "prepend" list direction: the patch's
    // elements come first, in patch order (merged with their match when the
    // destination has one), then the destination's other elements.
    let mut dest_items: Vec<Option<Value>> = dest_items.into_iter().map(Some).collect();
    let mut out: Vec<Value> = Vec::new();
    for p in patch {
        let Some(pk) = key_of(&p, key).cloned() else {
            if let Some(v) = strip_directives(p) {
                out.push(v);
            }
            continue;
        };
        let pos = dest_items
            .iter()
            .position(|d| d.as_ref().is_some_and(|d| key_of(d, key) == Some(&pk)));
        let child = Context {
            builtin: ctx.builtin,
            field: ctx.field,
            parent: ctx.parent,
        };
        match pos {
            Some(i) => {
                let existing = dest_items[i].take();
                if let Merged::Value(v) = merge(existing, p, child) {
                    out.push(v);
                }
            }
            None => {
                if let Some(v) = strip_directives(p) {
                    out.push(v);
                }
            }
        }
    }
    out.extend(dest_items.into_iter().flatten());
    Value::Sequence(out)
}

fn reorder(items: &mut [Value], order: &[Value]) {
    let key = order
        .first()
        .and_then(|o| o.as_mapping())
        .and_then(|m| m.keys().next().cloned());
    let rank = |v: &Value| -> usize {
        order
            .iter()
            .position(|o| match (&key, o) {
                (Some(k), Value::Mapping(om)) => v.get(k) == om.get(k),
                (None, o) => o == v,
                _ => false,
            })
            .unwrap_or(usize::MAX)
    };
    items.sort_by_key(|v| rank(v));
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_model::yaml::{parse_one, to_string};

    fn apply(dest: &str, patch: &str, group: &str) -> String {
        let d = parse_one(dest).unwrap_or_default();
        let p = parse_one(patch).unwrap_or_default();
        match merge(Some(d), p, Context::for_group(group)) {
            Merged::Value(v) => to_string(&v),
            Merged::Deleted => "<deleted>".into(),
        }
    }

    #[test]
    fn containers_merge_by_name_new_elements_first() {
        let dest = "spec:\n  containers:\n  - name: a\n    image: x\n    ports:\n    - containerPort: 80\n      name: http\n  - name: b\n    image: w\n";
        let patch = "spec:\n  containers:\n  - name: a\n    image: x2\n    ports:\n    - containerPort: 443\n  - name: c\n    image: z\n";
        assert_eq!(
            apply(dest, patch, "apps"),
            "spec:\n  containers:\n  - name: a\n    image: x2\n    ports:\n    - containerPort: 443\n    - containerPort: 80\n      name: http\n  - name: c\n    image: z\n  - name: b\n    image: w\n"
        );
    }

    #[test]
    fn null_deletes_and_patch_delete_removes_elements() {
        let dest = "a: 1\nb: 2\nl:\n- name: x\n- name: w\n";
        let patch = "b: null\nl:\n- name: x\n  $patch: delete\n";
        assert_eq!(apply(dest, patch, "example.com"), "a: 1\nl:\n- name: w\n");
    }

    #[test]
    fn replace_directive_replaces_the_mapping() {
        assert_eq!(
            apply(
                "m:\n  a: 1\n  b: 2\n",
                "m:\n  $patch: replace\n  c: 3\n",
                ""
            ),
            "m:\n  c: 3\n"
        );
    }

    #[test]
    fn lists_without_keys_are_replaced() {
        assert_eq!(
            apply("args: [a, b]\n", "args: [c]\n", "apps"),
            "args:\n- c\n"
        );
    }
}
