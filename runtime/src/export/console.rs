use super::{ExportError, SpanExporter};
use crate::model::SpanId;
use crate::model::{SpanData, Status};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;

/// Renders spans as one tree per trace: name, kind, status, duration and attributes, with
/// children under their parent in start order. Spans whose parent is not in `spans` are
/// shown as roots.
///
/// ```text
/// process-order [server] 1.20ms  order.id=7 order.total=99.5
/// └─ charge-payment [client] ERROR "card declined" 0.31ms  amount=99.5
///    • exception exception.type="shop::PaymentError" exception.message="card declined"
/// ```
pub fn render_tree(spans: &[SpanData]) -> String {
    render(spans, true)
}

/// The same tree without durations, stable across runs: for comparing in tests.
pub fn render_tree_stable(spans: &[SpanData]) -> String {
    render(spans, false)
}

fn render(spans: &[SpanData], durations: bool) -> String {
    let ids: std::collections::HashSet<(u128, SpanId)> = spans
        .iter()
        .map(|s| {
            (
                s.span_context.trace_id().to_u128(),
                s.span_context.span_id(),
            )
        })
        .collect();
    let mut children: HashMap<(u128, SpanId), Vec<&SpanData>> = HashMap::new();
    let mut roots = Vec::new();
    for s in spans {
        let key = (s.span_context.trace_id().to_u128(), s.parent_span_id);
        if s.parent_span_id.is_valid() && ids.contains(&key) {
            children.entry(key).or_default().push(s);
        } else {
            roots.push(s);
        }
    }
    let by_start =
        |a: &&SpanData, b: &&SpanData| a.start_time_unix_nano.cmp(&b.start_time_unix_nano);
    roots.sort_by(by_start);
    for v in children.values_mut() {
        v.sort_by(by_start);
    }
    let mut out = String::new();
    for root in roots {
        let kids = has_children(root, &children);
        line(&mut out, root, "", "", kids, durations);
        walk(&mut out, root, &children, "", durations);
    }
    out
}

fn walk(
    out: &mut String,
    span: &SpanData,
    children: &HashMap<(u128, SpanId), Vec<&SpanData>>,
    indent: &str,
    durations: bool,
) {
    let key = (
        span.span_context.trace_id().to_u128(),
        span.span_context.span_id(),
    );
    let Some(kids) = children.get(&key) else {
        return;
    };
    for (i, kid) in kids.iter().enumerate() {
        let last = i + 1 == kids.len();
        let (branch, next) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        let grandkids = has_children(kid, children);
        line(
            out,
            kid,
            &format!("{indent}{branch}"),
            &format!("{indent}{next}"),
            grandkids,
            durations,
        );
        walk(out, kid, children, &format!("{indent}{next}"), durations);
    }
}

fn has_children(span: &SpanData, children: &HashMap<(u128, SpanId), Vec<&SpanData>>) -> bool {
    children.contains_key(&(
        span.span_context.trace_id().to_u128(),
        span.span_context.span_id(),
    ))
}

fn line(out: &mut String, s: &SpanData, prefix: &str, cont: &str, kids: bool, durations: bool) {
    let _ = write!(out, "{prefix}{} [{}]", s.name, s.kind.as_str());
    match &s.status {
        Status::Unset => {}
        Status::Ok => out.push_str(" OK"),
        Status::Error { description } => {
            let _ = write!(out, " ERROR {description:?}");
        }
    }
    if durations {
        let _ = write!(out, " {}", human(s.duration_nanos()));
    }
    if !s.attributes.is_empty() {
        out.push(' ');
    }
    for kv in &s.attributes {
        let _ = write!(out, " {}={}", kv.key, kv.value);
    }
    if s.parent_is_remote {
        out.push_str("  (remote parent)");
    }
    out.push('\n');
    let bar = if kids { "│  " } else { "   " };
    for e in &s.events {
        let _ = write!(out, "{cont}{bar}• {}", e.name);
        for kv in &e.attributes {
            let _ = write!(out, " {}={}", kv.key, kv.value);
        }
        out.push('\n');
    }
    for l in &s.links {
        let cx = &l.span_context;
        let _ = write!(out, "{cont}{bar}↪ link {}:{}", cx.trace_id(), cx.span_id());
        for kv in &l.attributes {
            let _ = write!(out, " {}={}", kv.key, kv.value);
        }
        out.push('\n');
    }
}

fn human(nanos: u64) -> String {
    match nanos {
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => format!("{:.2}µs", n as f64 / 1e3),
        n if n < 1_000_000_000 => format!("{:.2}ms", n as f64 / 1e6),
        n => format!("{:.2}s", n as f64 / 1e9),
    }
}

/// Prints finished traces to standard error as trees. Spans are held until their trace's
/// root ends, so each trace prints whole; spans whose root never ends print at shutdown.
#[derive(Debug, Default)]
pub struct ConsoleExporter {
    pending: Vec<SpanData>,
}

impl ConsoleExporter {
    /// A console exporter.
    pub fn new() -> Self {
        Self::default()
    }
    fn print(spans: &[SpanData]) {
        if spans.is_empty() {
            return;
        }
        let text = render_tree(spans);
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

impl SpanExporter for ConsoleExporter {
    fn export(&mut self, batch: Vec<SpanData>) -> Result<(), ExportError> {
        self.pending.extend(batch);
        let done: Vec<u128> = self
            .pending
            .iter()
            .filter(|s| s.is_root() || s.parent_is_remote)
            .map(|s| s.span_context.trace_id().to_u128())
            .collect();
        if done.is_empty() {
            return Ok(());
        }
        let (ready, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|s| done.contains(&s.span_context.trace_id().to_u128()));
        self.pending = rest;
        Self::print(&ready);
        Ok(())
    }
    fn force_flush(&mut self) -> Result<(), ExportError> {
        Self::print(&std::mem::take(&mut self.pending));
        Ok(())
    }
    fn shutdown(&mut self) -> Result<(), ExportError> {
        self.force_flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::KeyValue;
    use crate::model::{Event, Link, SpanKind};
    use crate::model::{SpanContext, TraceFlags, TraceId, TraceState};

    fn span(name: &'static str, id: u64, parent: u64, start: u64) -> SpanData {
        SpanData {
            parent_span_id: SpanId::from_u64(parent),
            start_time_unix_nano: start,
            end_time_unix_nano: start + 1_500,
            ..SpanData::new(
                SpanContext::new(
                    TraceId::from_u128(7),
                    SpanId::from_u64(id),
                    TraceFlags::SAMPLED,
                    false,
                    TraceState::NONE,
                ),
                name,
            )
        }
    }

    #[test]
    fn children_sit_under_their_parent_in_start_order_with_events_and_links() {
        let mut root = span("checkout", 1, 0, 100);
        root.kind = SpanKind::Server;
        root.attributes.push(KeyValue::new("order.id", 7));
        root.status = Status::error("declined");
        root.events.push(Event {
            name: "exception".into(),
            time_unix_nano: 150,
            attributes: vec![KeyValue::new("exception.message", "declined")],
            dropped_attributes_count: 0,
        });
        let mut late = span("charge", 3, 1, 300);
        late.links.push(Link::new(
            SpanContext::new(
                TraceId::from_u128(9),
                SpanId::from_u64(4),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            vec![KeyValue::new("why", "retry")],
        ));
        let early = span("reserve", 2, 1, 200);
        let grandchild = span("db", 5, 2, 210);
        // Ended children first, as they arrive from the pipeline.
        let text = render_tree_stable(&[grandchild, late, early, root]);
        assert_eq!(
            text,
            "checkout [server] ERROR \"declined\"  order.id=7\n\
             │  • exception exception.message=\"declined\"\n\
             ├─ reserve [internal]\n\
             │  └─ db [internal]\n\
             └─ charge [internal]\n\
             \u{20}     ↪ link 00000000000000000000000000000009:0000000000000004 why=\"retry\"\n"
        );
        assert!(render_tree(&[span("x", 1, 0, 0)]).starts_with("x [internal] 1.50µs"));
    }
}
