//! Finding the kubeconfig in a workload cluster's Secret.

/// The key Cluster API writes `<cluster>-kubeconfig` Secrets with.
pub const CAPI_KEY: &str = "value";
/// The key Flux falls back to after `value`.
pub const FLUX_FALLBACK_KEY: &str = "value.yaml";

/// The key chosen to read the kubeconfig from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChoice<'a> {
    /// This key of the Secret's data.
    Key(&'a str),
}

/// Why no kubeconfig key could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key named in `secretRef.key` is absent.
    #[error(
        "the Secret has no key {0:?} (named in spec.kubeConfig.secretRef.key); present keys: {1}"
    )]
    NamedKeyMissing(String, String),
    /// Neither default key is present.
    #[error(
        "the Secret has neither a \"value\" nor a \"value.yaml\" key (present keys: {0}); Cluster API writes the kubeconfig under \"value\""
    )]
    NoDefaultKey(String),
}

/// Picks the key holding the kubeconfig among a Secret's data keys.
pub fn kubeconfig_key<'a>(
    named: Option<&str>,
    keys: impl Iterator<Item = &'a str> + Clone,
) -> Result<KeyChoice<'a>, KeyError> {
    let present = || keys.clone().collect::<Vec<_>>().join(", ");
    if let Some(name) = named.filter(|n| !n.is_empty()) {
        return keys
            .clone()
            .find(|k| *k == name)
            .map(KeyChoice::Key)
            .ok_or_else(|| KeyError::NamedKeyMissing(name.to_string(), present()));
    }
    for wanted in [CAPI_KEY, FLUX_FALLBACK_KEY] {
        if let Some(k) = keys.clone().find(|k| *k == wanted) {
            return Ok(KeyChoice::Key(k));
        }
    }
    Err(KeyError::NoDefaultKey(present()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_key_wins_then_value_then_value_yaml() {
        let keys = ["value.yaml", "value", "custom"];
        assert_eq!(
            kubeconfig_key(Some("custom"), keys.iter().copied()),
            Ok(KeyChoice::Key("custom"))
        );
        assert_eq!(
            kubeconfig_key(None, keys.iter().copied()),
            Ok(KeyChoice::Key("value"))
        );
        let only_yaml = ["value.yaml"];
        assert_eq!(
            kubeconfig_key(None, only_yaml.iter().copied()),
            Ok(KeyChoice::Key("value.yaml"))
        );
    }

    #[test]
    fn missing_keys_are_named_in_the_error() {
        let keys = ["kubeconfig"];
        let err = kubeconfig_key(None, keys.iter().copied())
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("present keys: kubeconfig")));
    }
}
