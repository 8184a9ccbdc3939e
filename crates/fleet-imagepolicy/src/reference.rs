//! Image references: `[registry[:port]/]path[:tag][@digest]`.

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// The registry host and port, when the reference names one.
    pub registry: Option<String>,
    /// The repository path, e.g. `team/app`.
    pub path: String,
    /// The tag.
    pub tag: Option<String>,
    /// The digest, e.g. `sha256:…`.
    pub digest: Option<String>,
}

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {0:?}: {1}")]
pub struct ReferenceError(pub String, pub &'static str);

/// Why a string is not a tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a valid image tag: tags are 1 to 128 characters of letters, digits, '_', '.' and '-', not starting with '.' or '-'"
)]
pub struct TagError(pub String);

/// Checks a tag against the OCI distribution grammar
/// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}` (what a registry can return), with
/// `+` also allowed after the first character so that SemVer build
/// metadata, which Flux's policies read, can be tried by hand.
///
/// ```
/// use fleet_imagepolicy::reference::validate_tag;
/// assert!(validate_tag("v1.2.3-rc.1_build").is_ok());
/// assert!(validate_tag("two words").is_err());
/// ```
pub fn validate_tag(tag: &str) -> Result<(), TagError> {
    let bytes = tag.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(TagError(tag.to_string()))
    }
}

impl ImageReference {
    /// Parses a reference. The first path component is a registry when it
    /// contains `.` or `:` or is `localhost`, as Docker decides.
    pub fn parse(text: &str) -> Result<ImageReference, ReferenceError> {
        let err = |why| ReferenceError(text.to_string(), why);
        if text.is_empty() {
            return Err(err("it is empty"));
        }
        if text.chars().any(|c| c.is_whitespace()) {
            return Err(err("it contains white space"));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((r, d)) if d.contains(':') => (r, Some(d.to_string())),
            Some(_) => return Err(err("a digest must look like algorithm:hex")),
            None => (text, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_string()),
            ),
            None => (rest, None),
        };
        if tag.as_deref() == Some("") {
            return Err(err("the tag after ':' is empty"));
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_string()), path.to_string())
            }
            _ => (None, name.to_string()),
        };
        if path.is_empty() || path.split('/').any(str::is_empty) {
            return Err(err(
                "the repository path is empty or has an empty component",
            ));
        }
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(err("repository paths must be lower case"));
        }
        Ok(ImageReference {
            registry,
            path,
            tag,
            digest,
        })
    }

    /// The name without tag or digest, as written.
    pub fn name(&self) -> String {
        match &self.registry {
            Some(r) => format!("{r}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// The name with Docker Hub's implied parts made explicit, as Flux
    /// reports `status.canonicalImageName`.
    pub fn canonical_name(&self) -> String {
        match &self.registry {
            Some(r) => format!("{r}/{}", self.path),
            None if self.path.contains('/') => format!("docker.io/{}", self.path),
            None => format!("docker.io/library/{}", self.path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_recognised_by_dot_colon_or_localhost() {
        let r = |s: &str| ImageReference::parse(s).map(|r| (r.registry, r.path, r.tag));
        assert_eq!(
            r("ghcr.io/org/app:v1"),
            Ok((Some("ghcr.io".into()), "org/app".into(), Some("v1".into())))
        );
        assert_eq!(
            r("localhost/app"),
            Ok((Some("localhost".into()), "app".into(), None))
        );
        assert_eq!(r("org/app"), Ok((None, "org/app".into(), None)));
        assert_eq!(
            r("registry:5000/app:1"),
            Ok((Some("registry:5000".into()), "app".into(), Some("1".into())))
        );
    }

    #[test]
    fn junk_is_refused_with_a_reason() {
        for bad in ["", "app:", "a b", "/app", "App", "app@nodigest"] {
            assert!(ImageReference::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn canonical_names_make_docker_hub_explicit() {
        let c = |s: &str| ImageReference::parse(s).map(|r| r.canonical_name());
        assert_eq!(c("alpine"), Ok("docker.io/library/alpine".into()));
        assert_eq!(c("fluxcd/flux"), Ok("docker.io/fluxcd/flux".into()));
    }
}
