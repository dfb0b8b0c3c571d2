//! HTTP and gRPC spans for tower services (feature `tower`): [`ServerLayer`] for axum,
//! tonic and hyper-util servers, [`ClientLayer`] for hyper-util clients and tonic channels.
//!
//! Both follow the OpenTelemetry semantic conventions for HTTP (stable) and gRPC, keep the
//! span active while the inner service runs, carry the trace across the wire (W3C Trace
//! Context and Baggage), and end the span when the response body ends.
//!
//! An HTTP service in five lines:
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use axum::{Router, routing::get};
//! let _guard = traced_runtime::init();
//! let app = Router::new().route("/hello", get(|| async { "hi" }))
//!     .layer(traced_runtime::tower::ServerLayer::new());
//! axum::serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?, app).await
//! # }
//! ```

mod body;
mod client;
mod future;
mod server;

pub use body::ResponseBody;
pub use client::{ClientLayer, ClientService};
pub use future::ResponseFuture;
pub use server::{ServerLayer, ServerService};
