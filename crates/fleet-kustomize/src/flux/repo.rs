//! Rendering every Flux Kustomization of a repository as the clusters
//! would apply it (what flux-local does for CI): each Kustomization that
//! reads this repository's source is built with its post-build
//! substitutions, and so are the Kustomizations its output holds, as
//! rendered. A Kustomization that another one renders is reported once,
//! in its rendered form (the parent's substitutions applied).

use std::collections::HashSet;

use fleet_model::flux::kustomization::{Kustomization, SourceKind};
use fleet_model::{Manifest, Source, Value};

use super::is_flux_kustomization;
use super::tree::{BuildOne, build_tree_with};
use super::{FluxBuildError, FluxBuildOptions, RepoObject, build_kustomization};
use super::{kustomization_id, substitute_sources, tree::Tree};
use crate::ResourceSet;
use crate::fs::FileSystem;
use crate::postbuild::holds_placeholder;

/// One Kustomization's output.
#[derive(Debug, Clone)]
pub struct RenderedKustomization {
    /// `namespace/name`.
    pub id: String,
    /// Its `spec.path`, as rendered.
    pub path: String,
    /// The Kustomizations that rendered it, outermost first (empty for one
    /// defined in a file).
    pub parents: Vec<String>,
    /// Where the outermost of them is defined.
    pub origin: Source,
    /// The Kustomization as it was built (rendered by its parents).
    pub kustomization: Kustomization,
    /// What it applies.
    pub set: ResourceSet,
}

/// A Kustomization (with the ones it renders) that failed to build.
#[derive(Debug)]
pub struct RenderFailure {
    /// `namespace/name` of the Kustomization defined in a file.
    pub id: String,
    /// Where it is defined.
    pub origin: Source,
    /// Why; nothing of its tree is in [`RepoRender::rendered`].
    pub error: FluxBuildError,
}

/// The result of [`render_repo`].
#[derive(Debug, Default)]
pub struct RepoRender {
    /// Each Kustomization rendered, parents before children.
    pub rendered: Vec<RenderedKustomization>,
    /// Trees that failed.
    pub failures: Vec<RenderFailure>,
    /// Kustomizations defined in files and not rendered from there, with
    /// why: another source, an object that does not fit the schema, or
    /// `${…}` placeholders that only a parent's substitution completes (such a one is in [`RepoRender::rendered`]
    /// when a parent renders it).
    pub not_rendered: Vec<(String, Source, &'static str)>,
}

/// `namespace/name` from an object's metadata.
fn object_id(object: &Value) -> String {
    let field = |f: &str| {
        object
            .pointer(&["metadata", f])
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    format!("{}/{}", field("namespace"), field("name"))
}

/// A root: a Kustomization defined in a file, and how its tree built.
struct Root {
    id: String,
    path: String,
    origin: Source,
    result: Result<Tree, FluxBuildError>,
}

/// Renders every Flux Kustomization among `objects` (a repository's
/// documents) whose `sourceRef` is the GitRepository `source`, with the
/// repository checked out at `root`. `opts` gives strictness and keys;
/// `postBuild.substituteFrom` sources are taken from `objects` in each
/// Kustomization's namespace, after any in `opts`.
pub fn render_repo(
    fs: &dyn FileSystem,
    root: &str,
    objects: &[RepoObject],
    source: &str,
    opts: &FluxBuildOptions,
) -> RepoRender {
    render_repo_with(objects, source, opts, &|ks, opts| {
        build_kustomization(fs, root, ks, opts)
    })
}

/// [`render_repo`] with each Kustomization built by `build` (say, one
/// that records what each build read, or reuses an earlier build).
pub fn render_repo_with(
    objects: &[RepoObject],
    source: &str,
    opts: &FluxBuildOptions,
    build: &BuildOne<'_>,
) -> RepoRender {
    let mut out = RepoRender::default();
    let mut roots: Vec<Root> = Vec::new();
    // (id, path) of every Kustomization rendered by another one.
    let mut rendered_by_parent: HashSet<(String, String)> = HashSet::new();
    for object in objects.iter().filter(|o| is_flux_kustomization(&o.value)) {
        let origin = Source {
            file: object.file.clone(),
            line: object.line,
        };
        if holds_placeholder(&object.value) {
            out.not_rendered.push((
                object_id(&object.value),
                origin,
                "it holds ${…} placeholders that only a parent's substitution completes",
            ));
            continue;
        }
        let typed = Manifest::typed_from::<Kustomization>(&object.value);
        // A Kustomization that does not fit the schema is not built; the
        // caller's schema check reports it, once.
        let Some(ks) = typed else {
            out.not_rendered.push((
                object_id(&object.value),
                origin,
                "it does not fit the Kustomization schema",
            ));
            continue;
        };
        let reference = &ks.spec.source_ref;
        let ks_id = kustomization_id(&ks);
        if reference.kind != SourceKind::GitRepository || reference.name != source {
            out.not_rendered
                .push((ks_id, origin, "it reads another source"));
            continue;
        }
        let key = (ks_id.clone(), ks.spec.path().to_string());
        if rendered_by_parent.contains(&key) {
            continue;
        }
        let namespace = ks.metadata.namespace.clone().unwrap_or_default();
        let mut root_opts = opts.clone();
        for (name, data) in substitute_sources(objects, &namespace).data {
            root_opts.substitute_sources.entry(name).or_insert(data);
        }
        let result = build_tree_with(&ks, &root_opts, build);
        if let Ok(tree) = &result {
            for node in tree.nodes.iter().filter(|n| !n.parents.is_empty()) {
                rendered_by_parent.insert((node.id.clone(), node.path.clone()));
            }
        }
        roots.push(Root {
            id: ks_id,
            path: key.1,
            origin,
            result,
        });
    }
    let mut reported: HashSet<(String, String)> = HashSet::new();
    for root in roots {
        // Built on its own before the parent that renders it was met.
        if rendered_by_parent.contains(&(root.id.clone(), root.path.clone())) {
            continue;
        }
        match root.result {
            Ok(tree) => {
                for node in tree.nodes {
                    if reported.insert((node.id.clone(), node.path.clone())) {
                        out.rendered.push(RenderedKustomization {
                            id: node.id,
                            path: node.path,
                            parents: node.parents,
                            origin: root.origin.clone(),
                            kustomization: node.kustomization,
                            set: node.set,
                        });
                    }
                }
            }
            Err(error) => out.failures.push(RenderFailure {
                id: root.id,
                origin: root.origin,
                error,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flux::objects_in_file;
    use crate::fs::MemFs;

    fn repo(files: &[(&str, &str)]) -> (MemFs, Vec<RepoObject>) {
        let mut fs = MemFs::default();
        let mut objects = Vec::new();
        for (path, text) in files {
            fs.add(path, *text);
            objects.extend(objects_in_file(path, text));
        }
        (fs, objects)
    }

    const PARENT: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: clusters, namespace: flux-system}\nspec:\n  interval: 10m\n  prune: true\n  path: ./children\n  sourceRef: {kind: GitRepository, name: flux-system}\n  postBuild:\n    substitute: {region: eu}\n";
    const CHILD: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: app, namespace: flux-system}\nspec:\n  interval: 10m\n  prune: true\n  path: ./app\n  sourceRef: {kind: GitRepository, name: flux-system}\n  postBuild:\n    substitute: {where: \"${region}\"}\n";
    const APP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\ndata: {where: \"${where}\"}\n";

    #[test]
    fn a_child_is_rendered_once_with_its_parents_substitutions() {
        // The child's file sorts before its parent's: it is built on its
        // own first, then dropped for the parent's rendering of it.
        let plain = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: plain, namespace: flux-system}\nspec:\n  interval: 10m\n  prune: true\n  path: ./plain\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
        let (fs, objects) = repo(&[
            ("/repo/children/app.yaml", CHILD),
            ("/repo/children/plain.yaml", plain),
            ("/repo/clusters/parent.yaml", PARENT),
            ("/repo/app/settings.yaml", APP),
            (
                "/repo/plain/settings.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n",
            ),
        ]);
        let render = render_repo(
            &fs,
            "/repo",
            &objects,
            "flux-system",
            &FluxBuildOptions::default(),
        );
        assert!(render.failures.is_empty(), "{:?}", render.failures);
        let ids: Vec<(&str, usize)> = render
            .rendered
            .iter()
            .map(|r| (r.id.as_str(), r.parents.len()))
            .collect();
        // `plain` was built on its own first (its file sorts before the
        // parent's), then dropped for the parent's rendering of it.
        assert_eq!(
            ids,
            [
                ("flux-system/clusters", 0),
                ("flux-system/app", 1),
                ("flux-system/plain", 1)
            ]
        );
        assert_eq!(render.not_rendered.len(), 1, "app holds placeholders");
        let app = &render.rendered[1];
        assert_eq!(app.origin.file, "/repo/clusters/parent.yaml");
        let settings = app
            .set
            .resources
            .iter()
            .find(|r| r.get("kind").and_then(fleet_model::Value::as_str) == Some("ConfigMap"));
        assert_eq!(
            settings
                .and_then(|s| s.pointer(&["data", "where"]))
                .and_then(fleet_model::Value::as_str),
            Some("eu"),
            "the parent's substitution reaches the child's output"
        );
    }

    #[test]
    fn other_sources_templated_refs_and_failures_are_reported() {
        let other = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: vendor, namespace: flux-system}\nspec:\n  interval: 10m\n  prune: true\n  path: ./x\n  sourceRef: {kind: GitRepository, name: vendor-repo}\n";
        let templated = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: t, namespace: flux-system}\nspec:\n  interval: 10m\n  prune: true\n  path: ./x\n  sourceRef: {kind: GitRepository, name: \"${git_source}\"}\n";
        let missing = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: broken, namespace: flux-system}\nspec:\n  interval: 10m\n  prune: true\n  path: ./nowhere\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
        let (fs, objects) = repo(&[
            ("/repo/a.yaml", other),
            ("/repo/b.yaml", templated),
            ("/repo/c.yaml", missing),
            (
                "/repo/d.yaml",
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: no-interval, namespace: flux-system}\nspec:\n  path: ./x\n  sourceRef: {kind: GitRepository, name: flux-system}\n",
            ),
        ]);
        let render = render_repo(
            &fs,
            "/repo",
            &objects,
            "flux-system",
            &FluxBuildOptions::default(),
        );
        assert!(render.rendered.is_empty());
        let skipped: Vec<&str> = render
            .not_rendered
            .iter()
            .map(|(id, _, _)| id.as_str())
            .collect();
        assert_eq!(
            skipped,
            [
                "flux-system/vendor",
                "flux-system/t",
                "flux-system/no-interval"
            ]
        );
        assert_eq!(render.failures.len(), 1);
        let failure = &render.failures[0];
        assert_eq!(
            (
                failure.id.as_str(),
                failure.origin.file.as_str(),
                failure.origin.line
            ),
            ("flux-system/broken", "/repo/c.yaml", 1)
        );
        assert!(
            matches!(failure.error, FluxBuildError::MissingPath { .. }),
            "{}",
            failure.error
        );
    }
}
