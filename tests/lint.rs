//! Generated code adds no warning to a strict crate: every kind of item and every option,
//! compiled under the lints below. `cargo clippy --all-targets -- -D warnings` checks this
//! file with clippy's pedantic group too (a trybuild pass case would not run clippy).
//!
//! With the `off` feature the functions are emitted unchanged, so clippy sees the code as
//! written: a parameter read only by `parent = ..` or `links(..)` is unused there, an `async fn`
//! with nothing to await is `unused_async`, an argument passed by value only to be recorded is
//! `needless_pass_by_value`, a method returning a literal as `&str` is
//! `unnecessary_literal_bound`, as they would be in the user's own code. Those are allowed
//! under `off` only (`cargo clippy --workspace --all-targets --all-features`).

#![deny(
    warnings,
    unused,
    unused_qualifications,
    unused_results,
    unused_lifetimes,
    unused_import_braces,
    unreachable_pub,
    missing_docs,
    missing_debug_implementations,
    trivial_casts,
    trivial_numeric_casts,
    elided_lifetimes_in_paths,
    single_use_lifetimes,
    let_underscore_drop,
    unsafe_op_in_unsafe_fn,
    unused_extern_crates,
    non_ascii_idents,
    meta_variable_misuse,
    clippy::all,
    clippy::pedantic
)]
#![cfg_attr(
    feature = "off",
    allow(
        unused_variables,
        clippy::unused_async,
        clippy::needless_pass_by_value,
        clippy::unnecessary_literal_bound
    )
)]

use std::fmt;
use traced::{Redacted, traced};

/// An error.
#[derive(Debug)]
pub struct AppError {
    code: u16,
}

impl AppError {
    /// Its code.
    #[must_use]
    pub fn code(&self) -> u16 {
        self.code
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "app error {}", self.code)
    }
}

impl std::error::Error for AppError {}

/// A facade crate re-exporting `traced`.
pub mod facade {
    pub use traced::*;
}

/// A service.
#[derive(Debug, Default)]
pub struct Service {
    calls: u64,
}

#[traced(kind = "server", skip(self), attrs(service.name = "lint"), ret, err(debug))]
impl Service {
    /// Every option a method can take.
    ///
    /// # Errors
    /// When the request is empty.
    #[traced(
        name = "Service::handle",
        kind = "client",
        skip(password),
        redact(user),
        reveal(token_count),
        attrs(request.len = request.len()),
        on_ok(response.len = *ok),
        on_err(error.code = err.code()),
        err(expected),
        code = false,
        crate = crate::facade
    )]
    pub fn handle(
        &mut self,
        request: &str,
        user: &str,
        password: &str,
        token_count: u32,
    ) -> Result<usize, AppError> {
        self.calls += 1;
        if request.is_empty() || password.is_empty() || user.is_empty() {
            return Err(AppError { code: 400 });
        }
        let n = request.len().checked_sub(1).ok_or(AppError { code: 500 })?;
        Ok(n + token_count as usize)
    }

    /// Async, inheriting `ret` from the block.
    pub async fn fetch(&self, id: u64) -> Option<u64> {
        let id = id.checked_add(self.calls)?;
        Some(id)
    }

    /// Returns nothing: the block's `ret` leaves it alone.
    pub fn reset(&mut self) {
        self.calls = 0;
    }

    /// Left alone.
    #[traced(ignore)]
    #[must_use]
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// A `const fn`: left alone.
    #[must_use]
    pub const fn limit() -> u64 {
        10
    }
}

/// A trait with default bodies.
#[traced(kind = "consumer")]
pub trait Handler {
    /// Without a body.
    fn topic(&self) -> &str;

    /// A default body.
    fn describe(&self) -> String {
        format!("handler for {}", self.topic())
    }

    /// An async default body.
    fn handle(&self, payload: &[u8]) -> impl Future<Output = Result<usize, AppError>> + Send
    where
        Self: Sync,
    {
        async move { Ok(payload.len()) }
    }
}

/// A handler.
#[derive(Debug)]
pub struct Printer;

#[traced]
impl Handler for Printer {
    fn topic(&self) -> &str {
        "print"
    }
}

/// Secrets, by name and by type.
#[traced(ret)]
#[must_use]
pub fn login(user: &str, password: &str, api_key: Redacted<String>) -> bool {
    !user.is_empty() && !password.is_empty() && !api_key.is_empty()
}

/// `on_ok` through `?` and an early return, in an async fn.
///
/// # Errors
/// When `n` is zero.
#[traced(on_ok(result.double = *ok * 2), on_err(error.code = err.code()))]
pub async fn checked(n: u32) -> Result<u32, AppError> {
    if n == 0 {
        return Err(AppError { code: 1 });
    }
    let m = n.checked_add(1).ok_or(AppError { code: 2 })?;
    Ok(m)
}

/// `parent` from headers, `links` with and without attributes.
#[traced(
    kind = "server",
    parent = &headers,
    skip(headers),
    links(cause, previous => (link.reason = "retry"))
)]
#[must_use]
pub fn serve<S: std::hash::BuildHasher>(
    headers: &std::collections::HashMap<String, String, S>,
    cause: Option<&traced::SpanContext>,
    previous: &traced::Context,
    attempt: u32,
) -> u32 {
    attempt + 1
}

/// `parent = None` and a `parent` from a span context, in async fns.
#[traced(parent = None)]
pub async fn detached(n: u32) -> u32 {
    n + 1
}

/// A span context as the parent, by value: still the body's.
#[traced(parent = cx, skip(cx))]
pub async fn under(cx: traced::SpanContext) -> bool {
    cx.is_valid()
}

/// Unit, early return.
#[traced]
pub fn unit(flag: bool) {
    if flag {
        return;
    }
    println!("not flagged");
}

/// Never returns.
#[traced]
pub fn forever() -> ! {
    loop {
        std::thread::park();
    }
}

/// Ignored and destructured parameters.
#[must_use]
#[traced]
pub fn ignored(_x: u8, _: u8, (a, _b): (u8, u8)) -> u8 {
    a
}

/// Unsafe.
///
/// # Safety
/// `p` must be valid.
#[must_use]
#[traced]
pub unsafe fn read(p: *const u8) -> u8 {
    // SAFETY: the caller guarantees `p` is valid.
    unsafe { *p }
}

#[test]
fn lint() {
    unit(true);
    assert_eq!(ignored(1, 2, (3, 4)), 3);
    // SAFETY: a valid pointer.
    assert_eq!(unsafe { read(&1) }, 1);
    if std::hint::black_box(false) {
        forever();
    }
    let mut service = Service::default();
    let _ok = service.handle("abc", "ada", "pw", 1).ok();
    let _fetched = futures::executor::block_on(service.fetch(1));
    service.reset();
    assert_eq!(service.calls(), 0);
    assert_eq!(Service::limit(), 10);
    assert_eq!(Printer.describe(), "handler for print");
    assert_eq!(
        futures::executor::block_on(Printer.handle(b"ab")).ok(),
        Some(2)
    );
    assert!(login("ada", "pw", Redacted::new("k".to_owned())));
    assert_eq!(futures::executor::block_on(checked(1)).ok(), Some(2));
    let headers = std::collections::HashMap::new();
    assert_eq!(serve(&headers, None, &traced::Context::new(), 1), 2);
    assert_eq!(futures::executor::block_on(detached(1)), 2);
    assert!(!futures::executor::block_on(under(
        traced::SpanContext::NONE
    )));
}

/// An exit hidden in a macro: the body runs in a closure, which adds no lint.
///
/// # Errors
///
/// When `n` is zero.
#[traced]
pub fn bails(n: u8, name: &str) -> anyhow::Result<&str> {
    anyhow::ensure!(n > 0, "zero");
    if n > 9 {
        anyhow::bail!("too big");
    }
    Ok(name)
}

/// A hidden exit in a `#[track_caller]` function: its guard watches for it.
///
/// # Errors
///
/// When `n` is zero.
#[traced]
#[track_caller]
pub fn bails_here(n: u8) -> anyhow::Result<u32> {
    anyhow::ensure!(n > 0, "zero");
    Ok(std::panic::Location::caller().line())
}

/// `?` inside the arguments of `vec!` and `format!`.
///
/// # Errors
///
/// When `a` is not a number.
#[traced]
pub fn parses(a: &str) -> Result<(Vec<u32>, String), std::num::ParseIntError> {
    Ok((vec![a.parse()?], format!("{}", a.parse::<u8>()?)))
}
