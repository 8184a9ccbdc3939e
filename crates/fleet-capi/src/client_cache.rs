//! Workload-cluster clients built from the `<cluster>-kubeconfig` Secrets
//! Cluster API writes, cached by the Secret's `resourceVersion`.
//!
//! Cluster API rotates these kubeconfigs (client certificates expire); a
//! client built from an old copy fails until the process restarts, which is
//! what the seed saw with cluster-autoscaler. Here a client is reused only
//! while the Secret it came from is unchanged: a new `resourceVersion`
//! means a new client, built from the new kubeconfig.
//!
//! The cache is generic over the client type, so the same logic serves the
//! kube-rs client of the reconciler and test doubles.
//!
//! ```
//! use fleet_capi::client_cache::{ClientCache, KubeconfigSecret};
//! use std::collections::BTreeMap;
//! let cache: ClientCache<String> = ClientCache::default();
//! let mut data = BTreeMap::new();
//! data.insert("value".to_string(), b"apiVersion: v1\nkind: Config\nclusters: []\n".to_vec());
//! let secret = KubeconfigSecret { namespace: "fleet".into(), name: "edge-1-kubeconfig".into(), resource_version: "7".into(), data, key: None };
//! let (client, built) = cache.client(&secret, |cfg| Ok::<_, String>(format!("client for {} bytes", cfg.len()))).unwrap();
//! assert!(built);
//! let (_, built_again) = cache.client(&secret, |_| Ok::<_, String>(String::new())).unwrap();
//! assert!(!built_again, "same resourceVersion: cached");
//! # let _ = client;
//! ```

use crate::kubeconfig::{KeyChoice, KeyError, kubeconfig_key};
use fleet_model::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// The parts of a kubeconfig Secret the cache needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeconfigSecret {
    /// Namespace.
    pub namespace: String,
    /// Name (`<cluster>-kubeconfig`).
    pub name: String,
    /// `metadata.resourceVersion`.
    pub resource_version: String,
    /// `data`, decoded.
    pub data: BTreeMap<String, Vec<u8>>,
    /// The key named by `spec.kubeConfig.secretRef.key`, if any; otherwise
    /// `value`, then `value.yaml` are read (Flux's order).
    pub key: Option<String>,
}

/// Why no client could be had.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The Secret has no kubeconfig key.
    #[error("Secret {namespace}/{name}: {error}")]
    Key {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Which keys were there.
        error: KeyError,
    },
    /// The kubeconfig is not a YAML kubeconfig.
    #[error(
        "Secret {namespace}/{name} key {key:?}: {why}; Cluster API writes a kubeconfig (apiVersion v1, kind Config) there"
    )]
    Invalid {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The key read.
        key: String,
        /// What is wrong.
        why: String,
    },
    /// Building the client failed.
    #[error("Secret {namespace}/{name}: cannot build a client from the kubeconfig: {message}")]
    Build {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The builder's error.
        message: String,
    },
}

/// A Secret's namespace and name, and the data key read.
type SecretKey = (String, String, Option<String>);
/// The `resourceVersion` a client was built from, and the client.
type Entry<C> = (String, Arc<C>);

/// Clients per Secret, with the `resourceVersion` each was built from.
#[derive(Debug)]
pub struct ClientCache<C> {
    entries: Mutex<HashMap<SecretKey, Entry<C>>>,
}

impl<C> Default for ClientCache<C> {
    fn default() -> Self {
        ClientCache {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

/// Reads and checks the kubeconfig text of a Secret.
pub fn kubeconfig_text(secret: &KubeconfigSecret) -> Result<String, ClientError> {
    let KeyChoice::Key(key) = kubeconfig_key(
        secret.key.as_deref(),
        secret.data.keys().map(String::as_str),
    )
    .map_err(|error| ClientError::Key {
        namespace: secret.namespace.clone(),
        name: secret.name.clone(),
        error,
    })?;
    let invalid = |why: String| ClientError::Invalid {
        namespace: secret.namespace.clone(),
        name: secret.name.clone(),
        key: key.to_string(),
        why,
    };
    let bytes = secret.data.get(key).map(Vec::as_slice).unwrap_or_default();
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("it is not UTF-8 text".into()))?;
    let value =
        fleet_model::yaml::parse_one(text).map_err(|e| invalid(format!("invalid YAML ({e})")))?;
    if value.get("kind").and_then(Value::as_str) != Some("Config")
        || value.get("clusters").is_none()
    {
        return Err(invalid(
            "it is not a kubeconfig (no kind: Config with clusters)".into(),
        ));
    }
    Ok(text.to_string())
}

impl<C> ClientCache<C> {
    fn cache_key(secret: &KubeconfigSecret) -> SecretKey {
        (
            secret.namespace.clone(),
            secret.name.clone(),
            secret.key.clone(),
        )
    }

    /// The cached client for `secret`, if one was built from this very
    /// `resourceVersion`.
    pub fn cached(&self, secret: &KubeconfigSecret) -> Option<Arc<C>> {
        let entries = self.entries.lock().ok()?;
        let (version, client) = entries.get(&Self::cache_key(secret))?;
        (*version == secret.resource_version).then(|| Arc::clone(client))
    }

    fn store(&self, secret: &KubeconfigSecret, client: C) -> Arc<C> {
        let client = Arc::new(client);
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(
                Self::cache_key(secret),
                (secret.resource_version.clone(), Arc::clone(&client)),
            );
        }
        client
    }

    fn build_error(secret: &KubeconfigSecret, message: String) -> ClientError {
        ClientError::Build {
            namespace: secret.namespace.clone(),
            name: secret.name.clone(),
            message,
        }
    }

    /// The client for `secret`: the cached one while the Secret's
    /// `resourceVersion` is unchanged, otherwise a new one from `build`
    /// (which replaces the old entry). Also says whether it was built.
    pub fn client<E: std::fmt::Display>(
        &self,
        secret: &KubeconfigSecret,
        build: impl FnOnce(&str) -> Result<C, E>,
    ) -> Result<(Arc<C>, bool), ClientError> {
        if let Some(client) = self.cached(secret) {
            return Ok((client, false));
        }
        let text = kubeconfig_text(secret)?;
        let client = build(&text).map_err(|e| Self::build_error(secret, e.to_string()))?;
        Ok((self.store(secret, client), true))
    }

    /// Drops a Secret's clients (the Secret was deleted).
    pub fn forget(&self, namespace: &str, name: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|(ns, n, _), _| !(ns == namespace && n == name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(version: &str, server: &str) -> KubeconfigSecret {
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n"
        );
        KubeconfigSecret {
            namespace: "fleet".into(),
            name: "edge-1-kubeconfig".into(),
            resource_version: version.into(),
            data: [("value".to_string(), config.into_bytes())]
                .into_iter()
                .collect(),
            key: None,
        }
    }

    fn server_of(text: &str) -> Result<String, String> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix("server: "))
            .map(str::to_string)
            .ok_or_else(|| "no server".to_string())
    }

    #[test]
    fn a_rotated_kubeconfig_gives_a_new_client() {
        let cache = ClientCache::default();
        let (first, built) = cache
            .client(&secret("1", "https://old:6443"), server_of)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(built);
        assert_eq!(*first, "https://old:6443");
        let (same, built) = cache
            .client(&secret("1", "https://ignored"), server_of)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!built && Arc::ptr_eq(&first, &same));
        let (rotated, built) = cache
            .client(&secret("2", "https://new:6443"), server_of)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(built);
        assert_eq!(*rotated, "https://new:6443");
    }

    #[test]
    fn bad_secrets_are_named_errors() {
        let cache: ClientCache<String> = ClientCache::default();
        let mut no_value = secret("1", "x");
        no_value.data = [("kubeconfig".to_string(), b"x".to_vec())]
            .into_iter()
            .collect();
        let e = cache
            .client(&no_value, server_of)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("edge-1-kubeconfig") && e.contains("\"value\""),
            "{e}"
        );
        let mut junk = secret("1", "x");
        junk.data
            .insert("value".into(), b"clusters: [unclosed".to_vec());
        let e = cache
            .client(&junk, server_of)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("invalid YAML"), "{e}");
        let mut not_config = secret("1", "x");
        not_config
            .data
            .insert("value".into(), b"kind: Pod\n".to_vec());
        assert!(matches!(
            cache.client(&not_config, server_of),
            Err(ClientError::Invalid { .. })
        ));
    }

    #[test]
    fn the_named_key_is_read_and_cached_apart() {
        let cache = ClientCache::default();
        let mut two_keys = secret("1", "https://value:6443");
        two_keys.data.insert(
            "admin.conf".into(),
            b"apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://admin:6443\n"
                .to_vec(),
        );
        let (by_default, _) = cache
            .client(&two_keys, server_of)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(*by_default, "https://value:6443");
        two_keys.key = Some("admin.conf".into());
        let (named, built) = cache
            .client(&two_keys, server_of)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(built, "another key is another client");
        assert_eq!(*named, "https://admin:6443");
        cache.forget("fleet", "edge-1-kubeconfig");
        assert!(cache.cached(&two_keys).is_none());
    }
}
