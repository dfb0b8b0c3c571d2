//! Two HTTP services, two processes, one trace across them: "frontend" answers
//! `GET /checkout` and calls "backend" `GET /price` with the `traceparent` of its `client`
//! span; the backend's `server` span joins the same trace with that client span as its
//! (remote) parent. Each process installs its own pipeline, whose resource names its service
//! (`service.name`, as `OTEL_SERVICE_NAME` would): the frontend starts the backend as a
//! child process (this same program, run with the argument `backend`).
//!
//! ```text
//! cargo run --example two_services
//! ```
//!
//! prints both processes' spans as trees and checks them: the program exits non-zero if the
//! trace is broken (two trace ids, a wrong parent, a parent not marked remote) or a
//! service's spans do not carry its name in their resource.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use std::collections::HashMap;
use std::io::BufRead as _;
use std::net::SocketAddr;
use traced::export::InMemoryExporter;
use traced::{FutureExt as _, Sampler, SpanData, SpanKind, propagation, span};

// ---------------------------------------------------------------------------------------------
// backend
// ---------------------------------------------------------------------------------------------

async fn price(headers: HeaderMap) -> String {
    // The caller's context from the request: the server span is its child, in its trace.
    let server = span("GET /price")
        .kind(SpanKind::Server)
        .parent(propagation::extract(&headers))
        .attribute("http.route", "/price")
        .start();
    async { format!("{}", load_price("espresso")) }
        .instrument(server)
        .await
}

/// `GET /spans`: the backend's spans so far, as JSON, for the frontend's check.
async fn spans(State(exporter): State<InMemoryExporter>) -> String {
    let service = service_name(&exporter);
    let spans: Vec<serde_json::Value> = exporter.spans().iter().map(to_json).collect();
    serde_json::json!({ "service": service, "spans": spans }).to_string()
}

/// The `service.name` of the resource the exporter's pipeline reports under.
fn service_name(exporter: &InMemoryExporter) -> String {
    match exporter
        .resource()
        .and_then(|r| r.get("service.name").cloned())
    {
        Some(traced::Value::String(name)) => name.as_str().to_owned(),
        _ => String::new(),
    }
}

fn to_json(s: &SpanData) -> serde_json::Value {
    serde_json::json!({
        "name": s.name,
        "kind": format!("{:?}", s.kind),
        "trace_id": s.span_context.trace_id().to_string(),
        "span_id": s.span_context.span_id().to_string(),
        "parent_span_id": s.parent_span_id.to_string(),
        "parent_is_remote": s.parent_is_remote,
    })
}

/// A pipeline for one service: everything sampled, kept in memory, `service.name` in the
/// resource.
fn install(service: &str) -> (InMemoryExporter, traced::pipeline::PipelineGuard) {
    let exporter = InMemoryExporter::default();
    let guard = traced::Config::new()
        .with_service_name(service)
        .with_sampler(Sampler::AlwaysOn)
        .into_pipeline_builder()
        .with_simple_exporter(exporter.clone())
        .install();
    (exporter, guard)
}

/// The backend process: serves `/price` and `/spans`, prints its address, runs until killed.
async fn backend() {
    let (exporter, _guard) = install("backend");
    let app = Router::new()
        .route("/price", get(price))
        .route("/spans", get(spans))
        .with_state(exporter);
    let addr = serve(app).await;
    println!("{addr}");
    std::future::pending::<()>().await;
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

/// Starts this program as the backend process; returns it and its address.
fn start_backend() -> (std::process::Child, SocketAddr) {
    let mut child = std::process::Command::new(std::env::current_exe().expect("this program"))
        .arg("backend")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the backend process");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("its stdout"))
        .read_line(&mut line)
        .expect("the backend's address");
    let addr = line.trim().parse().expect("the backend's address");
    (child, addr)
}

#[tokio::main]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("backend") {
        return backend().await;
    }
    let (exporter, pipeline) = install("frontend");
    let (mut backend_process, backend) = start_backend();
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
    let service = service_name(&exporter);
    eprintln!("service.name={service}");
    eprint!("{}", traced::export::render_tree(&spans));
    let theirs = tokio::task::spawn_blocking(move || {
        ureq::get(format!("http://{backend}/spans"))
            .call()?
            .body_mut()
            .read_to_string()
    })
    .await
    .expect("the client thread")
    .expect("GET /spans");
    let _ = backend_process.kill();
    let _ = backend_process.wait();
    let theirs: serde_json::Value = serde_json::from_str(&theirs).expect("JSON spans");
    eprintln!(
        "service.name={}",
        theirs["service"].as_str().unwrap_or_default()
    );
    for s in theirs["spans"].as_array().into_iter().flatten() {
        let (name, kind) = (s["name"].as_str(), s["kind"].as_str());
        eprintln!(
            "  {} [{}]",
            name.unwrap_or_default(),
            kind.unwrap_or_default()
        );
    }
    let mut all: Vec<serde_json::Value> = spans.iter().map(to_json).collect();
    all.extend(theirs["spans"].as_array().cloned().unwrap_or_default());
    let services = (
        service.as_str(),
        theirs["service"].as_str().unwrap_or_default(),
    );
    if let Err(broken) = check(&all, services) {
        eprintln!("broken trace: {broken}");
        std::process::exit(1);
    }
    eprintln!("one trace across both services, each named in its resource: ok");
}

/// The trace must read frontend server → client → backend server → `load_price`, the
/// frontend's spans under `service.name=frontend`, the backend's under `backend`.
fn check(spans: &[serde_json::Value], services: (&str, &str)) -> Result<(), String> {
    if services != ("frontend", "backend") {
        return Err(format!("service names {services:?}"));
    }
    let find = |name: &str, kind: &str| {
        spans
            .iter()
            .find(|s| s["name"] == name && s["kind"] == kind)
            .ok_or(format!("no {name} [{kind}] span"))
    };
    let front = find("GET /checkout", "Server")?;
    let client = find("GET /price", "Client")?;
    let back = find("GET /price", "Server")?;
    let load = find("load_price", "Internal")?;
    if spans.iter().any(|s| s["trace_id"] != front["trace_id"]) {
        return Err("more than one trace id".into());
    }
    if front["parent_span_id"] != "0000000000000000" {
        return Err("the frontend's server span is not a root".into());
    }
    if client["parent_span_id"] != front["span_id"] {
        return Err("the client span is not a child of the frontend's server span".into());
    }
    if back["parent_span_id"] != client["span_id"] || back["parent_is_remote"] != true {
        return Err("the backend's server span is not a remote child of the client span".into());
    }
    if load["parent_span_id"] != back["span_id"] {
        return Err("load_price is not a child of the backend's server span".into());
    }
    Ok(())
}
