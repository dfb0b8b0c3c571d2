//! Arguments of a scalar or shared-reference type pass through the branch that records them
//! (the expansion moves them into a tuple there and back, so that they are written to the
//! stack only when the span records). Whatever the path, the function gets the values it was
//! called with, returns what it returns, and the span records the values the call received:
//! recorded, sampled out, with nothing installed, mixed with arguments that stay in place, read
//! by `attrs` and `links` expressions, in methods and `async fn`s.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]
#![allow(unreachable_pub)]

use traced::testing::{capture, capture_with, one};
use traced::{SpanContext, Value, traced};

fn s(v: &str) -> Value {
    Value::String(v.into())
}

#[traced]
#[allow(unused_parens, reason = "a parenthesized type passes through too")]
#[allow(
    clippy::many_single_char_names,
    clippy::too_many_arguments,
    reason = "one argument of each kind"
)]
fn scalars(a: u8, b: i64, c: f64, d: bool, e: &str, f: &String, g: usize, h: (u8)) -> String {
    format!("{a} {b} {c} {d} {e} {f} {g} {h}")
}

#[test]
fn every_scalar_and_reference_is_recorded_and_reaches_the_body() {
    let owned = String::from("owned");
    let (out, spans) = capture(|| scalars(7, -3, 0.5, true, "text", &owned, 9, 1));
    assert_eq!(out, "7 -3 0.5 true text owned 9 1");
    let span = one(&spans, "scalars");
    assert_eq!(span.attribute("a"), Some(&Value::I64(7)));
    assert_eq!(span.attribute("b"), Some(&Value::I64(-3)));
    assert_eq!(span.attribute("c"), Some(&Value::F64(0.5)));
    assert_eq!(span.attribute("d"), Some(&Value::Bool(true)));
    assert_eq!(span.attribute("e"), Some(&s("text")));
    assert_eq!(span.attribute("f"), Some(&s("owned")));
    assert_eq!(span.attribute("g"), Some(&Value::I64(9)));
    assert_eq!(span.attribute("h"), Some(&Value::I64(1)));
}

/// The borrow keeps the caller's lifetime through the branch.
#[traced]
fn prefix<'a>(text: &'a str, n: usize) -> &'a str {
    &text[..n]
}

#[traced]
fn bump(mut n: u32, by: u32) -> u32 {
    n += by;
    n
}

#[test]
fn borrowed_results_and_mut_parameters_keep_their_meaning() {
    let text = String::from("checkout");
    let (out, spans) = capture(|| (prefix(&text, 5), bump(1, 2)));
    assert_eq!(out, ("check", 3));
    assert_eq!(
        one(&spans, "prefix").attribute("text"),
        Some(&s("checkout"))
    );
    let bump = one(&spans, "bump");
    // The value the call received, not the one the body made of it.
    assert_eq!(bump.attribute("n"), Some(&Value::I64(1)));
    assert_eq!(bump.attribute("by"), Some(&Value::I64(2)));
}

/// `String` and `Vec` stay where the caller put them; `id` and `name` pass through.
#[traced]
fn mixed(owned: String, id: u64, items: Vec<u8>, name: &str) -> usize {
    owned.len() + items.len() + name.len() + usize::try_from(id).unwrap()
}

/// `list` is `&mut`, which does not pass through (it is not `Copy`).
#[traced(skip(list))]
fn push(list: &mut Vec<u8>, x: u8) -> usize {
    list.push(x);
    list.len()
}

#[test]
fn arguments_that_stay_in_place_are_recorded_beside_those_that_pass() {
    let mut list = vec![1];
    let (out, spans) = capture(|| {
        (
            mixed("ab".into(), 10, vec![1, 2, 3], "xyz"),
            push(&mut list, 4),
        )
    });
    assert_eq!(out, (18, 2));
    assert_eq!(list, [1, 4]);
    let span = one(&spans, "mixed");
    assert_eq!(span.attribute("owned"), Some(&s("ab")));
    assert_eq!(span.attribute("id"), Some(&Value::I64(10)));
    assert_eq!(span.attribute("name"), Some(&s("xyz")));
    assert!(span.attribute("items").is_some());
    let push = one(&spans, "push");
    assert_eq!(push.attribute("x"), Some(&Value::I64(4)));
    assert_eq!(push.attribute("list"), None);
}

/// The `attrs` expressions read `id` and `name` as the parameters they are.
#[traced(attrs(order.next = id + 1, order.upper = name.to_uppercase()))]
fn with_attrs(id: u64, name: &str) -> u64 {
    id * 2 + name.len() as u64
}

/// `ctx`, read by `links`, stays where it is; `n` passes through, copied for the closure.
#[traced(links(*ctx => (link.n = n)))]
fn linked(ctx: &SpanContext, n: u64) -> u64 {
    n + 1
}

#[test]
fn attrs_and_links_expressions_read_the_arguments() {
    let (out, spans) = capture(|| {
        let other = traced::span("other").start();
        let context = other.span_context();
        (with_attrs(20, "ab"), linked(&context, 5))
    });
    assert_eq!(out, (42, 6));
    let span = one(&spans, "with_attrs");
    assert_eq!(span.attribute("id"), Some(&Value::I64(20)));
    assert_eq!(span.attribute("name"), Some(&s("ab")));
    assert_eq!(span.attribute("order.next"), Some(&Value::I64(21)));
    assert_eq!(span.attribute("order.upper"), Some(&s("AB")));
    let linked = one(&spans, "linked");
    assert_eq!(linked.attribute("n"), Some(&Value::I64(5)));
    assert_eq!(linked.links.len(), 1);
    assert_eq!(
        linked.links[0].span_context.span_id(),
        one(&spans, "other").span_context.span_id()
    );
    assert_eq!(linked.links[0].attributes[0].value, Value::I64(5));
}

struct Store {
    items: Vec<u8>,
}

impl Store {
    #[traced]
    fn get(&self, index: usize, fallback: u8) -> u8 {
        self.items.get(index).copied().unwrap_or(fallback)
    }
}

#[traced(reveal(token))]
async fn login(user: &str, token: &str, attempt: u32) -> String {
    format!("{user}:{}:{attempt}", token.len())
}

#[test]
fn methods_revealed_secrets_and_async_fns() {
    let store = Store { items: vec![5, 6] };
    let (out, spans) = capture(|| {
        (
            store.get(1, 0),
            store.get(9, 3),
            futures_lite_block_on(login("ann", "s3cret", 2)),
        )
    });
    assert_eq!(out, (6, 3, "ann:6:2".to_owned()));
    let gets: Vec<_> = spans.iter().filter(|s| s.name == "Store::get").collect();
    assert_eq!(gets.len(), 2);
    assert_eq!(gets[0].attribute("index"), Some(&Value::I64(1)));
    assert_eq!(gets[1].attribute("fallback"), Some(&Value::I64(3)));
    let login = one(&spans, "login");
    assert_eq!(login.attribute("user"), Some(&s("ann")));
    assert_eq!(login.attribute("token"), Some(&s("s3cret")));
    assert_eq!(login.attribute("attempt"), Some(&Value::I64(2)));
}

#[test]
fn unrecorded_calls_get_the_same_arguments() {
    // Nothing installed.
    assert_eq!(
        scalars(1, 2, 1.5, false, "t", &"o".into(), 3, 4),
        "1 2 1.5 false t o 3 4"
    );
    assert_eq!(with_attrs(4, "x"), 9);
    // Installed, sampled out.
    let (out, spans) = capture_with(
        |b| b.with_sampler(traced::Sampler::AlwaysOff),
        || {
            (
                bump(5, 1),
                mixed("a".into(), 1, vec![], "b"),
                prefix("abc", 2),
            )
        },
    );
    assert_eq!(out, (6, 3, "ab"));
    assert!(spans.is_empty());
}

/// A minimal executor: the futures here never wait.
fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// References of every shape, wide integers, a char and a raw pointer (recorded as `Debug`).
#[traced]
#[allow(
    clippy::many_single_char_names,
    clippy::too_many_arguments,
    clippy::ref_option,
    reason = "one argument of each kind"
)]
fn shapes(
    a: &dyn std::fmt::Debug,
    b: &[u8],
    c: &'static str,
    d: &Option<u8>,
    e: char,
    f: u128,
    g: i128,
    h: *const u8,
) -> usize {
    format!("{a:?}").len()
        + b.len()
        + c.len()
        + usize::from(d.is_some())
        + e.len_utf8()
        + usize::try_from(f).unwrap()
        + usize::try_from(g).unwrap()
        + usize::from(!h.is_null())
}

#[test]
fn references_of_every_shape_pass_through() {
    let byte = 0u8;
    let (out, spans) = capture(|| {
        shapes(
            &7,
            &[1, 2],
            "abc",
            &Some(1),
            'é',
            2,
            3,
            std::ptr::from_ref(&byte),
        )
    });
    assert_eq!(out, 1 + 2 + 3 + 1 + 2 + 2 + 3 + 1);
    let span = one(&spans, "shapes");
    assert_eq!(span.attribute("c"), Some(&s("abc")));
    assert_eq!(span.attribute("e"), Some(&s("é")));
    assert!(span.attribute("a").is_some() && span.attribute("h").is_some());
}
