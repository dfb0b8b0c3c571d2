//! The options of `#[traced]` beyond names and kinds, end to end: impl blocks and traits,
//! `ret`, `on_ok` / `on_err`, `err(..)`, `code = false`, secrets, `crate = path`. Traced code
//! runs under an in-memory pipeline and the tests assert on the exported spans.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]
#![allow(unreachable_pub)]

use std::fmt;
use traced::testing::{capture, one};
use traced::{Redacted, SpanData, SpanKind, Status, Value, traced};

fn names(spans: &[SpanData]) -> Vec<&str> {
    spans.iter().map(|s| &*s.name).collect()
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn redacted() -> Value {
    s("[REDACTED]")
}

#[derive(Debug, PartialEq)]
pub struct NotFound(u32);

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no item {}", self.0)
    }
}

impl std::error::Error for NotFound {}

// ---------------------------------------------------------------- impl blocks

#[derive(Debug, Default)]
pub struct Inventory {
    items: Vec<u32>,
}

#[traced(kind = "server", skip(self))]
impl Inventory {
    /// No receiver: instrumented too.
    pub fn new() -> Self {
        Inventory::default()
    }

    pub fn add(&mut self, item: u32) {
        self.items.push(item);
    }

    /// The method's own options win over the block's; the rest is inherited.
    #[traced(kind = "client", name = "inventory.lookup")]
    pub fn get(&self, index: usize) -> Result<u32, NotFound> {
        self.items.get(index).copied().ok_or(NotFound(index as u32))
    }

    #[traced(ignore)]
    pub fn count(&self) -> usize {
        self.items.len()
    }

    /// A `const fn` cannot be traced: the block leaves it alone.
    pub const fn capacity_hint() -> usize {
        16
    }

    pub async fn refill(&mut self, n: u32) -> usize {
        for item in 0..n {
            self.add(item);
        }
        self.items.len()
    }
}

#[test]
fn an_impl_block_traces_every_method_named_type_method() {
    let (len, spans) = capture(|| {
        let mut inventory = Inventory::new();
        inventory.add(7);
        assert_eq!(inventory.get(0), Ok(7));
        assert_eq!(Inventory::capacity_hint(), 16);
        inventory.count()
    });
    assert_eq!(len, 1);
    assert_eq!(
        names(&spans),
        ["Inventory::new", "Inventory::add", "inventory.lookup"]
    );
    let add = one(&spans, "Inventory::add");
    assert_eq!(add.kind, SpanKind::Server, "the block's kind");
    assert_eq!(add.attribute("item"), Some(&Value::I64(7)));
    assert_eq!(add.attribute("self"), None, "the block's skip(self)");
    let code = add.code.unwrap();
    assert_eq!(code.function, "Inventory::add");
    assert!(code.module_path.ends_with("options"));

    let get = one(&spans, "inventory.lookup");
    assert_eq!(get.kind, SpanKind::Client, "the method's own kind");
    assert_eq!(get.attribute("self"), None, "skip(self) is still inherited");
    assert_eq!(get.attribute("index"), Some(&Value::I64(0)));
    assert_eq!(get.code.unwrap().function, "Inventory::get");
}

#[test]
fn async_methods_of_a_traced_block() {
    let (n, spans) = capture(|| {
        let mut inventory = Inventory::default();
        futures::executor::block_on(inventory.refill(3))
    });
    assert_eq!(n, 3);
    let refill = one(&spans, "Inventory::refill");
    assert_eq!(refill.attribute("n"), Some(&Value::I64(3)));
    let adds: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "Inventory::add")
        .collect();
    assert_eq!(adds.len(), 3);
    assert!(
        adds.iter()
            .all(|a| a.parent_span_id == refill.span_context.span_id())
    );
}

// ---------------------------------------------------------------- traits

pub trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> String;
}

#[derive(Debug)]
pub struct Square<T>(T);

#[traced]
impl<T: Into<f64> + Copy + fmt::Debug> Shape for Square<T> {
    fn area(&self) -> f64 {
        let side: f64 = self.0.into();
        side * side
    }

    fn name(&self) -> String {
        "square".into()
    }
}

#[traced(kind = "producer")]
pub trait Describe {
    /// Without a body: left alone.
    fn id(&self) -> u32;

    fn describe(&self) -> String {
        format!("#{}", self.id())
    }

    #[traced(name = "describe-twice")]
    fn describe_twice(&self) -> String {
        format!("{} {}", self.describe(), self.describe())
    }
}

#[derive(Debug)]
pub struct Widget;

impl Describe for Widget {
    fn id(&self) -> u32 {
        42
    }
}

#[test]
fn a_trait_impl_names_spans_after_the_self_type() {
    let (area, spans) = capture(|| {
        let square = Square(3u8);
        let _ = square.name();
        square.area()
    });
    assert!((area - 9.0).abs() < f64::EPSILON);
    assert_eq!(names(&spans), ["Square::name", "Square::area"]);
    assert_eq!(
        one(&spans, "Square::area").attribute("self"),
        Some(&s("Square(3)"))
    );
}

#[test]
fn a_trait_traces_its_default_bodies_named_trait_method() {
    let (text, spans) = capture(|| Widget.describe_twice());
    assert_eq!(text, "#42 #42");
    assert_eq!(
        names(&spans),
        ["Describe::describe", "Describe::describe", "describe-twice"]
    );
    let twice = one(&spans, "describe-twice");
    assert_eq!(twice.kind, SpanKind::Producer);
    assert_eq!(twice.code.unwrap().function, "Describe::describe_twice");
}

// ---------------------------------------------------------------- ret

#[derive(Debug)]
pub struct Receipt {
    pub total: u32,
}

#[traced(ret)]
fn ret_int(a: u32) -> u64 {
    u64::from(a) * 2
}

#[traced(ret, skip_all)]
fn ret_str(name: &str) -> &str {
    name
}

#[traced(ret)]
fn ret_option(some: bool) -> Option<u32> {
    some.then_some(5)
}

#[traced(ret)]
fn ret_result(fail: bool) -> Result<u32, NotFound> {
    if fail {
        return Err(NotFound(1));
    }
    Ok(3)
}

#[traced(ret)]
fn ret_unit_ok() -> Result<(), NotFound> {
    Ok(())
}

#[traced(ret)]
fn ret_debug() -> Receipt {
    Receipt { total: 12 }
}

#[traced(ret)]
async fn ret_async(a: u32) -> Result<String, NotFound> {
    Ok(format!("order-{a}"))
}

#[test]
fn ret_records_the_returned_value_typed_or_debug() {
    let ((), spans) = capture(|| {
        ret_int(21);
        ret_str("ada");
        ret_option(true);
        ret_option(false);
        let _ = ret_result(false);
        let _ = ret_result(true);
        let _ = ret_unit_ok();
        ret_debug();
        let _ = futures::executor::block_on(ret_async(7));
    });
    let ret = |i: usize| spans[i].attribute("traced.return");
    assert_eq!(ret(0), Some(&Value::I64(42)));
    assert_eq!(ret(1), Some(&s("ada")));
    assert_eq!(ret(2), Some(&Value::I64(5)), "Some(5) is 5");
    assert_eq!(ret(3), None, "None records nothing");
    assert_eq!(ret(4), Some(&Value::I64(3)), "the Ok value");
    assert_eq!(ret(5), None, "an Err is the outcome, not a return value");
    assert!(spans[5].status.is_error());
    assert_eq!(ret(6), None, "Ok(()) has nothing to record");
    assert_eq!(ret(7), Some(&s("Receipt { total: 12 }")));
    assert_eq!(ret(8), Some(&s("order-7")));
}

#[derive(Debug)]
pub struct Counter(u32);

#[traced(ret, skip_all)]
impl Counter {
    /// A block's `ret` skips methods that return nothing.
    fn bump(&mut self) {
        self.0 += 1;
    }

    fn value(&self) -> u32 {
        self.0
    }
}

#[test]
fn ret_on_a_block_records_what_methods_return() {
    let (value, spans) = capture(|| {
        let mut counter = Counter(1);
        counter.bump();
        counter.value()
    });
    assert_eq!(value, 2);
    assert_eq!(one(&spans, "Counter::bump").attributes.len(), 0);
    assert_eq!(
        one(&spans, "Counter::value").attribute("traced.return"),
        Some(&Value::I64(2))
    );
}

// ---------------------------------------------------------------- on_ok / on_err

#[derive(Debug)]
pub struct HttpError {
    code: u16,
}

impl HttpError {
    fn code(&self) -> u16 {
        self.code
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http {}", self.code)
    }
}

#[traced(
    on_ok(order.items = ok.len(), order.first = ok.first().copied()),
    on_err(http.response.status_code = err.code(), "error.retryable" = err.code() >= 500)
)]
fn list_items(status: u16) -> Result<Vec<u32>, HttpError> {
    if status == 200 {
        Ok(vec![4, 5, 6])
    } else {
        Err(HttpError { code: status })
    }
}

#[traced(on_ok(order.id = ok.0))]
async fn create_order(id: u32) -> std::io::Result<(u32, String)> {
    Ok((id, "created".into()))
}

#[traced(on_err(error.code = 7))]
fn fails_without_using_err() -> Result<(), HttpError> {
    Err(HttpError { code: 400 })
}

#[test]
fn on_ok_and_on_err_record_attributes_from_the_result() {
    let ((), spans) = capture(|| {
        let _ = list_items(200);
        let _ = list_items(503);
        let _ = futures::executor::block_on(create_order(9));
        let _ = fails_without_using_err();
    });
    let ok = &spans[0];
    assert_eq!(ok.attribute("order.items"), Some(&Value::I64(3)));
    assert_eq!(ok.attribute("order.first"), Some(&Value::I64(4)));
    assert_eq!(ok.attribute("http.response.status_code"), None);
    assert_eq!(ok.status, Status::Unset);

    let err = &spans[1];
    assert_eq!(err.attribute("order.items"), None);
    assert_eq!(
        err.attribute("http.response.status_code"),
        Some(&Value::I64(503))
    );
    assert_eq!(err.attribute("error.retryable"), Some(&Value::Bool(true)));
    assert_eq!(err.status, Status::error("http 503"));

    assert_eq!(spans[2].attribute("order.id"), Some(&Value::I64(9)));
    assert_eq!(spans[3].attribute("error.code"), Some(&Value::I64(7)));
}

// ---------------------------------------------------------------- err(..)

#[derive(Debug)]
pub enum DbError {
    Missing { table: &'static str },
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("row not found")
    }
}

#[traced]
fn err_display() -> Result<(), DbError> {
    Err(DbError::Missing { table: "users" })
}

#[traced(err(debug))]
fn err_debug() -> Result<(), DbError> {
    Err(DbError::Missing { table: "users" })
}

#[traced(err(expected))]
fn err_expected(id: u32) -> Result<u32, NotFound> {
    Err(NotFound(id))
}

#[traced(err(expected))]
async fn err_expected_async() -> Result<u32, NotFound> {
    Err(NotFound(0))
}

#[traced(err(expected))]
fn err_expected_panics() -> Result<u32, NotFound> {
    panic!("not an expected error")
}

#[test]
fn err_modes() {
    let ((), spans) = capture(|| {
        let _ = err_display();
        let _ = err_debug();
        let _ = err_expected(3);
        let _ = futures::executor::block_on(err_expected_async());
        let _ = std::panic::catch_unwind(err_expected_panics);
    });
    assert_eq!(spans[0].status, Status::error("row not found"));
    assert_eq!(
        spans[1].status,
        Status::error("Missing { table: \"users\" }")
    );
    let message = |span: &SpanData| {
        span.events[0]
            .attributes
            .iter()
            .find(|kv| kv.key == "exception.message")
            .map(|kv| kv.value.clone())
    };
    assert_eq!(message(&spans[1]), Some(s("Missing { table: \"users\" }")));
    for expected in &spans[2..4] {
        assert_eq!(expected.status, Status::Unset, "an expected error");
        assert!(expected.events.is_empty(), "no exception event");
        assert_eq!(
            expected.attribute("error.type"),
            Some(&s("options::NotFound"))
        );
    }
    assert!(spans[4].status.is_error(), "a panic is never expected");
}

// ---------------------------------------------------------------- code = false

#[traced(code = false)]
fn no_code() {}

#[traced(code = true)]
fn with_code() {}

#[test]
fn code_false_leaves_out_the_code_location() {
    let ((), spans) = capture(|| {
        no_code();
        with_code();
    });
    assert_eq!(spans[0].code, None);
    assert_eq!(spans[1].code.unwrap().function, "with_code");
}

// ---------------------------------------------------------------- secrets

#[traced]
#[allow(
    non_snake_case,
    clippy::too_many_arguments,
    clippy::needless_pass_by_value
)]
fn connect(
    user: &str,
    password: &str,
    db_password: String,
    api_token: &str,
    apiKey: Option<&str>,
    session_id: u64,
    author: &str,
    token_count: u32,
) {
    let _ = (
        user,
        password,
        db_password,
        api_token,
        apiKey,
        session_id,
        author,
        token_count,
    );
}

#[traced(reveal(token_count), redact(email))]
fn login(email: &str, token_count: u32, password: &str) {
    let _ = (email, token_count, password);
}

#[traced(skip(password))]
fn skipped(password: &str) {
    let _ = password;
}

#[derive(Debug)]
pub struct Credentials {
    pub user: String,
    pub key: Redacted<String>,
}

// `creds` looks secret by name: revealed, its `Debug` still hides the wrapped key.
#[traced(reveal(creds))]
fn wrapped(key: Redacted<String>, maybe: Option<Redacted<u64>>, creds: &Credentials) -> usize {
    key.len() + usize::from(maybe.is_some()) + creds.key.len()
}

#[test]
fn secret_looking_names_are_recorded_as_redacted() {
    let ((), spans) = capture(|| {
        connect("ada", "pw", "dbpw".into(), "t", Some("k"), 77, "me", 9);
    });
    let span = &spans[0];
    assert_eq!(span.attribute("user"), Some(&s("ada")));
    for key in [
        "password",
        "db_password",
        "api_token",
        "apiKey",
        "session_id",
    ] {
        assert_eq!(span.attribute(key), Some(&redacted()), "{key}");
    }
    assert_eq!(span.attribute("author"), Some(&s("me")));
    assert_eq!(
        span.attribute("token_count"),
        Some(&redacted()),
        "a word match"
    );
}

#[test]
fn reveal_redact_and_skip() {
    let ((), spans) = capture(|| {
        login("ada@example.com", 3, "pw");
        skipped("pw");
    });
    assert_eq!(spans[0].attribute("email"), Some(&redacted()));
    assert_eq!(spans[0].attribute("token_count"), Some(&Value::I64(3)));
    assert_eq!(spans[0].attribute("password"), Some(&redacted()));
    assert_eq!(spans[1].attribute("password"), None, "skipped: no key");
}

#[test]
fn the_redacted_wrapper_never_shows_its_value() {
    let creds = Credentials {
        user: "ada".into(),
        key: Redacted::new("s3cr3t".into()),
    };
    let (n, spans) =
        capture(|| wrapped(Redacted::new("abc".into()), Some(Redacted::new(1)), &creds));
    assert_eq!(n, 10, "Deref reaches the value");
    let span = &spans[0];
    assert_eq!(span.attribute("key"), Some(&redacted()));
    assert_eq!(span.attribute("maybe"), Some(&redacted()));
    assert_eq!(
        span.attribute("creds"),
        Some(&s("Credentials { user: \"ada\", key: [REDACTED] }"))
    );
    assert_eq!(creds.key.to_string(), "[REDACTED]");
    assert_eq!(creds.key.expose(), "s3cr3t");
}

// ---------------------------------------------------------------- crate = path

/// A crate that re-exports `traced` (here: a module of this one).
pub mod facade {
    pub use traced::*;
}

#[traced(crate = facade, ret)]
fn through_facade(n: u32) -> Result<u32, NotFound> {
    let n = n.checked_add(1).ok_or(NotFound(n))?;
    Ok(n)
}

#[traced(crate = crate::facade)]
impl Counter {
    fn through_facade_method(&self) -> u32 {
        self.0
    }
}

#[test]
fn crate_path_points_generated_code_elsewhere() {
    let (value, spans) = capture(|| {
        let _ = through_facade(1);
        Counter(3).through_facade_method()
    });
    assert_eq!(value, 3);
    assert_eq!(spans[0].attribute("traced.return"), Some(&Value::I64(2)));
    assert_eq!(spans[1].name, "Counter::through_facade_method");
}
