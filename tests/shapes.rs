//! Shapes users meet on day one (issue 13): parameters under `cfg`, functions written by
//! `macro_rules!`, error exits hidden in macros, async spans that start at the call, lone
//! methods that know their type. Each runs under the in-memory pipeline.

#![allow(unreachable_pub)]

use traced::testing::{capture, one};
use traced::{Value, traced};

// ---------------------------------------------------------------- parameters under cfg

#[traced]
#[allow(clippy::needless_pass_by_value)]
fn cfg_params(
    #[cfg(any())] absent: u32,
    #[cfg(all())] present: u32,
    #[cfg_attr(any(), cfg(any()))] also_present: u32,
    #[cfg_attr(all(), cfg(any()))] also_absent: u32,
    #[allow(unused_mut)] mut kept: u32,
) -> u32 {
    present + also_present + kept
}

#[test]
fn cfg_d_out_parameters_are_neither_rebound_nor_recorded() {
    let (r, spans) = capture(|| cfg_params(1, 2, 3));
    assert_eq!(r, 6);
    let span = one(&spans, "cfg_params");
    assert_eq!(span.attribute("present"), Some(&Value::I64(1)));
    assert_eq!(span.attribute("also_present"), Some(&Value::I64(2)));
    assert_eq!(span.attribute("kept"), Some(&Value::I64(3)));
    assert_eq!(span.attribute("absent"), None);
    assert_eq!(span.attribute("also_absent"), None);
}

// ---------------------------------------------------------------- functions from macro_rules!

/// Parameter names, the span name and a skipped parameter all come from the macro's caller.
macro_rules! handler {
    ($name:ident, $arg:ident, $span:literal, $secret:ident) => {
        #[traced(name = $span, skip($secret))]
        fn $name($arg: u32, mut $secret: u32) -> u32 {
            $secret += 1;
            $arg * 2 + $secret
        }
    };
}

handler!(double, amount, "double.it", pin);

/// A method whose receiver and parameter come from the macro.
macro_rules! method {
    ($ty:ident, $name:ident, $arg:ident) => {
        impl $ty {
            #[traced(attrs(seen = $arg + 1))]
            fn $name(&self, $arg: u32) -> u32 {
                self.0 + $arg
            }
        }
    };
}

struct Base(u32);
method!(Base, add, more);

#[test]
fn macro_rules_functions_keep_the_callers_names() {
    let (r, spans) = capture(|| double(5, 1));
    assert_eq!(r, 12);
    let span = one(&spans, "double.it");
    assert_eq!(span.attribute("amount"), Some(&Value::I64(5)));
    assert_eq!(span.attribute("pin"), None);
    let (r, spans) = capture(|| Base(1).add(2));
    assert_eq!(r, 3);
    let span = one(&spans, "add");
    assert_eq!(span.attribute("more"), Some(&Value::I64(2)));
    assert_eq!(span.attribute("seen"), Some(&Value::I64(3)));
}
