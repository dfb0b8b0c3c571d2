//! The client layer: a `client` span per request, its context injected into the request.

use super::body::Exchange;
use super::future::ResponseFuture;
use crate::integrations::http::{self, Captures, Side};
use crate::model::SpanKind;
use crate::model::semconv;
use crate::propagation;
use crate::span::{Span, StartName, span};
use ::http::{HeaderName, Request, Response, header};
use http_body::Body;
use std::fmt::Display;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// A [`tower_layer::Layer`] that gives every outgoing request a `client` span and sends its
/// context along (`traceparent`, `tracestate`, and the current `baggage`): for hyper-util's
/// client and tonic channels.
///
/// - The parent is the span active where the request is made.
/// - HTTP: named `{method}`, with `http.request.method`, `url.full` (credentials and
///   sensitive query values redacted), `server.address`, `server.port`,
///   `http.response.status_code`, `network.protocol.version`, `error.type`; status `Error`
///   for a 4xx or 5xx response and for a transport error.
/// - gRPC: named `{package.Service}/{Method}`, `rpc.system = grpc`, `rpc.service`,
///   `rpc.method`, `rpc.grpc.status_code`; `Error` for every code but `OK`.
/// - The span ends when the response body has been read to its end (for gRPC, the status
///   arrives in the trailers), or when it is dropped.
///
/// ```
/// use tower_layer::Layer;
/// # #[derive(Clone)] struct Channel;
/// # let channel = Channel;
/// // A tonic channel, a hyper-util client: any `Service<http::Request<B>>`.
/// let traced = traced_runtime::tower::ClientLayer::new().layer(channel);
/// ```
///
/// Retries made by a `tower::retry` layer around this one each get a span, but their
/// `http.request.resend_count` is not known here: tower's retry hands every attempt a fresh
/// clone of the original request.
#[derive(Debug, Clone, Default)]
pub struct ClientLayer {
    config: Arc<Config>,
}

#[derive(Debug, Clone, Default)]
struct Config {
    headers: Captures,
}

impl ClientLayer {
    /// The layer with the defaults: no headers captured.
    pub fn new() -> Self {
        ClientLayer::default()
    }

    /// Captures these request headers as `http.request.header.<name>` (string arrays). The
    /// value of a header whose name looks secret (`authorization`, `cookie`, `set-cookie`,
    /// `x-api-key`...) or that is marked sensitive is recorded as `REDACTED`.
    #[must_use]
    pub fn request_headers(mut self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        Arc::make_mut(&mut self.config).headers.set_request(names);
        self
    }

    /// Captures these response headers as `http.response.header.<name>` (string arrays). The
    /// value of a header whose name looks secret (`authorization`, `cookie`, `set-cookie`,
    /// `x-api-key`...) or that is marked sensitive is recorded as `REDACTED`.
    #[must_use]
    pub fn response_headers(mut self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        Arc::make_mut(&mut self.config).headers.set_response(names);
        self
    }
}

impl<S> Layer<S> for ClientLayer {
    type Service = ClientService<S>;

    fn layer(&self, inner: S) -> ClientService<S> {
        ClientService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service of [`ClientLayer`].
#[derive(Debug, Clone)]
pub struct ClientService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for ClientService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    S::Error: Display,
    ResB: Body,
{
    type Response = Response<super::ResponseBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let grpc = http::is_grpc(request.headers())
            .then(|| http::grpc_path(request.uri().path()))
            .flatten();
        let (method, original) = http::method(request.method());
        let head = request.method() == ::http::Method::HEAD;
        let mut room = http::NameRoom::new();
        let name = match grpc {
            Some((service, rpc)) => room.grpc(service, rpc),
            None => StartName::Static(http::name_method(method)),
        };
        let mut span = span("").kind(SpanKind::Client).start_named(name);
        if span.is_recording() {
            if let Some((service, rpc)) = grpc {
                http::record_grpc_request(&mut span, service, rpc);
            } else {
                http::record_method(&mut span, method, original);
                if request.uri().scheme().is_some() {
                    span.set_new_string(semconv::URL_FULL, http::url_full(request.uri()));
                }
            }
            record_request(&mut span, &request, &self.config);
        }
        let grpc = grpc.is_some();
        // The span's context into the request (an unsampled span's too, so the callee
        // knows; with tracing off, the context active here).
        span.in_scope(|| propagation::inject(request.headers_mut()));
        let mut exchange = Exchange {
            span,
            context: None,
            side: Side::Client,
            grpc,
            head,
        };
        let inner = &mut self.inner;
        let future = exchange.poll_in(|| inner.call(request));
        ResponseFuture::new(future, exchange, self.config.headers.response.clone())
    }
}

fn record_request<B>(span: &mut Span, request: &Request<B>, config: &Config) {
    let uri = request.uri();
    let headers = request.headers();
    let authority = uri
        .authority()
        .map(::http::uri::Authority::as_str)
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()));
    if let Some(authority) = authority {
        let (host, port) = http::host_port(authority);
        span.set_new_attribute(semconv::SERVER_ADDRESS, host);
        if let Some(port) = port.or_else(|| uri.scheme_str().and_then(http::default_port)) {
            span.set_new_attribute(semconv::SERVER_PORT, i64::from(port));
        }
    }
    config.headers.request.record(span, headers);
}
