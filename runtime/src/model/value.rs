//! Attribute values: typed, as OpenTelemetry defines them.

use compact_str::CompactString;
use std::borrow::Cow;
use std::fmt;
use std::mem::MaybeUninit;

/// An attribute key: a static string in generated code, owned when built at run time.
pub type Key = Cow<'static, str>;

/// A string attribute value. Up to 24 bytes are stored inline, so recording a short `&str`
/// never allocates.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct StringValue(CompactString);

impl StringValue {
    /// A string value that borrows a static string (no copy, no allocation).
    pub const fn from_static(s: &'static str) -> Self {
        StringValue(CompactString::const_new(s))
    }
    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
    /// The text as a `Cow`: borrowed when the value borrows a static string, else owned.
    pub(crate) fn into_cow(self) -> Cow<'static, str> {
        match self.0.as_static_str() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(self.0.into_string()),
        }
    }
    /// Cuts the value to at most `max` bytes, on a char boundary. Returns whether it was cut.
    pub(crate) fn truncate(&mut self, max: usize) -> bool {
        if self.0.len() <= max {
            return false;
        }
        let mut end = max;
        while !self.0.is_char_boundary(end) {
            end -= 1;
        }
        self.0.truncate(end);
        true
    }
}

/// The longest string [`StringValue::write`] copies itself.
const SHORT_STRING: usize = 16;

/// Copies `len` bytes from `src` to `dst` as two words of `W`, the first and the last, which
/// overlap when `len` is under two words.
///
/// # Safety
/// `size_of::<W>() <= len`; `src` valid for reads and `dst` for writes of `len` bytes, not
/// overlapping.
#[inline(always)]
unsafe fn copy_ends<W: Copy>(src: *const u8, dst: *mut u8, len: usize) {
    use std::ptr::{read_unaligned as load, write_unaligned as store};
    let last = len - size_of::<W>();
    // SAFETY: the caller's contract: both words lie within `[0, len)` of each buffer.
    unsafe {
        let (head, tail) = (load(src.cast::<W>()), load(src.add(last).cast::<W>()));
        store(dst.cast::<W>(), head);
        store(dst.add(last).cast::<W>(), tail);
    }
}

impl StringValue {
    /// Writes a string value of `s` into `out`: as `Value::String(s.into())`, with a cheaper
    /// copy of a string of at most [`SHORT_STRING`] bytes: two loads and two stores, which may
    /// overlap, straight into the value's buffer. No call, and no shifts to assemble words in
    /// registers (which is how `CompactString::new` copies, for a value read back at once; a
    /// record's is read much later, on another thread).
    #[inline(always)]
    fn write<'a>(out: &'a mut MaybeUninit<Value>, s: &str) -> &'a mut Value {
        let (len, src) = (s.len(), s.as_ptr());
        if len > SHORT_STRING {
            return out.write(Value::String(s.into()));
        }
        // SAFETY (each branch): `len <= SHORT_STRING`, `empty`'s contract. `s` is valid for
        // reads of `len` bytes, and `empty` hands back a buffer valid for writes of `len` bytes
        // that `s` does not overlap; each branch's word is at most `len` bytes (`copy_ends`'s
        // contract). The value is then written: `empty` wrote all of it but the bytes, which
        // are now those of `s` (valid UTF-8).
        unsafe {
            if len >= 8 {
                copy_ends::<u64>(src, Self::empty(out, len), len);
            } else if len >= 4 {
                copy_ends::<u32>(src, Self::empty(out, len), len);
            } else if len >= 2 {
                copy_ends::<u16>(src, Self::empty(out, len), len);
            } else {
                let dst = Self::empty(out, len);
                if len == 1 {
                    *dst = *src;
                }
            }
            out.assume_init_mut()
        }
    }

    /// Writes an inline string value of `len` zero bytes into `out`, and returns a pointer to
    /// its bytes, to be overwritten with valid UTF-8. (Each branch of the caller writes its
    /// own, so that the compiler leaves out the zeros it overwrites at once.)
    ///
    /// # Safety
    /// `len <= SHORT_STRING`.
    #[inline(always)]
    unsafe fn empty(out: &mut MaybeUninit<Value>, len: usize) -> *mut u8 {
        // An empty string is stored inline, its 24 bytes zeroed but for the length.
        let value = out.write(Value::String(StringValue(CompactString::const_new(""))));
        let Value::String(StringValue(inline)) = value else {
            unreachable!("written just above")
        };
        // SAFETY: `len <= 16 < 24 = capacity()` of an inline string (the caller's contract),
        // whose bytes are initialized (zeros): `set_len`'s contract.
        unsafe { inline.set_len(len) };
        // The length and the pointer before any byte is written through the pointer: both look
        // at the last byte of the buffer, known to the compiler only until then. (The pointer
        // last: it must stay valid, and so the string is not used after it.)
        inline.as_mut_ptr()
    }
}

impl From<&str> for StringValue {
    #[inline]
    fn from(s: &str) -> Self {
        StringValue(CompactString::new(s))
    }
}
impl From<String> for StringValue {
    fn from(s: String) -> Self {
        StringValue(CompactString::from(s))
    }
}
impl From<Cow<'static, str>> for StringValue {
    fn from(s: Cow<'static, str>) -> Self {
        match s {
            Cow::Borrowed(s) => StringValue::from_static(s),
            Cow::Owned(s) => s.into(),
        }
    }
}
impl fmt::Debug for StringValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
impl fmt::Display for StringValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An attribute value: OpenTelemetry's bool, i64, f64, string, and homogeneous arrays.
///
/// ```
/// use traced_runtime::{ToValue, Value};
/// assert_eq!(42u32.to_value(), Value::I64(42));
/// assert_eq!("eu-west".to_value(), Value::String("eu-west".into()));
/// // u64 above i64::MAX keeps its digits as a string rather than wrapping.
/// assert_eq!(u64::MAX.to_value(), Value::String("18446744073709551615".into()));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    I64(i64),
    /// A 64-bit float.
    F64(f64),
    /// A string.
    String(StringValue),
    /// An array of one of the primitive types.
    Array(Array),
}

/// A homogeneous array value.
#[derive(Clone, Debug, PartialEq)]
pub enum Array {
    /// Booleans.
    Bool(Vec<bool>),
    /// Integers.
    I64(Vec<i64>),
    /// Floats.
    F64(Vec<f64>),
    /// Strings.
    String(Vec<StringValue>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, v: &[T]) -> fmt::Result {
            f.write_str("[")?;
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{x}")?;
            }
            f.write_str("]")
        }
        match self {
            Value::Bool(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::String(v) => write!(f, "{:?}", v.as_str()),
            Value::Array(Array::Bool(v)) => list(f, v),
            Value::Array(Array::I64(v)) => list(f, v),
            Value::Array(Array::F64(v)) => list(f, v),
            Value::Array(Array::String(v)) => {
                f.write_str("[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{:?}", x.as_str())?;
                }
                f.write_str("]")
            }
        }
    }
}

impl Value {
    /// Whether dropping this value frees memory (a long string, an array).
    #[inline]
    pub(crate) fn owns_memory(&self) -> bool {
        match self {
            Value::Bool(_) | Value::I64(_) | Value::F64(_) => false,
            Value::String(s) => s.0.is_heap_allocated(),
            Value::Array(_) => true,
        }
    }

    /// The string inside, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }
}

/// A key and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue {
    /// The attribute's name, e.g. `order.id`.
    pub key: Key,
    /// Its value.
    pub value: Value,
}

impl KeyValue {
    /// A key-value pair.
    ///
    /// ```
    /// let kv = traced_runtime::KeyValue::new("http.response.status_code", 200);
    /// assert_eq!(kv.value, traced_runtime::Value::I64(200));
    /// ```
    pub fn new(key: impl Into<Key>, value: impl ToValue) -> Self {
        KeyValue {
            key: key.into(),
            value: value.to_value(),
        }
    }
}

/// Conversion into a typed attribute value.
///
/// `#[traced]` records an argument as a typed value when its type implements this trait,
/// and with `Debug` otherwise. Implement it for your own types to record them typed:
///
/// ```
/// use traced_runtime::{ToValue, Value};
/// struct OrderId(u64);
/// impl ToValue for OrderId {
///     fn to_value(&self) -> Value {
///         Value::I64(self.0 as i64)
///     }
/// }
/// assert_eq!(OrderId(7).to_value(), Value::I64(7));
/// ```
pub trait ToValue {
    /// The typed value.
    fn to_value(&self) -> Value;

    /// Writes the typed value into `out` and returns it: how `#[traced]` builds an argument's
    /// value straight in its attribute slot. Not meant to be called or overridden outside this
    /// crate. The caller checks that the returned reference is `out` itself (safe code can
    /// only get one by writing `out`), so an override that writes nothing is not unsound.
    #[doc(hidden)]
    #[inline(always)]
    fn __write_value<'a>(&self, out: &'a mut MaybeUninit<Value>) -> &'a mut Value {
        out.write(self.to_value())
    }

    /// Whether the value [`__write_value`](ToValue::__write_value) writes may own memory (a
    /// long string, an array), told from `self` before it is written: a span frees only such
    /// values when it is dropped, and looks at no other. `true` unless known otherwise (a
    /// wrong `false` would leak the value, never free it twice). Not meant to be called or
    /// overridden outside this crate.
    #[doc(hidden)]
    #[inline(always)]
    fn __may_own_memory(&self) -> bool {
        true
    }
}

/// The longest string a [`StringValue`] holds inline (longer ones are on the heap).
const INLINE_STRING: usize = size_of::<StringValue>();

/// Whether a string value of `s` may own memory: `StringValue::from(s)` copies it inline
/// unless it is longer than [`INLINE_STRING`]. Told from a shorter length, [`SHORT_STRING`]:
/// the written value of a longer one is looked at (a 17 to 24-byte one owns nothing), and the
/// write of one that is not needs no second look at its length (see
/// [`StringValue::write`]).
#[inline(always)]
fn string_may_own(s: &str) -> bool {
    const _: () = assert!(SHORT_STRING <= INLINE_STRING);
    s.len() > SHORT_STRING
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    #[inline(always)]
    fn __may_own_memory(&self) -> bool {
        false
    }
}
macro_rules! lossless_int {
    ($($t:ty)*) => {$(
        impl ToValue for $t {
            #[inline]
            fn to_value(&self) -> Value { Value::I64(i64::from(*self)) }
            #[inline(always)]
            fn __may_own_memory(&self) -> bool { false }
        }
    )*};
}
lossless_int!(i8 i16 i32 i64 u8 u16 u32);
macro_rules! wide_int {
    ($($t:ty)*) => {$(
        impl ToValue for $t {
            #[inline]
            fn to_value(&self) -> Value {
                match i64::try_from(*self) {
                    Ok(v) => Value::I64(v),
                    // Out of OpenTelemetry's i64 range: keep every digit rather than wrap.
                    Err(_) => Value::String(self.to_string().into()),
                }
            }
            // Each branch writes its own value: with one `Value` returned from two branches,
            // the common case went through a stack temporary written with 8-byte stores and
            // read back with a 16-byte load (a store-forwarding stall, ~7 ns per argument).
            #[inline(always)]
            fn __write_value<'a>(&self, out: &'a mut MaybeUninit<Value>) -> &'a mut Value {
                match i64::try_from(*self) {
                    Ok(v) => out.write(Value::I64(v)),
                    Err(_) => write_digits(out, self),
                }
            }
            #[inline(always)]
            fn __may_own_memory(&self) -> bool {
                i64::try_from(*self).is_err()
            }
        }
    )*};
}
wide_int!(u64 usize isize u128 i128);

/// An integer out of OpenTelemetry's i64 range, as its digits.
#[cold]
#[inline(never)]
fn write_digits<'a>(out: &'a mut MaybeUninit<Value>, v: &dyn fmt::Display) -> &'a mut Value {
    out.write(Value::String(v.to_string().into()))
}
impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::F64(*self)
    }
    #[inline(always)]
    fn __may_own_memory(&self) -> bool {
        false
    }
}
impl ToValue for f32 {
    fn to_value(&self) -> Value {
        Value::F64(f64::from(*self))
    }
    #[inline(always)]
    fn __may_own_memory(&self) -> bool {
        false
    }
}
/// Text, written as a string value (see [`StringValue::write`]).
macro_rules! text {
    ($($t:ty),* $(,)?) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                let text: &str = self.as_ref();
                Value::String(text.into())
            }
            #[inline(always)]
            fn __write_value<'a>(&self, out: &'a mut MaybeUninit<Value>) -> &'a mut Value {
                StringValue::write(out, self.as_ref())
            }
            #[inline(always)]
            fn __may_own_memory(&self) -> bool {
                string_may_own(self.as_ref())
            }
        }
    )*};
}
text!(str, String, Cow<'_, str>);
impl ToValue for char {
    fn to_value(&self) -> Value {
        let mut buf = [0; 4];
        Value::String((&*self.encode_utf8(&mut buf)).into())
    }
    #[inline(always)]
    fn __may_own_memory(&self) -> bool {
        false
    }
}
impl ToValue for StringValue {
    fn to_value(&self) -> Value {
        Value::String(self.clone())
    }
}
/// The wrappers write what their target writes, and so may own what it may.
macro_rules! through {
    ($($wrapper:ty),* $(,)?) => {$(
        impl<T: ToValue + ?Sized> ToValue for $wrapper {
            #[inline(always)]
            fn to_value(&self) -> Value {
                (**self).to_value()
            }
            #[inline(always)]
            fn __write_value<'a>(&self, out: &'a mut MaybeUninit<Value>) -> &'a mut Value {
                (**self).__write_value(out)
            }
            #[inline(always)]
            fn __may_own_memory(&self) -> bool {
                (**self).__may_own_memory()
            }
        }
    )*};
}
through!(&T, &mut T, Box<T>, std::sync::Arc<T>, std::rc::Rc<T>);
macro_rules! array {
    ($($t:ty => $variant:ident($conv:expr)),* $(,)?) => {$(
        impl ToValue for [$t] {
            fn to_value(&self) -> Value { Value::Array(Array::$variant(self.iter().map($conv).collect())) }
        }
        impl ToValue for Vec<$t> {
            fn to_value(&self) -> Value { self.as_slice().to_value() }
        }
        impl<const N: usize> ToValue for [$t; N] {
            fn to_value(&self) -> Value { self.as_slice().to_value() }
        }
    )*};
}
array!(
    bool => Bool(|v: &bool| *v),
    i64 => I64(|v: &i64| *v),
    i32 => I64(|v: &i32| i64::from(*v)),
    u32 => I64(|v: &u32| i64::from(*v)),
    f64 => F64(|v: &f64| *v),
    &str => String(|v: &&str| StringValue::from(*v)),
    String => String(|v: &String| StringValue::from(v.as_str())),
);

/// A value that may be absent: every [`ToValue`] type, and `Option` of one. `None` records
/// no attribute at all, as OpenTelemetry has no null.
pub trait OptionalValue {
    /// The value, if any.
    fn optional_value(&self) -> Option<Value>;

    /// Writes the value, if any, into `out` and returns it (see [`ToValue::__write_value`]).
    /// Not meant to be called or implemented outside this crate.
    #[doc(hidden)]
    #[inline(always)]
    fn __write_optional<'a>(&self, out: &'a mut MaybeUninit<Value>) -> Option<&'a mut Value> {
        self.optional_value().map(|v| out.write(v))
    }

    /// Whether the value written by [`__write_optional`](OptionalValue::__write_optional)
    /// may own memory (see [`ToValue::__may_own_memory`]). Not meant to be called or
    /// implemented outside this crate.
    #[doc(hidden)]
    #[inline(always)]
    fn __may_own_memory(&self) -> bool {
        true
    }
}
impl<T: ToValue + ?Sized> OptionalValue for T {
    #[inline(always)]
    fn optional_value(&self) -> Option<Value> {
        Some(self.to_value())
    }
    #[inline(always)]
    fn __write_optional<'a>(&self, out: &'a mut MaybeUninit<Value>) -> Option<&'a mut Value> {
        Some(self.__write_value(out))
    }
    #[inline(always)]
    fn __may_own_memory(&self) -> bool {
        ToValue::__may_own_memory(self)
    }
}
impl<T: ToValue> OptionalValue for Option<T> {
    #[inline]
    fn optional_value(&self) -> Option<Value> {
        self.as_ref().map(ToValue::to_value)
    }
    #[inline(always)]
    fn __write_optional<'a>(&self, out: &'a mut MaybeUninit<Value>) -> Option<&'a mut Value> {
        self.as_ref().map(|v| v.__write_value(out))
    }
    #[inline(always)]
    fn __may_own_memory(&self) -> bool {
        self.as_ref().is_some_and(ToValue::__may_own_memory)
    }
}

#[cfg(test)]
mod tests {
    use super::{OptionalValue, ToValue, Value};
    use std::mem::MaybeUninit;

    /// A string written in place (the short ones copied by `copy_short`) is the value
    /// `to_value` builds, at every length around the inline ones, through every wrapper.
    #[test]
    fn strings_written_in_place_equal_their_values() {
        let text = "abcdefghijklmnopqrstuvwxyzé0123456789";
        for end in (0..=text.len()).filter(|&end| text.is_char_boundary(end)) {
            let s = &text[..end];
            let check = |v: &dyn Fn(&mut MaybeUninit<Value>) -> *const Value| {
                let mut out = MaybeUninit::uninit();
                let at = v(&mut out);
                assert!(std::ptr::eq(at, out.as_ptr()));
                // SAFETY: written, as `__write_value` returned the slot itself.
                let written = unsafe { out.assume_init() };
                assert_eq!(written, s.to_value(), "{s:?}");
                assert_eq!(written.as_str(), Some(s));
                assert_eq!(written.owns_memory(), s.to_value().owns_memory(), "{s:?}");
            };
            check(&|out| s.__write_value(out));
            check(&|out| (&s).__write_value(out));
            check(&|out| s.to_owned().__write_value(out));
            check(&|out| std::borrow::Cow::Borrowed(s).__write_value(out));
            check(&|out| Box::<str>::from(s).__write_value(out));
        }
    }

    /// Whether a value may own memory is told before it is written, never `false` for a
    /// value that does (an integer past `i64` may: its digits fit inline).
    #[test]
    fn may_own_memory_is_told_before_writing() {
        fn told<T: OptionalValue + ?Sized>(v: &T, may: bool) {
            let owns = v.optional_value().is_some_and(|v| v.owns_memory());
            assert_eq!(v.__may_own_memory(), may);
            assert!(may || !owns);
        }
        let short = "x".repeat(16);
        // Inline, but told as may-own (looked at once written).
        let inline = "x".repeat(24);
        let long = "x".repeat(25);
        told(short.as_str(), false);
        told(inline.as_str(), true);
        told(long.as_str(), true);
        told(&long, true);
        told(&&*long, true);
        told(&Some(long.as_str()), true);
        told(&None::<&str>, false);
        told(&7_u64, false);
        told(&u64::MAX, true);
        told(&-3_i32, false);
        told(&1.5_f64, false);
        told(&true, false);
        told(&'c', false);
        told(&std::borrow::Cow::Borrowed(long.as_str()), true);
    }
}
