//! Where each library's finished spans go: sinks that count them (into [`crate::SPANS`]) and
//! drop them, so the benchmarks measure the libraries, not an exporter.

use std::time::Duration;

/// A traced processor that counts each thread batch and drops it on the ending thread.
#[derive(Debug, Clone, Copy)]
pub struct TracedCountingProcessor;

impl traced::pipeline::SpanProcessor for TracedCountingProcessor {
    fn on_end(&self, spans: &mut traced::export::SpanBatch) {
        crate::count(spans.len());
        spans.clear();
    }
    fn force_flush(&self, _timeout: Duration) -> Result<(), traced::export::ExportError> {
        Ok(())
    }
    fn shutdown(&self, _timeout: Duration) -> Result<(), traced::export::ExportError> {
        Ok(())
    }
}

/// A traced exporter (behind the batch processor) that counts and drops.
///
/// It counts and drops the batch in place ([`export_batch`]): through the default, which
/// builds a `SpanData` per span for [`export`], the worker was slower than one thread ending
/// spans, and `throughput cpu traced` dropped 84–86 % of them, so the batch processor's cost
/// was measured under overload rather than in its steady state.
///
/// [`export_batch`]: traced::export::SpanExporter::export_batch
/// [`export`]: traced::export::SpanExporter::export
#[derive(Debug, Clone, Copy)]
pub struct TracedCountingExporter;

impl traced::export::SpanExporter for TracedCountingExporter {
    fn export(&mut self, batch: Vec<traced::SpanData>) -> Result<(), traced::export::ExportError> {
        crate::count(batch.len());
        Ok(())
    }
    fn export_batch(
        &mut self,
        batch: &mut traced::export::SpanBatch,
    ) -> Result<(), traced::export::ExportError> {
        crate::count(batch.len());
        batch.clear();
        Ok(())
    }
}

/// A traced exporter (behind the batch processor) that counts and drops the spans as
/// [`traced::SpanData`], which the worker builds for each span (the default
/// [`export_batch`](traced::export::SpanExporter::export_batch)): what an exporter that
/// needs `SpanData` costs, and what [`TracedCountingExporter`] was before it dropped the
/// spans in place.
#[derive(Debug, Clone, Copy)]
pub struct TracedSpanDataCountingExporter;

impl traced::export::SpanExporter for TracedSpanDataCountingExporter {
    fn export(&mut self, batch: Vec<traced::SpanData>) -> Result<(), traced::export::ExportError> {
        crate::count(batch.len());
        Ok(())
    }
}

/// A traced exporter (behind the batch processor) that encodes each batch as the OTLP
/// protobuf request OTLP/HTTP would post (traced's own encoder, reading the spans in place,
/// as both OTLP exporters do), counts the spans and drops the bytes: the export minus the
/// network.
#[derive(Debug)]
pub struct TracedOtlpEncodingExporter {
    encoder: traced::export::otlp::Encoder,
}

impl Default for TracedOtlpEncodingExporter {
    fn default() -> Self {
        TracedOtlpEncodingExporter {
            encoder: traced::export::otlp::Encoder::new(&traced::model::Resource::default()),
        }
    }
}

impl traced::export::SpanExporter for TracedOtlpEncodingExporter {
    fn export(&mut self, batch: Vec<traced::SpanData>) -> Result<(), traced::export::ExportError> {
        self.export_batch(&mut traced::export::SpanBatch::from(batch))
    }
    fn export_batch(
        &mut self,
        batch: &mut traced::export::SpanBatch,
    ) -> Result<(), traced::export::ExportError> {
        let n = batch.len();
        let bytes = self.encoder.encode(batch);
        crate::count_bytes(bytes.len());
        std::hint::black_box(bytes);
        crate::count(n);
        Ok(())
    }
    fn set_resource(&mut self, resource: &traced::model::Resource) {
        self.encoder.set_resource(resource);
    }
}

/// A traced exporter that encodes each batch the way the OTLP exporters did before they had
/// their own encoder: `SpanData`, then the official messages (`otlp::to_request`), then
/// prost. For comparison with [`TracedOtlpEncodingExporter`].
#[derive(Debug, Default)]
pub struct TracedOtlpMessagesExporter {
    resource: traced::model::Resource,
}

impl traced::export::SpanExporter for TracedOtlpMessagesExporter {
    fn export(&mut self, batch: Vec<traced::SpanData>) -> Result<(), traced::export::ExportError> {
        use prost::Message as _;
        let bytes = traced::export::otlp::to_request(&batch, &self.resource).encode_to_vec();
        crate::count_bytes(bytes.len());
        std::hint::black_box(bytes);
        crate::count(batch.len());
        Ok(())
    }
    fn set_resource(&mut self, resource: &traced::model::Resource) {
        self.resource = resource.clone();
    }
}

/// A traced processor that encodes each thread batch as OTLP protobuf on the thread that
/// ended it: the encoding's own cost, with no handover to another core.
#[derive(Debug, Default)]
pub struct TracedOtlpEncodingProcessor(std::sync::Mutex<TracedOtlpEncodingExporter>);

impl traced::pipeline::SpanProcessor for TracedOtlpEncodingProcessor {
    fn on_end(&self, spans: &mut traced::export::SpanBatch) {
        use traced::export::SpanExporter as _;
        let mut exporter = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = exporter.export_batch(spans);
    }
    fn force_flush(&self, _timeout: Duration) -> Result<(), traced::export::ExportError> {
        Ok(())
    }
    fn shutdown(&self, _timeout: Duration) -> Result<(), traced::export::ExportError> {
        Ok(())
    }
}

/// A traced exporter that takes `delay` per batch: a backend that cannot keep up.
#[derive(Debug, Clone, Copy)]
pub struct TracedSlowExporter(pub Duration);

impl traced::export::SpanExporter for TracedSlowExporter {
    fn export(&mut self, batch: Vec<traced::SpanData>) -> Result<(), traced::export::ExportError> {
        std::thread::sleep(self.0);
        crate::count(batch.len());
        Ok(())
    }
}

/// A fastrace reporter that counts.
#[derive(Debug, Clone, Copy)]
pub struct FastraceCountingReporter;

impl fastrace::collector::Reporter for FastraceCountingReporter {
    fn report(&mut self, spans: Vec<fastrace::prelude::SpanRecord>) {
        crate::count(spans.len());
    }
}

/// A tracing layer that counts closed spans.
#[derive(Debug, Clone, Copy)]
pub struct CountingLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountingLayer {
    fn on_close(&self, _id: tracing::span::Id, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        crate::count(1);
    }
}

/// An OpenTelemetry SDK processor that counts ended spans and drops them.
#[derive(Debug, Clone, Copy)]
pub struct OtelCountingProcessor;

impl opentelemetry_sdk::trace::SpanProcessor for OtelCountingProcessor {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}
    fn on_end(&self, _span: opentelemetry_sdk::trace::SpanData) {
        crate::count(1);
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
}

/// An OpenTelemetry SDK exporter (behind its batch processor) that counts.
#[derive(Debug, Clone, Copy)]
pub struct OtelCountingExporter;

impl opentelemetry_sdk::trace::SpanExporter for OtelCountingExporter {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        crate::count(batch.len());
        Ok(())
    }
}

/// An OpenTelemetry SDK exporter (behind its batch processor) that encodes each batch as
/// opentelemetry-otlp does before sending it: opentelemetry-proto's transform into the OTLP
/// messages, then prost. Counts the spans, drops the bytes.
#[derive(Debug, Default)]
pub struct OtelOtlpEncodingExporter {
    resource: opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema,
}

impl opentelemetry_sdk::trace::SpanExporter for OtelOtlpEncodingExporter {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        use prost::Message as _;
        let n = batch.len();
        let request = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
            resource_spans:
                opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope(
                    batch,
                    &self.resource,
                ),
        };
        let bytes = request.encode_to_vec();
        crate::count_bytes(bytes.len());
        std::hint::black_box(bytes);
        crate::count(n);
        Ok(())
    }
    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.resource = resource.into();
    }
}

fn otel_sampler(sampled: bool) -> opentelemetry_sdk::trace::Sampler {
    if sampled {
        opentelemetry_sdk::trace::Sampler::AlwaysOn
    } else {
        opentelemetry_sdk::trace::Sampler::AlwaysOff
    }
}

/// An SDK tracer provider with a counting processor and the given sampling.
pub fn otel_provider(sampled: bool) -> opentelemetry_sdk::trace::SdkTracerProvider {
    opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_span_processor(OtelCountingProcessor)
        .with_sampler(otel_sampler(sampled))
        .build()
}

/// An SDK tracer provider as applications set it up: the SDK's batch processor (default
/// settings, its own thread) in front of a counting exporter, with the given sampling.
pub fn otel_batch_provider(sampled: bool) -> opentelemetry_sdk::trace::SdkTracerProvider {
    opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(OtelCountingExporter)
        .with_sampler(otel_sampler(sampled))
        .build()
}

/// The SDK's production pipeline into OTLP encoding (see [`OtelOtlpEncodingExporter`]).
pub fn otel_otlp_provider() -> opentelemetry_sdk::trace::SdkTracerProvider {
    opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(OtelOtlpEncodingExporter::default())
        .with_sampler(otel_sampler(true))
        .build()
}
