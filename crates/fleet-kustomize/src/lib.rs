//! # fleet-kustomize
//!
//! The overlay engine: builds a kustomization directory exactly as
//! kustomize v5.5 does (resources, components, patches, generators with
//! hash suffixes, name references, replacements…), emits kustomize's bytes,
//! then applies Flux's post-build steps (SOPS decryption, `${VAR}`
//! substitution). Reads through a small filesystem trait so the reconciler
//! can build straight from a fetched Git tree. No network, no async.
//!
//! Depends on `fleet-model` for ids, the manifest model and the YAML
//! reader/writer.
