//! OTLP/gRPC: a tonic client on a small runtime the exporter owns, sending the bytes of
//! traced's own [`Encoder`] as the `Export` request.

use super::retry::Backoff;
use super::tls::{self, Files, system_roots};
use super::{Encoder, PartialSuccess, effective_timeout, error_text, limit};
use super::{OtlpCompression, OtlpConfig, OtlpTls};
use crate::export::{ExportError, SpanExporter};
use crate::model::record::SpanBatch;
use crate::model::{Resource, SpanData};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::bytes::{BufMut as _, Bytes};
use std::time::{Duration, Instant};
use tonic::client::Grpc;
use tonic::codec::{Codec, CompressionEncoding, EncodeBuf};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

/// Exports spans over OTLP/gRPC (`opentelemetry.proto.collector.trace.v1.TraceService/Export`).
///
/// The endpoint is the server's base URL (`http://collector:4317`, or `https://` for TLS
/// with the webpki roots). Configured headers go out as request metadata; gzip compresses
/// requests when configured. Codes OTLP calls retryable (`UNAVAILABLE`, `CANCELLED`,
/// `DEADLINE_EXCEEDED`, `ABORTED`, `OUT_OF_RANGE`, `DATA_LOSS`, and `RESOURCE_EXHAUSTED`
/// when the server sends `RetryInfo`; neither when its message is about the request's size)
/// are retried with exponential backoff and jitter, or
/// after the server's `RetryInfo` delay; others fail at once with
/// [`ExportError::GrpcStatus`]. The whole export takes at most `config.timeout` (zero: no
/// limit).
///
/// The exporter owns a current-thread tokio runtime, so the application needs none; calling
/// `export` from inside another tokio runtime works too (the call then runs on a scoped
/// helper thread, since a runtime cannot be blocked on from inside another).
///
/// ```
/// use traced_runtime::export::otlp::{OtlpConfig, OtlpProtocol};
/// use traced_runtime::export::otlp::OtlpGrpcExporter;
/// let exporter = OtlpGrpcExporter::new(OtlpConfig {
///     endpoint: "http://collector:4317".to_owned(),
///     protocol: OtlpProtocol::Grpc,
///     ..OtlpConfig::default()
/// });
/// assert!(exporter.is_ok());
/// ```
#[derive(Debug)]
pub struct OtlpGrpcExporter {
    /// Taken out in `Drop`, to shut it down without blocking when dropped inside another
    /// runtime.
    runtime: Option<tokio::runtime::Runtime>,
    client: Grpc<Channel>,
    metadata: MetadataMap,
    timeout: Duration,
    /// The largest request, before compression.
    max_request: usize,
    encoder: Encoder,
    partial: PartialSuccess,
    shut_down: bool,
}

/// The `Export` method.
const EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// tonic's codec for `Export`: the request is an encoded `ExportTraceServiceRequest`, sent as
/// it is; the response is decoded by prost (tonic-prost's decoder, as the generated client's).
#[derive(Debug, Clone, Copy, Default)]
struct ExportCodec;

impl Codec for ExportCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = EncodedRequest;
    type Decoder = tonic_prost::ProstDecoder<ExportTraceServiceResponse>;

    fn encoder(&mut self) -> Self::Encoder {
        EncodedRequest
    }

    fn decoder(&mut self) -> Self::Decoder {
        tonic_prost::ProstDecoder::default()
    }
}

/// Writes a request already encoded.
#[derive(Debug)]
struct EncodedRequest;

impl tonic::codec::Encoder for EncodedRequest {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl OtlpGrpcExporter {
    /// An exporter for `config` (its protocol field is not consulted). Connects lazily, at
    /// the first export. Fails when the endpoint is not a valid `http://` or `https://` URL
    /// or a header cannot be gRPC metadata.
    pub fn new(config: OtlpConfig) -> Result<Self, ExportError> {
        let OtlpConfig {
            endpoint: endpoint_text,
            headers,
            timeout,
            compression,
            tls,
            max_request_size,
            ..
        } = config;
        let timeout = effective_timeout(timeout);
        let invalid = |e: &dyn std::fmt::Display| {
            ExportError::Failed(format!("invalid OTLP endpoint {endpoint_text:?}: {e}"))
        };
        let mut endpoint = Endpoint::from_shared(endpoint_text.clone())
            .map_err(|e| invalid(&e))?
            .connect_timeout(timeout)
            .user_agent(format!("traced/{}", env!("CARGO_PKG_VERSION")))
            .map_err(|e| invalid(&e))?;
        match endpoint.uri().scheme_str() {
            Some("http") => {}
            Some("https") => {
                endpoint = endpoint
                    .tls_config(tls_config(&tls)?)
                    .map_err(|e| ExportError::Tls(format!("{e}: {}", source_text(&e))))?;
            }
            _ => return Err(invalid(&"expected http://host:port or https://host:port")),
        }
        let mut metadata = MetadataMap::new();
        for (k, v) in &headers {
            let key = MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
                .map_err(|e| ExportError::Failed(format!("invalid header name {k:?}: {e}")))?;
            let value = MetadataValue::try_from(v.as_str())
                .map_err(|e| ExportError::Failed(format!("invalid value of header {k:?}: {e}")))?;
            metadata.insert(key, value);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ExportError::Failed(format!("cannot start the gRPC runtime: {e}")))?;
        // The channel's background work is spawned on our runtime, and runs while an
        // export blocks on it.
        let channel = {
            let _entered = runtime.enter();
            endpoint.connect_lazy()
        };
        let mut client = Grpc::new(channel);
        if compression == OtlpCompression::Gzip {
            client = client
                .send_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Gzip);
        }
        Ok(OtlpGrpcExporter {
            runtime: Some(runtime),
            client,
            metadata,
            timeout,
            max_request: max_request_size.max(1),
            encoder: Encoder::new(&Resource::default()),
            partial: PartialSuccess::default(),
            shut_down: false,
        })
    }

    /// Exports with retries until accepted, failed for good, or out of time.
    async fn send(
        client: Grpc<Channel>,
        metadata: &MetadataMap,
        request: Bytes,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Option<(i64, String)>, ExportError> {
        let mut backoff = Backoff::new(deadline);
        loop {
            let mut call = tonic::Request::new(request.clone());
            *call.metadata_mut() = metadata.clone();
            call.set_timeout(backoff.remaining());
            let status = match Self::call(client.clone(), call).await {
                Ok(response) => {
                    return Ok(response
                        .into_inner()
                        .partial_success
                        .map(|p| (p.rejected_spans, p.error_message)));
                }
                Err(status) => status,
            };
            if matches!(status.code(), Code::Cancelled | Code::DeadlineExceeded)
                && backoff.remaining() < Duration::from_millis(5)
            {
                // The call's own deadline (the export's) fired: a timeout, not a refusal.
                return Err(ExportError::Timeout(timeout));
            }
            if let Some(reason) = tls::failure(&status) {
                // A certificate or handshake failure: the same call would fail the same way.
                return Err(ExportError::Tls(reason));
            }
            let hint = status.get_details_retry_info().and_then(|r| r.retry_delay);
            // tonic's messages for transport failures ("transport error") hide the cause.
            let causes = source_text(&status);
            let message = if causes.is_empty() {
                status.message().to_owned()
            } else {
                format!("{}: {causes}", status.message())
            };
            let code = status.code() as i32;
            let error = ExportError::GrpcStatus {
                code,
                message: error_text(message.as_bytes()),
            };
            if !retryable(&status, hint.is_some()) || limit::grpc_size_refusal(code, &message) {
                return Err(error);
            }
            match backoff.next_delay(hint) {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Err(error),
            }
        }
    }
}

impl OtlpGrpcExporter {
    /// One `Export` call, as the generated client makes it.
    async fn call(
        mut client: Grpc<Channel>,
        call: tonic::Request<Bytes>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, Status> {
        client.ready().await.map_err(|e| {
            let mut status = Status::unknown(format!(
                "the channel is not ready: {e}: {}",
                source_text(&e)
            ));
            status.set_source(std::sync::Arc::new(e));
            status
        })?;
        client
            .unary(call, PathAndQuery::from_static(EXPORT), ExportCodec)
            .await
    }
}

/// tonic's TLS settings for `tls`: the CA file as the only root, or the system's and the
/// bundled ones; the client certificate when set.
fn tls_config(tls: &OtlpTls) -> Result<ClientTlsConfig, ExportError> {
    let files = Files::load(tls)?;
    let mut config = ClientTlsConfig::new();
    config = match &files.ca {
        Some((pem, _)) => config.ca_certificate(Certificate::from_pem(pem)),
        None => config.with_webpki_roots().trust_anchors(
            system_roots()
                .iter()
                .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
                .map(|a| a.to_owned()),
        ),
    };
    if let Some(identity) = &files.identity {
        config = config.identity(Identity::from_pem(&identity.chain_pem, &identity.key_pem));
    }
    Ok(config)
}

/// The causes of an error, joined: tonic's own messages are often only "transport error".
fn source_text(error: &dyn std::error::Error) -> String {
    let mut causes = Vec::new();
    let mut next = error.source();
    while let Some(e) = next {
        causes.push(e.to_string());
        next = e.source();
    }
    causes.join(": ")
}

/// OTLP's table of retryable gRPC codes; `RESOURCE_EXHAUSTED` only when the server says
/// it can recover (sends `RetryInfo`).
fn retryable(status: &Status, has_retry_info: bool) -> bool {
    match status.code() {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => true,
        Code::ResourceExhausted => has_retry_info,
        _ => false,
    }
}

impl SpanExporter for OtlpGrpcExporter {
    fn export(&mut self, batch: Vec<SpanData>) -> Result<(), ExportError> {
        self.export_batch(&mut SpanBatch::from(batch))
    }

    /// The request is encoded from the spans in place (no `SpanData`, no message types).
    fn export_batch(&mut self, batch: &mut SpanBatch) -> Result<(), ExportError> {
        if self.shut_down {
            return Err(ExportError::Shutdown);
        }
        if batch.is_empty() {
            return Ok(());
        }
        let Some(runtime) = &self.runtime else {
            return Err(ExportError::Shutdown);
        };
        // The whole batch, split or not, within one timeout.
        let timeout = self.timeout;
        let deadline = Instant::now() + timeout;
        let (client, metadata, partial) = (&self.client, &self.metadata, &mut self.partial);
        let mut send = |body: &[u8]| {
            // One copy of the bytes, shared by the retries.
            let request = Bytes::copy_from_slice(body);
            let run = || {
                runtime.block_on(async {
                    let send = Self::send(client.clone(), metadata, request, deadline, timeout);
                    tokio::time::timeout_at(deadline.into(), send)
                        .await
                        .unwrap_or(Err(ExportError::Timeout(timeout)))
                })
            };
            let outcome = if tokio::runtime::Handle::try_current().is_ok() {
                // Called from inside a tokio runtime (say, a simple processor ending spans
                // in async code), where blocking on ours would panic: block a helper thread.
                std::thread::scope(|scope| scope.spawn(run).join()).unwrap_or_else(|_| {
                    Err(ExportError::Failed(
                        "the OTLP/gRPC export thread panicked".to_owned(),
                    ))
                })
            } else {
                run()
            };
            if let Some((rejected, message)) = outcome? {
                partial.record(rejected, &message);
            }
            Ok(())
        };
        limit::export_protobuf(&mut self.encoder, batch, self.max_request, &mut send)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.encoder.set_resource(resource);
    }

    fn shutdown(&mut self) -> Result<(), ExportError> {
        if std::mem::replace(&mut self.shut_down, true) {
            return Err(ExportError::Shutdown);
        }
        Ok(())
    }
}

impl Drop for OtlpGrpcExporter {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Dropping a runtime blocks until its tasks stop, which panics inside another
            // runtime; shutting it down in the background never blocks.
            runtime.shutdown_background();
        }
    }
}
