//! Carriers: where propagators read and write headers.

use std::collections::HashMap;
use std::hash::BuildHasher;

/// Reads header values from a carrier (an HTTP request's headers, message metadata).
///
/// Header names are matched case-insensitively, as HTTP requires.
///
/// ```
/// use std::collections::HashMap;
/// use traced_runtime::propagation::Extractor;
///
/// let mut headers = HashMap::new();
/// headers.insert("TraceParent".to_string(), "value".to_string());
/// assert_eq!(Extractor::get(&headers, "traceparent"), Some("value"));
/// assert_eq!(headers.get_all("TRACEPARENT"), vec!["value"]);
/// ```
pub trait Extractor {
    /// The value of `key`, if present. When the header is repeated, one of its values.
    fn get(&self, key: &str) -> Option<&str>;

    /// Every value of `key`, in the order the carrier holds them; empty if absent.
    ///
    /// Propagators use it to combine repeated `tracestate` and `baggage` headers and to
    /// reject repeated `traceparent` headers. The default returns [`get`](Self::get)'s
    /// value: carriers that can hold a header more than once should override it.
    fn get_all(&self, key: &str) -> Vec<&str> {
        self.get(key).into_iter().collect()
    }

    /// Calls `f` with every value of `key`, in [`get_all`](Self::get_all)'s order, without
    /// collecting them: what the propagators call on every request they extract from. The
    /// default goes through `get_all`; a carrier that can walk a header's values in place
    /// should override it (`http::HeaderMap` does, and allocates nothing).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use traced_runtime::propagation::Extractor;
    ///
    /// let headers = HashMap::from([("tracestate".to_string(), "a=1".to_string())]);
    /// let mut seen = Vec::new();
    /// headers.for_each_value("tracestate", &mut |v| seen.push(v));
    /// assert_eq!(seen, ["a=1"]);
    /// ```
    fn for_each_value<'a>(&'a self, key: &str, f: &mut dyn FnMut(&'a str)) {
        for value in self.get_all(key) {
            f(value);
        }
    }

    /// The names of all headers in the carrier.
    fn keys(&self) -> Vec<&str>;
}

/// Writes header values into a carrier.
///
/// ```
/// use std::collections::HashMap;
/// use traced_runtime::propagation::Injector;
///
/// let mut headers = HashMap::new();
/// headers.insert("TraceParent".to_string(), "old".to_string());
/// headers.set("traceparent", "new".to_string());
/// assert_eq!(headers.len(), 1);
/// assert_eq!(headers["traceparent"], "new");
/// ```
pub trait Injector {
    /// Sets `key` to `value`, replacing any value the carrier held for it.
    fn set(&mut self, key: &str, value: String);
}

/// Header names are case-insensitive: lookups try the exact name, then any spelling.
/// When several spellings are present (`traceparent` and `TraceParent`), they count as a
/// repeated header, ordered by name so the result does not depend on the hasher.
impl<S: BuildHasher> Extractor for HashMap<String, String, S> {
    fn get(&self, key: &str) -> Option<&str> {
        if let Some(v) = HashMap::get(self, key) {
            return Some(v.as_str());
        }
        self.iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .min_by(|a, b| a.0.cmp(b.0))
            .map(|(_, v)| v.as_str())
    }

    fn get_all(&self, key: &str) -> Vec<&str> {
        let mut found: Vec<(&String, &String)> = self
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .collect();
        found.sort_unstable_by(|a, b| a.0.cmp(b.0));
        found.into_iter().map(|(_, v)| v.as_str()).collect()
    }

    fn keys(&self) -> Vec<&str> {
        HashMap::keys(self).map(String::as_str).collect()
    }
}

/// Replaces every spelling of `key` already present and stores the name in lowercase.
impl<S: BuildHasher> Injector for HashMap<String, String, S> {
    fn set(&mut self, key: &str, value: String) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(key));
        self.insert(key.to_ascii_lowercase(), value);
    }
}

/// What a header value that is not UTF-8 reads as: a string every parser here rejects, so a
/// repeated `traceparent` still counts as repeated and a bad `tracestate` still voids the list.
#[cfg(feature = "http")]
const NOT_UTF8: &str = "\u{fffd}";

#[cfg(feature = "http")]
fn header_str(value: &http::HeaderValue) -> &str {
    std::str::from_utf8(value.as_bytes()).unwrap_or(NOT_UTF8)
}

/// Reads `http` headers; `get_all` returns a repeated header's values in order.
#[cfg(feature = "http")]
impl Extractor for http::HeaderMap {
    fn get(&self, key: &str) -> Option<&str> {
        // `HeaderMap::get` rather than the first of `values`: fewer instructions a request.
        match propagated(key) {
            Some(name) => http::HeaderMap::get(self, name),
            None => http::HeaderMap::get(self, key),
        }
        .map(header_str)
    }

    fn get_all(&self, key: &str) -> Vec<&str> {
        values(self, key).iter().map(header_str).collect()
    }

    fn for_each_value<'a>(&'a self, key: &str, f: &mut dyn FnMut(&'a str)) {
        for value in values(self, key) {
            f(header_str(value));
        }
    }

    fn keys(&self) -> Vec<&str> {
        http::HeaderMap::keys(self)
            .map(http::HeaderName::as_str)
            .collect()
    }
}

/// The values of `key` in `map`, the propagators' own headers looked up by their parsed names.
#[cfg(feature = "http")]
#[inline]
fn values<'a>(map: &'a http::HeaderMap, key: &str) -> http::header::GetAll<'a, http::HeaderValue> {
    match propagated(key) {
        Some(name) => map.get_all(name),
        None => map.get_all(key),
    }
}

/// The headers the propagators read, parsed once: looked up by a `&str`, a header name is
/// parsed and validated at every lookup (about 300 instructions each, `instr server`).
#[cfg(feature = "http")]
fn propagated(key: &str) -> Option<&'static http::HeaderName> {
    static TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");
    static TRACESTATE: http::HeaderName = http::HeaderName::from_static("tracestate");
    static BAGGAGE: http::HeaderName = http::HeaderName::from_static("baggage");
    match key {
        "traceparent" => Some(&TRACEPARENT),
        "tracestate" => Some(&TRACESTATE),
        "baggage" => Some(&BAGGAGE),
        _ => None,
    }
}

/// Writes `http` headers, replacing earlier values. A name or value that HTTP cannot carry
/// (propagators never produce one) is skipped rather than panicking.
#[cfg(feature = "http")]
impl Injector for http::HeaderMap {
    fn set(&mut self, key: &str, value: String) {
        let name = match propagated(key) {
            Some(name) => Ok(name.clone()),
            None => http::HeaderName::from_bytes(key.as_bytes()),
        };
        if let (Ok(name), Ok(value)) = (name, http::HeaderValue::try_from(value)) {
            self.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn hashmap_lookup_ignores_case() {
        let m = map(&[("TrAcEpArEnT", "a"), ("other", "b")]);
        assert_eq!(Extractor::get(&m, "traceparent"), Some("a"));
        assert_eq!(Extractor::get(&m, "TRACEPARENT"), Some("a"));
        assert_eq!(Extractor::get(&m, "trace-parent"), None);
        assert_eq!(m.get_all("traceparent"), vec!["a"]);
        assert!(m.get_all("missing").is_empty());
        let mut keys = Extractor::keys(&m);
        keys.sort_unstable();
        assert_eq!(keys, vec!["TrAcEpArEnT", "other"]);
    }

    #[test]
    fn hashmap_spellings_count_as_repeats() {
        let m = map(&[("tracestate", "b=2"), ("TraceState", "a=1")]);
        assert_eq!(m.get_all("tracestate"), vec!["a=1", "b=2"]);
        // The exact spelling wins for `get`.
        assert_eq!(Extractor::get(&m, "tracestate"), Some("b=2"));
        assert_eq!(Extractor::get(&m, "TRACESTATE"), Some("a=1"));
    }

    #[test]
    fn hashmap_set_replaces_every_spelling() {
        let mut m = map(&[("TraceParent", "a"), ("TRACEPARENT", "b"), ("x", "y")]);
        m.set("traceparent", "c".to_string());
        assert_eq!(m, map(&[("traceparent", "c"), ("x", "y")]));
        m.set("Baggage", "d".to_string());
        assert_eq!(m.get("baggage").map(String::as_str), Some("d"));
    }

    struct OnlyGet;
    impl Extractor for OnlyGet {
        fn get(&self, key: &str) -> Option<&str> {
            (key == "k").then_some("v")
        }
        fn keys(&self) -> Vec<&str> {
            vec!["k"]
        }
    }

    #[test]
    fn default_get_all_uses_get() {
        assert_eq!(OnlyGet.get_all("k"), vec!["v"]);
        assert!(OnlyGet.get_all("z").is_empty());
    }

    #[cfg(feature = "http")]
    #[test]
    fn header_map_repeats_and_case() {
        use http::{HeaderMap, HeaderValue};
        let mut h = HeaderMap::new();
        h.append("tracestate", HeaderValue::from_static("a=1"));
        h.append("TraceState", HeaderValue::from_static("b=2"));
        assert_eq!(Extractor::get_all(&h, "TRACESTATE"), vec!["a=1", "b=2"]);
        assert_eq!(Extractor::get(&h, "TraceState"), Some("a=1"));
        assert_eq!(Extractor::keys(&h), vec!["tracestate"]);

        h.append("baggage", HeaderValue::from_bytes(b"k=\xff").unwrap());
        assert_eq!(Extractor::get(&h, "baggage"), Some(NOT_UTF8));

        h.set("TraceState", "c=3".to_string());
        assert_eq!(Extractor::get_all(&h, "tracestate"), vec!["c=3"]);
        // Not a header name or value: skipped, no panic.
        h.set("bad name", "x".to_string());
        h.set("ok", "line\nbreak".to_string());
        assert!(Extractor::get(&h, "ok").is_none());
    }
}
