//! Client spans for reqwest (feature `reqwest`), through reqwest-middleware.
//!
//! ```
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(traced_runtime::reqwest::TracingMiddleware::new())
//!     .build();
//! ```

use crate::integrations::http::{self, Captures, Side};
use crate::model::SpanKind;
use crate::model::semconv;
use crate::propagation;
use crate::span::future::Instrumented;
use crate::span::{Span, span};
use ::http::{Extensions, HeaderName};
use reqwest_middleware::{Middleware, Next};

/// A [`reqwest_middleware::Middleware`] that gives every request a `client` span and sends
/// its context along (`traceparent`, `tracestate`, and the current `baggage`).
///
/// - The parent is the span active where the request is sent.
/// - Named `{method}` (`GET`), with `http.request.method`, `url.full` (credentials and
///   sensitive query values redacted), `server.address`, `server.port`,
///   `http.response.status_code`, `network.protocol.version`, `error.type`.
/// - Status `Error` for a 4xx or 5xx response (`error.type` is the code) and for a
///   transport error (`error.type` is `timeout`, `connect`, or the error's type).
/// - The span ends when the response head arrives (reading the body is up to the caller).
/// - Retries: added after a retry middleware (`.with(retry).with(TracingMiddleware::new())`),
///   every attempt is its own span, the retries with `http.request.resend_count` (1, 2, ...).
#[derive(Debug, Clone, Default)]
pub struct TracingMiddleware {
    headers: Captures,
}

impl TracingMiddleware {
    /// The middleware with the defaults: no headers captured.
    pub fn new() -> Self {
        TracingMiddleware::default()
    }

    /// Captures these request headers as `http.request.header.<name>` (string arrays). The
    /// value of a header whose name looks secret (`authorization`, `cookie`, `set-cookie`,
    /// `x-api-key`...) or that is marked sensitive is recorded as `REDACTED`.
    #[must_use]
    pub fn request_headers(mut self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        self.headers.set_request(names);
        self
    }

    /// Captures these response headers as `http.response.header.<name>` (string arrays). The
    /// value of a header whose name looks secret (`authorization`, `cookie`, `set-cookie`,
    /// `x-api-key`...) or that is marked sensitive is recorded as `REDACTED`.
    #[must_use]
    pub fn response_headers(mut self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        self.headers.set_response(names);
        self
    }
}

/// How many times this request went through the middleware: kept in the request's
/// extensions, which reqwest-middleware hands to every attempt of a retried request.
#[derive(Debug, Clone, Copy)]
struct Attempts(u32);

#[async_trait::async_trait]
impl Middleware for TracingMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let resends = if let Some(attempts) = extensions.get_mut::<Attempts>() {
            attempts.0 += 1;
            attempts.0
        } else {
            extensions.insert(Attempts(0));
            0
        };
        let (method, original) = http::method(request.method());
        let mut span = span(http::name_method(method))
            .kind(SpanKind::Client)
            .start();
        if span.is_recording() {
            http::record_method(&mut span, method, original);
            let url = request.url();
            // Nothing to redact without credentials or a query: the URL as it is.
            let full =
                if url.username().is_empty() && url.password().is_none() && url.query().is_none() {
                    url.as_str().to_owned()
                } else {
                    http::redact_url(url.as_str())
                };
            span.set_new_string(semconv::URL_FULL, full);
            if let Some(host) = url.host_str() {
                span.set_new_attribute(semconv::SERVER_ADDRESS, host);
            }
            if let Some(port) = url.port_or_known_default() {
                span.set_new_attribute(semconv::SERVER_PORT, i64::from(port));
            }
            if resends > 0 {
                span.set_new_attribute(semconv::HTTP_REQUEST_RESEND_COUNT, i64::from(resends));
            }
            self.headers.request.record(&mut span, request.headers());
        }
        span.in_scope(|| propagation::inject(request.headers_mut()));
        let response_headers = self.headers.response.clone();
        Instrumented::new(
            span,
            next.run(request, extensions),
            move |result: &reqwest_middleware::Result<reqwest::Response>, span: &mut Span| {
                if !span.is_recording() {
                    return;
                }
                match result {
                    Ok(response) => {
                        http::record_status_code(span, Side::Client, response.status().as_u16());
                        if let Some(version) = http::protocol_version(response.version()) {
                            span.set_attribute(semconv::NETWORK_PROTOCOL_VERSION, version);
                        }
                        response_headers.record(span, response.headers());
                    }
                    Err(error) => {
                        span.set_attribute(semconv::ERROR_TYPE, error_type(error));
                        span.set_status(crate::model::Status::error(error.to_string()));
                    }
                }
            },
        )
        .await
    }
}

/// `error.type` for a failed request.
fn error_type(error: &reqwest_middleware::Error) -> &'static str {
    match error {
        reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "timeout",
        reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "connect",
        reqwest_middleware::Error::Reqwest(_) => "reqwest::Error",
        reqwest_middleware::Error::Middleware(_) => "_OTHER",
    }
}
