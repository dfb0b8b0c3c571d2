//! The `#[traced]` attribute macro. Use it through the `traced` crate, as `traced::traced`.
//!
//! Stages, one file each: `attr` (the option grammar), `ast` (the function), `valid`
//! (checks, every error collected), `rewrite` (a sync body's `return`/`?` redirected to a
//! label), `expand` (code generation). This file only converts between `proc_macro` and
//! `proc_macro2` and turns an error into output.

#![forbid(unsafe_code)]

mod ast;
mod attr;
mod expand;
mod rewrite;
mod secret;
mod valid;

use proc_macro::TokenStream;

/// Records each call of a function as an OpenTelemetry span.
///
/// The span is named after the function, has kind `internal`, and records every parameter
/// that is a plain name (`x: T`, `mut x: T`) and `self`: as a typed value when the type
/// implements `traced::ToValue` (integers, floats, `bool`, strings, and `Option`s of them),
/// else with its `Debug` form. A parameter whose type is neither is a compile error that
/// points at it and suggests `skip`; a `self` that is neither is silently left out.
/// Destructuring patterns and `_` are not recorded.
///
/// A sync function's span is entered for the duration of the call. An `async fn`'s span
/// starts when the future is first polled and ends when it completes or is dropped. A sync
/// function whose last expression is an `async` block or `Box::pin(async ...)` (this is what
/// `#[async_trait]` writes) starts its span at the call and ends it with that future.
///
/// When the function returns `Err(e)`, the span's status is set to error with `e`'s `Display`
/// (or `Debug`) text; a panic also marks it as an error. Early `return` and `?` are seen;
/// a `return` hidden inside a macro (such as `anyhow::bail!`) still ends the span, without
/// reading the result.
///
/// ```ignore
/// use traced::traced;
///
/// #[traced]
/// fn add(a: u64, b: u64) -> u64 {
///     a + b
/// }
/// ```
///
/// # Options
///
/// Options are comma-separated; each may be given once.
///
/// `name = "..."` names the span (default: the function's name):
///
/// ```ignore
/// #[traced(name = "checkout")]
/// fn handle_checkout(cart: &Cart) -> Receipt { .. }
/// ```
///
/// `kind = "..."` sets the span kind: `"server"`, `"client"`, `"producer"`, `"consumer"` or
/// `"internal"` (the default):
///
/// ```ignore
/// #[traced(kind = "client")]
/// async fn fetch(url: &str) -> Result<Vec<u8>, Error> { .. }
/// ```
///
/// `skip(a, b)` leaves parameters out (`self` included); `skip_all` leaves all of them out:
///
/// ```ignore
/// #[traced(skip(password))]
/// fn login(user: &str, password: &str) -> Result<Session, LoginError> { .. }
///
/// #[traced(skip_all)]
/// fn upload(&self, blob: &[u8]) { .. }
/// ```
///
/// `attrs(key = value, ...)` records more attributes. A key is a dotted name or a string
/// literal; a value is any expression, which may use the parameters and is evaluated only
/// when the span is sampled. A key equal to a parameter's name replaces that parameter:
///
/// ```ignore
/// #[traced(attrs(order.id = order.id, "payment.provider" = "stripe", user = user.id))]
/// fn pay(order: &Order, user: &User) -> Result<(), PaymentError> { .. }
/// ```
///
/// All of them together:
///
/// ```ignore
/// #[traced(name = "GET /orders", kind = "server", skip(db), attrs(http.method = "GET"))]
/// async fn list_orders(db: &Db, page: u32) -> Result<Vec<Order>, DbError> { .. }
/// ```
///
/// # Where it goes
///
/// On free functions and methods (any receiver, including `self: Box<Self>` and
/// `self: Pin<&mut Self>`), trait impl methods, and trait methods with a default body;
/// generic, `unsafe`, `extern "C"` and `#[track_caller]` functions keep working. Not on a
/// `const fn`, and not on a trait method without a body.
///
/// With the `traced/off` feature, every function is emitted unchanged (the options are still
/// checked).
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let item = proc_macro2::TokenStream::from(item);
    match expand::try_expand(args, item.clone()) {
        Ok(output) => output.into(),
        // The errors, and the item as written so the rest of the crate still type-checks.
        Err(error) => {
            let mut output = error.into_compile_error();
            output.extend(expand::fallback(item));
            output.into()
        }
    }
}
