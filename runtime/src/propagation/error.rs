//! The error of the parsers and of the trace state and baggage mutation API.

use std::fmt;

/// Why a header, a trace state entry or a baggage entry was refused.
///
/// Propagators never return it: on the wire, invalid input is dropped as the W3C
/// recommendations require. It comes from the parsers and from the mutation API, where the
/// caller can act on it.
///
/// ```
/// use traced_runtime::model::TraceState;
/// use traced_runtime::propagation::{PropagationError, TraceStateExt};
///
/// let err = TraceState::NONE.insert("Congo", "t61rcWkgMzE").unwrap_err();
/// assert_eq!(err, PropagationError::InvalidTraceStateKey);
/// assert_eq!(err.to_string(), "invalid tracestate key");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PropagationError {
    /// A `traceparent` that does not follow the version `00` format (or, for a later
    /// version, whose first 55 characters do not), has version `ff`, or an all-zero id.
    InvalidTraceParent,
    /// A `tracestate` key outside the W3C Level 2 key grammar: 1 to 256 characters from
    /// `[a-z0-9_\-*/@]`, the first a lowercase letter or a digit.
    InvalidTraceStateKey,
    /// A `tracestate` value that is empty, longer than 256 characters, ends with a space, or
    /// holds a character outside printable ASCII or `,` or `=`.
    InvalidTraceStateValue,
    /// A `tracestate` list member without `=`.
    InvalidTraceStateMember,
    /// A `tracestate` header with more than 32 list members.
    TooManyTraceStateMembers,
    /// A baggage key that is not an RFC 7230 `token`.
    InvalidBaggageKey,
    /// Baggage properties outside the grammar `key [= value] *(; key [= value])`.
    InvalidBaggageProperties,
    /// An insertion that would take the baggage past 64 members or 8192 bytes on the wire.
    BaggageTooLarge,
}

impl fmt::Display for PropagationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidTraceParent => "invalid traceparent",
            Self::InvalidTraceStateKey => "invalid tracestate key",
            Self::InvalidTraceStateValue => "invalid tracestate value",
            Self::InvalidTraceStateMember => "invalid tracestate list member",
            Self::TooManyTraceStateMembers => "more than 32 tracestate list members",
            Self::InvalidBaggageKey => "invalid baggage key",
            Self::InvalidBaggageProperties => "invalid baggage properties",
            Self::BaggageTooLarge => "baggage over 64 members or 8192 bytes",
        })
    }
}

impl std::error::Error for PropagationError {}
