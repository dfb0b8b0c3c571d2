//! What HTTP and gRPC spans record, shared by the server and client integrations: the
//! semantic conventions' names, normalizations and redactions.

use crate::model::Status;
use crate::model::secret::looks_secret;
use crate::model::semconv;
use crate::span::{Span, StartName};
use http::{HeaderMap, HeaderName, Method, Version};
use std::fmt::Display;
use std::sync::Arc;

/// The method as `http.request.method` records it, and the original when it is not one of
/// the methods the conventions know (then the method is `_OTHER`).
pub(crate) fn method(method: &Method) -> (&'static str, Option<&str>) {
    let known = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ if method.as_str() == "QUERY" => "QUERY",
        _ => return ("_OTHER", Some(method.as_str())),
    };
    (known, None)
}

/// The method part of a span name: `HTTP` for an unknown method, per the conventions.
pub(crate) fn name_method(method: &'static str) -> &'static str {
    if method == "_OTHER" { "HTTP" } else { method }
}

/// Room on the stack for a span name joined from two parts; a longer one is allocated.
const NAME_ROOM: usize = 128;

/// Room on the stack where the server and client layers join a span's name, lent to the
/// span's start: the span copies it only if it records, so an unsampled request allocates no
/// name (`format!` grew a `String` twice and went through the formatting machinery: about 600
/// instructions a request, `instr server`; an exact-size `String` still cost a request that is
/// not recorded an allocation). Nothing is written to it until a name is.
pub(crate) struct NameRoom([std::mem::MaybeUninit<u8>; NAME_ROOM]);

impl NameRoom {
    #[inline]
    pub(crate) fn new() -> Self {
        NameRoom([std::mem::MaybeUninit::uninit(); NAME_ROOM])
    }

    /// A server span's name, `{method} {route}`.
    pub(crate) fn route(&mut self, method: &'static str, route: &str) -> StartName<'_> {
        self.joined(name_method(method), b' ', route)
    }

    /// A gRPC span's name, `{package.Service}/{Method}`.
    pub(crate) fn grpc(&mut self, service: &str, method: &str) -> StartName<'_> {
        self.joined(service, b'/', method)
    }

    fn joined(&mut self, first: &str, separator: u8, second: &str) -> StartName<'_> {
        debug_assert!(separator.is_ascii());
        let len = first.len() + 1 + second.len();
        if len > NAME_ROOM {
            let mut name = String::with_capacity(len);
            name.push_str(first);
            name.push(char::from(separator));
            name.push_str(second);
            return StartName::Owned(name);
        }
        let room = self.0.as_mut_ptr().cast::<u8>();
        // SAFETY: `len <= NAME_ROOM`, so the three copies stay inside the room, one after the
        // other; they initialize `room[..len]`, which is then read as two `str`s joined by an
        // ASCII byte: UTF-8.
        unsafe {
            std::ptr::copy_nonoverlapping(first.as_ptr(), room, first.len());
            room.add(first.len()).write(separator);
            std::ptr::copy_nonoverlapping(second.as_ptr(), room.add(first.len() + 1), second.len());
            StartName::Lent(std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                room, len,
            )))
        }
    }
}

/// Records `http.request.method` (and `_original`), on a span just started.
pub(crate) fn record_method(span: &mut Span, known: &'static str, original: Option<&str>) {
    span.set_new_attribute(semconv::HTTP_REQUEST_METHOD, known);
    if let Some(original) = original {
        span.set_new_attribute(semconv::HTTP_REQUEST_METHOD_ORIGINAL, original);
    }
}

/// `network.protocol.version`.
pub(crate) fn protocol_version(version: Version) -> Option<&'static str> {
    Some(match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => return None,
    })
}

/// Splits `host[:port]` (with `[v6]` brackets) into the host and the port.
///
/// One pass over the bytes rather than `rsplit`s: a short authority is split on every
/// request, and the string searchers' set-up cost more than the search (552 instructions a
/// request, `instr server`).
pub(crate) fn host_port(authority: &str) -> (&str, Option<u16>) {
    // One pass: where the part after the last `@` (credentials, `user:password@`, are not the
    // host) starts, and its colons.
    let (mut start, mut colons, mut colon) = (0, 0, 0);
    for (i, &b) in authority.as_bytes().iter().enumerate() {
        match b {
            b'@' => (start, colons) = (i + 1, 0),
            b':' => {
                if colons == 0 {
                    colon = i;
                }
                colons += 1;
            }
            _ => {}
        }
    }
    let host = &authority[start..];
    if let Some(rest) = host.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
            return (host, port);
        }
        return (host, None);
    }
    // One colon separates the port; more than one is an IPv6 address without brackets.
    if colons == 1 {
        (
            &authority[start..colon],
            authority[colon + 1..].parse().ok(),
        )
    } else {
        (host, None)
    }
}

/// Room for any IP address as text (an IPv6 address with an embedded IPv4 one is 45 bytes).
pub(crate) const IP_TEXT: usize = 45;

/// `ip` as text, written into `buf`: an attribute value copies what it keeps (inline up to
/// 24 bytes), so a `String` per address would only be allocated and freed.
pub(crate) fn ip_text(ip: std::net::IpAddr, buf: &mut [u8; IP_TEXT]) -> &str {
    use std::io::Write as _;
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    // An address never takes more than `IP_TEXT` bytes; `Display` writes ASCII.
    let _ = write!(cursor, "{ip}");
    let len = usize::try_from(cursor.position()).unwrap_or(0);
    std::str::from_utf8(&buf[..len]).unwrap_or_default()
}

/// The port a scheme implies.
pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// Query parameters whose values are secrets: the conventions' list (`AWSAccessKeyId`,
/// `Signature`, `sig`, `X-Goog-Signature`) and the usual token and password names. Compared
/// without regard to case.
pub(crate) const SENSITIVE_QUERY_KEYS: &[&str] = &[
    "AWSAccessKeyId",
    "Signature",
    "sig",
    "X-Goog-Signature",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "api_key",
    "apikey",
    "key",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "auth",
    "code",
];

/// `query` with the values of [`SENSITIVE_QUERY_KEYS`] replaced by `REDACTED`.
pub(crate) fn redact_query(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((key, _))
                if SENSITIVE_QUERY_KEYS
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(key)) =>
            {
                out.push_str(key);
                out.push_str("=REDACTED");
            }
            _ => out.push_str(pair),
        }
    }
    out
}

/// `url.full` of an absolute request URI (see [`redact_url`]). One with nothing to redact
/// (no `@` in its authority, no query) is its parts joined in one allocation of their size:
/// formatting it and searching it for what to redact cost about 1 700 instructions a
/// request (`instr client`).
pub(crate) fn url_full(uri: &http::Uri) -> String {
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority))
            if uri.query().is_none() && !authority.as_str().contains('@') =>
        {
            let (authority, path) = (authority.as_str(), uri.path());
            let mut url = String::with_capacity(scheme.len() + 3 + authority.len() + path.len());
            url.push_str(scheme);
            url.push_str("://");
            url.push_str(authority);
            url.push_str(path);
            url
        }
        _ => redact_url(&uri.to_string()),
    }
}

/// An absolute URL as `url.full` records it: `user:password@` becomes
/// `REDACTED:REDACTED@`, sensitive query values become `REDACTED`.
pub(crate) fn redact_url(url: &str) -> String {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (url, None),
    };
    let (base, query) = match before_fragment.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (before_fragment, None),
    };
    let mut out = String::with_capacity(url.len() + 16);
    match base.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            out.push_str(scheme);
            out.push_str("://");
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    out.push_str(if userinfo.contains(':') {
                        "REDACTED:REDACTED@"
                    } else {
                        "REDACTED@"
                    });
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            out.push_str(path);
        }
        None => out.push_str(base),
    }
    if let Some(query) = query {
        out.push('?');
        out.push_str(&redact_query(query));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// `error.type` for an error value of type `E`: its type name, or `_OTHER` for a boxed
/// `dyn Error` whose type is unknown.
pub(crate) fn error_type<E: ?Sized>() -> &'static str {
    let name = std::any::type_name::<E>();
    if name.starts_with("alloc::boxed::Box<dyn") || name.starts_with("dyn ") {
        "_OTHER"
    } else {
        name
    }
}

/// Records a failure (no response): `error.type` and status `Error` with the message.
pub(crate) fn record_failure<E: Display + ?Sized>(span: &mut Span, error: &E) {
    if span.is_recording() {
        span.set_attribute(semconv::ERROR_TYPE, error_type::<E>());
        span.set_status(Status::error(error.to_string()));
    }
}

/// Which end of the exchange a span stands for: 4xx is an error on a client span only, and
/// gRPC counts different codes as errors on each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// Records `http.response.status_code`, and for an error status `error.type` (the code) and
/// status `Error`: 5xx on both sides, 4xx on a client span only.
pub(crate) fn record_status_code(span: &mut Span, side: Side, code: u16) {
    span.set_attribute(semconv::HTTP_RESPONSE_STATUS_CODE, i64::from(code));
    let error = code >= 500 || (side == Side::Client && code >= 400);
    if error {
        span.set_attribute(semconv::ERROR_TYPE, code.to_string());
        span.set_status(Status::error(format!("HTTP {code}")));
    }
}

/// The request and response headers a layer or middleware captures.
#[derive(Debug, Clone, Default)]
pub(crate) struct Captures {
    pub(crate) request: Capture,
    pub(crate) response: Arc<Capture>,
}

impl Captures {
    pub(crate) fn set_request(&mut self, names: impl IntoIterator<Item = HeaderName>) {
        let names: Vec<_> = names.into_iter().collect();
        self.request = Capture::new(semconv::http_request_header, &names);
    }

    pub(crate) fn set_response(&mut self, names: impl IntoIterator<Item = HeaderName>) {
        let names: Vec<_> = names.into_iter().collect();
        self.response = Arc::new(Capture::new(semconv::http_response_header, &names));
    }
}

/// Headers captured by allow list, as `http.{request,response}.header.<name>` string arrays.
///
/// A value is recorded as `REDACTED` (as `url.query` values are; the key and the number of
/// values kept) when the header's name looks secret by the rules of
/// [`secret`](crate::secret) (`authorization`, `proxy-authorization`, `cookie`,
/// `set-cookie`, `x-api-key`, `x-auth-token`, `x-csrf-token`...), or when the value is
/// marked sensitive ([`HeaderValue::set_sensitive`](http::HeaderValue::set_sensitive):
/// reqwest's `bearer_auth` and `basic_auth` mark theirs). Listing such a header still says
/// whether a message carried it, never what it carried.
#[derive(Debug, Clone, Default)]
pub(crate) struct Capture {
    /// Each header, its attribute key, and whether its name looks secret.
    names: Vec<(HeaderName, String, bool)>,
}

/// What a captured header's secret value is recorded as.
const REDACTED_VALUE: &str = "REDACTED";

impl Capture {
    pub(crate) fn new(prefix: fn(&str) -> String, names: &[HeaderName]) -> Self {
        Capture {
            names: names
                .iter()
                .map(|n| (n.clone(), prefix(n.as_str()), looks_secret(n.as_str())))
                .collect(),
        }
    }

    pub(crate) fn record(&self, span: &mut Span, headers: &HeaderMap) {
        for (name, key, secret) in &self.names {
            let values: Vec<String> = headers
                .get_all(name)
                .iter()
                .map(|v| {
                    if *secret || v.is_sensitive() {
                        REDACTED_VALUE.to_owned()
                    } else {
                        String::from_utf8_lossy(v.as_bytes()).into_owned()
                    }
                })
                .collect();
            if !values.is_empty() {
                span.set_attribute(key.clone(), values);
            }
        }
    }
}

/// A gRPC request: `content-type: application/grpc[+proto|...]`.
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// `/package.Service/Method` into the service and the method.
pub(crate) fn grpc_path(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/'))
        .then_some((service, method))
}

/// Records the gRPC conventions' request attributes.
pub(crate) fn record_grpc_request(span: &mut Span, service: &str, method: &str) {
    span.set_new_attribute(semconv::RPC_SYSTEM, "grpc");
    span.set_new_attribute(semconv::RPC_SERVICE, service);
    span.set_new_attribute(semconv::RPC_METHOD, method);
}

/// The names of the gRPC status codes, by code.
const GRPC_CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// The `grpc-status` in `headers` (response headers of a trailers-only response, or
/// trailers), recorded by [`record_grpc_code`]. Returns whether a status was there.
pub(crate) fn record_grpc_status(span: &mut Span, side: Side, headers: &HeaderMap) -> bool {
    let Some(code) = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u16>().ok())
    else {
        return false;
    };
    let message = headers
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        // Percent-encoded, as baggage values are.
        .map(crate::propagation::baggage::percent_decode)
        .filter(|m| !m.is_empty());
    record_grpc_code(span, side, code, message.as_deref());
    true
}

/// A gRPC response that is an HTTP error without a `grpc-status` (a proxy's 503, a server
/// that does not speak gRPC at that path): its code per gRPC's HTTP-to-gRPC mapping.
pub(crate) fn record_grpc_http_error(span: &mut Span, side: Side, status: u16) {
    let code = match status {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502..=504 => 14,
        _ => 2,
    };
    record_grpc_code(span, side, code, Some(&format!("HTTP {status}")));
}

/// Records `rpc.grpc.status_code` with the status the gRPC conventions give: on a server
/// span `Error` only for `UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`,
/// `UNAVAILABLE` and `DATA_LOSS`; on a client span for every code but `OK`.
fn record_grpc_code(span: &mut Span, side: Side, code: u16, message: Option<&str>) {
    span.set_attribute(semconv::RPC_GRPC_STATUS_CODE, i64::from(code));
    let error = match side {
        Side::Server => matches!(code, 2 | 4 | 12 | 13 | 14 | 15),
        Side::Client => code != 0,
    };
    if error {
        let name = GRPC_CODES
            .get(usize::from(code))
            .copied()
            .unwrap_or("_OTHER");
        span.set_status(Status::error(match message {
            Some(message) => format!("{name}: {message}"),
            None => name.to_owned(),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_conventions_are_other() {
        assert_eq!(method(&Method::GET), ("GET", None));
        let custom = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(method(&custom), ("_OTHER", Some("PURGE")));
        assert_eq!(name_method("_OTHER"), "HTTP");
    }

    #[test]
    fn full_urls_from_request_uris() {
        for (uri, full) in [
            (
                "http://127.0.0.1:3000/users/7",
                "http://127.0.0.1:3000/users/7",
            ),
            ("https://shop.example", "https://shop.example/"),
            (
                "http://a:b@h/p?token=x&id=1",
                "http://REDACTED:REDACTED@h/p?token=REDACTED&id=1",
            ),
            ("http://h/p?q=1", "http://h/p?q=1"),
        ] {
            let parsed: http::Uri = uri.parse().unwrap();
            assert_eq!(url_full(&parsed), full, "{uri}");
            assert_eq!(url_full(&parsed), redact_url(&parsed.to_string()), "{uri}");
        }
    }

    #[test]
    fn route_names() {
        let mut room = NameRoom::new();
        assert_eq!(room.route("GET", "/users/{id}").as_str(), "GET /users/{id}");
        assert_eq!(room.route("_OTHER", "/").as_str(), "HTTP /");
        assert_eq!(room.grpc("pkg.Svc", "Get").as_str(), "pkg.Svc/Get");
        // Joined on the stack up to its room, allocated past it.
        let fits = "/".repeat(NAME_ROOM - 4);
        let name = room.route("GET", &fits);
        assert!(matches!(name, StartName::Lent(_)));
        assert_eq!(name.as_str(), format!("GET {fits}"));
        let long = "/".repeat(NAME_ROOM - 3);
        let name = room.route("GET", &long);
        assert!(matches!(name, StartName::Owned(_)));
        assert_eq!(name.as_str(), format!("GET {long}"));
        let name = room.grpc("é.Svc", "Dü");
        assert_eq!(name.as_str(), "é.Svc/Dü");
        // Empty parts: the separator alone.
        assert_eq!(room.grpc("", "").as_str(), "/");
    }

    #[test]
    fn ip_addresses_as_text() {
        let mut buf = [0; IP_TEXT];
        for text in [
            "127.0.0.1",
            "255.255.255.255",
            "::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::ffff:255.255.255.255",
            "1111:2222:3333:4444:5555:6666:255.255.255.255",
        ] {
            let ip: std::net::IpAddr = text.parse().unwrap();
            assert_eq!(ip_text(ip, &mut buf), ip.to_string(), "{text}");
        }
    }

    #[test]
    fn host_and_port() {
        assert_eq!(host_port("example.com:8080"), ("example.com", Some(8080)));
        assert_eq!(host_port("example.com"), ("example.com", None));
        assert_eq!(host_port("[::1]:3000"), ("::1", Some(3000)));
        assert_eq!(host_port("u:p@h:1"), ("h", Some(1)));
        assert_eq!(host_port("u@p@h"), ("h", None));
        assert_eq!(host_port("h:"), ("h", None));
        assert_eq!(host_port("h:99999"), ("h", None));
        assert_eq!(host_port("::1"), ("::1", None));
        assert_eq!(host_port("fe80::1:8080"), ("fe80::1:8080", None));
        assert_eq!(host_port("[::1"), ("[::1", None));
        assert_eq!(host_port("[::1]"), ("::1", None));
        assert_eq!(host_port(""), ("", None));
        assert_eq!(host_port("é:1"), ("é", Some(1)));
    }

    #[test]
    fn credentials_and_secrets_are_redacted() {
        assert_eq!(
            redact_url("https://alice:s3cret@shop.example:8443/pay?id=7&token=abc&Sig=x#top"),
            "https://REDACTED:REDACTED@shop.example:8443/pay?id=7&token=REDACTED&Sig=REDACTED#top"
        );
        assert_eq!(
            redact_url("http://h/p?a=1&b"),
            "http://h/p?a=1&b",
            "nothing to redact"
        );
        assert_eq!(redact_url("http://bob@h/"), "http://REDACTED@h/");
    }

    #[test]
    fn grpc_paths() {
        assert_eq!(
            grpc_path("/shop.v1.Orders/Place"),
            Some(("shop.v1.Orders", "Place"))
        );
        assert_eq!(grpc_path("/nope"), None);
        assert_eq!(grpc_path("/a/b/c"), None);
    }
}
