//! Two HTTP services in one process, one trace across them: "frontend" answers
//! `GET /checkout` and calls "backend" `GET /price` with the `traceparent` of its `client`
//! span; the backend's `server` span joins the same trace with that client span as its
//! (remote) parent.
//!
//! ```text
//! cargo run --example two_services
//! ```
//!
//! prints the trace as a tree and checks it: the program exits non-zero if the trace is
//! broken (two trace ids, a wrong parent, a parent not marked remote).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use std::collections::HashMap;
use std::net::SocketAddr;
use traced::export::InMemoryExporter;
use traced::pipeline::Pipeline;
use traced::{FutureExt as _, Sampler, SpanKind, propagation, span};

// ---------------------------------------------------------------------------------------------
// backend
// ---------------------------------------------------------------------------------------------

async fn price(headers: HeaderMap) -> String {
    // The caller's context from the request: the server span is its child, in its trace.
    let server = span("GET /price")
        .kind(SpanKind::Server)
        .parent(propagation::extract(&headers))
        .attribute("service.name", "backend")
        .attribute("http.route", "/price")
        .start();
    async { format!("{}", load_price("espresso")) }
        .instrument(server)
        .await
}

#[traced::traced]
fn load_price(item: &str) -> u64 {
    if item == "espresso" { 250 } else { 400 }
}

// ---------------------------------------------------------------------------------------------
// frontend
// ---------------------------------------------------------------------------------------------

async fn checkout(
    State(backend): State<SocketAddr>,
    headers: HeaderMap,
) -> Result<String, StatusCode> {
    let server = span("GET /checkout")
        .kind(SpanKind::Server)
        .parent(propagation::extract(&headers))
        .attribute("service.name", "frontend")
        .attribute("http.route", "/checkout")
        .start();
    async move {
        let client = span("GET /price")
            .kind(SpanKind::Client)
            .attribute("server.address", backend.ip().to_string())
            .attribute("server.port", i64::from(backend.port()))
            .start();
        // ureq blocks: run it on tokio's blocking pool. Spawned while the client span is
        // active (inside its instrumented future), the closure runs in its context, so
        // `inject` there writes the client span's traceparent.
        let call = async move {
            traced::tokio::spawn_blocking(move || {
                let mut outgoing = HashMap::new();
                propagation::inject(&mut outgoing);
                let mut request = ureq::get(format!("http://{backend}/price"));
                for (name, value) in &outgoing {
                    request = request.header(name, value);
                }
                request.call()?.body_mut().read_to_string()
            })
            .await
        };
        let cents = call
            .instrument(client)
            .await
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
            .map_err(|_| StatusCode::BAD_GATEWAY)?;
        Ok(format!("espresso: {cents} cents"))
    }
    .instrument(server)
    .await
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::main]
async fn main() {
    let exporter = InMemoryExporter::default();
    let pipeline = Pipeline::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_simple_exporter(exporter.clone())
        .install();

    let backend = serve(Router::new().route("/price", get(price))).await;
    let frontend = serve(
        Router::new()
            .route("/checkout", get(checkout))
            .with_state(backend),
    )
    .await;

    // A user with no trace of their own calls the frontend.
    let answer = tokio::task::spawn_blocking(move || {
        ureq::get(format!("http://{frontend}/checkout"))
            .call()?
            .body_mut()
            .read_to_string()
    })
    .await
    .expect("the client thread")
    .expect("GET /checkout");
    println!("{answer}");

    let _ = pipeline.force_flush(std::time::Duration::from_secs(5));
    let spans = exporter.take();
    eprint!("{}", traced::export::render_tree(&spans));
    if let Err(broken) = check(&spans) {
        eprintln!("broken trace: {broken}");
        std::process::exit(1);
    }
    eprintln!("one trace across both services: ok");
}

/// The trace must read frontend server → client → backend server → `load_price`.
fn check(spans: &[traced::SpanData]) -> Result<(), String> {
    let find = |name: &str, kind: SpanKind| {
        spans
            .iter()
            .find(|s| s.name == name && s.kind == kind)
            .ok_or(format!("no {name} [{kind:?}] span"))
    };
    let front = find("GET /checkout", SpanKind::Server)?;
    let client = find("GET /price", SpanKind::Client)?;
    let back = find("GET /price", SpanKind::Server)?;
    let load = find("load_price", SpanKind::Internal)?;
    let trace = front.span_context.trace_id();
    if spans.iter().any(|s| s.span_context.trace_id() != trace) {
        return Err("more than one trace id".into());
    }
    if front.parent_span_id.is_valid() {
        return Err("the frontend's server span is not a root".into());
    }
    if client.parent_span_id != front.span_context.span_id() {
        return Err("the client span is not a child of the frontend's server span".into());
    }
    if back.parent_span_id != client.span_context.span_id() || !back.parent_is_remote {
        return Err("the backend's server span is not a remote child of the client span".into());
    }
    if load.parent_span_id != back.span_context.span_id() {
        return Err("load_price is not a child of the backend's server span".into());
    }
    Ok(())
}
