//! What `#[traced]` expansions call. Not a public API: it changes without notice.
//!
//! Arguments and results are dispatched on their traits by autoref specialization: the
//! expansion calls a method on `&&&Arg(&x)` and method lookup picks the most specific impl
//! that applies (a typed value, then `Debug`, then an error that names the argument).

use crate::data::SpanKind;
use crate::span::{CodeLocation, Span};
use crate::value::{OptionalValue, Value};
use std::fmt::{Debug, Display};

pub use crate::future::Instrumented;
pub use core::ops::ControlFlow;
pub use core::{file, line, module_path};

/// The static description of one `#[traced]` function.
#[derive(Debug)]
pub struct Callsite {
    pub(crate) name: &'static str,
    pub(crate) kind: SpanKind,
    pub(crate) code: CodeLocation,
}

impl Callsite {
    /// Built in a `static` by the expansion.
    pub const fn new(
        name: &'static str,
        kind: SpanKind,
        module_path: &'static str,
        function: &'static str,
        file: &'static str,
        line: u32,
    ) -> Self {
        Callsite {
            name,
            kind,
            code: CodeLocation {
                module_path,
                function,
                file,
                line,
            },
        }
    }
}

/// An argument, borrowed for recording.
#[derive(Debug)]
pub struct Arg<'a, T: ?Sized>(pub &'a T);

/// Level 1: a typed value ([`crate::ToValue`], or `Option` of one).
pub trait ValueArg {
    fn __traced_value(&self) -> Option<Value>;
    fn __traced_self_value(&self) -> Option<Value>;
}
impl<T: OptionalValue + ?Sized> ValueArg for &&Arg<'_, T> {
    #[inline]
    fn __traced_value(&self) -> Option<Value> {
        self.0.optional_value()
    }
    #[inline]
    fn __traced_self_value(&self) -> Option<Value> {
        self.0.optional_value()
    }
}

/// Level 2: `Debug`, formatted (only ever called for a sampled span).
pub trait DebugArg {
    fn __traced_value(&self) -> Option<Value>;
    fn __traced_self_value(&self) -> Option<Value>;
}
impl<T: Debug + ?Sized> DebugArg for &Arg<'_, T> {
    fn __traced_value(&self) -> Option<Value> {
        Some(Value::String(format!("{:?}", self.0).into()))
    }
    fn __traced_self_value(&self) -> Option<Value> {
        Some(Value::String(format!("{:?}", self.0).into()))
    }
}

/// Level 3 for arguments: neither; the value's type fails [`AttrArg`] with a message that
/// suggests `skip`.
pub trait NoArg {
    fn __traced_value(&self) -> CannotRecord<'_>;
}
impl<T: ?Sized> NoArg for Arg<'_, T> {
    fn __traced_value(&self) -> CannotRecord<'_> {
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

/// What `Span::attr` accepts.
#[diagnostic::on_unimplemented(
    message = "this argument cannot be recorded as a span attribute",
    label = "its type implements neither `Debug` nor `traced::ToValue`",
    note = "skip it with `#[traced(skip(name))]`, or derive `Debug` or implement `traced::ToValue` for its type"
)]
pub trait AttrArg {
    fn into_attr(self) -> Option<Value>;
}
// Not offered as a fix in the error above: the user should never build this type.
#[diagnostic::do_not_recommend]
impl AttrArg for Option<Value> {
    #[inline]
    fn into_attr(self) -> Option<Value> {
        self
    }
}

/// A function's result, borrowed to read its outcome.
#[derive(Debug)]
pub struct Ret<'a, T: ?Sized>(pub &'a T);

/// `Err(e)` with `e: Display`: status `Error` with the message, and an `exception` event.
pub trait OutcomeDisplay {
    fn __traced_outcome(&self, span: &mut Span);
}
impl<T, E: Display> OutcomeDisplay for &&&Ret<'_, Result<T, E>> {
    fn __traced_outcome(&self, span: &mut Span) {
        if let Err(e) = self.0 {
            if span.is_recording() {
                span.record_exception(std::any::type_name::<E>(), e.to_string());
            }
        }
    }
}

/// `Err(e)` with `e: Debug` only.
pub trait OutcomeDebug {
    fn __traced_outcome(&self, span: &mut Span);
}
impl<T, E: Debug> OutcomeDebug for &&Ret<'_, Result<T, E>> {
    fn __traced_outcome(&self, span: &mut Span) {
        if let Err(e) = self.0 {
            if span.is_recording() {
                span.record_exception(std::any::type_name::<E>(), format!("{e:?}"));
            }
        }
    }
}

/// `Err(e)` with neither: the type name is the message.
pub trait OutcomeAny {
    fn __traced_outcome(&self, span: &mut Span);
}
impl<T, E> OutcomeAny for &Ret<'_, Result<T, E>> {
    fn __traced_outcome(&self, span: &mut Span) {
        if self.0.is_err() && span.is_recording() {
            let ty = std::any::type_name::<E>();
            span.record_exception(ty, ty.to_owned());
        }
    }
}

/// Anything else: no outcome to read.
pub trait OutcomeNone {
    fn __traced_outcome(&self, span: &mut Span);
}
impl<R: ?Sized> OutcomeNone for Ret<'_, R> {
    #[inline]
    fn __traced_outcome(&self, _span: &mut Span) {}
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
