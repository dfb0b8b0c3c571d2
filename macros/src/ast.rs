//! A typed model of the item under `#[traced]`.
//!
//! Free functions, inherent and trait-impl methods (with `default`), and trait methods (with or
//! without a body) all share one shape: [`Func`]. A body that does not parse is kept as opaque
//! tokens (tracing's `MaybeItemFn`): the function is still instrumented, and rustc reports the
//! syntax error at its own place, so a half-written body keeps working in the IDE.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser as _};
use syn::{
    Attribute, Block, FnArg, Ident, Pat, PatIdent, PatType, Receiver, Signature, Token, Visibility,
    token,
};

/// A function, as written.
pub(crate) struct Func {
    pub outer_attrs: Vec<Attribute>,
    pub inner_attrs: Vec<Attribute>,
    pub vis: Visibility,
    /// `default fn` in a specializing impl.
    pub defaultness: Option<Token![default]>,
    pub sig: Signature,
    pub body: Body,
}

pub(crate) enum Body {
    Block(Block),
    /// The body's tokens (after its inner attributes), which did not parse as statements.
    Opaque {
        brace: token::Brace,
        tokens: TokenStream,
    },
    /// `fn f();` in a trait or an extern block.
    Missing(Token![;]),
}

/// A parameter that `#[traced]` can record: `self` in any form, or a plain identifier pattern
/// (`x: T`, `mut x: T`). Destructuring patterns, `_` and `ref x` are neither recorded nor
/// listed.
pub(crate) enum Param<'a> {
    Receiver(&'a Receiver),
    Ident(&'a PatIdent),
}

impl Param<'_> {
    /// The name as written, with its span.
    pub(crate) fn ident(&self) -> Ident {
        match self {
            Param::Receiver(receiver) => Ident::from(receiver.self_token),
            Param::Ident(pat) => pat.ident.clone(),
        }
    }
}

impl Func {
    /// The parameters that can be recorded, in order.
    pub(crate) fn params(&self) -> Vec<Param<'_>> {
        self.sig
            .inputs
            .iter()
            .filter_map(|arg| match arg {
                FnArg::Receiver(receiver) => Some(Param::Receiver(receiver)),
                FnArg::Typed(typed) => plain_ident(typed).map(Param::Ident),
            })
            .collect()
    }
}

/// `x: T` or `mut x: T`: an identifier pattern without `ref` and without `@ subpattern`.
pub(crate) fn plain_ident(typed: &PatType) -> Option<&PatIdent> {
    match &*typed.pat {
        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => Some(pat),
        _ => None,
    }
}

impl Parse for Func {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let outer_attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let defaultness: Option<Token![default]> = input.parse()?;
        let sig: Signature = input.parse()?;
        let mut inner_attrs = Vec::new();
        let body = if input.peek(Token![;]) {
            Body::Missing(input.parse()?)
        } else {
            let content;
            let brace = syn::braced!(content in input);
            inner_attrs = content.call(Attribute::parse_inner)?;
            let tokens: TokenStream = content.parse()?;
            match Block::parse_within.parse2(tokens.clone()) {
                Ok(stmts) => Body::Block(Block {
                    brace_token: brace,
                    stmts,
                }),
                Err(_) => Body::Opaque { brace, tokens },
            }
        };
        Ok(Func {
            outer_attrs,
            inner_attrs,
            vis,
            defaultness,
            sig,
            body,
        })
    }
}

/// Parses the item; for anything that is not a function, returns the error to show.
pub(crate) fn parse_item(tokens: TokenStream) -> syn::Result<Func> {
    let Err(fn_error) = syn::parse2::<Func>(tokens.clone()) else {
        return syn::parse2::<Func>(tokens);
    };
    match syn::parse2::<syn::Item>(tokens.clone()) {
        // Something else that parses: say what it is, at its keyword.
        Ok(item) if !matches!(item, syn::Item::Fn(_) | syn::Item::Verbatim(_)) => {
            let what = describe(&item);
            let hint = if matches!(item, syn::Item::Impl(_) | syn::Item::Trait(_)) {
                "; put it on the methods inside"
            } else {
                ""
            };
            Err(syn::Error::new(
                keyword_span(tokens),
                format!("#[traced] can only be used on functions, not on {what}{hint}"),
            ))
        }
        // A function that does not parse: syn's error points at the offending token.
        _ => Err(fn_error),
    }
}

/// The span of the first token after the outer attributes and the visibility: `struct`, `enum`.
fn keyword_span(tokens: TokenStream) -> Span {
    let parser = |input: ParseStream| {
        input.call(Attribute::parse_outer)?;
        input.parse::<Visibility>()?;
        let span = input.span();
        input.parse::<TokenStream>()?;
        Ok(span)
    };
    parser.parse2(tokens).unwrap_or_else(|_| Span::call_site())
}

fn describe(item: &syn::Item) -> &'static str {
    match item {
        syn::Item::Const(_) => "a const",
        syn::Item::Enum(_) => "an enum",
        syn::Item::ExternCrate(_) => "an `extern crate`",
        syn::Item::ForeignMod(_) => "an extern block",
        syn::Item::Impl(_) => "an impl block",
        syn::Item::Macro(_) => "a macro invocation",
        syn::Item::Mod(_) => "a module",
        syn::Item::Static(_) => "a static",
        syn::Item::Struct(_) => "a struct",
        syn::Item::Trait(_) => "a trait",
        syn::Item::TraitAlias(_) => "a trait alias",
        syn::Item::Type(_) => "a type alias",
        syn::Item::Union(_) => "a union",
        syn::Item::Use(_) => "a `use` declaration",
        _ => "this item",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn plain_function() {
        let func = parse_item(quote!(
            #[inline]
            pub(crate) fn f(a: u32, mut b: String, (c, d): (u8, u8), _: u8, ref e: u8) -> u32 {
                #![allow(unused)]
                a
            }
        ))
        .unwrap();
        assert_eq!(func.outer_attrs.len(), 1);
        assert_eq!(func.inner_attrs.len(), 1);
        assert!(matches!(func.body, Body::Block(_)));
        let names: Vec<_> = func
            .params()
            .iter()
            .map(|p| p.ident().to_string())
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn receivers() {
        for receiver in [
            quote!(self),
            quote!(mut self),
            quote!(&self),
            quote!(&'a mut self),
            quote!(self: Box<Self>),
            quote!(self: Pin<&mut Self>),
        ] {
            let func = parse_item(quote!(fn f(#receiver, x: u8) {})).unwrap();
            let names: Vec<_> = func
                .params()
                .iter()
                .map(|p| p.ident().to_string())
                .collect();
            assert_eq!(names, ["self", "x"]);
        }
    }

    #[test]
    fn trait_method_without_body() {
        let func = parse_item(quote!(
            fn f(&self) -> u32;
        ))
        .unwrap();
        assert!(matches!(func.body, Body::Missing(_)));
    }

    #[test]
    fn default_fn() {
        let func = parse_item(quote!(default fn f() {})).unwrap();
        assert!(func.defaultness.is_some());
    }

    #[test]
    fn opaque_body() {
        let func = parse_item(quote!(fn f() { let x = ; x })).unwrap();
        assert!(matches!(func.body, Body::Opaque { .. }));
    }

    #[test]
    fn not_a_function() {
        let Err(err) = parse_item(quote!(
            #[derive(Debug)]
            pub struct S {
                a: u8,
            }
        )) else {
            panic!("a struct parsed as a function");
        };
        assert_eq!(
            err.to_string(),
            "#[traced] can only be used on functions, not on a struct"
        );
        let Err(err) = parse_item(quote!(impl S {})) else {
            panic!("an impl parsed as a function");
        };
        assert_eq!(
            err.to_string(),
            "#[traced] can only be used on functions, not on an impl block; \
             put it on the methods inside"
        );
    }

    #[test]
    fn broken_signature_keeps_syns_error() {
        let Err(err) = parse_item(quote!(fn f(a: ) {})) else {
            panic!("a broken signature parsed");
        };
        assert!(!err.to_string().contains("#[traced]"), "{err}");
    }
}
