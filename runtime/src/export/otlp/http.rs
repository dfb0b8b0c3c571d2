//! OTLP/HTTP: protobuf or JSON bodies, sent with a blocking client.

use super::retry::{Backoff, parse_retry_after};
use super::tls::{self, Files, system_roots};
use super::{Encoder, PartialSuccess, effective_timeout, error_text, json, limit, to_request};
use super::{OtlpCompression, OtlpConfig, OtlpProtocol, OtlpTls};
use crate::export::{ExportError, SpanBatch, SpanExporter};
use crate::model::{Resource, SpanData};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;
use rustls::pki_types::CertificateDer;
use std::io::Write as _;
use std::time::{Duration, Instant, SystemTime};
use ureq::http::{HeaderName, HeaderValue, StatusCode, Uri};

/// The largest response body read (a success body is a few bytes; errors are cut anyway).
const MAX_RESPONSE_BODY: u64 = 64 * 1024;

/// Exports spans over OTLP/HTTP (`http/protobuf` or `http/json`).
///
/// Each export is one `POST` to the endpoint (the full URL, `/v1/traces` included), with
/// `Content-Type: application/x-protobuf` or `application/json`, `Content-Encoding: gzip`
/// when configured, and the configured headers. Responses 429, 502, 503 and 504 and
/// connection failures are retried with exponential backoff and jitter, waiting as long as
/// `Retry-After` asks; any other error status fails at once with
/// [`ExportError::HttpStatus`]. The whole export, retries included, takes at most
/// `config.timeout` (zero: no limit).
///
/// The client (ureq) is blocking and needs no async runtime: the export runs on the thread
/// that calls it, normally a batch processor's background thread.
///
/// ```
/// use traced_runtime::export::otlp::{OtlpConfig, OtlpProtocol};
/// use traced_runtime::export::otlp::OtlpHttpExporter;
/// let exporter = OtlpHttpExporter::new(OtlpConfig {
///     endpoint: "http://collector:4318/v1/traces".to_owned(),
///     protocol: OtlpProtocol::HttpJson,
///     ..OtlpConfig::default()
/// });
/// assert!(exporter.is_ok());
/// ```
#[derive(Debug)]
pub struct OtlpHttpExporter {
    client: Client,
    /// Protobuf bodies, encoded straight from the spans.
    encoder: Encoder,
    resource: Resource,
    shut_down: bool,
}

/// What sends a body, apart from the encoder that builds it.
#[derive(Debug)]
struct Client {
    agent: ureq::Agent,
    endpoint: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    json: bool,
    gzip: bool,
    timeout: Duration,
    /// The largest request body, before compression.
    max_request: usize,
    partial: PartialSuccess,
}

impl OtlpHttpExporter {
    /// An exporter for `config`. Fails when the endpoint is not an `http://` or `https://`
    /// URL, when a header name or value is invalid, or when the protocol is `grpc`.
    pub fn new(config: OtlpConfig) -> Result<Self, ExportError> {
        let OtlpConfig {
            endpoint: endpoint_text,
            protocol,
            headers: header_map,
            timeout,
            compression,
            tls,
            max_request_size,
            ..
        } = config;
        let timeout = effective_timeout(timeout);
        let json = match protocol {
            OtlpProtocol::HttpProtobuf => false,
            OtlpProtocol::HttpJson => true,
            OtlpProtocol::Grpc => {
                return Err(ExportError::Failed(
                    "OtlpHttpExporter speaks http/protobuf and http/json; use OtlpGrpcExporter for grpc"
                        .to_owned(),
                ));
            }
        };
        let endpoint: Uri = endpoint_text.parse().map_err(|e| {
            ExportError::Failed(format!("invalid OTLP endpoint {endpoint_text:?}: {e}"))
        })?;
        if !matches!(endpoint.scheme_str(), Some("http" | "https")) || endpoint.host().is_none() {
            return Err(ExportError::Failed(format!(
                "invalid OTLP endpoint {endpoint_text:?}: expected http://host:port/v1/traces"
            )));
        }
        let headers = header_map
            .iter()
            .map(|(k, v)| {
                let name = HeaderName::from_bytes(k.as_bytes())
                    .map_err(|e| ExportError::Failed(format!("invalid header name {k:?}: {e}")))?;
                let value = HeaderValue::from_str(v).map_err(|e| {
                    ExportError::Failed(format!("invalid value of header {k:?}: {e}"))
                })?;
                Ok((name, value))
            })
            .collect::<Result<_, ExportError>>()?;
        let tls_config = if endpoint.scheme_str() == Some("https") {
            tls_config(&tls)?
        } else {
            ureq::tls::TlsConfig::default()
        };
        let agent = ureq::Agent::config_builder()
            .tls_config(tls_config)
            // Statuses are data here: 4xx/5xx decide between retry and failure.
            .http_status_as_error(false)
            // A POST body is never replayed across a redirect; treat one as a failure.
            .max_redirects(0)
            .user_agent(format!("traced/{}", env!("CARGO_PKG_VERSION")))
            .timeout_global(Some(timeout))
            .build()
            .new_agent();
        Ok(OtlpHttpExporter {
            client: Client {
                agent,
                endpoint,
                headers,
                json,
                gzip: compression == OtlpCompression::Gzip,
                timeout,
                max_request: max_request_size.max(1),
                partial: PartialSuccess::default(),
            },
            encoder: Encoder::new(&Resource::default()),
            resource: Resource::default(),
            shut_down: false,
        })
    }
}

/// ureq's TLS settings for `tls`: the CA file's certificates as the only roots, or the
/// system's and the bundled ones; the client certificate when set.
fn tls_config(tls: &OtlpTls) -> Result<ureq::tls::TlsConfig, ExportError> {
    use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, parse_pem};
    let files = Files::load(tls)?;
    let der = |c: &CertificateDer<'_>| Certificate::from_der(c.as_ref()).to_owned();
    let roots: Vec<Certificate<'static>> = match &files.ca {
        Some((_, certs)) => certs.iter().map(der).collect(),
        None => webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .chain(system_roots())
            .map(der)
            .collect(),
    };
    let mut builder = ureq::tls::TlsConfig::builder().root_certs(RootCerts::new_with_certs(&roots));
    if let Some(identity) = &files.identity {
        let unusable = |e: ureq::Error| ExportError::Tls(format!("the client identity: {e}"));
        let key = PrivateKey::from_pem(&identity.key_pem).map_err(unusable)?;
        let mut chain = Vec::new();
        for item in parse_pem(&identity.chain_pem) {
            if let PemItem::Certificate(c) = item.map_err(unusable)? {
                chain.push(c);
            }
        }
        builder = builder.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
    }
    Ok(builder.build())
}

impl Client {
    /// An OTLP/JSON body (protobuf bodies come from the [`Encoder`]).
    fn encode_json(request: &ExportTraceServiceRequest) -> Result<Vec<u8>, ExportError> {
        json::encode(request)
            .map_err(|e| ExportError::Failed(format!("OTLP/JSON encoding failed: {e}")))
    }

    fn gzip(body: &[u8]) -> Result<Vec<u8>, ExportError> {
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 4),
            flate2::Compression::fast(),
        );
        gz.write_all(body)
            .and_then(|()| gz.finish())
            .map_err(|e| ExportError::Failed(format!("gzip failed: {e}")))
    }

    /// Posts `body` (compressed first when configured) until it is accepted, fails for good,
    /// or the time runs out.
    fn post(&mut self, body: &[u8]) -> Result<(), ExportError> {
        let compressed;
        let body = if self.gzip {
            compressed = Self::gzip(body)?;
            &compressed[..]
        } else {
            body
        };
        let mut backoff = Backoff::new(Instant::now() + self.timeout);
        loop {
            let remaining = backoff.remaining();
            if remaining.is_zero() {
                return Err(ExportError::Timeout(self.timeout));
            }
            match self.attempt(body, remaining)? {
                Attempt::Done => return Ok(()),
                Attempt::Retry { hint, error } => match backoff.next_delay(hint) {
                    Some(delay) => std::thread::sleep(delay),
                    None => return Err(error),
                },
            }
        }
    }

    /// One POST. `Ok(Ok(()))`: accepted; `Ok(Err(..))`: retryable, with the server's hint
    /// and the error to return if no retry is left; `Err`: failed for good.
    fn attempt(&mut self, body: &[u8], remaining: Duration) -> Result<Attempt, ExportError> {
        let content_type = if self.json {
            "application/json"
        } else {
            "application/x-protobuf"
        };
        let mut request = self
            .agent
            .post(&self.endpoint)
            .header("content-type", content_type);
        if self.gzip {
            request = request.header("content-encoding", "gzip");
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let request = request.config().timeout_global(Some(remaining)).build();
        let mut response = match request.send(body) {
            Ok(response) => response,
            Err(ureq::Error::Timeout(_)) => return Err(ExportError::Timeout(self.timeout)),
            // A certificate or handshake failure: the same request would fail the same way.
            Err(ureq::Error::Rustls(e)) => return Err(ExportError::Tls(e.to_string())),
            Err(ureq::Error::Tls(why)) => return Err(ExportError::Tls(why.to_owned())),
            Err(ureq::Error::Io(e)) if tls::failure(&e).is_some() => {
                return Err(ExportError::Tls(tls::failure(&e).unwrap_or_default()));
            }
            Err(
                e @ (ureq::Error::Io(_)
                | ureq::Error::ConnectionFailed
                | ureq::Error::HostNotFound
                | ureq::Error::Protocol(_)),
            ) => {
                // Could not connect, or the server went away without answering: OTLP says
                // to retry with backoff.
                return Ok(Attempt::Retry {
                    hint: None,
                    error: ExportError::Failed(format!("OTLP/HTTP request failed: {e}")),
                });
            }
            Err(e) => {
                return Err(ExportError::Failed(format!(
                    "OTLP/HTTP request failed: {e}"
                )));
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        // A body cut short or unreadable is not worth failing an accepted export over.
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BODY)
            .read_to_vec()
            .unwrap_or_default();
        if status.is_success() {
            self.record_partial_success(&bytes);
            return Ok(Attempt::Done);
        }
        let error = ExportError::HttpStatus {
            status: status.as_u16(),
            body: error_text(&bytes),
        };
        match status {
            StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT => Ok(Attempt::Retry {
                hint: retry_after,
                error,
            }),
            _ => Err(error),
        }
    }

    fn record_partial_success(&mut self, body: &[u8]) {
        if body.is_empty() {
            return;
        }
        let partial = if self.json {
            json::partial_success(body)
        } else {
            ExportTraceServiceResponse::decode(body)
                .ok()
                .and_then(|r| r.partial_success)
                .map(|p| (p.rejected_spans, p.error_message))
        };
        if let Some((rejected, message)) = partial {
            self.partial.record(rejected, &message);
        }
    }
}

enum Attempt {
    Done,
    Retry {
        hint: Option<Duration>,
        error: ExportError,
    },
}

impl SpanExporter for OtlpHttpExporter {
    fn export(&mut self, batch: Vec<SpanData>) -> Result<(), ExportError> {
        if !self.client.json {
            return self.export_batch(&mut SpanBatch::from(batch));
        }
        if self.shut_down {
            return Err(ExportError::Shutdown);
        }
        if batch.is_empty() {
            return Ok(());
        }
        // Encoded once whole (an encoding error is reported here); split by halves when
        // over the limit or refused as too large.
        let whole = Client::encode_json(&to_request(&batch, &self.resource))?;
        let resource = &self.resource;
        let mut first = Some(whole);
        let mut build = |range: std::ops::Range<usize>, out: &mut Vec<u8>| {
            *out = match first.take() {
                Some(whole) => whole,
                None => {
                    Client::encode_json(&to_request(&batch[range], resource)).unwrap_or_default()
                }
            };
        };
        let client = &mut self.client;
        let max = client.max_request;
        limit::deliver(
            std::iter::once(0..batch.len()).collect(),
            max,
            &mut build,
            &mut |body| client.post(body),
        )
    }

    /// Protobuf bodies are encoded from the spans in place; JSON goes through `SpanData`.
    fn export_batch(&mut self, batch: &mut SpanBatch) -> Result<(), ExportError> {
        if self.client.json {
            return self.export(batch.to_vec());
        }
        if self.shut_down {
            return Err(ExportError::Shutdown);
        }
        if batch.is_empty() {
            return Ok(());
        }
        let client = &mut self.client;
        let max = client.max_request;
        limit::export_protobuf(&mut self.encoder, batch, max, &mut |body| client.post(body))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
        self.encoder.set_resource(resource);
    }

    fn shutdown(&mut self) -> Result<(), ExportError> {
        if std::mem::replace(&mut self.shut_down, true) {
            return Err(ExportError::Shutdown);
        }
        Ok(())
    }
}
