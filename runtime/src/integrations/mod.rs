//! Integrations with other crates, one folder each, behind a cargo feature named after the
//! crate. Each is re-exported at the crate root (`traced::tower`, `traced::reqwest`).

// The reqwest middleware uses the HTTP half of it only; the gRPC half is the tower layers'.
#[cfg_attr(not(feature = "tower"), allow(dead_code))]
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) mod http;
#[cfg(feature = "reqwest")]
pub mod reqwest;
#[cfg(feature = "tower")]
pub mod tower;
