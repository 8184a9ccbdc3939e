//! Shared test support: the conformance corpora, a real registry, a
//! scripted HTTP server.

#![allow(dead_code)]

pub mod corpus;
pub mod fake_http;
pub mod registry;

#[allow(unused_imports)]
pub use corpus::*;
