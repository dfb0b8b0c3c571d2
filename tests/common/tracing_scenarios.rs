// The scenarios of tests/tracing.rs (the layer on `tracing_subscriber::registry()`: a mirror
// for every traced span entered) and tests/tracing_lazy.rs (on `traced::tracing::registry()`:
// mirrors on demand). Each includes this file after defining `LAZY`.

use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use traced::{SpanData, SpanKind, Status, Value, testing, traced};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

/// Lines written by a fmt layer.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Lines {
    /// Everything written so far (never cleared: tests run in parallel and look for lines
    /// of their own).
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Lines;
    fn make_writer(&'a self) -> Lines {
        self.clone()
    }
}

/// A record as the user's logger got it: message and key-values.
type Logged = (String, Vec<(String, String)>);

/// Records handed to the user's logger.
#[derive(Default)]
struct LogSink(Mutex<Vec<Logged>>);

impl log::Log for &'static LogSink {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        struct Kvs(Vec<(String, String)>);
        impl<'kvs> log::kv::VisitSource<'kvs> for Kvs {
            fn visit_pair(
                &mut self,
                k: log::kv::Key<'kvs>,
                v: log::kv::Value<'kvs>,
            ) -> Result<(), log::kv::Error> {
                self.0.push((k.to_string(), v.to_string()));
                Ok(())
            }
        }
        let mut kvs = Kvs(Vec::new());
        record.key_values().visit(&mut kvs).unwrap();
        self.0
            .lock()
            .unwrap()
            .push((record.args().to_string(), kvs.0));
    }
    fn flush(&self) {}
}

struct Setup {
    text: Lines,
    json: Lines,
    log: &'static LogSink,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let text = Lines::default();
        let json = Lines::default();
        macro_rules! install {
            ($registry:expr) => {
                $registry
                    .with(traced::tracing::layer())
                    .with(
                        tracing_subscriber::fmt::layer()
                            .with_writer(text.clone())
                            .with_ansi(false)
                            .event_format(traced::tracing::with_trace_ids(
                                tracing_subscriber::fmt::format(),
                            )),
                    )
                    .with(
                        tracing_subscriber::fmt::layer()
                            .json()
                            .with_writer(json.clone())
                            .event_format(traced::tracing::with_trace_ids(
                                tracing_subscriber::fmt::format().json(),
                            )),
                    )
                    .init()
            };
        }
        if LAZY {
            install!(traced::tracing::registry());
        } else {
            install!(tracing_subscriber::registry());
        }
        let log: &'static LogSink = Box::leak(Box::default());
        traced::log::Logger::new(log)
            .install(log::LevelFilter::Trace)
            .unwrap();
        Setup { text, json, log }
    })
}

/// Code that knows only `tracing`.
#[allow(unreachable_pub)] // A module as a library would write it.
mod plain_tracing {
    use tracing::Instrument as _;
    use tracing::{Span, debug, error, info, info_span, instrument};

    #[derive(Debug)]
    pub struct Order {
        #[allow(dead_code)] // Read through `Debug`.
        pub id: u32,
    }

    #[instrument(fields(otel.kind = "client", rows = tracing::field::Empty))]
    pub fn load(user: &str, count: u64, ratio: f64, express: bool, order: &Order) -> u64 {
        info!(user, attempt = 2_i64, "loading");
        Span::current().record("rows", 7_u64);
        // The context handed to a thread: what sqlx and friends do.
        let span = Span::current();
        let from_thread = std::thread::spawn(move || {
            span.in_scope(|| {
                debug!(on = "thread", "from another thread");
                log::info!("log line on the thread");
                super::traced_callback(1)
            })
        })
        .join()
        .unwrap();
        count + from_thread
    }

    pub fn failing() {
        let span = info_span!(
            "failing",
            otel.name = "renamed",
            otel.status_code = "error",
            otel.status_description = "it broke"
        );
        let _e = span.enter();
        error!(error = "disk full", path = "/tmp", "write failed");
    }

    pub fn linked(first: &Span) {
        let span = info_span!("linked");
        span.follows_from(first);
        let _e = span.enter();
    }

    pub async fn in_task() -> u64 {
        let handle = tokio::spawn(
            async {
                info!("inside the task");
                super::traced_callback(2)
            }
            .instrument(Span::current()),
        );
        handle.await.unwrap()
    }
}

#[traced]
fn traced_callback(n: u64) -> u64 {
    n * 10
}

#[traced]
fn traced_root() -> u64 {
    let n = plain_tracing::load("ada", 3, 0.5, true, &plain_tracing::Order { id: 9 });
    plain_tracing::failing();
    let first = tracing::info_span!("first");
    plain_tracing::linked(&first);
    drop(first);
    n
}

fn by_name<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    testing::one(spans, name)
}

fn parent_of<'a>(spans: &'a [SpanData], child: &SpanData) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.span_context.span_id() == child.parent_span_id)
        .unwrap_or_else(|| {
            panic!(
                "no parent for {}:\n{}",
                child.name,
                traced::export::render_tree(spans)
            )
        })
}

#[test]
fn tracing_spans_and_events_join_the_traced_tree() {
    setup();
    let (n, spans) = testing::capture(traced_root);
    assert_eq!(n, 13);
    let root = by_name(&spans, "traced_root");
    let load = by_name(&spans, "load");
    assert_eq!(parent_of(&spans, load).name, "traced_root");
    assert_eq!(load.span_context.trace_id(), root.span_context.trace_id());
    // Typed attributes, `otel.kind`, a field recorded later, where the code is.
    assert_eq!(load.kind, SpanKind::Client);
    assert_eq!(load.attribute("user"), Some(&Value::String("ada".into())));
    assert_eq!(load.attribute("count"), Some(&Value::I64(3)));
    assert_eq!(load.attribute("ratio"), Some(&Value::F64(0.5)));
    assert_eq!(load.attribute("express"), Some(&Value::Bool(true)));
    assert_eq!(
        load.attribute("order"),
        Some(&Value::String("Order { id: 9 }".into()))
    );
    assert_eq!(load.attribute("rows"), Some(&Value::I64(7)));
    assert_eq!(load.attribute("level"), Some(&Value::String("INFO".into())));
    assert_eq!(
        load.attribute("target"),
        Some(&Value::String(concat!(module_path!(), "::plain_tracing").into()))
    );
    assert!(matches!(
        load.attribute("code.line.number"),
        Some(Value::I64(_))
    ));
    assert_eq!(
        load.attribute("code.file.path"),
        Some(&Value::String("tests/common/tracing_scenarios.rs".into()))
    );
    assert_eq!(load.attribute("otel.kind"), None);
    // Events on the right spans, with their fields, from this thread and the other one.
    let loading = load.event("loading").expect("the `loading` event");
    assert_eq!(
        loading.attribute("user"),
        Some(&Value::String("ada".into()))
    );
    assert_eq!(loading.attribute("attempt"), Some(&Value::I64(2)));
    assert_eq!(
        loading.attribute("level"),
        Some(&Value::String("INFO".into()))
    );
    let threaded = load
        .event("from another thread")
        .expect("the thread's event");
    assert_eq!(
        threaded.attribute("on"),
        Some(&Value::String("thread".into()))
    );
    // A `log` line written there carries the ids of the span the thread works for.
    let records = setup().log.0.lock().unwrap().clone();
    let (_, kvs) = records
        .iter()
        .find(|(m, _)| m == "log line on the thread")
        .unwrap();
    let load_span_id = load.span_context.span_id().to_string();
    assert!(kvs.contains(&("span_id".into(), load_span_id)), "{kvs:?}");
    // `#[traced]` code on the other thread, under the captured span.
    let callbacks: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "traced_callback")
        .collect();
    assert_eq!(callbacks.len(), 1);
    assert_eq!(parent_of(&spans, callbacks[0]).name, "load");
    // `otel.name`, `otel.status_code`, an `error` field as an exception.
    let failing = by_name(&spans, "renamed");
    assert_eq!(parent_of(&spans, failing).name, "traced_root");
    assert_eq!(failing.status, Status::error("disk full"));
    let exception = failing.event("exception").expect("the exception event");
    assert_eq!(
        exception.attribute("exception.message"),
        Some(&Value::String("disk full".into()))
    );
    assert_eq!(
        exception.attribute("path"),
        Some(&Value::String("/tmp".into()))
    );
    assert_eq!(
        exception.attribute("message"),
        Some(&Value::String("write failed".into()))
    );
    // `follows_from` as a link.
    let first = by_name(&spans, "first");
    let linked = by_name(&spans, "linked");
    assert_eq!(linked.links.len(), 1);
    assert_eq!(linked.links[0].span_context, first.span_context);
    assert!(root.status == Status::Unset);
}

#[traced]
async fn traced_async_root() -> u64 {
    plain_tracing::in_task().await
}

#[test]
fn the_current_tracing_span_carries_a_traced_span_into_a_tokio_task() {
    setup();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (n, spans) = testing::capture(|| rt.block_on(traced_async_root()));
    assert_eq!(n, 20);
    let root = by_name(&spans, "traced_async_root");
    let callback = by_name(&spans, "traced_callback");
    assert_eq!(parent_of(&spans, callback).name, "traced_async_root");
    // The event recorded in the task, on a worker thread, lands on the traced span.
    assert!(root.event("inside the task").is_some(), "{:?}", root.events);
}

#[traced]
async fn query_database() -> i64 {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT 40 + 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

#[test]
fn sqlx_events_from_its_worker_thread_land_under_the_traced_caller() {
    let setup = setup();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (n, spans) = testing::capture(|| rt.block_on(query_database()));
    assert_eq!(n, 42);
    let caller = by_name(&spans, "query_database");
    let queries: Vec<_> = caller
        .events
        .iter()
        .filter(|e| e.attribute("target") == Some(&Value::String("sqlx::query".into())))
        .collect();
    assert!(
        queries
            .iter()
            .any(|e| e.attribute("rows_returned") == Some(&Value::I64(1))),
        "sqlx's query event on the caller's span: {:?}",
        caller.events
    );
    // The fmt lines sqlx wrote on its worker thread carry the caller's ids.
    let text = setup.text.text();
    let ids = format!(
        "trace_id={} span_id={}",
        caller.span_context.trace_id(),
        caller.span_context.span_id()
    );
    assert!(
        text.lines()
            .any(|l| l.contains(&ids) && l.contains("sqlx::query")),
        "{text}"
    );
}

#[traced]
fn logs_something() {
    tracing::info!(answer = 42, "tracing says hi");
    log::info!(target: "legacy", "log says hi");
    log::error!("log says it failed");
}

#[test]
fn fmt_json_and_log_lines_carry_the_ids_of_their_span() {
    let setup = setup();
    let spans = testing::spans(logs_something);
    let span = by_name(&spans, "logs_something");
    let (trace_id, span_id) = (
        span.span_context.trace_id().to_string(),
        span.span_context.span_id().to_string(),
    );
    let text = setup.text.text();
    let line = text
        .lines()
        .find(|l| l.contains("tracing says hi"))
        .unwrap();
    assert!(
        line.starts_with(&format!("trace_id={trace_id} span_id={span_id} ")),
        "{line}"
    );
    let json = setup.json.text();
    let line = json
        .lines()
        .find(|l| l.contains("tracing says hi"))
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(value["trace_id"], trace_id.as_str());
    assert_eq!(value["span_id"], span_id.as_str());
    assert_eq!(value["fields"]["answer"], 42);
    // `log` records: handed on with the ids, and events of the span.
    let records = setup.log.0.lock().unwrap().clone();
    let (_, kvs) = records.iter().find(|(m, _)| m == "log says hi").unwrap();
    assert!(
        kvs.contains(&("trace_id".into(), trace_id.clone())),
        "{kvs:?}"
    );
    assert!(
        kvs.contains(&("span_id".into(), span_id.clone())),
        "{kvs:?}"
    );
    let event = span.event("log says hi").unwrap();
    assert_eq!(
        event.attribute("target"),
        Some(&Value::String("legacy".into()))
    );
    assert_eq!(span.status, Status::error("log says it failed"));
    assert!(span.event("tracing says hi").is_some());
    // Outside any span: unchanged lines, no ids.
    log::info!("no span here");
    let records = setup.log.0.lock().unwrap().clone();
    let (_, kvs) = records.iter().find(|(m, _)| m == "no span here").unwrap();
    assert!(kvs.is_empty());
    tracing::info!("no span either");
    let text = setup.text.text();
    let line = text.lines().find(|l| l.contains("no span either")).unwrap();
    assert!(!line.contains("trace_id"), "{line}");
}

/// The trace id seen on another thread that enters `span`.
fn trace_id_on_a_thread(span: tracing::Span) -> traced::TraceId {
    std::thread::spawn(move || span.in_scope(|| traced::current().trace_id()))
        .join()
        .unwrap()
}

#[traced]
fn unsampled_root() -> (traced::TraceId, traced::TraceId, usize) {
    let root_trace = traced::current().trace_id();
    // The traced span itself, through `tracing::Span::current()`.
    assert_eq!(trace_id_on_a_thread(tracing::Span::current()), root_trace);
    let span = tracing::info_span!("bridged");
    let _e = span.enter();
    let current = tracing::Span::current();
    let on_thread = std::thread::spawn(move || {
        current.in_scope(|| {
            traced_callback(0);
            traced::current().trace_id()
        })
    })
    .join()
    .unwrap();
    let mut out = Vec::new();
    writeln!(out, "{}", traced::current().trace_id()).unwrap();
    (root_trace, on_thread, out.len())
}

#[test]
fn under_an_unsampled_parent_bridged_spans_are_not_recorded_and_context_propagates() {
    setup();
    let ((root, on_thread, _), spans) = testing::capture_with(
        |b| b.with_sampler(traced::Sampler::parent_based(traced::Sampler::AlwaysOff)),
        unsampled_root,
    );
    assert!(spans.is_empty(), "{}", traced::export::render_tree(&spans));
    assert!(root.is_valid());
    assert_eq!(on_thread, root);
}

#[traced]
fn errors_and_parents() {
    tracing::error!(code = 503_i64, "upstream down");
    let explicit = tracing::info_span!("explicit_parent");
    let child = tracing::info_span!(parent: &explicit, "child_of_explicit");
    let root = tracing::info_span!(parent: None, "a_root");
    drop((child, root, explicit));
}

#[test]
fn layer_options_error_events_and_explicit_parents() {
    setup();
    // A subscriber of this thread only, with other options than the process-wide one.
    let subscriber = tracing_subscriber::registry().with(
        traced::tracing::layer()
            .with_error_events_to_exceptions(true)
            .with_location(false),
    );
    let spans =
        tracing::subscriber::with_default(subscriber, || testing::spans(errors_and_parents));
    let traced_span = by_name(&spans, "errors_and_parents");
    assert_eq!(traced_span.status, Status::error("upstream down"));
    let exception = traced_span.event("exception").expect("an exception event");
    assert_eq!(
        exception.attribute("exception.message"),
        Some(&Value::String("upstream down".into()))
    );
    assert_eq!(exception.attribute("code"), Some(&Value::I64(503)));
    assert_eq!(
        exception.attribute("level"),
        Some(&Value::String("ERROR".into()))
    );
    let explicit = by_name(&spans, "explicit_parent");
    assert_eq!(parent_of(&spans, explicit).name, "errors_and_parents");
    assert_eq!(explicit.attribute("code.file.path"), None);
    let child = by_name(&spans, "child_of_explicit");
    assert_eq!(child.parent_span_id, explicit.span_context.span_id());
    assert!(by_name(&spans, "a_root").is_root());
}

#[traced]
fn attach_elsewhere() {
    let cx = traced::Context::current();
    std::thread::spawn(move || {
        let _attached = cx.attach();
        // The attached context, as `tracing` sees it, carried one thread further.
        let current = tracing::Span::current();
        std::thread::spawn(move || current.in_scope(|| traced_callback(3)))
            .join()
            .unwrap();
        tracing::info_span!("under_attached").in_scope(|| {});
    })
    .join()
    .unwrap();
}

#[test]
fn an_attached_context_is_the_current_tracing_span_too() {
    setup();
    let spans = testing::spans(attach_elsewhere);
    let callback = by_name(&spans, "traced_callback");
    assert_eq!(parent_of(&spans, callback).name, "attach_elsewhere");
    let bridged = by_name(&spans, "under_attached");
    assert_eq!(parent_of(&spans, bridged).name, "attach_elsewhere");
}

/// Hands out the current `tracing` span: the stand-in of this traced span.
#[traced]
fn hand_out_current() -> tracing::Span {
    tracing::Span::current()
}

#[test]
fn an_event_under_a_stand_in_after_its_traced_span_ended_is_counted() {
    setup();
    let (stand_in, spans) = testing::capture(hand_out_current);
    let ended = by_name(&spans, "hand_out_current");
    let before = traced::tracing::late_events_dropped();
    std::thread::spawn(move || stand_in.in_scope(|| tracing::info!("too late")))
        .join()
        .unwrap();
    // The span was exported without it, and nothing else records it: dropped, counted.
    assert_eq!(traced::tracing::late_events_dropped() - before, 1);
    assert!(ended.event("too late").is_none(), "{:?}", ended.events);
}

#[traced]
fn handled_error() {
    tracing::warn!(error = "no such item", "answered 404");
}

#[test]
fn a_handled_error_logged_below_error_level_is_an_exception_event_but_no_error_status() {
    setup();
    let spans = testing::spans(handled_error);
    let span = by_name(&spans, "handled_error");
    assert_eq!(span.status, Status::Unset);
    let exception = span.event("exception").expect("the exception event");
    assert_eq!(
        exception.attribute("exception.message"),
        Some(&Value::String("no such item".into()))
    );
}

#[test]
fn a_tracing_span_is_in_the_scope_of_its_targets_crate() {
    setup();
    let spans = testing::spans(|| {
        let _db = tracing::info_span!(target: "storage_lib::db", "query").entered();
        let _here = tracing::info_span!("local").entered();
    });
    assert_eq!(by_name(&spans, "query").scope.name(), "storage_lib");
    assert_eq!(by_name(&spans, "query").scope.version(), "");
    // The default target is the module path: this test crate's name.
    assert_eq!(by_name(&spans, "local").scope.name(), module_path!().split("::").next().unwrap());
}

/// A library's credentials, as its own `Debug` writes them.
#[derive(Debug)]
#[allow(dead_code)] // Read through `Debug`.
struct Login {
    user: &'static str,
    password: &'static str,
}

#[traced]
fn bridges_secrets() {
    let span = tracing::info_span!(
        "connect",
        db_password = "hunter2",
        pin = 4321_u64,
        user = "bob",
        upstream = "postgres://app:cr34t3@db/orders",
        session_id = tracing::field::Empty,
        note = tracing::field::Empty,
    );
    span.record("session_id", "s3ss");
    span.record("note", "via postgres://app:n0te@db/orders");
    let _in = span.entered();
    tracing::info!(
        api_key = "k3y",
        login = ?Login { user: "bob", password: "l0g1n" },
        url = "postgres://app:u4l@db/orders",
        attempt = 2,
        "connecting to postgres://app:m3ss@db/orders"
    );
    log::info!(token = "t0k", host = "db"; "log with key-values");
}

#[test]
fn secrets_in_tracing_fields_and_log_key_values_are_redacted() {
    setup();
    let spans = testing::spans(bridges_secrets);
    let redacted = Some(Value::String("[REDACTED]".into()));
    let text = |s: &str| Some(Value::String(s.to_owned().into()));
    let connect = by_name(&spans, "connect");
    assert_eq!(connect.attribute("db_password").cloned(), redacted);
    assert_eq!(connect.attribute("pin").cloned(), redacted, "a number too");
    assert_eq!(connect.attribute("session_id").cloned(), redacted, "recorded later");
    assert_eq!(connect.attribute("user").cloned(), text("bob"));
    // Written at the start and scrubbed where the span is read for export.
    assert_eq!(
        connect.attribute("upstream").cloned(),
        text("postgres://app:[REDACTED]@db/orders")
    );
    assert_eq!(
        connect.attribute("note").cloned(),
        text("via postgres://app:[REDACTED]@db/orders")
    );
    let event = connect
        .event("connecting to postgres://app:[REDACTED]@db/orders")
        .unwrap_or_else(|| panic!("{:?}", connect.events));
    assert_eq!(event.attribute("api_key").cloned(), redacted);
    assert_eq!(
        event.attribute("login").cloned(),
        text(r#"Login { user: "bob", password: [REDACTED] }"#)
    );
    assert_eq!(
        event.attribute("url").cloned(),
        text("postgres://app:[REDACTED]@db/orders")
    );
    assert_eq!(event.attribute("attempt"), Some(&Value::I64(2)));
    let logged = connect
        .event("log with key-values")
        .unwrap_or_else(|| panic!("{:?}", connect.events));
    assert_eq!(logged.attribute("token").cloned(), redacted);
    assert_eq!(logged.attribute("host").cloned(), text("db"));
    let everything = format!("{spans:?}");
    for secret in [
        "hunter2", "4321", "cr34t3", "s3ss", "n0te", "k3y", "l0g1n", "u4l", "m3ss", "t0k",
    ] {
        assert!(!everything.contains(secret), "{secret} in {everything}");
    }
}
