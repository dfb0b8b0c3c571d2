//! traced against a real backend nobody here wrote: otelite (crates.io), an OTLP receiver
//! with its own storage and CLI. Spans go in over OTLP/HTTP protobuf and over OTLP/gRPC, and
//! come back out through `otelite traces list` / `otelite traces show --format json`: what a
//! user of that backend sees, names, kinds, parents, status, exception events, attributes,
//! secrets redacted, the resource's service name.
//!
//! Needs the `otelite` binary (`cargo install --locked otelite --version 0.1.156`; the path
//! in `OTELITE_BIN`, or `otelite` on `PATH`), so it is ignored by default; `.ci/run` installs
//! it and runs `cargo test -p traced --test otelite -- --ignored`.

mod support;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use traced::export::otlp::{OtlpConfig, OtlpProtocol};
use traced::model::Resource;
use traced::pipeline::{Pipeline, Sampler};
use traced::traced;

#[derive(Debug)]
struct Declined;

impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined: over the limit")
    }
}

impl std::error::Error for Declined {}

#[traced(kind = "client", name = "charge-payment")]
fn charge(amount: f64, card_number: &str) -> Result<(), Declined> {
    let _ = (amount, card_number);
    Err(Declined)
}

#[traced(kind = "server", name = "process-order")]
fn process_order(order_id: u64, note: &str) -> Result<(), Declined> {
    let _ = note;
    charge(42.5, "4111111111111111")?;
    let _ = order_id;
    Ok(())
}

/// otelite, serving on free ports with its own home and storage; killed when dropped.
struct Otelite {
    child: Child,
    bin: PathBuf,
    home: PathBuf,
    api: String,
    http: u16,
    grpc: u16,
}

impl Drop for Otelite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

impl Otelite {
    fn start() -> Otelite {
        let bin =
            std::env::var_os("OTELITE_BIN").map_or_else(|| PathBuf::from("otelite"), PathBuf::from);
        let home = std::env::temp_dir().join(format!("traced-otelite-{}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap();
        let (api, http, grpc) = (
            support::free_port(),
            support::free_port(),
            support::free_port(),
        );
        let child = Command::new(&bin)
            .arg("serve")
            .arg("--addr")
            .arg(format!("127.0.0.1:{api}"))
            .arg("--storage-path")
            .arg(home.join("data"))
            .env("HOME", &home)
            .env("OTELITE_OTLP_HTTP_PORT", http.to_string())
            .env("OTELITE_OTLP_GRPC_PORT", grpc.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not run ({e}): install otelite", bin.display()));
        let otelite = Otelite {
            child,
            bin,
            home,
            api: format!("http://127.0.0.1:{api}"),
            http,
            grpc,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        for port in [api, http, grpc] {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "otelite did not listen on {port}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        otelite
    }

    /// `otelite <args> --format json`, parsed; `None` when otelite says no (a trace not
    /// found yet).
    fn json(&self, args: &[&str]) -> Option<serde_json::Value> {
        let out = Command::new(&self.bin)
            .args(args)
            .args(["--endpoint", &self.api, "--format", "json", "--no-pager"])
            .env("HOME", &self.home)
            .output()
            .unwrap();
        if !out.status.success() {
            return None;
        }
        Some(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "otelite {args:?}: {e}: {}",
                String::from_utf8_lossy(&out.stdout)
            )
        }))
    }

    /// The trace `trace_id` as `otelite traces show` gives it, once it has all `spans`.
    /// (Asked by id: `traces list` answers from a cache that can hold an older list.)
    fn trace(&self, trace_id: &str, spans: usize) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let shown = self.json(&["traces", "show", trace_id]);
            if let Some(trace) = shown.filter(|t| t["span_count"] == spans) {
                return trace;
            }
            assert!(Instant::now() < deadline, "otelite never showed {trace_id}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Runs the order through a pipeline exporting to otelite over `protocol`; the trace id.
fn export(otelite: &Otelite, protocol: OtlpProtocol, service: &str) -> String {
    let endpoint = match protocol {
        OtlpProtocol::Grpc => format!("http://127.0.0.1:{}", otelite.grpc),
        _ => format!("http://127.0.0.1:{}/v1/traces", otelite.http),
    };
    let exporter = traced::export::otlp::exporter(&OtlpConfig {
        endpoint,
        protocol,
        timeout: Duration::from_secs(10),
        ..OtlpConfig::default()
    })
    .unwrap();
    let mut resource = Resource::default_for_process();
    resource.set("service.name", service.to_owned());
    let guard = Pipeline::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .install();
    let mut root = traced::span("checkout").start();
    let trace_id = root.span_context().trace_id().to_string();
    {
        let _in = root.enter();
        assert!(process_order(7, "gift wrap").is_err());
    }
    root.end();
    guard.force_flush(Duration::from_secs(10)).unwrap();
    let stats = guard.pipeline().processor().stats();
    assert_eq!(
        (stats.exported, stats.dropped, stats.failed),
        (3, 0, 0),
        "{stats:?}"
    );
    drop(guard);
    trace_id
}

fn check(trace: &serde_json::Value, trace_id: &str, service: &str) {
    let spans = trace["spans"].as_array().expect("spans");
    let by_name = |name: &str| -> &serde_json::Value {
        spans
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {trace:#}"))
    };
    let (root, order, charge) = (
        by_name("checkout"),
        by_name("process-order"),
        by_name("charge-payment"),
    );
    for span in [root, order, charge] {
        assert_eq!(span["trace_id"], trace_id);
        assert_eq!(span["resource"]["attributes"]["service.name"], service);
    }
    assert_eq!(root["parent_span_id"], serde_json::Value::Null);
    assert_eq!(order["parent_span_id"], root["span_id"]);
    assert_eq!(charge["parent_span_id"], order["span_id"]);
    assert_eq!(order["kind"], "Server");
    assert_eq!(charge["kind"], "Client");
    assert_eq!(root["kind"], "Internal");
    for span in [order, charge] {
        assert_eq!(span["status"]["code"], "Error", "{span:#}");
        assert_eq!(span["status"]["message"], "card declined: over the limit");
        let exception = &span["events"][0];
        assert_eq!(exception["name"], "exception");
        assert_eq!(
            exception["attributes"]["exception.message"],
            "card declined: over the limit"
        );
    }
    assert_eq!(root["status"]["code"], "Unset");
    // Arguments as the backend shows them (otelite prints every value as text).
    assert_eq!(order["attributes"]["order_id"], "7");
    assert_eq!(order["attributes"]["note"], "gift wrap");
    assert_eq!(charge["attributes"]["amount"], "42.5");
    assert_eq!(charge["attributes"]["card_number"], "[REDACTED]");
    assert!(!trace.to_string().contains("4111"), "{trace:#}");
    // Each span lies within its parent's time.
    let times = |s: &serde_json::Value| {
        (
            s["start_time"].as_u64().expect("start_time"),
            s["end_time"].as_u64().expect("end_time"),
        )
    };
    for (parent, child) in [(root, order), (order, charge)] {
        let ((ps, pe), (cs, ce)) = (times(parent), times(child));
        assert!(ps <= cs && cs <= ce && ce <= pe, "{parent:#} {child:#}");
    }
}

#[test]
#[ignore = "needs the otelite binary; .ci/run installs it and runs this"]
fn otelite_shows_what_traced_sent_over_http_and_grpc() {
    let otelite = Otelite::start();
    for (protocol, service) in [
        (OtlpProtocol::HttpProtobuf, "traced-over-http"),
        (OtlpProtocol::Grpc, "traced-over-grpc"),
    ] {
        let trace_id = export(&otelite, protocol, service);
        let trace = otelite.trace(&trace_id, 3);
        check(&trace, &trace_id, service);
    }
}
