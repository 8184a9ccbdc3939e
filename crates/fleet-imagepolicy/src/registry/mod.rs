//! Registry scanning over the OCI distribution API: tag lists (following
//! `Link` pagination), manifest digests, and the authentication flows
//! registries use (anonymous, basic, and bearer tokens obtained through the
//! `WWW-Authenticate` challenge), with timeouts and retries with backoff.
//!
//! ```no_run
//! # async fn scan() -> Result<(), fleet_imagepolicy::registry::RegistryError> {
//! use fleet_imagepolicy::registry::{Client, ClientOptions};
//! use fleet_imagepolicy::reference::ImageReference;
//! let client = Client::new(ClientOptions::default())?;
//! let image = ImageReference::parse("ghcr.io/stefanprodan/podinfo").unwrap();
//! let tags = client.list_tags(&image).await?;
//! println!("{} tags", tags.len());
//! # Ok(()) }
//! ```

mod challenge;
#[cfg(feature = "registry-client")]
mod client;

pub use challenge::Challenge;
#[cfg(feature = "registry-client")]
pub use client::{Client, ClientOptions, Credentials, RegistryError, Scan, scan_repository};
