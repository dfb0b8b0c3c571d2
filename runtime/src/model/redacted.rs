//! `Redacted<T>`: a value that never shows itself in spans, logs or `Debug` output.

use crate::model::{StringValue, ToValue, Value};
use std::fmt;
use std::ops::{Deref, DerefMut};

/// What a redacted value is recorded and printed as.
pub(crate) const TEXT: &str = "[REDACTED]";

/// A value that is recorded as `[REDACTED]` wherever it would show: as a `#[traced]` argument
/// (or inside one, through `Debug`), and in `Debug` and `Display` output. The value itself is
/// reached through `Deref`, [`Redacted::expose`] or [`Redacted::into_inner`].
///
/// Wrapping a secret in its type protects it everywhere, not only in the functions whose
/// parameter names give it away:
///
/// ```
/// use traced_runtime::{Redacted, ToValue, Value};
///
/// #[derive(Debug)]
/// struct Login {
///     user: String,
///     password: Redacted<String>,
/// }
///
/// let login = Login { user: "ada".into(), password: Redacted::new("hunter2".into()) };
/// assert_eq!(format!("{login:?}"), r#"Login { user: "ada", password: [REDACTED] }"#);
/// assert_eq!(login.password.to_value(), Value::String("[REDACTED]".into()));
/// assert_eq!(login.password.len(), 7); // Deref to the String
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Redacted<T>(T);

impl<T> Redacted<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        Redacted(value)
    }

    /// The value, for the code that needs it.
    pub const fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Redacted<T> {
    fn from(value: T) -> Self {
        Redacted(value)
    }
}

impl<T> Deref for Redacted<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Redacted<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(TEXT)
    }
}

impl<T> fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(TEXT)
    }
}

impl<T> ToValue for Redacted<T> {
    #[inline]
    fn to_value(&self) -> Value {
        Value::String(StringValue::from_static(TEXT))
    }
}
