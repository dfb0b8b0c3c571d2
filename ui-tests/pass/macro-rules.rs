//! Functions written by `macro_rules!`: parameter names, receivers and options come from the
//! macro's caller (their hygiene is the macro's, not the attribute's).
#![deny(warnings)]

use traced::traced;

macro_rules! handler {
    ($name:ident, $arg:ident) => {
        #[traced]
        fn $name($arg: u32) -> u32 {
            $arg
        }
    };
}
handler!(double, amount);

// The names are the macro's own (not its caller's): hygiene of the macro definition.
macro_rules! fixed {
    () => {
        #[traced(skip(hidden), attrs(extra = shown + 1))]
        fn fixed(shown: u32, mut hidden: u32) -> u32 {
            hidden += 1;
            shown + hidden
        }
    };
}
fixed!();

macro_rules! options {
    ($name:ident, $span:literal, $kind:literal, $skip:ident, $key:ident, $value:expr) => {
        #[traced(name = $span, kind = $kind, skip($skip), attrs($key = $value), ret)]
        fn $name($skip: &str, n: u32) -> Result<u32, String> {
            if $skip.is_empty() {
                return Err("empty".to_owned());
            }
            Ok(n)
        }
    };
}
options!(with_options, "custom", "client", token, size, 1 + 1);

macro_rules! methods {
    ($ty:ident, $method:ident, $arg:ident) => {
        struct $ty(u32);
        impl $ty {
            #[traced]
            fn $method(&self, $arg: u32) -> u32 {
                self.0 + $arg
            }

            #[traced]
            async fn later(self, $arg: u32) -> u32 {
                self.0 + $arg
            }
        }
    };
}
methods!(Base, add, more);

macro_rules! block {
    ($ty:ident, $arg:ident) => {
        struct $ty;
        #[traced]
        impl $ty {
            fn get(&self, $arg: u8) -> u8 {
                $arg
            }
        }
    };
}
block!(Blocked, x);

fn main() {
    assert_eq!(double(2), 2);
    assert_eq!(fixed(1, 1), 3);
    assert_eq!(with_options("t", 3), Ok(3));
    assert_eq!(Base(1).add(2), 3);
    drop(Base(1).later(2));
    assert_eq!(Blocked.get(4), 4);
}
