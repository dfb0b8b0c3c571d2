//! What `#[traced]` expansions call. Not a public API: it changes without notice.
//!
//! Arguments and results are dispatched on their traits by autoref specialization: the
//! expansion calls a method on `&&&Arg(&x)` and method lookup picks the most specific impl
//! that applies (a typed value, then `Debug`, then an error that names the argument).

use crate::context::Context;
use crate::model::SpanContext;
use crate::model::{KeyValue, OptionalValue, StringValue, Value};
use crate::pipeline::formatting::{debug_string, display_string};
use crate::propagation::Extractor;
use crate::span::{Parent, Span};
use std::borrow::Cow;
use std::fmt::{Debug, Display};

pub use crate::span::callsite::{AttrArg, Attrs, Callsite, Typed};
pub use crate::span::future::Instrumented;
pub use core::future::Future;
pub use core::ops::ControlFlow;
pub use core::{env, file, line, module_path};
pub use std::any::type_name;
pub use std::sync::LazyLock;

/// Records a function's arguments into its span: `attrs` is the expansion's closure. Never
/// inlined, so the values it builds take stack in this frame, only when the span records,
/// and not in every frame of the traced function (176 -> see tests/stack.rs).
#[inline(never)]
pub fn record(span: &mut Span, attrs: impl FnOnce(&mut Attrs<'_>)) {
    if let Some(mut writer) = span.attrs() {
        attrs(&mut writer);
    }
}

/// A copy of the arguments the expansion passes through its recording branch, read by the
/// recording closure: capturing the tuple whole, it holds one pointer, not one per argument.
#[inline(always)]
pub fn copied<T: Copy>(args: &T) -> T {
    *args
}

/// The traits the expansion calls by autoref specialization, imported as `_` so that one
/// `use ::traced::__private::autoref::*;` brings them into scope without naming anything.
pub mod autoref {
    pub use super::{
        DebugArg as _, NoArg as _, OutcomeAny as _, OutcomeBoth as _, OutcomeDebug as _,
        OutcomeDisplay as _, OutcomeNone as _, ParentByRef as _, ParentCarrier0 as _,
        ParentCarrier1 as _, ParentCarrier2 as _, ParentCloned as _, ParentClonedRef as _,
        ParentOther as _, RetOk as _, RetUnit as _, RetValue as _, SelfArg as _, ValueArg as _,
    };
}

/// An argument, borrowed for recording.
#[derive(Debug)]
pub struct Arg<'a, T: ?Sized>(pub &'a T);

/// Level 1: a typed value ([`crate::ToValue`], or `Option` of one), converted only where it
/// is stored.
pub trait ValueArg<'a> {
    type Value: ?Sized;
    fn __traced_value(&self) -> Typed<'a, Self::Value>;
    fn __traced_revealed(&self) -> Typed<'a, Self::Value>;
    fn __traced_self_value(&self) -> Option<Value>;
}
impl<'a, T: OptionalValue + ?Sized> ValueArg<'a> for &&Arg<'a, T> {
    type Value = T;
    #[inline(always)]
    fn __traced_value(&self) -> Typed<'a, T> {
        Typed {
            value: self.0,
            scrub: true,
        }
    }
    #[inline(always)]
    fn __traced_revealed(&self) -> Typed<'a, T> {
        Typed {
            value: self.0,
            scrub: false,
        }
    }
    #[inline]
    fn __traced_self_value(&self) -> Option<Value> {
        self.0.optional_value()
    }
}

/// Level 2: `Debug`, formatted (only ever called for a sampled span) safely, within the
/// limits, and scrubbed of secrets (see [`crate::secret`]) unless revealed.
pub trait DebugArg {
    fn __traced_value(&self) -> Option<Value>;
    fn __traced_revealed(&self) -> Option<Value>;
    fn __traced_self_value(&self) -> Option<Value>;
}
impl<T: Debug + ?Sized> DebugArg for &Arg<'_, T> {
    fn __traced_value(&self) -> Option<Value> {
        Some(Value::debug(self.0))
    }
    fn __traced_revealed(&self) -> Option<Value> {
        Some(Value::String(debug_string(self.0, false).into()))
    }
    fn __traced_self_value(&self) -> Option<Value> {
        Some(Value::debug(self.0))
    }
}

/// Level 3 for arguments: neither; the value's type fails [`AttrArg`] with a message that
/// suggests `skip`.
pub trait NoArg {
    fn __traced_value(&self) -> CannotRecord<'_>;
    fn __traced_revealed(&self) -> CannotRecord<'_>;
}
impl<T: ?Sized> NoArg for Arg<'_, T> {
    fn __traced_value(&self) -> CannotRecord<'_> {
        CannotRecord(std::marker::PhantomData)
    }
    fn __traced_revealed(&self) -> CannotRecord<'_> {
        CannotRecord(std::marker::PhantomData)
    }
}

/// Level 3 for `self`: a receiver that is neither is simply not recorded.
pub trait SelfArg {
    fn __traced_self_value(&self) -> Option<Value>;
}
impl<T: ?Sized> SelfArg for Arg<'_, T> {
    fn __traced_self_value(&self) -> Option<Value> {
        None
    }
}

/// The result of trying to record an argument that is neither a typed value nor `Debug`.
#[derive(Debug)]
pub struct CannotRecord<'a>(std::marker::PhantomData<&'a ()>);

/// A function's result, borrowed to read its outcome.
#[derive(Debug)]
pub struct Ret<'a, T: ?Sized>(pub &'a T);

/// How a returned `Err` is recorded: `#[traced(err(display))]` (the default), `err(debug)`,
/// `err(expected)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrMode {
    /// Status `Error` with the error's `Display` text, and an `exception` event.
    Display,
    /// Status `Error` with the error's `Debug` text, and an `exception` event.
    Debug,
    /// An expected outcome: the status stays `Unset`, no event; only `error.type`.
    Expected,
}

/// Records `Err(e)` of type `E`: an exception with `text()` as its message, or for an expected
/// error only the `error.type` attribute (the OpenTelemetry semantic conventions' name).
#[inline]
fn record_err<E: ?Sized>(span: &mut Span, mode: ErrMode, text: impl FnOnce() -> String) {
    if span.is_recording() {
        let ty = std::any::type_name::<E>();
        match mode {
            ErrMode::Expected => span.set_attribute("error.type", ty),
            ErrMode::Display | ErrMode::Debug => span.record_exception(ty, text()),
        }
    }
}

/// `Err(e)` with `e: Display + Debug`: the text the mode asks for.
pub trait OutcomeBoth {
    fn __traced_outcome(&self, span: &mut Span, mode: ErrMode);
}
impl<T, E: Display + Debug> OutcomeBoth for &&&&Ret<'_, Result<T, E>> {
    fn __traced_outcome(&self, span: &mut Span, mode: ErrMode) {
        if let Err(e) = self.0 {
            record_err::<E>(span, mode, || match mode {
                ErrMode::Debug => debug_string(e, true),
                _ => display_string(e),
            });
        }
    }
}

/// `Err(e)` with `e: Display` only.
pub trait OutcomeDisplay {
    fn __traced_outcome(&self, span: &mut Span, mode: ErrMode);
}
impl<T, E: Display> OutcomeDisplay for &&&Ret<'_, Result<T, E>> {
    fn __traced_outcome(&self, span: &mut Span, mode: ErrMode) {
        if let Err(e) = self.0 {
            record_err::<E>(span, mode, || display_string(e));
        }
    }
}

/// `Err(e)` with `e: Debug` only.
pub trait OutcomeDebug {
    fn __traced_outcome(&self, span: &mut Span, mode: ErrMode);
}
impl<T, E: Debug> OutcomeDebug for &&Ret<'_, Result<T, E>> {
    fn __traced_outcome(&self, span: &mut Span, mode: ErrMode) {
        if let Err(e) = self.0 {
            record_err::<E>(span, mode, || debug_string(e, true));
        }
    }
}

/// `Err(e)` with neither: the type name is the message.
pub trait OutcomeAny {
    fn __traced_outcome(&self, span: &mut Span, mode: ErrMode);
}
impl<T, E> OutcomeAny for &Ret<'_, Result<T, E>> {
    fn __traced_outcome(&self, span: &mut Span, mode: ErrMode) {
        if self.0.is_err() {
            record_err::<E>(span, mode, || std::any::type_name::<E>().to_owned());
        }
    }
}

/// Anything else: no outcome to read.
pub trait OutcomeNone {
    fn __traced_outcome(&self, span: &mut Span, mode: ErrMode);
}
impl<R: ?Sized> OutcomeNone for Ret<'_, R> {
    #[inline]
    fn __traced_outcome(&self, _span: &mut Span, _mode: ErrMode) {}
}

/// `ret` on `Result<(), E>`: nothing to record.
pub trait RetUnit<'a> {
    fn __traced_ok(&self) -> Option<&'a ()>;
}
impl<'a, E> RetUnit<'a> for &&Ret<'a, Result<(), E>> {
    #[inline]
    fn __traced_ok(&self) -> Option<&'a ()> {
        None
    }
}

/// `ret` on `Result<T, E>`: the `Ok` value (an error is the outcome's business).
pub trait RetOk<'a> {
    type Value: ?Sized;
    fn __traced_ok(&self) -> Option<&'a Self::Value>;
}
impl<'a, T, E> RetOk<'a> for &Ret<'a, Result<T, E>> {
    type Value = T;
    #[inline]
    fn __traced_ok(&self) -> Option<&'a T> {
        self.0.as_ref().ok()
    }
}

/// `ret` on anything else: the value itself.
pub trait RetValue<'a> {
    type Value: ?Sized;
    fn __traced_ok(&self) -> Option<&'a Self::Value>;
}
impl<'a, R: ?Sized> RetValue<'a> for Ret<'a, R> {
    type Value = R;
    #[inline]
    fn __traced_ok(&self) -> Option<&'a R> {
        Some(self.0)
    }
}

/// The attribute key of `ret`.
pub const RETURN_KEY: &str = "traced.return";

/// What `ret` records: a typed value, or `Debug`.
#[diagnostic::on_unimplemented(
    message = "the returned value cannot be recorded as a span attribute",
    label = "its type implements neither `Debug` nor `traced::ToValue`",
    note = "remove `ret`, or derive `Debug` or implement `traced::ToValue` for the returned type"
)]
pub trait RetAttr {
    fn into_ret_attr(self) -> Option<Value>;
}
// Not offered as a fix in the error above: the user should never build this type.
#[diagnostic::do_not_recommend]
impl RetAttr for Option<Value> {
    #[inline]
    fn into_ret_attr(self) -> Option<Value> {
        self
    }
}

// Not offered as a fix in the error above: the user should never build this type.
#[diagnostic::do_not_recommend]
impl<T: OptionalValue + ?Sized> RetAttr for Typed<'_, T> {
    #[inline]
    fn into_ret_attr(self) -> Option<Value> {
        self.optional_value()
    }
}

/// `ret`: records the returned value as `traced.return`.
#[inline]
pub fn record_return(span: &mut Span, value: impl RetAttr) {
    if let Some(value) = value.into_ret_attr() {
        span.set_attribute(RETURN_KEY, value);
    }
}

/// An attribute set when the function returns (`on_ok`, `on_err`): its key may repeat an
/// argument's, and then replaces it.
#[inline]
pub fn result_attr(span: &mut Span, key: &'static str, value: impl AttrArg) {
    if let Some(value) = value.into_attr() {
        span.set_attribute(key, value);
    }
}

/// What `on_ok` and `on_err` read.
#[diagnostic::on_unimplemented(
    message = "`on_ok` and `on_err` read a `Result`, but this function returns `{Self}`",
    label = "not a `Result`"
)]
pub trait IsResult {
    type Ok: ?Sized;
    type Err: ?Sized;
    fn as_result(&self) -> Result<&Self::Ok, &Self::Err>;
}
impl<T, E> IsResult for Result<T, E> {
    type Ok = T;
    type Err = E;
    #[inline]
    fn as_result(&self) -> Result<&T, &E> {
        self.as_ref()
    }
}

/// `Ok(&value)` or `Err(&error)`, for `on_ok` and `on_err`.
#[inline]
pub fn as_result<R: IsResult + ?Sized>(result: &R) -> Result<&R::Ok, &R::Err> {
    result.as_result()
}

/// Whether a pipeline is installed: `parent = ..` is evaluated only then.
#[inline]
pub fn enabled() -> bool {
    crate::pipeline::get().is_some()
}

/// The value of `#[traced(parent = expr)]`, borrowed: the expansion writes
/// `(&&&&&&&ParentOf(&(expr))).__traced_parent().into_parent(..)`, and method lookup picks the
/// first level that applies. The expression is never moved, so a parameter named in it is
/// still the body's; what is cloned (a span context) is cheap, and only when tracing is on.
#[derive(Debug)]
pub struct ParentOf<'a, T: ?Sized>(pub &'a T);

/// Level 1: `&T` converts (`SpanContext`, `Span`, `Context`).
pub trait ParentByRef {
    fn __traced_parent(&self) -> ByRef {
        ByRef
    }
}
impl<T: ?Sized> ParentByRef for &&&&&&ParentOf<'_, T> where for<'b> &'b T: Into<Parent> {}

/// Level 2: `T` converts (`Option<SpanContext>`, `Parent`, `&Span`, any `Into<Parent>`).
pub trait ParentCloned {
    fn __traced_parent(&self) -> Cloned {
        Cloned
    }
}
impl<T: Into<Parent> + Clone> ParentCloned for &&&&&ParentOf<'_, T> {}

/// Level 3: a reference to one of level 2 (`&span` where `span: &Span`).
pub trait ParentClonedRef {
    fn __traced_parent(&self) -> ClonedRef {
        ClonedRef
    }
}
impl<T: Into<Parent> + Clone> ParentClonedRef for &&&&ParentOf<'_, &T> {}

/// Level 4: a carrier of W3C headers (a `HashMap<String, String>`, an `http::HeaderMap`, any
/// [`Extractor`]) behind two references (`&headers` where `headers: &HeaderMap`), ...
pub trait ParentCarrier2 {
    fn __traced_parent(&self) -> Carrier2 {
        Carrier2
    }
}
impl<C: Extractor> ParentCarrier2 for &&&ParentOf<'_, &&C> {}

/// Level 5: ... behind one (`&headers`), ...
pub trait ParentCarrier1 {
    fn __traced_parent(&self) -> Carrier1 {
        Carrier1
    }
}
impl<C: Extractor> ParentCarrier1 for &&ParentOf<'_, &C> {}

/// Level 6: ... or itself.
pub trait ParentCarrier0 {
    fn __traced_parent(&self) -> Carrier0 {
        Carrier0
    }
}
impl<C: Extractor> ParentCarrier0 for &ParentOf<'_, C> {}

/// Level 7: anything else, an error that says what `parent` accepts.
pub trait ParentOther {
    fn __traced_parent(&self) -> NotAParent {
        NotAParent
    }
}
impl<T: ?Sized> ParentOther for ParentOf<'_, T> {}

/// Level 1's conversion.
#[derive(Debug)]
pub struct ByRef;
impl ByRef {
    #[inline]
    pub fn into_parent<'b, T: ?Sized>(self, value: &'b T) -> Parent
    where
        &'b T: Into<Parent>,
    {
        value.into()
    }
}

/// Level 2's conversion.
#[derive(Debug)]
pub struct Cloned;
impl Cloned {
    #[inline]
    pub fn into_parent<T: Into<Parent> + Clone>(self, value: &T) -> Parent {
        value.clone().into()
    }
}

/// Level 3's conversion.
#[derive(Debug)]
pub struct ClonedRef;
impl ClonedRef {
    #[inline]
    pub fn into_parent<T: Into<Parent> + Clone>(self, value: &&T) -> Parent {
        (*value).clone().into()
    }
}

/// Level 4's conversion: the remote parent in the headers, or a root when they hold none.
#[derive(Debug)]
pub struct Carrier2;
impl Carrier2 {
    #[inline]
    pub fn into_parent<C: Extractor>(self, carrier: &&&C) -> Parent {
        Parent::from_carrier(**carrier)
    }
}

/// Level 5's conversion, the same.
#[derive(Debug)]
pub struct Carrier1;
impl Carrier1 {
    #[inline]
    pub fn into_parent<C: Extractor>(self, carrier: &&C) -> Parent {
        Parent::from_carrier(*carrier)
    }
}

/// Level 6's conversion, the same.
#[derive(Debug)]
pub struct Carrier0;
impl Carrier0 {
    #[inline]
    pub fn into_parent<C: Extractor>(self, carrier: &C) -> Parent {
        Parent::from_carrier(carrier)
    }
}

/// Level 7: fails [`IntoParent`], whose message lists what is accepted.
#[derive(Debug)]
pub struct NotAParent;
impl NotAParent {
    pub fn into_parent<T: IntoParent + ?Sized>(self, value: &T) -> Parent {
        value.to_parent()
    }
}

/// What `parent = ..` accepts: only a type that none of the levels above takes reaches this
/// trait, which nothing implements.
#[diagnostic::on_unimplemented(
    message = "`parent = ..` cannot make a parent span out of `{Self}`",
    label = "not a span context, a span, a context or a header carrier",
    note = "`parent` takes a `SpanContext`, an `Option<SpanContext>` such as \
            `traced::propagation::extract(&headers)` (`None` starts a new trace), a `Span`, a \
            `Context`, a `Parent` (such as `Parent::Root`), anything else that is `Into<Parent>`, \
            or headers (any `traced::propagation::Extractor`, such as `HashMap<String, String>`)"
)]
pub trait IntoParent {
    fn to_parent(&self) -> Parent;
}

/// What each expression of `#[traced(links(..))]` accepts, borrowed: a `None` (or a context
/// with no span) adds no link.
#[diagnostic::on_unimplemented(
    message = "`links(..)` cannot link to `{Self}`",
    label = "not a span context, a span or a context",
    note = "`links` takes a `SpanContext`, a `Span`, a `Context`, an `Option` of one \
            (`None` adds no link), or a reference to one of these"
)]
pub trait LinkTo {
    fn link_context(&self) -> Option<SpanContext>;
}
impl LinkTo for SpanContext {
    #[inline]
    fn link_context(&self) -> Option<SpanContext> {
        Some(self.clone())
    }
}
impl LinkTo for Span {
    #[inline]
    fn link_context(&self) -> Option<SpanContext> {
        Some(self.span_context())
    }
}
impl LinkTo for Context {
    #[inline]
    fn link_context(&self) -> Option<SpanContext> {
        self.has_active_span().then(|| self.span_context())
    }
}
impl<T: LinkTo> LinkTo for Option<T> {
    #[inline]
    fn link_context(&self) -> Option<SpanContext> {
        self.as_ref().and_then(LinkTo::link_context)
    }
}
impl<T: LinkTo + ?Sized> LinkTo for &T {
    #[inline]
    fn link_context(&self) -> Option<SpanContext> {
        (**self).link_context()
    }
}

/// `links(cx => (key = value, ..))`: one attribute of a link.
#[inline]
pub fn link_attr(key: &'static str, value: impl AttrArg) -> Option<KeyValue> {
    value.into_attr().map(|value| KeyValue {
        key: Cow::Borrowed(key),
        value,
    })
}

/// `links(..)`: adds a link to a recording span (through the writer of its arguments),
/// unless `to` holds no valid span context.
#[inline]
pub fn add_link<T: LinkTo + ?Sized, const N: usize>(
    attrs: &mut Attrs<'_>,
    to: &T,
    attributes: [Option<KeyValue>; N],
) {
    if let Some(cx) = to.link_context().filter(SpanContext::is_valid) {
        let link = crate::model::Link::new(cx, attributes.into_iter().flatten().collect());
        attrs.with_record(|r| {
            if r.is_recording() {
                r.add_link(link);
            }
        });
    }
}

/// The value of a redacted argument: `[REDACTED]`, the key kept.
#[inline]
pub fn redacted() -> Option<Value> {
    Some(Value::String(StringValue::from_static(
        crate::model::redacted::TEXT,
    )))
}

/// Runs a sync body whose exits the macro cannot all see (a `return` written by a macro such
/// as `anyhow::bail!`): every exit of the closure, hidden or not, ends here, so the result is
/// read on every path. `FnOnce`, so the body may return references into its captures as the
/// function itself could.
#[inline(always)]
pub fn call_once<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// The description of a span whose function returned through a `return` the macro could not
/// see: a `#[track_caller]` function (whose body cannot move into a closure without losing
/// the caller's location) with a macro such as `anyhow::bail!` in its body.
pub const UNSEEN_EXIT: &str = "returned from inside a macro (such as `bail!`) in a #[track_caller] function; the returned value was not seen";

/// The guard of a `#[track_caller]` function whose body may leave through a `return` written
/// by a macro: such an exit skips the outcome check ([`Watched::seen`] is not called), and its
/// drop marks the span as an error with [`UNSEEN_EXIT`] rather than leaving it `Unset`.
#[derive(Debug)]
pub struct Watched {
    guard: crate::span::Guard,
    seen: bool,
}

impl Watched {
    #[inline]
    pub fn new(guard: crate::span::Guard) -> Self {
        Watched { guard, seen: false }
    }

    /// The function returned through the outcome check.
    #[inline]
    pub fn seen(&mut self) {
        self.seen = true;
    }
}

impl std::ops::Deref for Watched {
    type Target = crate::span::Guard;
    #[inline]
    fn deref(&self) -> &crate::span::Guard {
        &self.guard
    }
}

impl std::ops::DerefMut for Watched {
    #[inline]
    fn deref_mut(&mut self) -> &mut crate::span::Guard {
        &mut self.guard
    }
}

impl Drop for Watched {
    #[inline]
    fn drop(&mut self) {
        if !self.seen && !std::thread::panicking() && self.guard.is_recording() {
            self.guard
                .set_status(crate::model::Status::error(UNSEEN_EXIT));
        }
    }
}

/// The `?` operator, for bodies whose early exits the macro redirects to its own label.
/// Mirrors `core::ops::Try`, which is not stable.
pub trait Try: FromResidual<Self::Residual> {
    type Output;
    type Residual;
    fn branch(self) -> ControlFlow<Self::Residual, Self::Output>;
}

/// Mirrors `core::ops::FromResidual`.
pub trait FromResidual<R> {
    fn from_residual(residual: R) -> Self;
}

impl<T, E> Try for Result<T, E> {
    type Output = T;
    type Residual = Result<std::convert::Infallible, E>;
    #[inline]
    fn branch(self) -> ControlFlow<Self::Residual, T> {
        match self {
            Ok(v) => ControlFlow::Continue(v),
            Err(e) => ControlFlow::Break(Err(e)),
        }
    }
}
impl<T, E, F: From<E>> FromResidual<Result<std::convert::Infallible, E>> for Result<T, F> {
    #[inline]
    #[track_caller]
    fn from_residual(residual: Result<std::convert::Infallible, E>) -> Self {
        match residual {
            Err(e) => Err(From::from(e)),
        }
    }
}
impl<T> Try for Option<T> {
    type Output = T;
    type Residual = Option<std::convert::Infallible>;
    #[inline]
    fn branch(self) -> ControlFlow<Self::Residual, T> {
        match self {
            Some(v) => ControlFlow::Continue(v),
            None => ControlFlow::Break(None),
        }
    }
}
impl<T> FromResidual<Option<std::convert::Infallible>> for Option<T> {
    #[inline]
    fn from_residual(_: Option<std::convert::Infallible>) -> Self {
        None
    }
}
impl<B, C> Try for ControlFlow<B, C> {
    type Output = C;
    type Residual = ControlFlow<B, std::convert::Infallible>;
    #[inline]
    fn branch(self) -> ControlFlow<Self::Residual, C> {
        match self {
            ControlFlow::Continue(c) => ControlFlow::Continue(c),
            ControlFlow::Break(b) => ControlFlow::Break(ControlFlow::Break(b)),
        }
    }
}
impl<B, C> FromResidual<ControlFlow<B, std::convert::Infallible>> for ControlFlow<B, C> {
    #[inline]
    fn from_residual(residual: ControlFlow<B, std::convert::Infallible>) -> Self {
        match residual {
            ControlFlow::Break(b) => ControlFlow::Break(b),
        }
    }
}
impl<T, E> Try for std::task::Poll<Result<T, E>> {
    type Output = std::task::Poll<T>;
    type Residual = Result<std::convert::Infallible, E>;
    #[inline]
    fn branch(self) -> ControlFlow<Self::Residual, Self::Output> {
        match self {
            std::task::Poll::Ready(Ok(v)) => ControlFlow::Continue(std::task::Poll::Ready(v)),
            std::task::Poll::Ready(Err(e)) => ControlFlow::Break(Err(e)),
            std::task::Poll::Pending => ControlFlow::Continue(std::task::Poll::Pending),
        }
    }
}
impl<T, E, F: From<E>> FromResidual<Result<std::convert::Infallible, E>>
    for std::task::Poll<Result<T, F>>
{
    #[inline]
    fn from_residual(residual: Result<std::convert::Infallible, E>) -> Self {
        match residual {
            Err(e) => std::task::Poll::Ready(Err(From::from(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Arg;
    use super::autoref::*;
    use crate::model::{ToValue, Value};
    use std::mem::MaybeUninit;

    /// An override of the hidden fast path that writes nothing and hands back some other value:
    /// the attribute is left out, nothing uninitialized is ever read or dropped.
    struct Liar;
    impl ToValue for Liar {
        fn to_value(&self) -> Value {
            Value::Bool(true)
        }
        fn __write_value<'a>(&self, _out: &'a mut MaybeUninit<Value>) -> &'a mut Value {
            Box::leak(Box::new(Value::Bool(false)))
        }
    }

    #[test]
    fn a_write_path_that_lies_records_nothing() {
        let spans = crate::testing::spans(|| {
            let mut span = crate::span::span("x").start();
            super::record(&mut span, |attrs| {
                attrs.attr("liar", (&&&Arg(&Liar)).__traced_value());
                attrs.attr("honest", (&&&Arg(&7u64)).__traced_value());
            });
            span.end();
        });
        assert_eq!(spans[0].attribute("liar"), None);
        assert_eq!(spans[0].attribute("honest"), Some(&Value::I64(7)));
    }

    #[test]
    fn arguments_past_a_low_attribute_limit_are_counted_as_dropped() {
        let limits = crate::model::SpanLimits {
            max_attributes_per_span: 2,
            ..crate::model::SpanLimits::default()
        };
        let spans = crate::testing::capture_with(
            |b| b.with_limits(limits),
            || {
                let mut span = crate::span::span("x").start();
                super::record(&mut span, |attrs| {
                    for key in ["a", "b", "c"] {
                        attrs.attr(key, (&&&Arg(&1u64)).__traced_value());
                    }
                });
                span.end();
            },
        )
        .1;
        let keys: Vec<&str> = spans[0].attributes.iter().map(|kv| &*kv.key).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(spans[0].dropped_attributes_count, 1);
    }
}
