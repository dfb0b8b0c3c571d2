//! Where each library's finished spans go: sinks that count them (into [`crate::SPANS`]) and
//! drop them, so the benchmarks measure the libraries, not an exporter.

use std::time::Duration;

/// A traced processor that counts each thread batch and drops it on the ending thread.
#[derive(Debug, Clone, Copy)]
pub struct TracedCountingProcessor;

impl traced::SpanProcessor for TracedCountingProcessor {
    fn on_end(&self, spans: &mut traced::SpanBatch) {
        crate::count(spans.len());
        spans.clear();
    }
    fn force_flush(&self, _timeout: Duration) -> Result<(), traced::ExportError> {
        Ok(())
    }
    fn shutdown(&self, _timeout: Duration) -> Result<(), traced::ExportError> {
        Ok(())
    }
}

/// A traced exporter (behind the batch processor) that counts and drops.
#[derive(Debug, Clone, Copy)]
pub struct TracedCountingExporter;

impl traced::SpanExporter for TracedCountingExporter {
    fn export(&mut self, batch: Vec<traced::SpanData>) -> Result<(), traced::ExportError> {
        crate::count(batch.len());
        Ok(())
    }
}

/// A traced exporter that takes `delay` per batch: a backend that cannot keep up.
#[derive(Debug, Clone, Copy)]
pub struct TracedSlowExporter(pub Duration);

impl traced::SpanExporter for TracedSlowExporter {
    fn export(&mut self, batch: Vec<traced::SpanData>) -> Result<(), traced::ExportError> {
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
