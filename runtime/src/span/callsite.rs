//! What the macro's callsite hands the hot path: the static [`Callsite`] of a `#[traced]`
//! function, the [`Attrs`] writer of its arguments, and [`AttrArg`], what [`Attrs::attr`]
//! accepts for an argument. The expansion reaches them through `__private`.

use super::{Start, StartName};
use crate::model::record::{AttrCursor, Record};
use crate::model::{
    CodeLocation, InstrumentationScope, OptionalValue, SpanKind, StringValue, Value,
};

/// The static description of one `#[traced]` function.
#[derive(Debug)]
pub struct Callsite {
    pub(crate) name: &'static str,
    pub(crate) kind: SpanKind,
    pub(crate) code: Option<CodeLocation>,
    /// The crate that holds the function: its spans' instrumentation scope.
    pub(crate) scope: InstrumentationScope,
}

impl Callsite {
    /// Built in a `static` by the expansion; `scope` is the function's crate
    /// (`env!("CARGO_PKG_NAME")`, `env!("CARGO_PKG_VERSION")` expanded in it).
    pub const fn new(
        scope: InstrumentationScope,
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
            scope,
            code: Some(CodeLocation {
                module_path,
                function,
                file,
                line,
            }),
        }
    }

    /// `#[traced(code = false)]`: spans carry no code location.
    pub const fn without_code(
        scope: InstrumentationScope,
        name: &'static str,
        kind: SpanKind,
    ) -> Self {
        Callsite {
            name,
            kind,
            scope,
            code: None,
        }
    }

    /// The callsite of a method traced on its own (not through its impl block): the macro
    /// cannot see the impl, so the type is read at run time, once, from `here`, the
    /// `type_name` of an item declared inside the method's callsite initializer
    /// (`crate::module::Cart::total::__TRACED_CALLSITE::{{closure}}::Here`, or
    /// `<crate::Cart as crate::Pricing>::price::..` in a trait impl). The span is named
    /// `Cart::total` (unless `name` is given) like a method of a traced block, and the code
    /// location's function is the same. Built in a `LazyLock` by the expansion: the text is
    /// made once per callsite (and kept for the program's life), never on the call path.
    pub fn in_impl(
        scope: InstrumentationScope,
        here: &'static str,
        method: &'static str,
        name: Option<&'static str>,
        kind: SpanKind,
        location: Option<(&'static str, &'static str, u32)>,
    ) -> Self {
        let function: &'static str = match owner_of(here) {
            Some(owner) => Box::leak(format!("{owner}::{method}").into_boxed_str()),
            None => method,
        };
        let name = name.unwrap_or(function);
        match location {
            Some((module_path, file, line)) => {
                Callsite::new(scope, name, kind, module_path, function, file, line)
            }
            None => Callsite::without_code(scope, name, kind),
        }
    }

    /// What its spans start from.
    #[inline]
    pub(crate) fn start(&'static self) -> Start<'static> {
        Start {
            name: StartName::Static(self.name),
            kind: self.kind,
            code: self.code.as_ref(),
            scope: &self.scope,
            at: None,
        }
    }
}

/// The self type's (or trait's) name, without path or generics, of the method whose callsite
/// initializer declared the item named `here` (see [`Callsite::in_impl`]).
fn owner_of(here: &str) -> Option<&str> {
    let path = &here[..here.rfind("::__TRACED_CALLSITE")?];
    // Segments at `::` outside `<..>`: [.., owner, method].
    let mut segments = Vec::new();
    let (mut depth, mut start, bytes) = (0usize, 0, path.as_bytes());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => depth += 1,
            b'>' => depth = depth.saturating_sub(1),
            b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                segments.push(&path[start..i]);
                start = i + 2;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    segments.push(&path[start..]);
    let owner = segments.len().checked_sub(2).map(|i| segments[i])?;
    // `<Type as Trait>`: the self type, as a traced block names it.
    let owner = match owner.strip_prefix('<') {
        Some(qualified) => qualified.split(" as ").next()?,
        None => owner,
    };
    // `crate::module::Wrapper<T>` -> `Wrapper`.
    let owner = owner.split('<').next()?;
    let owner = owner.rsplit("::").next()?;
    (!owner.is_empty()).then_some(owner)
}

/// Writes the arguments of a `#[traced]` function (and its `attrs`) into its span, right
/// after the start, once [`Span::is_recording`](crate::Span::is_recording) said yes: the
/// expansion calls [`attr`](Attrs::attr) once per argument, in order.
#[derive(Debug)]
pub struct Attrs<'a>(AttrCursor<'a>);

impl<'a> Attrs<'a> {
    #[inline(always)]
    pub(crate) fn new(rec: &'a mut Record) -> Self {
        Attrs(AttrCursor::new(rec))
    }

    /// Adds a static-keyed attribute that may be absent. The expansion guarantees the keys
    /// are distinct, so there is no search for an earlier value with the same key.
    #[inline(always)]
    pub fn attr<V: AttrArg>(&mut self, key: &'static str, value: V) {
        // The value is built only once its slot exists, straight into it; a URL in it is
        // scrubbed on the way to the exporter, not here.
        let scrub_urls = value.scrub_urls();
        let may_own = value.may_own_memory();
        self.0
            .push(key, scrub_urls, may_own, |out| value.write_attr(out));
    }

    /// The record, for a link.
    #[inline]
    pub(crate) fn with_record<R>(&mut self, f: impl FnOnce(&mut Record) -> R) -> R {
        self.0.with_record(f)
    }
}

/// What [`Attrs::attr`] accepts.
#[diagnostic::on_unimplemented(
    message = "this argument cannot be recorded as a span attribute",
    label = "its type implements neither `Debug` nor `traced::ToValue`",
    note = "skip it with `#[traced(skip(name))]`, or derive `Debug` or implement `traced::ToValue` for its type"
)]
pub trait AttrArg {
    fn into_attr(self) -> Option<Value>;

    /// Whether a string written by [`write_attr`](AttrArg::write_attr) has the password of a
    /// URL in it replaced before export: the span keeps it as written, and the scrubbing
    /// happens where the finished span is read for export, not on the calling thread.
    #[inline(always)]
    fn scrub_urls(&self) -> bool {
        false
    }

    /// Whether the value [`write_attr`](AttrArg::write_attr) writes may own memory (a long
    /// string, an array): only then is it looked at when the record is dropped. `true` unless
    /// known otherwise.
    #[inline(always)]
    fn may_own_memory(&self) -> bool {
        true
    }

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
    #[inline(always)]
    fn may_own_memory(&self) -> bool {
        self.as_ref().is_some_and(Value::owns_memory)
    }
}

/// A typed argument, not yet converted: [`Attrs::attr`] builds its value straight into the
/// attribute's slot, so no `Option<Value>` temporary is built and copied. A string value has
/// the password of a URL in it replaced unless revealed ([`crate::secret`]): on the way to
/// the exporter for a value written in place, at once for one converted here.
#[derive(Debug)]
pub struct Typed<'a, T: ?Sized> {
    pub(crate) value: &'a T,
    pub(crate) scrub: bool,
}

impl<T: OptionalValue + ?Sized> Typed<'_, T> {
    /// The value, scrubbed unless revealed.
    pub(crate) fn optional_value(&self) -> Option<Value> {
        let mut v = self.value.optional_value()?;
        if self.scrub {
            scrub_url(&mut v);
        }
        Some(v)
    }
}

/// Replaces the password of a URL in a string value (see [`crate::secret`]): a byte scan of
/// strings long enough to hold one, nothing for other values.
#[inline(always)]
fn scrub_url(value: &mut Value) {
    if let Value::String(s) = value
        && s.as_str().len() >= "a://b:c@d".len()
    {
        scrub_url_slow(s);
    }
}

#[inline(never)]
fn scrub_url_slow(s: &mut StringValue) {
    if let Some(scrubbed) = crate::model::secret::scrub_url_value(s.as_str()) {
        *s = scrubbed.into();
    }
}

// Not offered as a fix in the error above: the user should never build this type.
#[diagnostic::do_not_recommend]
impl<T: OptionalValue + ?Sized> AttrArg for Typed<'_, T> {
    #[inline(always)]
    fn into_attr(self) -> Option<Value> {
        self.optional_value()
    }
    #[inline(always)]
    fn scrub_urls(&self) -> bool {
        self.scrub
    }
    #[inline(always)]
    fn may_own_memory(&self) -> bool {
        self.value.__may_own_memory()
    }
    /// Writes the value as it is: it is scrubbed on its way to the exporter
    /// ([`AttrArg::scrub_urls`]).
    #[inline(always)]
    fn write_attr(self, out: &mut std::mem::MaybeUninit<Value>) -> Option<&mut Value> {
        self.value.__write_optional(out)
    }
}

#[cfg(test)]
mod tests {
    use super::owner_of;

    #[test]
    fn owners_of_lone_methods() {
        let c = "::__TRACED_CALLSITE::{{closure}}::Here";
        assert_eq!(owner_of(&format!("app::m::Cart::total{c}")), Some("Cart"));
        assert_eq!(owner_of(&format!("app::W<_>::get{c}")), Some("W"));
        assert_eq!(
            owner_of(&format!("app::m::Pricing::price{c}")),
            Some("Pricing")
        );
        assert_eq!(
            owner_of(&format!(
                "<app::m::W<alloc::vec::Vec<_>> as app::m::P>::p{c}"
            )),
            Some("W")
        );
        assert_eq!(
            owner_of(&format!("<app::Cart as app::P<u8>>::p{c}")),
            Some("Cart")
        );
        assert_eq!(owner_of("no marker"), None);
    }
}
