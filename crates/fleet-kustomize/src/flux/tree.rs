//! Building a Kustomization together with the Flux Kustomizations it
//! applies: a management Kustomization renders per-cluster Kustomizations
//! (with its own substitutions), and each of those, as rendered, renders
//! its cluster's manifests. `flux build kustomization` stops at the first
//! level; this follows the chain the controller would.

use fleet_model::flux::kustomization::{CrossNamespaceSourceReference, Kustomization};
use fleet_model::{Manifest, Value};

use super::{FluxBuildError, FluxBuildOptions, build_kustomization, kustomization_id};
use crate::ResourceSet;
use crate::fs::FileSystem;
use crate::resource::describe_object;

/// How long a chain of Kustomizations rendering Kustomizations may be.
pub const MAX_DEPTH: usize = 32;
/// How many Kustomizations one tree may build.
pub const MAX_KUSTOMIZATIONS: usize = 20_000;

/// One Kustomization's output in a [`build_tree`].
#[derive(Debug, Clone)]
pub struct TreeNode {
    /// `namespace/name` of the Kustomization.
    pub id: String,
    /// Its `spec.path`, as rendered (`./` when unset).
    pub path: String,
    /// The chain of Kustomizations that led here, outermost first.
    pub parents: Vec<String>,
    /// The Kustomization as it was built (rendered by its parent).
    pub kustomization: Kustomization,
    /// What it applies.
    pub set: ResourceSet,
}

/// Builds one Flux Kustomization for [`build_tree_with`] and
/// [`super::render_repo_with`]: [`build_kustomization`] over a source tree,
/// or a caller's variant of it (one that records or reuses builds).
pub type BuildOne<'a> =
    dyn Fn(&Kustomization, &FluxBuildOptions) -> Result<ResourceSet, FluxBuildError> + 'a;

/// A Kustomization found in a build and not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// `namespace/name`.
    pub id: String,
    /// Why.
    pub reason: String,
}

/// The result of [`build_tree`].
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// Each Kustomization built, parents before their children.
    pub nodes: Vec<TreeNode>,
    /// Kustomizations met but not built (another source; already built).
    pub skipped: Vec<Skipped>,
}

/// Builds `ks` from the source tree at `root`, then every Flux
/// Kustomization in its output that uses the same source, as rendered
/// (after substitution), depth first. A Kustomization met twice is built
/// once. Any failure fails the whole tree.
pub fn build_tree(
    fs: &dyn FileSystem,
    root: &str,
    ks: &Kustomization,
    opts: &FluxBuildOptions,
) -> Result<Tree, FluxBuildError> {
    build_tree_with(ks, opts, &|ks, opts| {
        build_kustomization(fs, root, ks, opts)
    })
}

/// [`build_tree`] with each Kustomization built by `build`.
pub fn build_tree_with(
    ks: &Kustomization,
    opts: &FluxBuildOptions,
    build: &BuildOne<'_>,
) -> Result<Tree, FluxBuildError> {
    let mut tree = Tree::default();
    let source = resolved_source(ks);
    let mut stack = vec![(ks.clone(), Vec::new())];
    let mut seen = std::collections::HashSet::from([kustomization_id(ks)]);
    while let Some((current, parents)) = stack.pop() {
        let me = kustomization_id(&current);
        if parents.len() >= MAX_DEPTH {
            let mut chain: Vec<String> = parents;
            chain.push(me);
            return Err(FluxBuildError::TooDeep(chain));
        }
        if tree.nodes.len() >= MAX_KUSTOMIZATIONS {
            return Err(FluxBuildError::TooMany {
                root: kustomization_id(ks),
            });
        }
        let set = build(&current, opts)?;
        let mut children = Vec::new();
        for obj in &set.resources {
            if !is_flux_kustomization(obj) {
                continue;
            }
            let bad = |message: String| FluxBuildError::BadManifest {
                file: format!("{} (rendered by Kustomization {me})", describe_object(obj)),
                message,
            };
            let child: Kustomization = match Manifest::typed_from(obj) {
                Some(child) => child,
                None => Manifest::new(obj.clone(), None)
                    .map_err(|e| bad(e.to_string()))?
                    .to_typed()
                    .map_err(|e| bad(e.to_string()))?,
            };
            let child_id = kustomization_id(&child);
            if resolved_source(&child) != source {
                tree.skipped.push(Skipped {
                    id: child_id,
                    reason: "uses another source".into(),
                });
            } else if seen.insert(child_id.clone()) {
                children.push(child);
            } else {
                tree.skipped.push(Skipped {
                    id: child_id,
                    reason: "already built".into(),
                });
            }
        }
        let mut chain = parents.clone();
        chain.push(me.clone());
        // Reversed onto the stack so that children build in output order.
        for child in children.into_iter().rev() {
            stack.push((child, chain.clone()));
        }
        tree.nodes.push(TreeNode {
            id: me,
            path: current.spec.path().to_string(),
            parents,
            kustomization: current,
            set,
        });
    }
    Ok(tree)
}

/// The source with its namespace filled in from the Kustomization's.
fn resolved_source(ks: &Kustomization) -> CrossNamespaceSourceReference {
    let mut source = ks.spec.source_ref.clone();
    if source.namespace.as_deref().unwrap_or("").is_empty() {
        source.namespace = ks.metadata.namespace.clone();
    }
    source.api_version = None;
    source
}

/// Whether an object is a Flux Kustomization (any `kustomize.toolkit.fluxcd.io` version).
pub fn is_flux_kustomization(obj: &Value) -> bool {
    obj.get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("kustomize.toolkit.fluxcd.io/"))
        && obj.get("kind").and_then(Value::as_str) == Some("Kustomization")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ks(name: &str) -> Value {
        let text = format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
        );
        fleet_model::yaml::parse_one(&text).unwrap_or_default()
    }

    fn typed(value: Value) -> Kustomization {
        Manifest::new(value, None)
            .ok()
            .and_then(|m| m.to_typed().ok())
            .unwrap_or_else(|| panic!("test Kustomization does not parse"))
    }

    /// Issue 18: a Kustomization whose output holds a new Kustomization at
    /// every level grew until memory ran out.
    #[test]
    fn a_chain_that_never_ends_is_an_error_naming_it() {
        let build = |k: &Kustomization, _: &FluxBuildOptions| {
            let name = k.metadata.name.clone().unwrap_or_default();
            Ok(ResourceSet {
                resources: vec![ks(&format!("{name}-x"))],
            })
        };
        let result = build_tree_with(&typed(ks("a")), &FluxBuildOptions::default(), &build);
        let Err(error @ FluxBuildError::TooDeep(_)) = result else {
            panic!("expected TooDeep, got {result:?}");
        };
        let text = error.to_string();
        assert!(
            text.starts_with(
                "Kustomizations nest more than 32 levels deep: flux-system/a > flux-system/a-x > "
            ),
            "{text}"
        );
        assert!(
            text.contains(&format!("flux-system/a{}", "-x".repeat(MAX_DEPTH))),
            "{text}"
        );
    }

    #[test]
    fn a_tree_too_wide_is_an_error() {
        let build = |k: &Kustomization, _: &FluxBuildOptions| {
            let name = k.metadata.name.clone().unwrap_or_default();
            let children = if name == "w" {
                MAX_KUSTOMIZATIONS + 1
            } else {
                0
            };
            Ok(ResourceSet {
                resources: (0..children).map(|i| ks(&format!("{name}-{i}"))).collect(),
            })
        };
        let result = build_tree_with(&typed(ks("w")), &FluxBuildOptions::default(), &build);
        assert!(
            matches!(result, Err(FluxBuildError::TooMany { .. })),
            "{:?}",
            result.map(|t| t.nodes.len())
        );
    }
}
