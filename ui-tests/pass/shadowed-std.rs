//! Generated code names everything by absolute path: a module that shadows `std`, `core`,
//! the prelude's types and variants, and the built-in macros it uses still compiles.
#![deny(warnings)]
#![allow(non_camel_case_types, dead_code, unused_macros)]

mod shadowing {
    use ::traced::traced;

    mod std {}
    mod core {}
    mod traced {}
    mod alloc {}

    struct Option;
    struct Result;
    struct Some;
    struct None;
    struct Ok;
    struct Err;
    struct Box;
    struct String;
    struct Vec;
    struct Send;
    struct Sync;
    struct Debug;
    struct Display;
    struct Span;
    struct Arg;
    struct Ret;
    struct Try;
    struct ControlFlow;
    struct Callsite;
    struct SpanKind;
    struct Instrumented;
    trait Future {}
    trait Drop {}
    trait From {}
    trait Into {}

    macro_rules! file {
        () => {
            "shadowed"
        };
    }
    macro_rules! line {
        () => {
            0
        };
    }
    macro_rules! module_path {
        () => {
            "shadowed"
        };
    }

    #[traced]
    pub(super) fn parse(
        s: &str,
    ) -> ::std::result::Result<u32, ::std::boxed::Box<dyn ::std::error::Error>> {
        let n: u32 = s.parse()?;
        if n == 0 {
            return ::std::result::Result::Err("zero".into());
        }
        ::std::result::Result::Ok(n)
    }

    #[traced]
    pub(super) fn first(v: &[u8]) -> ::std::option::Option<u8> {
        let x = v.first()?;
        ::std::option::Option::Some(*x)
    }

    #[traced(attrs(len = s.len()))]
    pub(super) async fn fetch(s: &str) -> ::std::result::Result<usize, ::std::string::String> {
        if s.is_empty() {
            return ::std::result::Result::Err(::std::string::String::from("empty"));
        }
        ::std::result::Result::Ok(s.len())
    }

    #[traced]
    pub(super) fn boxed(
        x: u32,
    ) -> ::std::pin::Pin<
        ::std::boxed::Box<dyn ::std::future::Future<Output = u32> + ::std::marker::Send>,
    > {
        ::std::boxed::Box::pin(async move { x })
    }
}

fn main() {
    assert_eq!(shadowing::parse("3").unwrap(), 3);
    assert!(shadowing::parse("0").is_err());
    assert_eq!(shadowing::first(&[1]), Some(1));
    assert_eq!(futures::executor::block_on(shadowing::fetch("ab")), Ok(2));
    assert_eq!(futures::executor::block_on(shadowing::boxed(4)), 4);
}
