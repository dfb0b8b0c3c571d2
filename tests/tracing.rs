//! The `tracing` and `log` bridges (features `tracing` and `log`), through the real pipeline:
//! `tracing` code called from `#[traced]` code and calling back into it, a real library whose
//! events come from its own worker thread (sqlx on `SQLite`), fmt and `log` lines with ids.
//!
//! One subscriber for the whole binary (the process-wide default, so threads see it): our
//! layer on `tracing_subscriber::registry()`, and two fmt layers a user could have (text and
//! JSON) writing into buffers.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]

/// The layer on the user's own registry: a mirror for every traced span entered.
const LAZY: bool = false;

include!("common/tracing_scenarios.rs");
