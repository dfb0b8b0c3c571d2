//! OpenTelemetry semantic-convention attribute keys: the names backends understand, as
//! constants, so that no key is typed by hand.
//!
//! ```
//! use traced_runtime::{semconv, span, testing, SpanKind};
//!
//! let spans = testing::spans(|| {
//!     span("SELECT orders")
//!         .kind(SpanKind::Client)
//!         .attribute(semconv::DB_SYSTEM_NAME, "sqlite")
//!         .attribute(semconv::DB_QUERY_TEXT, "SELECT * FROM orders WHERE id = ?")
//!         .start()
//!         .end();
//! });
//! assert_eq!(spans[0].attribute("db.system.name").unwrap().as_str(), Some("sqlite"));
//! ```
//!
//! The keys are those of the semantic conventions that [`opentelemetry-semantic-conventions`]
//! 0.33 publishes (schema 1.42); a test checks every constant here against that crate. HTTP,
//! URL, network, client, server, error, exception, database and service keys are the stable
//! ones. The RPC keys are the ones gRPC instrumentations emit today (`rpc.system`,
//! `rpc.service`, `rpc.method`, `rpc.grpc.status_code`), which the still-experimental RPC
//! conventions of schema 1.42 are renaming; both sets are here, and `traced::tower` records
//! the first.
//!
//! [`opentelemetry-semantic-conventions`]: https://docs.rs/opentelemetry-semantic-conventions

// --- HTTP (stable) -----------------------------------------------------------------------------

/// `http.request.method`: `GET`, `POST`, ... or `_OTHER` for a method the instrumentation
/// does not know.
pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
/// `http.request.method_original`: the method as received, when `http.request.method` is
/// `_OTHER` or was normalized.
pub const HTTP_REQUEST_METHOD_ORIGINAL: &str = "http.request.method_original";
/// `http.request.resend_count`: the ordinal of a retried request (1 for the first retry).
pub const HTTP_REQUEST_RESEND_COUNT: &str = "http.request.resend_count";
/// `http.response.status_code`: the response's status code, an integer.
pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
/// `http.route`: the matched route template, e.g. `/users/{id}` (never the raw path).
pub const HTTP_ROUTE: &str = "http.route";
/// `http.request.header`: the prefix of captured request headers; the full key is
/// `http.request.header.<lower-case name>` (see [`http_request_header`]).
pub const HTTP_REQUEST_HEADER: &str = "http.request.header";
/// `http.response.header`: the prefix of captured response headers (see
/// [`http_response_header`]).
pub const HTTP_RESPONSE_HEADER: &str = "http.response.header";

// --- URL (stable) ------------------------------------------------------------------------------

/// `url.full`: the absolute URL of a client request, credentials and sensitive query values
/// redacted.
pub const URL_FULL: &str = "url.full";
/// `url.path`: the path of a server request, e.g. `/users/42`.
pub const URL_PATH: &str = "url.path";
/// `url.query`: the query string without the `?`.
pub const URL_QUERY: &str = "url.query";
/// `url.scheme`: `http` or `https`.
pub const URL_SCHEME: &str = "url.scheme";

// --- Network, client, server (stable) -----------------------------------------------------------

/// `network.protocol.name`: e.g. `http`.
pub const NETWORK_PROTOCOL_NAME: &str = "network.protocol.name";
/// `network.protocol.version`: e.g. `1.1`, `2`.
pub const NETWORK_PROTOCOL_VERSION: &str = "network.protocol.version";
/// `network.peer.address`: the address of the other end of the connection.
pub const NETWORK_PEER_ADDRESS: &str = "network.peer.address";
/// `network.peer.port`: the port of the other end of the connection.
pub const NETWORK_PEER_PORT: &str = "network.peer.port";
/// `server.address`: the server's name or address as the client addressed it.
pub const SERVER_ADDRESS: &str = "server.address";
/// `server.port`: the server's port, an integer.
pub const SERVER_PORT: &str = "server.port";
/// `client.address`: the client's address (behind proxies, the original client's).
pub const CLIENT_ADDRESS: &str = "client.address";
/// `client.port`: the client's port.
pub const CLIENT_PORT: &str = "client.port";
/// `user_agent.original`: the `User-Agent` header.
pub const USER_AGENT_ORIGINAL: &str = "user_agent.original";

// --- Errors and exceptions (stable) ---------------------------------------------------------------

/// `error.type`: the class of error an operation ended with: a status code (`500`), an
/// exception type, or `_OTHER`.
pub const ERROR_TYPE: &str = "error.type";
/// `exception.type`: the type of an exception (on an `exception` event).
pub const EXCEPTION_TYPE: &str = "exception.type";
/// `exception.message`: the message of an exception (on an `exception` event).
pub const EXCEPTION_MESSAGE: &str = "exception.message";

// --- Databases (stable) -------------------------------------------------------------------------

/// `db.system.name`: e.g. `sqlite`, `postgresql`.
pub const DB_SYSTEM_NAME: &str = "db.system.name";
/// `db.namespace`: the database (and schema) name.
pub const DB_NAMESPACE: &str = "db.namespace";
/// `db.collection.name`: the table, e.g. `orders`.
pub const DB_COLLECTION_NAME: &str = "db.collection.name";
/// `db.operation.name`: e.g. `SELECT`.
pub const DB_OPERATION_NAME: &str = "db.operation.name";
/// `db.query.text`: the query, parameterized (never with the values inlined).
pub const DB_QUERY_TEXT: &str = "db.query.text";

// --- Resource (stable) --------------------------------------------------------------------------

/// `service.name`: the logical name of the service.
pub const SERVICE_NAME: &str = "service.name";

// --- RPC ----------------------------------------------------------------------------------------

/// `rpc.system`: `grpc` for gRPC (renamed `rpc.system.name` by schema 1.42's experimental RPC
/// conventions; what gRPC instrumentations and backends use today).
pub const RPC_SYSTEM: &str = "rpc.system";
/// `rpc.service`: the full service name, e.g. `shop.v1.Orders`.
pub const RPC_SERVICE: &str = "rpc.service";
/// `rpc.method`: the method name, e.g. `Place`.
pub const RPC_METHOD: &str = "rpc.method";
/// `rpc.grpc.status_code`: the gRPC status code, an integer (0 = OK).
pub const RPC_GRPC_STATUS_CODE: &str = "rpc.grpc.status_code";
/// `rpc.system.name`: schema 1.42's name for [`RPC_SYSTEM`] (experimental).
pub const RPC_SYSTEM_NAME: &str = "rpc.system.name";
/// `rpc.response.status_code`: schema 1.42's status as a string, e.g. `DEADLINE_EXCEEDED`
/// (experimental).
pub const RPC_RESPONSE_STATUS_CODE: &str = "rpc.response.status_code";

/// The key of a captured request header: `http.request.header.<lower-case name>`.
///
/// ```
/// assert_eq!(traced_runtime::semconv::http_request_header("X-Request-Id"), "http.request.header.x-request-id");
/// ```
pub fn http_request_header(name: &str) -> String {
    header_key(HTTP_REQUEST_HEADER, name)
}

/// The key of a captured response header: `http.response.header.<lower-case name>`.
pub fn http_response_header(name: &str) -> String {
    header_key(HTTP_RESPONSE_HEADER, name)
}

fn header_key(prefix: &str, name: &str) -> String {
    let mut key = String::with_capacity(prefix.len() + 1 + name.len());
    key.push_str(prefix);
    key.push('.');
    key.extend(name.chars().map(|c| c.to_ascii_lowercase()));
    key
}

#[cfg(test)]
mod tests {
    #![allow(deprecated)] // The RPC keys gRPC uses today are deprecated in schema 1.42.

    use opentelemetry_semantic_conventions::attribute as otel;

    /// Every key here is the official one.
    #[test]
    fn keys_match_the_official_crate() {
        let pairs = [
            (super::HTTP_REQUEST_METHOD, otel::HTTP_REQUEST_METHOD),
            (
                super::HTTP_REQUEST_METHOD_ORIGINAL,
                otel::HTTP_REQUEST_METHOD_ORIGINAL,
            ),
            (
                super::HTTP_REQUEST_RESEND_COUNT,
                otel::HTTP_REQUEST_RESEND_COUNT,
            ),
            (
                super::HTTP_RESPONSE_STATUS_CODE,
                otel::HTTP_RESPONSE_STATUS_CODE,
            ),
            (super::HTTP_ROUTE, otel::HTTP_ROUTE),
            (super::HTTP_REQUEST_HEADER, otel::HTTP_REQUEST_HEADER),
            (super::HTTP_RESPONSE_HEADER, otel::HTTP_RESPONSE_HEADER),
            (super::URL_FULL, otel::URL_FULL),
            (super::URL_PATH, otel::URL_PATH),
            (super::URL_QUERY, otel::URL_QUERY),
            (super::URL_SCHEME, otel::URL_SCHEME),
            (super::NETWORK_PROTOCOL_NAME, otel::NETWORK_PROTOCOL_NAME),
            (
                super::NETWORK_PROTOCOL_VERSION,
                otel::NETWORK_PROTOCOL_VERSION,
            ),
            (super::NETWORK_PEER_ADDRESS, otel::NETWORK_PEER_ADDRESS),
            (super::NETWORK_PEER_PORT, otel::NETWORK_PEER_PORT),
            (super::SERVER_ADDRESS, otel::SERVER_ADDRESS),
            (super::SERVER_PORT, otel::SERVER_PORT),
            (super::CLIENT_ADDRESS, otel::CLIENT_ADDRESS),
            (super::CLIENT_PORT, otel::CLIENT_PORT),
            (super::USER_AGENT_ORIGINAL, otel::USER_AGENT_ORIGINAL),
            (super::ERROR_TYPE, otel::ERROR_TYPE),
            (super::EXCEPTION_TYPE, otel::EXCEPTION_TYPE),
            (super::EXCEPTION_MESSAGE, otel::EXCEPTION_MESSAGE),
            (super::DB_SYSTEM_NAME, otel::DB_SYSTEM_NAME),
            (super::DB_NAMESPACE, otel::DB_NAMESPACE),
            (super::DB_COLLECTION_NAME, otel::DB_COLLECTION_NAME),
            (super::DB_OPERATION_NAME, otel::DB_OPERATION_NAME),
            (super::DB_QUERY_TEXT, otel::DB_QUERY_TEXT),
            (super::SERVICE_NAME, otel::SERVICE_NAME),
            (super::RPC_SYSTEM, otel::RPC_SYSTEM),
            (super::RPC_SERVICE, otel::RPC_SERVICE),
            (super::RPC_METHOD, otel::RPC_METHOD),
            (super::RPC_GRPC_STATUS_CODE, otel::RPC_GRPC_STATUS_CODE),
            (super::RPC_SYSTEM_NAME, otel::RPC_SYSTEM_NAME),
            (
                super::RPC_RESPONSE_STATUS_CODE,
                otel::RPC_RESPONSE_STATUS_CODE,
            ),
        ];
        for (ours, official) in pairs {
            assert_eq!(ours, official);
        }
    }

    #[test]
    fn header_keys_are_lower_case() {
        assert_eq!(
            super::http_response_header("Content-Type"),
            "http.response.header.content-type"
        );
    }
}
