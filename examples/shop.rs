//! A small shop as two HTTP services, traced end to end with one line per service and one
//! per client:
//!
//! - **storefront** (axum) answers `GET /buy/{sku}`: `place_order` (a `#[traced]` fn) asks
//!   inventory to reserve the item through reqwest, then sends the confirmation from a
//!   spawned background task;
//! - **inventory** (axum) answers `POST /reserve/{sku}` from `SQLite` (sqlx), one `client`
//!   span per query.
//!
//! ```text
//! cargo run --example shop                                                # trees on stderr
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run --example shop   # to a collector
//! ```
//!
//! A customer buys an espresso (200), a gift card whose stock row is broken (inventory
//! fails: 500, the storefront answers 502), an unknown item (inventory answers 404: a client
//! error on the storefront's call), visits a page that does not exist (404) and posts to a
//! GET-only route (405). Each request is one trace, from the storefront's `server` span
//! through the client call to inventory's `server` span and its database spans; the `tracing`
//! bridge puts sqlx's own events on those spans and the trace ids on every log line.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sqlx::SqlitePool;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;
use traced::traced;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::{fmt, prelude::*};

// ---------------------------------------------------------------------------------------------
// inventory: SQLite behind POST /reserve/{sku}
// ---------------------------------------------------------------------------------------------

const SELECT_STOCK: &str = "SELECT quantity FROM stock WHERE sku = ?";
const RESERVE: &str = "UPDATE stock SET quantity = quantity - 1 WHERE sku = ?";

#[traced(
    kind = "client",
    name = "SELECT stock",
    skip(db),
    attrs(
        db.system.name = "sqlite",
        db.operation.name = "SELECT",
        db.collection.name = "stock",
        db.query.text = SELECT_STOCK
    )
)]
async fn stock_of(db: &SqlitePool, sku: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(SELECT_STOCK)
        .bind(sku)
        .fetch_optional(db)
        .await
}

#[traced(
    kind = "client",
    name = "UPDATE stock",
    skip(db),
    attrs(
        db.system.name = "sqlite",
        db.operation.name = "UPDATE",
        db.collection.name = "stock",
        db.query.text = RESERVE
    )
)]
async fn take_one(db: &SqlitePool, sku: &str) -> Result<(), sqlx::Error> {
    sqlx::query(RESERVE).bind(sku).execute(db).await.map(drop)
}

async fn reserve(State(db): State<SqlitePool>, Path(sku): Path<String>) -> Response {
    match stock_of(&db, &sku).await {
        Ok(None) => (StatusCode::NOT_FOUND, format!("no such item: {sku}")).into_response(),
        Ok(Some(0)) => (StatusCode::CONFLICT, "sold out").into_response(),
        Ok(Some(left)) => match take_one(&db, &sku).await {
            Ok(()) => {
                tracing::info!(%sku, left = left - 1, "reserved");
                (left - 1).to_string().into_response()
            }
            Err(e) => internal(&e),
        },
        Err(e) => internal(&e),
    }
}

fn internal(error: &sqlx::Error) -> Response {
    tracing::error!(%error, "stock query failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "inventory is broken").into_response()
}

fn inventory(db: SqlitePool) -> Router {
    Router::new()
        .route("/reserve/{sku}", post(reserve))
        .with_state(db)
        // One line: a server span per request, the caller's trace continued.
        .layer(traced::tower::ServerLayer::new())
}

/// An in-memory database with three items. Gift cards are issued, not reserved: a trigger
/// refuses to update their row, so reserving one fails in the database.
async fn database() -> Result<SqlitePool, sqlx::Error> {
    let db = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await?;
    for statement in [
        "CREATE TABLE stock (sku TEXT PRIMARY KEY, quantity INTEGER NOT NULL)",
        "CREATE TRIGGER issued_not_reserved BEFORE UPDATE ON stock WHEN OLD.sku = 'gift-card' \
         BEGIN SELECT RAISE(ABORT, 'gift cards are issued, not reserved'); END",
        "INSERT INTO stock VALUES ('espresso', 12), ('mug', 0), ('gift-card', 100)",
    ] {
        sqlx::query(statement).execute(&db).await?;
    }
    Ok(db)
}

// ---------------------------------------------------------------------------------------------
// storefront: GET /buy/{sku}, calling inventory
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct Storefront {
    inventory: String,
    client: reqwest_middleware::ClientWithMiddleware,
    /// Background tasks still running: the example waits for them before it exits.
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

#[derive(Debug)]
enum ShopError {
    UnknownItem(String),
    Upstream(StatusCode),
    Unreachable(String),
}

impl std::fmt::Display for ShopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShopError::UnknownItem(sku) => write!(f, "no such item: {sku}"),
            ShopError::Upstream(status) => write!(f, "inventory answered {status}"),
            ShopError::Unreachable(e) => write!(f, "inventory unreachable: {e}"),
        }
    }
}

impl std::error::Error for ShopError {}

impl IntoResponse for ShopError {
    fn into_response(self) -> Response {
        let status = match self {
            ShopError::UnknownItem(_) => StatusCode::NOT_FOUND,
            ShopError::Upstream(_) | ShopError::Unreachable(_) => StatusCode::BAD_GATEWAY,
        };
        (status, self.to_string()).into_response()
    }
}

#[traced(skip(shop))]
async fn place_order(shop: &Storefront, sku: &str) -> Result<String, ShopError> {
    let response = shop
        .client
        .post(format!("{}/reserve/{sku}", shop.inventory))
        .send()
        .await
        .map_err(|e| ShopError::Unreachable(e.to_string()))?;
    match response.status() {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => return Err(ShopError::UnknownItem(sku.to_owned())),
        status => return Err(ShopError::Upstream(status)),
    }
    let left = response.text().await.unwrap_or_default();
    // Started here, the task's span is a child of place_order's, in the same trace.
    let task = traced::tokio::spawn(send_confirmation(sku.to_owned()));
    shop.tasks.lock().unwrap().push(task);
    Ok(format!("one {sku} is yours ({left} left)"))
}

#[traced]
async fn send_confirmation(sku: String) {
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    tracing::info!(%sku, "confirmation sent");
}

async fn buy(State(shop): State<Storefront>, Path(sku): Path<String>) -> Response {
    match place_order(&shop, &sku).await {
        Ok(text) => text.into_response(),
        Err(e) => {
            tracing::warn!(%sku, error = %e, "order failed");
            e.into_response()
        }
    }
}

fn storefront(shop: Storefront) -> Router {
    Router::new()
        .route("/buy/{sku}", get(buy))
        .with_state(shop)
        .layer(traced::tower::ServerLayer::new())
}

// ---------------------------------------------------------------------------------------------
// the shop, started and visited
// ---------------------------------------------------------------------------------------------

/// Both services, listening on 127.0.0.1.
#[derive(Debug)]
pub(crate) struct Shop {
    /// The storefront's base URL.
    pub(crate) storefront: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

impl Shop {
    /// Starts inventory (with its database) and the storefront on ephemeral ports.
    pub(crate) async fn start() -> Shop {
        let db = database().await.expect("the in-memory database");
        let inventory = serve(inventory(db)).await;
        let tasks = Arc::default();
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            // One line: a client span per call, its traceparent sent along.
            .with(traced::reqwest::TracingMiddleware::new())
            .build();
        let front = serve(storefront(Storefront {
            inventory: format!("http://{inventory}"),
            client,
            tasks: Arc::clone(&tasks),
        }))
        .await;
        Shop {
            storefront: format!("http://{front}"),
            tasks,
        }
    }

    /// A customer's visit: each request and the status it got.
    pub(crate) async fn visit(&self) -> Vec<(String, u16)> {
        let customer = reqwest::Client::new();
        let mut seen = Vec::new();
        for (method, path) in [
            ("GET", "/buy/espresso"),
            ("GET", "/buy/gift-card"),
            ("GET", "/buy/teapot"),
            ("GET", "/gift-shop"),
            ("POST", "/buy/espresso"),
        ] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
            let request = customer.request(method.clone(), format!("{}{path}", self.storefront));
            let status = match request.send().await {
                Ok(response) => response.status().as_u16(),
                Err(_) => 0,
            };
            seen.push((format!("{method} {path}"), status));
        }
        // The background tasks end before the visit does.
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap());
        for task in tasks {
            let _ = task.await;
        }
        seen
    }
}

#[tokio::main]
async fn main() {
    // Console trees by default; OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    let guard = traced::init();
    // `tracing` logs (ours, sqlx's, hyper's) join the traces and carry their ids.
    traced::tracing::registry()
        .with(traced::tracing::layer().with_filter(LevelFilter::DEBUG))
        .with(
            fmt::layer()
                .with_writer(std::io::stderr)
                .event_format(traced::tracing::with_trace_ids(fmt::format()))
                .with_filter(LevelFilter::INFO),
        )
        .init();
    let shop = Shop::start().await;
    for (request, status) in shop.visit().await {
        println!("{request:<22} -> {status}");
    }
    // Server spans end once their responses are sent; give the last ones a moment.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    drop(guard);
}
