//! A producer and a consumer over a channel: the producer's span writes its context into
//! each message's headers; the consumer starts a new trace per message, LINKED to the span
//! that produced it (the OpenTelemetry messaging pattern: the consumer's work is caused by,
//! not part of, the producer's request).
//!
//! ```text
//! cargo run --example queue
//! ```
//!
//! Prints the traces and exits non-zero if a consumer span is not linked to its producer.

use std::collections::HashMap;
use std::sync::mpsc;
use traced::export::InMemoryExporter;
use traced::pipeline::Pipeline;
use traced::{KeyValue, Sampler, SpanKind, propagation, span, traced};

/// A queued message: a body and its headers, where the trace context travels.
#[derive(Debug)]
struct Message {
    headers: HashMap<String, String>,
    body: String,
}

#[traced(kind = "producer", name = "orders publish", skip(queue))]
fn publish(queue: &mpsc::Sender<Message>, order_id: u64) {
    let mut headers = HashMap::new();
    // The active span here is this function's: its traceparent goes with the message.
    propagation::inject(&mut headers);
    let body = format!("order {order_id}");
    queue
        .send(Message { headers, body })
        .expect("the consumer is alive");
}

fn consume(queue: &mpsc::Receiver<Message>) {
    for message in queue {
        let producer = propagation::extract(&message.headers);
        let mut builder = span("orders process")
            .kind(SpanKind::Consumer)
            .root()
            .attribute("messaging.system", "std-mpsc");
        if let Some(producer) = producer {
            builder = builder.link(
                producer,
                vec![
                    KeyValue::new("messaging.operation", "publish"),
                    KeyValue::new("messaging.destination.name", "orders"),
                ],
            );
        }
        let mut process = builder.start();
        process.in_scope(|| handle(&message.body));
    }
}

#[traced]
fn handle(body: &str) -> usize {
    body.len()
}

fn main() {
    let exporter = InMemoryExporter::default();
    let pipeline = Pipeline::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_simple_exporter(exporter.clone())
        .install();

    let (tx, rx) = mpsc::channel();
    let consumer = std::thread::spawn(move || consume(&rx));
    let mut request = span("POST /orders").kind(SpanKind::Server).start();
    request.in_scope(|| {
        for order_id in [1, 2] {
            publish(&tx, order_id);
        }
    });
    request.end();
    drop(tx);
    consumer.join().expect("the consumer thread");

    let _ = pipeline.force_flush(std::time::Duration::from_secs(5));
    let spans = exporter.take();
    eprint!("{}", traced::export::render_tree(&spans));
    if let Err(broken) = check(&spans) {
        eprintln!("broken links: {broken}");
        std::process::exit(1);
    }
    eprintln!("each consumer span links to its producer span: ok");
}

fn check(spans: &[traced::SpanData]) -> Result<(), String> {
    let producers: Vec<_> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Producer)
        .collect();
    let consumers: Vec<_> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Consumer)
        .collect();
    if producers.len() != 2 || consumers.len() != 2 {
        return Err(format!(
            "expected 2 producer and 2 consumer spans, got {} and {}",
            producers.len(),
            consumers.len()
        ));
    }
    for (producer, consumer) in producers.iter().zip(&consumers) {
        if consumer.parent_span_id.is_valid() {
            return Err("a consumer span has a parent: it should start a new trace".into());
        }
        if consumer.span_context.trace_id() == producer.span_context.trace_id() {
            return Err("a consumer span is in the producer's trace".into());
        }
        let [link] = &consumer.links[..] else {
            return Err("a consumer span does not have exactly one link".into());
        };
        if link.span_context.span_id() != producer.span_context.span_id()
            || link.span_context.trace_id() != producer.span_context.trace_id()
            || !link.span_context.is_remote()
        {
            return Err("a link does not point at its producer span".into());
        }
        if link.attributes.len() != 2 {
            return Err("a link lost its attributes".into());
        }
    }
    Ok(())
}
