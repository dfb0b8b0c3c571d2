//! Integrations with other crates: one module per crate, each behind a cargo feature named
//! after that crate, re-exported at the crate root under the crate's name, so a user writes
//! `traced::tokio::spawn(..)` (feature `tokio`), `traced::tracing::layer()` (feature
//! `tracing`), `traced::log::Logger` (feature `log`), `traced::tower::...` (feature `tower`).
//! They sit on top of the runtime and use only its public layers; nothing below imports them
//! (the `tracing` bridge reaches the context and span layers through the hooks they offer,
//! `context::hook`).

#[cfg(feature = "log")]
pub mod log;
#[cfg(feature = "tokio")]
pub mod tokio;
#[cfg(feature = "tracing")]
pub mod tracing;

// The reqwest middleware uses the HTTP half of it only; the gRPC half is the tower layers'.
#[cfg_attr(not(feature = "tower"), allow(dead_code))]
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) mod http;
#[cfg(feature = "reqwest")]
pub mod reqwest;
#[cfg(feature = "tower")]
pub mod tower;
