//! The `tracestate` header: up to 32 vendor `key=value` entries, newest first.

use super::{PropagationError, trim_ows};
use crate::model::TraceState;

/// The most list members a `tracestate` may hold.
const MAX_MEMBERS: usize = 32;
/// The longest simple key, and the longest value.
const MAX_KEY_LEN: usize = 256;
const MAX_VALUE_LEN: usize = 256;
/// The longest tenant id (before `@`) and system id (after `@`) of a multi-tenant key.
const MAX_TENANT_LEN: usize = 241;
const MAX_SYSTEM_LEN: usize = 14;

/// Parses a `tracestate` header value (repeated headers joined with `,`).
///
/// The whole list is refused, as the recommendation requires, if any member is invalid, if
/// a key appears twice, or if there are more than 32 members. Empty and white-space-only
/// members are ignored and do not count; spaces and tabs around members are `OWS`. An empty
/// header is a valid, empty trace state.
///
/// ```
/// use traced_runtime::propagation::{PropagationError, parse_trace_state};
///
/// let ts = parse_trace_state("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE")?;
/// assert_eq!(ts.get("congo"), Some("t61rcWkgMzE"));
/// assert_eq!(ts.header(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
///
/// assert_eq!(parse_trace_state("a=1,a=2"), Err(PropagationError::DuplicateTraceStateKey));
/// assert_eq!(parse_trace_state("a=1,B=2"), Err(PropagationError::InvalidTraceStateKey));
/// # Ok::<(), PropagationError>(())
/// ```
pub fn parse_trace_state(header: &str) -> Result<TraceState, PropagationError> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for member in header.split(',').map(trim_ows).filter(|m| !m.is_empty()) {
        if entries.len() == MAX_MEMBERS {
            return Err(PropagationError::TooManyTraceStateMembers);
        }
        let (key, value) = member
            .split_once('=')
            .ok_or(PropagationError::InvalidTraceStateMember)?;
        check_key(key)?;
        check_value(value)?;
        if entries.iter().any(|(k, _)| k == key) {
            return Err(PropagationError::DuplicateTraceStateKey);
        }
        entries.push((key.to_owned(), value.to_owned()));
    }
    Ok(TraceState::from_entries(entries))
}

/// Formats a trace state as a `tracestate` header value: `k1=v1,k2=v2`, newest first.
///
/// Whatever [`TraceState::from_entries`] was given, the output always parses: entries that
/// break the W3C grammar, a key's later duplicates, and entries past the 32nd are left out.
/// An empty trace state formats as an empty string, which propagators do not send.
///
/// ```
/// use traced_runtime::model::TraceState;
/// use traced_runtime::propagation::format_trace_state;
///
/// let ts = TraceState::from_entries([
///     ("congo".to_string(), "t61rcWkgMzE".to_string()),
///     ("Not A Key".to_string(), "x".to_string()),
///     ("congo".to_string(), "older".to_string()),
///     ("rojo".to_string(), "00f067aa0ba902b7".to_string()),
/// ]);
/// assert_eq!(format_trace_state(&ts), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
/// ```
pub fn format_trace_state(state: &TraceState) -> String {
    let mut out = String::new();
    let mut written: Vec<&str> = Vec::new();
    for (key, value) in state.entries() {
        if written.len() == MAX_MEMBERS {
            break;
        }
        if check_key(key).is_err() || check_value(value).is_err() || written.contains(&key.as_str())
        {
            continue;
        }
        if !written.is_empty() {
            out.push(',');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
        written.push(key);
    }
    out
}

/// The W3C mutations of a [`TraceState`]: a new or updated entry goes to the front, the
/// order of the others is kept, and the list never exceeds 32 entries.
///
/// A trace state is shared and immutable; each method returns the changed copy.
///
/// ```
/// use traced_runtime::propagation::{TraceStateExt, parse_trace_state};
///
/// let received = parse_trace_state("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")?;
/// let sent = received.insert("congo", "ucfJifl5GOE")?;
/// assert_eq!(sent.header(), "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
/// assert_eq!(sent.remove("rojo").header(), "congo=ucfJifl5GOE");
/// # Ok::<(), traced_runtime::propagation::PropagationError>(())
/// ```
pub trait TraceStateExt: sealed::Sealed {
    /// This trace state with `key` set to `value` and moved to the front (left). When that
    /// makes 33 entries, the last (oldest) is dropped.
    ///
    /// Fails, leaving nothing changed, on a key or value outside the W3C grammar.
    fn insert(&self, key: &str, value: &str) -> Result<TraceState, PropagationError>;

    /// This trace state without `key`; unchanged if it has no such entry.
    fn remove(&self, key: &str) -> TraceState;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::model::TraceState {}
}

impl TraceStateExt for TraceState {
    fn insert(&self, key: &str, value: &str) -> Result<TraceState, PropagationError> {
        check_key(key)?;
        check_value(value)?;
        let rest = self
            .entries()
            .iter()
            .filter(|(k, _)| k != key)
            .take(MAX_MEMBERS - 1)
            .cloned();
        Ok(TraceState::from_entries(
            std::iter::once((key.to_owned(), value.to_owned())).chain(rest),
        ))
    }

    fn remove(&self, key: &str) -> TraceState {
        if self.get(key).is_none() {
            return self.clone();
        }
        TraceState::from_entries(self.entries().iter().filter(|(k, _)| k != key).cloned())
    }
}

/// `key = simple-key / multi-tenant-key` (W3C Trace Context, level 1):
///
/// ```abnf
/// simple-key       = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
/// multi-tenant-key = tenant-id "@" system-id
/// tenant-id        = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
/// system-id        = lcalpha 0*13( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
/// ```
fn check_key(key: &str) -> Result<(), PropagationError> {
    let ok = match key.split_once('@') {
        None => part_ok(key, MAX_KEY_LEN, false),
        Some((tenant, system)) => {
            part_ok(tenant, MAX_TENANT_LEN, true) && part_ok(system, MAX_SYSTEM_LEN, false)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(PropagationError::InvalidTraceStateKey)
    }
}

/// One key part: 1 to `max` key characters, the first a lowercase letter (or a digit, when
/// `digit_first`). A second `@` fails here, as it is not a key character.
fn part_ok(part: &str, max: usize, digit_first: bool) -> bool {
    let bytes = part.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    bytes.len() <= max
        && (first.is_ascii_lowercase() || (digit_first && first.is_ascii_digit()))
        && bytes.iter().all(|&b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/')
        })
}

/// ```abnf
/// value    = 0*255(chr) nblk-chr
/// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
/// chr      = %x20 / nblk-chr
/// ```
fn check_value(value: &str) -> Result<(), PropagationError> {
    let bytes = value.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= MAX_VALUE_LEN
        && bytes.last() != Some(&b' ')
        && bytes
            .iter()
            .all(|&b| matches!(b, b' '..=b'~') && b != b',' && b != b'=');
    if ok {
        Ok(())
    } else {
        Err(PropagationError::InvalidTraceStateValue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PropagationError::*;

    fn entries(ts: &TraceState) -> Vec<(&str, &str)> {
        ts.entries()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    fn numbered(n: usize) -> String {
        (1..=n)
            .map(|i| format!("bar{i:02}={i:02}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every character the grammar allows in a simple key and in a value.
    fn all_key_chars() -> String {
        ('a'..='z')
            .chain('0'..='9')
            .chain(['_', '-', '*', '/'])
            .collect()
    }
    fn all_value_chars() -> String {
        (0x20u8..=0x7e)
            .filter(|b| *b != b',' && *b != b'=')
            .map(char::from)
            .collect()
    }

    #[test]
    fn spec_examples() {
        let ts = parse_trace_state("congo=t61rcWkgMzE").unwrap();
        assert_eq!(entries(&ts), [("congo", "t61rcWkgMzE")]);
        let ts = parse_trace_state("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE").unwrap();
        assert_eq!(
            entries(&ts),
            [("rojo", "00f067aa0ba902b7"), ("congo", "t61rcWkgMzE")]
        );
        assert_eq!(
            format_trace_state(&ts),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
        );
        // Congo re-enters: its entry is updated and moves to the left.
        let ts = ts.insert("congo", "ucfJifl5GOE").unwrap();
        assert_eq!(
            format_trace_state(&ts),
            "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7"
        );
        let ts = parse_trace_state("vendorname1=opaqueValue1,vendorname2=opaqueValue2").unwrap();
        assert_eq!(ts.get("vendorname2"), Some("opaqueValue2"));
    }

    #[test]
    fn valid_table() {
        let key256 = "z".repeat(256);
        let tenant_key = format!("{}@{}", "t".repeat(241), "v".repeat(14));
        let all_chars = format!("{}={}", all_key_chars(), all_value_chars());
        let all_tenant = format!("{}@a-z0-9_-*/={}", all_key_chars(), all_value_chars());
        let value256 = format!("k={}", "v".repeat(256));
        let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("", vec![]),
            (" \t ", vec![]),
            (",", vec![]),
            (" , ,\t,", vec![]),
            ("foo=1", vec![("foo", "1")]),
            ("foo=1,", vec![("foo", "1")]),
            (",foo=1", vec![("foo", "1")]),
            ("foo=1,,bar=2", vec![("foo", "1"), ("bar", "2")]),
            (
                "foo=1 \t , \t bar=2, \t baz=3",
                vec![("foo", "1"), ("bar", "2"), ("baz", "3")],
            ),
            (
                "foo=1\t \t,\t \tbar=2,\t \tbaz=3",
                vec![("foo", "1"), ("bar", "2"), ("baz", "3")],
            ),
            (" foo=1", vec![("foo", "1")]),
            ("\tfoo=1", vec![("foo", "1")]),
            ("foo=1 ", vec![("foo", "1")]),
            ("foo=1\t", vec![("foo", "1")]),
            ("\t foo=1 \t", vec![("foo", "1")]),
            // Leading spaces belong to the value, trailing ones are OWS.
            ("foo= 1  ", vec![("foo", " 1")]),
            ("foo=a b", vec![("foo", "a b")]),
            (
                "foo=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~",
                vec![("foo", "!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~")],
            ),
            ("a*/_-9=x", vec![("a*/_-9", "x")]),
            ("0tenant@sys=x", vec![("0tenant@sys", "x")]),
            ("t@v=x", vec![("t@v", "x")]),
            ("a/b@c*d=x", vec![("a/b@c*d", "x")]),
        ];
        for (header, want) in &cases {
            let ts = parse_trace_state(header).unwrap_or_else(|e| panic!("{header:?}: {e}"));
            assert_eq!(entries(&ts), *want, "{header:?}");
        }
        for (header, key) in [
            (format!("{key256}=1"), key256.as_str()),
            (format!("{tenant_key}=1"), tenant_key.as_str()),
        ] {
            let ts = parse_trace_state(&header).unwrap();
            assert_eq!(ts.get(key), Some("1"));
        }
        for header in [&all_chars, &all_tenant, &value256] {
            let ts = parse_trace_state(header).unwrap();
            let (k, v) = header.split_once('=').unwrap();
            assert_eq!(ts.get(k), Some(v), "{header}");
        }
        let ts = parse_trace_state(&numbered(32)).unwrap();
        assert_eq!(ts.entries().len(), 32);
        assert_eq!(ts.get("bar01"), Some("01"));
        // Empty members do not count towards 32.
        let ts = parse_trace_state(&format!("{},,, ,", numbered(32))).unwrap();
        assert_eq!(ts.entries().len(), 32);
    }

    #[test]
    fn invalid_table() {
        let key257 = format!("{}=1", "z".repeat(257));
        let tenant242 = format!("{}@v=1", "t".repeat(242));
        let system15 = format!("t@{}=1", "v".repeat(15));
        let value257 = format!("k={}", "v".repeat(257));
        let cases: Vec<(&str, PropagationError)> = vec![
            ("foo", InvalidTraceStateMember),
            ("foo=1,bar", InvalidTraceStateMember),
            ("=1", InvalidTraceStateKey),
            ("foo =1", InvalidTraceStateKey),
            ("foo\t=1", InvalidTraceStateKey),
            ("FOO=1", InvalidTraceStateKey),
            ("Foo=1", InvalidTraceStateKey),
            ("foo.bar=1", InvalidTraceStateKey),
            ("1foo=1", InvalidTraceStateKey),
            ("_foo=1", InvalidTraceStateKey),
            ("f\u{e9}=1", InvalidTraceStateKey),
            ("foo@=1,bar=2", InvalidTraceStateKey),
            ("@foo=1,bar=2", InvalidTraceStateKey),
            ("foo@@bar=1,bar=2", InvalidTraceStateKey),
            ("foo@bar@baz=1,bar=2", InvalidTraceStateKey),
            ("foo@1bar=1", InvalidTraceStateKey),
            ("_t@v=1", InvalidTraceStateKey),
            (&key257, InvalidTraceStateKey),
            (&tenant242, InvalidTraceStateKey),
            (&system15, InvalidTraceStateKey),
            ("foo=", InvalidTraceStateValue),
            ("foo=,bar=3", InvalidTraceStateValue),
            ("foo= ", InvalidTraceStateValue),
            ("foo=bar=baz", InvalidTraceStateValue),
            ("foo=a\tb", InvalidTraceStateValue),
            ("foo=a\nb", InvalidTraceStateValue),
            ("foo=a\u{7f}", InvalidTraceStateValue),
            ("foo=caf\u{e9}", InvalidTraceStateValue),
            (&value257, InvalidTraceStateValue),
            ("foo=1,foo=1", DuplicateTraceStateKey),
            ("foo=1,foo=2", DuplicateTraceStateKey),
            ("foo=1,bar=2,foo=3", DuplicateTraceStateKey),
            ("t@v=1,t@v=2", DuplicateTraceStateKey),
        ];
        for (header, want) in cases {
            assert_eq!(parse_trace_state(header), Err(want), "{header:?}");
        }
        assert_eq!(
            parse_trace_state(&numbered(33)),
            Err(TooManyTraceStateMembers)
        );
        // The first error found is reported; the list is refused either way.
        assert!(parse_trace_state("good=1,BAD=2,good=3").is_err());
    }

    #[test]
    fn long_headers_are_cheap() {
        let ts = parse_trace_state(&format!("a=1{}b=2", ", \t".repeat(1_000_000))).unwrap();
        assert_eq!(entries(&ts), [("a", "1"), ("b", "2")]);
        let many = "k=v,".repeat(1_000_000);
        assert_eq!(parse_trace_state(&many), Err(DuplicateTraceStateKey));
        let distinct = (0..100_000)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(parse_trace_state(&distinct), Err(TooManyTraceStateMembers));
    }

    #[test]
    fn format_skips_what_would_not_parse() {
        let ts = TraceState::from_entries(
            [
                ("a", "1"),
                ("", "x"),
                ("b", ""),
                ("c", "trailing "),
                ("a", "2"),
                ("d", "x,y"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        assert_eq!(format_trace_state(&ts), "a=1");
        assert_eq!(format_trace_state(&TraceState::NONE), "");

        let many = TraceState::from_entries((0..40).map(|i| (format!("k{i}"), format!("{i}"))));
        let header = format_trace_state(&many);
        let parsed = parse_trace_state(&header).unwrap();
        assert_eq!(parsed.entries().len(), 32);
        assert_eq!(parsed.entries(), &many.entries()[..32]);
    }

    #[test]
    fn insert_adds_and_moves_to_front() {
        let ts = TraceState::NONE.insert("a", "1").unwrap();
        assert_eq!(entries(&ts), [("a", "1")]);
        let ts = ts.insert("b", "2").unwrap().insert("c", "3").unwrap();
        assert_eq!(entries(&ts), [("c", "3"), ("b", "2"), ("a", "1")]);
        let ts = ts.insert("a", "9").unwrap();
        assert_eq!(entries(&ts), [("a", "9"), ("c", "3"), ("b", "2")]);
        let tenant = ts.insert("acme@congo", " lead").unwrap();
        assert_eq!(tenant.get("acme@congo"), Some(" lead"));
    }

    #[test]
    fn insert_evicts_from_the_back() {
        let full = parse_trace_state(&numbered(32)).unwrap();
        let ts = full.insert("new", "x").unwrap();
        assert_eq!(ts.entries().len(), 32);
        assert_eq!(ts.entries()[0], ("new".to_owned(), "x".to_owned()));
        assert_eq!(ts.entries()[31].0, "bar31");
        assert!(ts.get("bar32").is_none());
        // Updating a present key evicts nothing.
        let ts = full.insert("bar32", "y").unwrap();
        assert_eq!(ts.entries().len(), 32);
        assert_eq!(ts.entries()[0].0, "bar32");
        assert_eq!(ts.entries()[31].0, "bar31");
    }

    #[test]
    fn insert_validates() {
        let ts = parse_trace_state("a=1").unwrap();
        for (key, value, want) in [
            ("Bad", "1", InvalidTraceStateKey),
            ("", "1", InvalidTraceStateKey),
            ("a@", "1", InvalidTraceStateKey),
            ("ok", "", InvalidTraceStateValue),
            ("ok", "a,b", InvalidTraceStateValue),
            ("ok", "a=b", InvalidTraceStateValue),
            ("ok", "end ", InvalidTraceStateValue),
            ("ok", "\u{1f600}", InvalidTraceStateValue),
        ] {
            assert_eq!(ts.insert(key, value), Err(want), "{key:?}={value:?}");
        }
        assert_eq!(
            ts.insert("ok", &"v".repeat(257)),
            Err(InvalidTraceStateValue)
        );
        assert!(ts.insert("ok", &"v".repeat(256)).is_ok());
    }

    #[test]
    fn remove() {
        let ts = parse_trace_state("a=1,b=2,c=3").unwrap();
        assert_eq!(entries(&ts.remove("b")), [("a", "1"), ("c", "3")]);
        assert_eq!(ts.remove("zz"), ts);
        assert!(ts.remove("a").remove("b").remove("c").is_empty());
        assert!(TraceState::NONE.remove("a").is_empty());
    }
}
