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

/// Records each call of a function as an OpenTelemetry span; on an impl block or a trait,
/// each call of each of its methods.
///
/// The span is named after the function, has kind `internal`, and records every parameter
/// that is a plain name (`x: T`, `mut x: T`) and `self`: as a typed value when the type
/// implements `traced::ToValue` (integers, floats, `bool`, strings, and `Option`s of them),
/// else with its `Debug` form. A parameter whose type is neither is a compile error that
/// points at it and suggests `skip`; a `self` that is neither is silently left out.
/// Destructuring patterns and `_` are not recorded. Parameters whose names look like secrets
/// are recorded as `[REDACTED]` (see [Secrets](#secrets)).
///
/// A sync function's span is entered for the duration of the call. An `async fn`'s span
/// starts when the function is called, under the span active at the call (so a future handed
/// to a plain `tokio::spawn` is still its caller's child); it is active during each poll and
/// ends when the future completes, or when it is dropped (marked cancelled, also if it was
/// never polled). For this the `async fn` is emitted as a `fn` returning
/// `impl Future<Output = T>` that captures every generic and lifetime as the `async fn` did,
/// with the same `Send`-ness, on either edition. Under `#[async_trait]` (which must see the
/// `async fn`), the span starts at the first poll. A sync function whose last expression is
/// an `async` block or `Box::pin(async ...)` (this is what `#[async_trait]` writes) starts its
/// span at the call and ends it with that future.
///
/// When the function returns `Err(e)`, the span's status is set to error with `e`'s `Display`
/// (or `Debug`) text and an `exception` event is added; a panic also marks it as an error.
/// Every exit is seen: early `return`, `?` (also inside the arguments of `format!`, `vec!`,
/// `println!` and the other standard macros), and a `return` written by a macro
/// (`anyhow::bail!`, `anyhow::ensure!`, `eyre::bail!`, your own): a body with such a macro
/// runs in a closure that every exit leaves through. In a `#[track_caller]` function the body
/// stays in the function's frame (a closure would report its own location), so an exit
/// through such a macro sets the status to an error that says the value was not seen.
///
/// Every span carries its code location (module path, function, file, line), which exporters
/// turn into the `code.function.name`, `code.file.path` and `code.line.number` attributes.
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
/// What the macro writes for each kind of item is in the repository's `examples/expanded/`.
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
/// `ret` records the returned value as the attribute `traced.return`: typed when it
/// implements `traced::ToValue` (an `Option` records its value, and nothing for `None`),
/// `Debug` otherwise. For a `Result`, the `Ok` value (nothing for `Ok(())`; an `Err` is
/// recorded as the error it is). On a function that returns nothing (`()`, no return type,
/// or `!`) it is a compile error; a type that is neither `ToValue` nor `Debug` is a compile
/// error at `ret`:
///
/// ```ignore
/// #[traced(ret)]
/// fn quote(cart: &Cart) -> Result<u64, PricingError> { .. }   // traced.return = 1250
/// ```
///
/// `on_ok(key = expr, ...)` and `on_err(key = expr, ...)` record attributes computed from
/// the result when the function returns: the expression sees the `Ok` value as `ok` and the
/// error as `err` (both references). They are evaluated only for a sampled span, after the
/// body, so parameters the body moved are gone. On a function whose return type is surely
/// not a `Result` (`()`, `u32`, `Option<T>`, ...) they are a compile error; for a type the
/// macro cannot judge (an alias), the type system says so at the option:
///
/// ```ignore
/// #[traced(on_ok(order.items = ok.len()), on_err(error.code = err.code()))]
/// fn list_items(order: u64) -> Result<Vec<Item>, ApiError> { .. }
/// ```
///
/// `err(...)` decides how a returned `Err` is recorded:
///
/// - `err(display)` (the default): status `Error` with the error's `Display` text (its
///   `Debug` text if it has no `Display`), and an `exception` event with `exception.type`
///   and `exception.message`;
/// - `err(debug)`: the same with the `Debug` text;
/// - `err(expected)`: for errors that are a normal outcome (a cache miss, a 404): the status
///   stays `Unset` and no event is added; only the attribute `error.type` (the OpenTelemetry
///   semantic conventions' name) is set to the error's type name. A panic is still an error.
///
/// ```ignore
/// #[traced(err(expected))]
/// fn find_user(id: u64) -> Result<User, NotFound> { .. }
/// ```
///
/// `code = false` leaves the code location out of the spans (`SpanData::code` is `None`, and
/// no `code.*` attributes are exported); `code = true` is the default.
///
/// `parent = expr` starts the span under `expr` instead of the thread's active span. The
/// expression may use the parameters; it is borrowed (a parameter it names is still the
/// body's) and evaluated only when a pipeline is installed, before the body. It can be a
/// `SpanContext` (remote or local), an `Option<SpanContext>` (`None` starts a new trace), a
/// `Span`, a `Context` (an empty one starts a new trace), a `Parent` such as
/// `Parent::Root`, anything else that is `Into<Parent>`, or the incoming headers themselves
/// (`&headers`: a `HashMap<String, String>`, an `http::HeaderMap`, any
/// `traced::propagation::Extractor`), read as W3C Trace Context. A server span so joins the
/// caller's trace, the caller's span as its remote parent and its trace state kept; headers
/// with no valid `traceparent` start a new trace. `parent = None` makes a root even inside
/// another span. Anything else is a compile error at the expression that lists what is
/// accepted:
///
/// ```ignore
/// #[traced(kind = "server", parent = &headers, skip(headers))]
/// async fn get_user(headers: HeaderMap, id: u64) -> Result<User, ApiError> { .. }
/// ```
///
/// `links(cx, ...)` links the span to other spans (a batch's messages, the request that
/// scheduled a job). Each expression is a `SpanContext`, a `Span`, a `Context`, an `Option`
/// of one (`None`, or a context without a span, adds no link) or a reference to one; like
/// `parent`, it is borrowed and may use the parameters. `cx => (key = value, ...)` gives a
/// link attributes, written as in `attrs`. Links are added when the span starts, only to a
/// span that is recorded:
///
/// ```ignore
/// #[traced(
///     kind = "consumer",
///     parent = None,
///     links(first.context, second.context => (messaging.batch.index = 1)),
/// )]
/// fn process(first: &Message, second: &Message) { .. }
/// ```
///
/// `crate = path` names the `traced` crate for crates that re-export it, so that their users
/// need not depend on `traced` themselves: every path the expansion writes starts with it.
///
/// ```ignore
/// #[my_framework::traced(crate = my_framework::tracing)]
/// fn handle(request: Request) -> Response { .. }
/// ```
///
/// All of them together:
///
/// ```ignore
/// #[traced(name = "GET /orders", kind = "server", skip(db), attrs(http.method = "GET"))]
/// async fn list_orders(db: &Db, page: u32) -> Result<Vec<Order>, DbError> { .. }
/// ```
///
/// # Secrets
///
/// Recording arguments must not leak credentials into a tracing backend. A parameter whose
/// name looks like a secret is recorded as the string `[REDACTED]`, its key kept so that the
/// span still shows it was passed. A name is split into words at `_`, `-`, case changes and
/// digits (`db_password`, `apiToken`, `APIKey`, `pwd2`), and is secret when a word is one of
/// `traced::secret::SECRET_WORDS` (`password`, `passwd`, `pwd`, `pass`, `passcode`, `secret`,
/// `token`, `auth`, `credential`, `creds`, `cookie`, `session`, `pin`, `cvv`, `ssn`, `dsn`,
/// `otp`, `mfa`, `jwt`, `bearer`, `signature`, ...; a plural `s` ignored), or two words in a
/// row are one of `traced::secret::SECRET_PAIRS` (`api key`, `private key`, `credit card`,
/// `card number`, `cc number`, `security code`, `database url`, `connection string`, ...).
/// Whole words only: `author`, `tokenizer`, `spinner`, `opinion`, `pinned` and `passenger`
/// are recorded.
///
/// Values recorded with `Debug` are scrubbed too: the value of a field or string map key
/// whose name looks secret becomes `[REDACTED]` (`Login { user: "bob", password: [REDACTED]
/// }`), and so does the password of a URL in any recorded string
/// (`postgres://app:[REDACTED]@db/orders`). `traced::secret` has the rules.
///
/// - `redact(a, b)` redacts other parameters too (an unknown name is an error that lists the
///   parameters);
/// - `reveal(token_count)` records a parameter as it is: its name, its `Debug` text and the
///   URLs in it redact nothing;
/// - `skip(..)` leaves a parameter out entirely; naming one parameter in two of `skip`,
///   `redact` and `reveal` is an error;
/// - `traced::Redacted<T>` wraps a value so that it is `[REDACTED]` wherever it would show:
///   as an argument (also inside another argument's `Debug`), in `Debug` and `Display`.
///   It dereferences to `T`.
///
/// ```ignore
/// #[traced(redact(email), reveal(token_count))]
/// fn sign_in(email: &str, password: &str, token_count: u32, key: Redacted<String>) { .. }
/// // email = "[REDACTED]", password = "[REDACTED]", token_count = 3, key = "[REDACTED]"
/// ```
///
/// # Impl blocks and traits
///
/// On an impl block (inherent or of a trait), every method with a body is traced; on a trait
/// definition, every default body (methods without a body are left alone). A method's span
/// is named `Type::method` (the self type's last path segment without generics, for trait
/// impls too) or `Trait::method`, and its code location's function is the same.
///
/// The block's options apply to every method. A method's own `#[traced(...)]` is read by
/// the block (it does not expand a second time) and wins: its `name`, `kind`, `ret`, `err`,
/// `code` and `crate` replace the block's; its `skip`, `redact`, `reveal` and `attrs` come
/// before the block's, so both apply and the method decides where they name the same
/// parameter or key. `#[traced(ignore)]` leaves a method uninstrumented. A block's `ret`
/// skips the methods that return nothing; `name`, `on_ok`, `on_err`, `parent`, `links` and
/// `ignore` belong on methods, not on the block (a block-wide parent would also cut the
/// nesting of its methods' spans); a block's `skip` or `redact` must name a parameter of at least
/// one of its methods. `const fn`s are left alone.
///
/// ```ignore
/// #[traced(kind = "client", skip(self))]
/// impl PaymentGateway {
///     fn charge(&self, amount: u64) -> Result<Receipt, Declined> { .. }  // "PaymentGateway::charge"
///
///     #[traced(name = "refund", ret)]
///     fn refund(&self, receipt: &Receipt) -> Result<u64, Declined> { .. }
///
///     #[traced(ignore)]
///     fn is_ready(&self) -> bool { .. }
/// }
/// ```
///
/// `#[traced]` on a single method (not on its block) cannot see the impl, so the type is
/// read at run time, once per method, from the `type_name` of an item declared in it: the
/// span is named `Type::method` (`Trait::method` for a trait's default body) as in the block
/// form, and `code.function.name` is the full path. This holds for a method with a receiver
/// or with `Self` in its signature; an associated function with neither looks like a free
/// function to the macro and is named after itself.
///
/// # Limits
///
/// - In generic code (`fn f<T: Debug>(x: T)`), an argument is recorded through `Debug` even
///   when `T` turns out to be a `&str` or another `traced::ToValue` type: the choice is made
///   where the function is written, not for each type it is used with (that would take
///   specialization, which stable Rust lacks). Bound `T: traced::ToValue` to record typed.
/// - Lints that the expansion hides: clippy's `unused_async` (an `async fn` is emitted as a
///   `fn` returning an `async` block, so that its span starts at the call) and
///   `needless_pass_by_value` (each recorded parameter is rebound, `let x = x;`, which moves
///   it; the rebinding is what keeps `unused_variables` and `unused_mut` on the user's own
///   names). rustc's own lints (`unused_variables`, `unused_mut`, `dead_code`, type errors)
///   still point at the user's code.
///
/// # Where it goes
///
/// On free functions and methods (any receiver, including `self: Box<Self>` and
/// `self: Pin<&mut Self>`), trait impl methods, and trait methods with a default body;
/// generic, `unsafe`, `extern "C"` and `#[track_caller]` functions keep working; on impl
/// blocks and traits. Not on a `const fn`, and not on a trait method without a body.
///
/// A body that does not parse is kept as written: the function is still emitted and the only
/// error is the compiler's own, so an editor keeps working on a half-written function.
///
/// With the `traced/off` feature, every function, impl block and trait is emitted unchanged
/// (the options are still checked).
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
