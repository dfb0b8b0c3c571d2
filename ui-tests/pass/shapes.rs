//! Function shapes that must compile, and behave, exactly as without `#[traced]`.
#![deny(warnings)]
#![allow(
    clippy::unnecessary_wraps,
    clippy::unused_self,
    clippy::needless_pass_by_value
)]

use std::fmt::{Debug, Display};
use std::pin::Pin;
use std::sync::Arc;
use traced::traced;

#[derive(Debug, Default)]
struct Counter {
    n: u64,
}

struct NotDebug;

impl Counter {
    #[traced]
    fn by_ref(&self) -> u64 {
        self.n
    }

    #[traced]
    fn by_mut(&mut self, by: u64) {
        self.n += by;
    }

    #[traced]
    fn by_value(self) -> u64 {
        self.n
    }

    #[traced]
    fn by_mut_value(mut self) -> Self {
        self.n += 1;
        self
    }

    #[traced]
    fn boxed(self: Box<Self>) -> u64 {
        self.n
    }

    #[traced]
    fn arced(self: Arc<Self>) -> u64 {
        self.n
    }

    #[traced]
    fn pinned(self: Pin<&mut Self>) -> u64 {
        self.n
    }

    #[traced]
    fn explicit_lifetime<'a>(&'a self, s: &'a str) -> &'a str {
        if self.n == 0 { s } else { "" }
    }

    #[traced]
    fn new() -> Self {
        Self::default()
    }
}

impl NotDebug {
    // A receiver that is neither `Debug` nor a value is not recorded, silently.
    #[traced]
    fn method(&self, x: u8) -> u8 {
        x
    }
}

trait Shape {
    fn area(&self) -> f64;

    #[traced]
    fn describe(&self) -> String {
        format!("area {}", self.area())
    }
}

#[derive(Debug)]
struct Square(f64);

impl Shape for Square {
    #[traced(name = "Square::area")]
    fn area(&self) -> f64 {
        self.0 * self.0
    }
}

#[traced]
fn generic<T: Debug + Clone, const N: usize>(items: [T; N]) -> Vec<T>
where
    T: PartialEq,
{
    items.to_vec()
}

#[traced]
fn lifetimes<'a, 'b: 'a>(a: &'a str, b: &'b str) -> &'a str {
    if a.len() > b.len() { a } else { b }
}

#[traced(skip(y))]
fn impl_trait_arg(x: impl Display + Debug, y: impl Into<String>) -> String {
    format!("{x}{}", y.into())
}

#[traced]
fn impl_trait_return(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[traced]
fn impl_trait_in_result(ok: bool) -> Result<impl Display, String> {
    if ok { Ok(1) } else { Err("no".to_owned()) }
}

#[traced]
fn patterns((a, b): (u8, u8), _: u8, [c, ..]: [u8; 2], ref d: u8, e @ 0..=u8::MAX: u8) -> u8 {
    a + b + c + *d + e
}

#[traced]
fn underscore_prefixed(_unused: u8, used: u8) -> u8 {
    used
}

#[traced]
fn r#match(r#type: u8, r#loop: bool) -> u8 {
    if r#loop { r#type } else { 0 }
}

#[traced]
unsafe fn unsafe_fn(p: *const u8) -> u8 {
    // SAFETY: the caller passes a valid pointer.
    unsafe { *p }
}

#[traced]
extern "C" fn extern_c(x: i32) -> i32 {
    x + 1
}

#[traced]
unsafe extern "C" fn unsafe_extern_c(x: i32) -> i32 {
    x - 1
}

#[traced]
#[track_caller]
fn caller_line() -> u32 {
    std::panic::Location::caller().line()
}

#[traced]
fn question_mark(s: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = s.parse()?;
    Ok(n * 2)
}

#[traced]
fn question_mark_option(v: &[u8]) -> Option<u8> {
    let first = v.first()?;
    Some(*first + 1)
}

#[traced]
fn question_mark_converts(s: &str) -> Result<u32, Box<dyn std::error::Error>> {
    let n: u32 = s.parse()?;
    if n == 0 {
        return Err("zero".into());
    }
    Ok(n)
}

#[traced]
fn anyhow_error(s: &str) -> anyhow::Result<u32> {
    let n: u32 = s.parse()?;
    anyhow::ensure!(n < 100, "too big: {n}");
    Ok(n)
}

#[traced]
fn early_returns(x: i32) -> &'static str {
    let Some(sign) = x.checked_abs() else {
        return "overflow";
    };
    for i in 0..10 {
        if i == sign {
            return "small";
        }
    }
    'outer: loop {
        loop {
            break 'outer;
        }
    }
    match x {
        0 => return "zero",
        _ => {}
    }
    let closure = |y: i32| -> i32 {
        if y > 0 {
            return 1;
        }
        0
    };
    let _ = closure(x);
    "big"
}

#[traced]
fn user_label_with_the_macros_name(x: u8) -> u8 {
    let y = '__traced_body: {
        if x > 1 {
            break '__traced_body x;
        }
        0
    };
    if y == 0 {
        return 1;
    }
    y
}

#[traced]
fn returns_unit(v: &mut Vec<u8>) {
    if v.is_empty() {
        return;
    }
    v.clear();
}

#[traced]
fn diverges() -> ! {
    panic!("never returns")
}

#[traced]
#[allow(clippy::diverging_sub_expression)]
fn todo_body() -> u32 {
    todo!()
}

#[traced]
fn coerces() -> Box<dyn Display> {
    if true {
        return Box::new(1);
    }
    Box::new("x")
}

#[traced]
fn nested_items() -> u8 {
    fn helper() -> Option<u8> {
        let x = Some(1)?;
        return Some(x);
    }
    helper().unwrap_or(0)
}

#[traced]
fn inner_attribute() -> u8 {
    #![allow(clippy::let_and_return)]
    let x = 1;
    x
}

#[traced(skip(not_debug))]
fn skipped(not_debug: NotDebug, x: u8) -> u8 {
    let NotDebug = not_debug;
    x
}

#[traced(skip_all, attrs(len = v.len(), "kind" = "vec"))]
fn with_attrs(v: Vec<NotDebug>) -> usize {
    v.len()
}

#[traced]
fn mut_param(mut v: Vec<u8>) -> Vec<u8> {
    v.push(1);
    v
}

#[traced]
fn lint_attr_on_param(#[allow(unused_variables)] unused: u8) {}

fn main() {
    let mut c = Counter::new();
    c.by_mut(2);
    assert_eq!(c.by_ref(), 2);
    assert_eq!(Counter { n: 3 }.by_value(), 3);
    assert_eq!(Counter { n: 3 }.by_mut_value().n, 4);
    assert_eq!(Box::new(Counter { n: 5 }).boxed(), 5);
    assert_eq!(Arc::new(Counter { n: 6 }).arced(), 6);
    let mut pinned = Counter { n: 7 };
    assert_eq!(Pin::new(&mut pinned).pinned(), 7);
    assert_eq!(Counter::new().explicit_lifetime("s"), "s");
    assert_eq!(NotDebug.method(1), 1);
    assert_eq!(Square(2.0).describe(), "area 4");
    assert_eq!(generic([1, 2]), vec![1, 2]);
    assert_eq!(lifetimes("aa", "b"), "aa");
    assert_eq!(impl_trait_arg(1, "x"), "1x");
    assert_eq!(impl_trait_return(3).count(), 3);
    assert_eq!(impl_trait_in_result(true).unwrap().to_string(), "1");
    assert!(impl_trait_in_result(false).is_err());
    assert_eq!(patterns((1, 2), 3, [4, 5], 6, 7), 20);
    assert_eq!(underscore_prefixed(1, 2), 2);
    assert_eq!(r#match(3, true), 3);
    // SAFETY: a valid pointer.
    assert_eq!(unsafe { unsafe_fn(&9) }, 9);
    assert_eq!(extern_c(1), 2);
    // SAFETY: nothing unsafe inside.
    assert_eq!(unsafe { unsafe_extern_c(1) }, 0);
    assert_eq!(caller_line(), line!());
    assert_eq!(question_mark("21"), Ok(42));
    assert!(question_mark("x").is_err());
    assert_eq!(question_mark_option(&[1]), Some(2));
    assert_eq!(question_mark_option(&[]), None);
    assert_eq!(question_mark_converts("3").unwrap(), 3);
    assert_eq!(question_mark_converts("0").unwrap_err().to_string(), "zero");
    assert!(question_mark_converts("x").is_err());
    assert!(anyhow_error("100").is_err());
    assert_eq!(anyhow_error("1").unwrap(), 1);
    assert_eq!(early_returns(0), "small");
    assert_eq!(early_returns(i32::MIN), "overflow");
    assert_eq!(early_returns(50), "big");
    assert_eq!(user_label_with_the_macros_name(0), 1);
    assert_eq!(user_label_with_the_macros_name(5), 5);
    returns_unit(&mut vec![1]);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    assert!(std::panic::catch_unwind(|| diverges()).is_err());
    assert!(std::panic::catch_unwind(todo_body).is_err());
    std::panic::set_hook(hook);
    assert_eq!(coerces().to_string(), "1");
    assert_eq!(nested_items(), 1);
    assert_eq!(inner_attribute(), 1);
    assert_eq!(skipped(NotDebug, 1), 1);
    assert_eq!(with_attrs(vec![NotDebug]), 1);
    assert_eq!(mut_param(vec![]), vec![1]);
    lint_attr_on_param(0);
}
