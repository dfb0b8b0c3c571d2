//! What the macro's callsite hands the hot path: the static [`Callsite`] of a `#[traced]`
//! function, and [`AttrArg`], what [`Span::attr`] accepts for an argument. The expansion
//! reaches both through `__private`.

use super::Start;
use crate::model::{CodeLocation, OptionalValue, SpanKind, Value};
#[cfg(doc)]
use crate::span::Span;
use std::borrow::Cow;

/// The static description of one `#[traced]` function.
#[derive(Debug)]
pub struct Callsite {
    pub(crate) name: &'static str,
    pub(crate) kind: SpanKind,
    pub(crate) code: Option<CodeLocation>,
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
            code: Some(CodeLocation {
                module_path,
                function,
                file,
                line,
            }),
        }
    }

    /// `#[traced(code = false)]`: spans carry no code location.
    pub const fn without_code(name: &'static str, kind: SpanKind) -> Self {
        Callsite {
            name,
            kind,
            code: None,
        }
    }

    /// What its spans start from.
    #[inline]
    pub(crate) fn start(&'static self) -> Start {
        Start {
            name: Cow::Borrowed(self.name),
            kind: self.kind,
            code: self.code.as_ref(),
            at: None,
        }
    }
}

/// What `Span::attr` accepts.
#[diagnostic::on_unimplemented(
    message = "this argument cannot be recorded as a span attribute",
    label = "its type implements neither `Debug` nor `traced::ToValue`",
    note = "skip it with `#[traced(skip(name))]`, or derive `Debug` or implement `traced::ToValue` for its type"
)]
pub trait AttrArg {
    fn into_attr(self) -> Option<Value>;

    /// Writes the value, if any, into `out` (the attribute's slot) and returns it.
    #[inline(always)]
    fn write_attr(self, out: &mut std::mem::MaybeUninit<Value>) -> Option<&mut Value>
    where
        Self: Sized,
    {
        self.into_attr().map(|v| out.write(v))
    }
}
// Not offered as a fix in the error above: the user should never build this type.
#[diagnostic::do_not_recommend]
impl AttrArg for Option<Value> {
    #[inline(always)]
    fn into_attr(self) -> Option<Value> {
        self
    }
}

/// A typed argument, not yet converted: [`Span::attr`] builds its value straight into the
/// attribute's slot, so no `Option<Value>` temporary is built and copied.
#[derive(Debug)]
pub struct Typed<'a, T: ?Sized>(pub(crate) &'a T);

// Not offered as a fix in the error above: the user should never build this type.
#[diagnostic::do_not_recommend]
impl<T: OptionalValue + ?Sized> AttrArg for Typed<'_, T> {
    #[inline(always)]
    fn into_attr(self) -> Option<Value> {
        self.0.optional_value()
    }
    #[inline(always)]
    fn write_attr(self, out: &mut std::mem::MaybeUninit<Value>) -> Option<&mut Value> {
        self.0.__write_optional(out)
    }
}
