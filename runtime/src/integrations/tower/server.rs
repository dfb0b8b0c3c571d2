//! The server layer: a `server` span per request, the caller's context as its parent.

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

/// A [`tower_layer::Layer`] that gives every request a `server` span: axum routers, tonic
/// servers, hyper-util services.
///
/// - The parent is the caller's span from `traceparent`/`tracestate` (a remote parent); a
///   missing or malformed header starts a new trace, never an error response. The caller's
///   `baggage` is the current baggage while the request is handled, so calls made from the
///   handler forward it.
/// - The span is active while the inner service runs (spans the handler starts are its
///   children) and ends when the response body has been sent, or when the request is
///   dropped before that (`traced.cancelled = true`).
/// - HTTP: named `{method} {route}` (`GET /users/{id}`) with axum's `MatchedPath` (feature
///   `axum`), `{method}` without a route; records the stable HTTP semantic conventions
///   (`http.request.method`, `url.path`, `url.scheme`, `http.route`,
///   `http.response.status_code`, `network.protocol.version`, `server.address`,
///   `server.port`, `client.address`, `user_agent.original`, `error.type`). A 5xx response
///   or a failed service is `Error`; a 4xx stays `Unset` (the client's fault, not the
///   server's). A panic is recorded and goes on unwinding.
/// - gRPC (`content-type: application/grpc`): named `{package.Service}/{Method}`, with
///   `rpc.system = grpc`, `rpc.service`, `rpc.method`, `rpc.grpc.status_code`; `Error` for
///   `UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE` and
///   `DATA_LOSS`.
///
/// With axum, add it with `Router::layer`, which wraps every route, the 405 answer of each
/// route and the fallback (404), so that the route is known and no request goes unseen:
///
/// ```
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "alice" }))
///     .layer(traced_runtime::tower::ServerLayer::new());
/// ```
///
/// With tonic: `Server::builder().layer(ServerLayer::new()).add_service(..)`.
#[derive(Debug, Clone, Default)]
pub struct ServerLayer {
    config: Arc<Config>,
}

#[derive(Debug, Clone, Default)]
struct Config {
    query: bool,
    headers: Captures,
}

impl ServerLayer {
    /// The layer with the defaults: no `url.query`, no headers captured.
    pub fn new() -> Self {
        ServerLayer::default()
    }

    /// Records `url.query`, with the values of token, password, key and signature parameters
    /// replaced by `REDACTED`. Off by default: query strings carry secrets and personal data.
    #[must_use]
    pub fn record_query(mut self, on: bool) -> Self {
        Arc::make_mut(&mut self.config).query = on;
        self
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

impl<S> Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> ServerService<S> {
        ServerService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service of [`ServerLayer`].
#[derive(Debug, Clone)]
pub struct ServerService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for ServerService<S>
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

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let context = propagation::extract_context(request.headers());
        let grpc = http::is_grpc(request.headers())
            .then(|| http::grpc_path(request.uri().path()))
            .flatten();
        let (method, original) = http::method(request.method());
        let head = request.method() == ::http::Method::HEAD;
        let route = route(&request);
        let mut room = http::NameRoom::new();
        let name = match (grpc, route) {
            (Some((service, rpc)), _) => room.grpc(service, rpc),
            (None, Some(route)) => room.route(method, route),
            (None, None) => StartName::Static(http::name_method(method)),
        };
        let mut span = span("")
            .kind(SpanKind::Server)
            .parent(&context)
            .start_named(name);
        if span.is_recording() {
            if let Some((service, rpc)) = grpc {
                http::record_grpc_request(&mut span, service, rpc);
            } else {
                http::record_method(&mut span, method, original);
                if let Some(route) = route {
                    span.set_new_attribute(semconv::HTTP_ROUTE, route);
                }
            }
            record_request(&mut span, &request, &self.config, grpc.is_none());
        }
        // Attached while the request is handled only when there is something to carry:
        // baggage, or the caller's span when this span has no context of its own to make
        // current (tracing off, or an unsampled child that leaves its parent's context
        // active): then the caller's span is the parent of what the handler starts and sends
        // on. A span with a record, sampled or not, is made current at every poll, above
        // anything attached, and is what the handler's spans and calls descend from:
        // attaching the caller's context under it cost about 450 instructions a request
        // (`instr server`) for nothing.
        let carry =
            context.baggage().is_some() || (!span.has_record() && context.has_active_span());
        let context = carry.then_some(context);
        let mut exchange = Exchange {
            span,
            context,
            side: Side::Server,
            grpc: grpc.is_some(),
            head,
        };
        let inner = &mut self.inner;
        let future = exchange.poll_in(|| inner.call(request));
        ResponseFuture::new(future, exchange, self.config.headers.response.clone())
    }
}

/// The route template the router matched, if it says.
#[allow(clippy::unnecessary_wraps)] // Always `None` without a router that says.
fn route<B>(request: &Request<B>) -> Option<&str> {
    #[cfg(feature = "axum")]
    if let Some(path) = request.extensions().get::<axum::extract::MatchedPath>() {
        return Some(path.as_str());
    }
    let _ = request;
    None
}

/// Parsed once: a name looked up by a `&str` is parsed at every lookup.
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The attributes known from the request.
fn record_request<B>(span: &mut Span, request: &Request<B>, config: &Config, http: bool) {
    let uri = request.uri();
    let scheme = uri.scheme_str().unwrap_or("http");
    if http {
        span.set_new_attribute(semconv::URL_PATH, uri.path());
        span.set_new_attribute(semconv::URL_SCHEME, scheme);
        if config.query
            && let Some(query) = uri.query()
        {
            span.set_new_string(semconv::URL_QUERY, http::redact_query(query));
        }
        if let Some(version) = http::protocol_version(request.version()) {
            span.set_new_attribute(semconv::NETWORK_PROTOCOL_VERSION, version);
        }
    }
    let headers = request.headers();
    // The server as the client addressed it: `:authority` (HTTP/2, absolute form) or `Host`.
    let authority = uri
        .authority()
        .map(::http::uri::Authority::as_str)
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()));
    if let Some(authority) = authority {
        let (host, port) = http::host_port(authority);
        span.set_new_attribute(semconv::SERVER_ADDRESS, host);
        if let Some(port) = port.or_else(|| http::default_port(scheme)) {
            span.set_new_attribute(semconv::SERVER_PORT, i64::from(port));
        }
    }
    let peer = peer(request);
    let mut ip = [0; http::IP_TEXT];
    if let Some(peer) = peer {
        span.set_new_attribute(
            semconv::NETWORK_PEER_ADDRESS,
            http::ip_text(peer.ip(), &mut ip),
        );
        span.set_new_attribute(semconv::NETWORK_PEER_PORT, i64::from(peer.port()));
    }
    // The original client: the first hop a proxy names, else the peer.
    let forwarded = headers
        .get(&X_FORWARDED_FOR)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split(',').next())
        .map(str::trim)
        .filter(|h| !h.is_empty());
    match (forwarded, peer) {
        (Some(client), _) => span.set_new_attribute(semconv::CLIENT_ADDRESS, client),
        (None, Some(peer)) => {
            span.set_new_attribute(semconv::CLIENT_ADDRESS, http::ip_text(peer.ip(), &mut ip));
        }
        (None, None) => {}
    }
    if let Some(agent) = headers
        .get(header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
    {
        span.set_new_attribute(semconv::USER_AGENT_ORIGINAL, agent);
    }
    config.headers.request.record(span, headers);
}

/// The peer's socket address, where the server put it in the request: axum's `ConnectInfo`
/// (served with `into_make_service_with_connect_info`), or a bare `SocketAddr` extension.
fn peer<B>(request: &Request<B>) -> Option<std::net::SocketAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return Some(info.0);
    }
    request.extensions().get::<std::net::SocketAddr>().copied()
}
