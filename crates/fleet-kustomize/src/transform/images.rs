//! `images:` — rewrites image names, tags and digests.

use crate::error::Result;
use crate::fieldspec::{Create, FieldSpec, visit};
use crate::kustfile::ImageArgs;
use crate::resource::ResMap;
use fleet_model::Value;

/// Splits `name[:tag][@digest]` into name and the rest (`:tag`, `@digest`…).
fn split_image(image: &str) -> (&str, &str) {
    let at = image.find('@');
    let search_end = at.unwrap_or(image.len());
    let slash = image[..search_end].rfind('/').map_or(0, |i| i + 1);
    let colon = image[slash..search_end].find(':').map(|i| i + slash);
    let cut = colon.or(at).unwrap_or(image.len());
    (&image[..cut], &image[cut..])
}

/// The image with the override applied, or `None` when it does not match.
pub fn rewrite(image: &str, args: &ImageArgs) -> Option<String> {
    let (name, rest) = split_image(image);
    if name != args.name {
        return None;
    }
    let new_name = args.new_name.as_deref().unwrap_or(name);
    let tag = args.new_tag.as_deref().filter(|t| !t.is_empty());
    let suffix = if let Some(d) = args.digest.as_deref().filter(|d| !d.is_empty()) {
        match tag {
            Some(t) => format!(":{t}@{d}"),
            None => format!("@{d}"),
        }
    } else if let Some(t) = tag {
        format!(":{t}")
    } else if let Some(ts) = args.tag_suffix.as_deref() {
        format!("{rest}{ts}")
    } else {
        rest.to_string()
    };
    Some(format!("{new_name}{suffix}"))
}

/// kustomize's legacy walk: every `containers` and `initContainers` list,
/// at any depth of any kind, has its `image` fields rewritten.
fn rewrite_all_containers(v: &mut Value, args: &ImageArgs) {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m.iter_mut() {
                if (k == "containers" || k == "initContainers")
                    && let Value::Sequence(items) = child
                {
                    for item in items {
                        if let Some(img) = item.get_mut("image")
                            && let Some(new) = img.as_str().and_then(|s| rewrite(s, args))
                        {
                            *img = Value::String(new);
                        }
                    }
                }
                rewrite_all_containers(child, args);
            }
        }
        Value::Sequence(items) => items
            .iter_mut()
            .for_each(|i| rewrite_all_containers(i, args)),
        _ => {}
    }
}

/// Applies one image override: first the legacy walk over all containers,
/// then the configured field specs.
pub fn apply(resmap: &mut ResMap, args: &ImageArgs, specs: &[FieldSpec]) -> Result<()> {
    for r in resmap.resources_mut() {
        rewrite_all_containers(&mut r.value, args);
        let id = r.id();
        for fs in specs {
            if !fs.matches(&id.group, &id.version, &id.kind) {
                continue;
            }
            let no_create = FieldSpec {
                create: false,
                ..fs.clone()
            };
            visit(&mut r.value, &no_create, Create::Scalar, &mut |n| {
                if let Some(new) = n.as_str().and_then(|s| rewrite(s, args)) {
                    *n = Value::String(new);
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(
        name: &str,
        new_name: Option<&str>,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> ImageArgs {
        ImageArgs {
            name: name.into(),
            new_name: new_name.map(Into::into),
            new_tag: tag.map(Into::into),
            digest: digest.map(Into::into),
            tag_suffix: None,
        }
    }

    #[test]
    fn rewrites_name_tag_and_digest() {
        assert_eq!(
            rewrite("nginx:1.0", &args("nginx", None, Some("2.0"), None)).as_deref(),
            Some("nginx:2.0")
        );
        assert_eq!(
            rewrite("nginx", &args("nginx", Some("r.io/nginx"), None, None)).as_deref(),
            Some("r.io/nginx")
        );
        assert_eq!(
            rewrite("nginx:1.0", &args("nginx", None, None, Some("sha256:ab"))).as_deref(),
            Some("nginx@sha256:ab")
        );
        assert_eq!(
            rewrite(
                "localhost:5000/app:1",
                &args("localhost:5000/app", None, Some("2"), None)
            )
            .as_deref(),
            Some("localhost:5000/app:2")
        );
        assert_eq!(
            rewrite("nginxx:1", &args("nginx", None, Some("2"), None)),
            None
        );
    }
}
