//! The showcase, checked: `examples/shop.rs` run under an in-memory pipeline, and the whole
//! trace of each request asserted, from the storefront's server span to inventory's database
//! spans.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]

#[path = "../examples/shop.rs"]
#[allow(dead_code)] // The example's `main` is not called here.
mod shop;
mod support;

use traced::{SpanData, SpanKind, Status, Value};

fn int(span: &SpanData, key: &str) -> Option<i64> {
    match span.attribute(key) {
        Some(Value::I64(n)) => Some(*n),
        _ => None,
    }
}

fn text<'a>(span: &'a SpanData, key: &str) -> Option<&'a str> {
    span.attribute(key).and_then(Value::as_str)
}

/// The statuses and spans of one visit: 5 storefront and 3 inventory server spans, 3
/// `place_order`, 3 client, 5 database spans and the background task.
fn visit() -> (Vec<(String, u16)>, Vec<SpanData>) {
    support::run_with(20, || async { shop::Shop::start().await.visit().await })
}

#[test]
fn one_trace_per_request_from_the_storefront_to_the_database() {
    let (seen, spans) = visit();
    let tree = traced::export::render_tree(&spans);
    let statuses: Vec<u16> = seen.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [200, 502, 404, 404, 405], "{seen:?}");

    let server = |path: &str| -> &SpanData {
        spans
            .iter()
            .find(|s| s.kind == SpanKind::Server && text(s, "url.path") == Some(path))
            .unwrap_or_else(|| panic!("no server span for {path}:\n{tree}"))
    };
    let children = |parent: &SpanData| -> Vec<&SpanData> {
        spans
            .iter()
            .filter(|s| s.parent_span_id == parent.span_context.span_id())
            .collect()
    };
    let only_child = |parent: &SpanData, name: &str| -> &SpanData {
        let found: Vec<_> = children(parent)
            .into_iter()
            .filter(|s| s.name == name)
            .collect();
        assert_eq!(found.len(), 1, "one {name} under {}:\n{tree}", parent.name);
        found[0]
    };

    // The espresso: storefront server -> place_order -> client -> inventory server (remote
    // parent) -> SELECT and UPDATE; the background task under place_order.
    let front = server("/buy/espresso");
    assert_eq!(front.name, "GET /buy/{sku}");
    assert!(front.is_root());
    assert_eq!(text(front, "http.route"), Some("/buy/{sku}"));
    assert_eq!(int(front, "http.response.status_code"), Some(200));
    assert_eq!(front.status, Status::Unset);
    let order = only_child(front, "place_order");
    let call = only_child(order, "POST");
    assert_eq!(call.kind, SpanKind::Client);
    assert_eq!(int(call, "http.response.status_code"), Some(200));
    let back = only_child(call, "POST /reserve/{sku}");
    assert_eq!(back.kind, SpanKind::Server);
    assert!(back.parent_is_remote);
    assert_eq!(back.span_context.trace_id(), front.span_context.trace_id());
    let select = only_child(back, "SELECT stock");
    assert_eq!(select.kind, SpanKind::Client);
    assert_eq!(text(select, "db.system.name"), Some("sqlite"));
    assert_eq!(
        text(select, "db.query.text"),
        Some("SELECT quantity FROM stock WHERE sku = ?")
    );
    let update = only_child(back, "UPDATE stock");
    assert_eq!(update.status, Status::Unset);
    let task = only_child(order, "send_confirmation");
    assert_eq!(task.span_context.trace_id(), front.span_context.trace_id());

    // The gift card: the database refuses, inventory answers 500 (Error), the storefront 502.
    let front = server("/buy/gift-card");
    assert!(front.status.is_error());
    assert_eq!(text(front, "error.type"), Some("502"));
    let call = only_child(only_child(front, "place_order"), "POST");
    assert!(call.status.is_error());
    let back = only_child(call, "POST /reserve/{sku}");
    assert_eq!(int(back, "http.response.status_code"), Some(500));
    assert!(back.status.is_error());
    assert_eq!(text(back, "error.type"), Some("500"));
    assert!(only_child(back, "UPDATE stock").status.is_error());

    // The unknown item: inventory's 404 is Unset on its server span, an error on the
    // storefront's client span; the storefront answers 404, Unset.
    let front = server("/buy/teapot");
    assert_eq!(int(front, "http.response.status_code"), Some(404));
    assert_eq!(front.status, Status::Unset);
    let call = only_child(only_child(front, "place_order"), "POST");
    assert!(call.status.is_error());
    assert_eq!(text(call, "error.type"), Some("404"));
    let back = only_child(call, "POST /reserve/{sku}");
    assert_eq!(back.status, Status::Unset);

    // No route: the fallback's 404, named by the method alone; a wrong method: 405.
    let missing = server("/gift-shop");
    assert_eq!(missing.name, "GET");
    assert_eq!(int(missing, "http.response.status_code"), Some(404));
    assert_eq!(missing.status, Status::Unset);
    let wrong = spans
        .iter()
        .find(|s| s.name == "POST /buy/{sku}")
        .unwrap_or_else(|| panic!("no 405 span:\n{tree}"));
    assert_eq!(int(wrong, "http.response.status_code"), Some(405));
    assert_eq!(wrong.status, Status::Unset);

    // Five requests, five traces.
    let mut traces: Vec<_> = spans.iter().map(|s| s.span_context.trace_id()).collect();
    traces.sort_unstable_by_key(|t| t.to_u128());
    traces.dedup();
    assert_eq!(traces.len(), 5, "{tree}");
}
