//! A typed model of the item under `#[traced]`.
//!
//! Free functions, inherent and trait-impl methods (with `default`), and trait methods (with or
//! without a body) all share one shape: [`Func`]. A body that does not parse is kept as opaque
//! tokens (tracing's `MaybeItemFn`): the function is still instrumented, and rustc reports the
//! syntax error at its own place, so a half-written body keeps working in the IDE.
//!
//! An impl block or a trait is a [`Block`]: its header re-emitted as written, its methods as
//! [`Func`]s (each with its own `#[traced(...)]` taken out), everything else as tokens.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::{ToTokens as _, quote};
use syn::ext::IdentExt as _;
use syn::parse::discouraged::Speculative as _;
use syn::parse::{Parse, ParseStream, Parser as _};
use syn::visit_mut::{self, VisitMut};
use syn::{
    Attribute, Block, Expr, FnArg, GenericArgument, Ident, Pat, PatIdent, PatType, PathArguments,
    Receiver, ReturnType, Signature, Stmt, Token, Type, Visibility, token,
};

/// What `#[traced]` is on.
pub(crate) enum Item {
    Fn(Box<Func>),
    Block(ItemBlock),
}

/// An impl block (inherent or of a trait) or a trait definition.
pub(crate) struct ItemBlock {
    /// Everything before the braces (`impl<T> Display for Wrapper<T> where ..`), as written.
    pub header: TokenStream,
    /// The span of the braces.
    pub brace: Span,
    pub inner_attrs: Vec<Attribute>,
    pub items: Vec<BlockItem>,
    /// What its methods' span names start with: the self type's last path segment without
    /// generics (`Wrapper`), or the trait's name.
    pub owner: String,
}

/// One item inside an impl block or a trait.
pub(crate) enum BlockItem {
    Method(Box<Method>),
    /// Consts, types, macro invocations: emitted as written.
    Other(TokenStream),
}

/// A method of a traced block.
pub(crate) struct Method {
    /// The method, without its own `#[traced]` attributes.
    pub func: Func,
    /// Its own `#[traced(...)]` attributes (more than one is an error).
    pub attrs: Vec<Attribute>,
}

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
    /// The pattern, and the parameter's attributes.
    Ident(&'a PatIdent, &'a [Attribute]),
}

impl Param<'_> {
    /// The name as written, with its span.
    pub(crate) fn ident(&self) -> Ident {
        match self {
            Param::Receiver(receiver) => Ident::from(receiver.self_token),
            Param::Ident(pat, _) => pat.ident.clone(),
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
                FnArg::Typed(typed) => {
                    plain_ident(typed).map(|pat| Param::Ident(pat, &typed.attrs))
                }
            })
            .collect()
    }
}

/// What a caller gets back from the function (after `.await` for async code), as far as the
/// signature tells.
pub(crate) enum Output {
    /// `()`, or no return type.
    Unit,
    /// `!`.
    Never,
    Type(Box<Type>),
    /// A sync function returning a future whose `Output` is not written out.
    Unknown,
}

impl Func {
    /// The `async { }` block in the tail `async { }` or `Box::pin(async { })` of a sync body.
    pub(crate) fn async_tail(&self) -> Option<&syn::ExprAsync> {
        let Body::Block(block) = &self.body else {
            return None;
        };
        match block.stmts.last() {
            Some(Stmt::Expr(tail, None)) if self.sig.asyncness.is_none() => async_tail(tail),
            _ => None,
        }
    }

    pub(crate) fn output(&self) -> Output {
        let ty = if self.async_tail().is_some() {
            match future_output(&self.sig.output) {
                Some(ty) => ty,
                None => return Output::Unknown,
            }
        } else {
            match &self.sig.output {
                ReturnType::Default => return Output::Unit,
                ReturnType::Type(_, ty) => (**ty).clone(),
            }
        };
        match peel(&ty) {
            Type::Tuple(tuple) if tuple.elems.is_empty() => Output::Unit,
            Type::Never(_) => Output::Never,
            _ => Output::Type(Box::new(ty)),
        }
    }
}

/// The async block in a tail `async { }` or `Box::pin(async { })`.
pub(crate) fn async_tail(tail: &Expr) -> Option<&syn::ExprAsync> {
    match tail {
        Expr::Async(block) => Some(block),
        Expr::Call(call) if call.args.len() == 1 && is_box_pin(&call.func) => {
            match call.args.first() {
                Some(Expr::Async(block)) => Some(block),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `Box::pin`, `std::boxed::Box::pin`, `::alloc::boxed::Box::pin`, ...
fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(path) = func else {
        return false;
    };
    let mut segments = path.path.segments.iter().rev();
    matches!(
        (segments.next(), segments.next()),
        (Some(pin), Some(boxed)) if pin.ident == "pin" && boxed.ident == "Box"
    )
}

/// `T` in `impl Future<Output = T>` or `Pin<Box<dyn Future<Output = T> + Send>>`.
pub(crate) fn future_output(output: &ReturnType) -> Option<Type> {
    struct Find(Option<Type>);
    impl VisitMut for Find {
        fn visit_path_segment_mut(&mut self, segment: &mut syn::PathSegment) {
            if self.0.is_none()
                && segment.ident == "Future"
                && let PathArguments::AngleBracketed(args) = &segment.arguments
            {
                self.0 = args.args.iter().find_map(|arg| match arg {
                    GenericArgument::AssocType(assoc) if assoc.ident == "Output" => {
                        Some(assoc.ty.clone())
                    }
                    _ => None,
                });
            }
            visit_mut::visit_path_segment_mut(self, segment);
        }
    }
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let mut find = Find(None);
    find.visit_type_mut(&mut ty.clone());
    find.0
}

/// Looks through parentheses and invisible groups.
pub(crate) fn peel(ty: &Type) -> &Type {
    match ty {
        Type::Paren(paren) => peel(&paren.elem),
        Type::Group(group) => peel(&group.elem),
        _ => ty,
    }
}

impl Param<'_> {
    /// Its `#[cfg(..)]` and `#[cfg_attr(..)]` attributes: what the expansion writes about
    /// it (its rebinding, its recording) exists exactly when it does.
    pub(crate) fn cfgs(&self) -> Vec<&Attribute> {
        match self {
            Param::Receiver(_) => Vec::new(),
            Param::Ident(_, attrs) => cfgs(attrs),
        }
    }
}

/// The `#[cfg(..)]` and `#[cfg_attr(..)]` attributes among `attrs`.
pub(crate) fn cfgs(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr"))
        .collect()
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

/// Parses the item; for anything that is neither a function nor an impl block or trait,
/// returns the error to show.
pub(crate) fn parse_item(tokens: TokenStream) -> syn::Result<Item> {
    let Err(fn_error) = syn::parse2::<Func>(tokens.clone()) else {
        return syn::parse2::<Func>(tokens).map(|func| Item::Fn(Box::new(func)));
    };
    if let Some(block) = parse_block(tokens.clone()) {
        return block.map(Item::Block);
    }
    match syn::parse2::<syn::Item>(tokens.clone()) {
        // Something else that parses: say what it is, at its keyword.
        Ok(item) if !matches!(item, syn::Item::Fn(_) | syn::Item::Verbatim(_)) => {
            let what = describe(&item);
            Err(syn::Error::new(
                keyword_span(tokens),
                format!(
                    "#[traced] can only be used on functions, impl blocks and traits, not on {what}"
                ),
            ))
        }
        // A function that does not parse: syn's error points at the offending token.
        _ => Err(fn_error),
    }
}

/// An impl block or a trait, or `None` for anything else. Its header is parsed with an empty
/// body to learn the owner's name; the body is read item by item, so a method whose body does
/// not parse is kept as opaque tokens like a lone function's.
pub(crate) fn parse_block(tokens: TokenStream) -> Option<syn::Result<ItemBlock>> {
    let mut trees: Vec<TokenTree> = tokens.into_iter().collect();
    let Some(TokenTree::Group(body)) = trees.pop() else {
        return None;
    };
    if body.delimiter() != Delimiter::Brace {
        return None;
    }
    let header: TokenStream = trees.into_iter().collect();
    let (owner, is_trait) = match syn::parse2::<syn::Item>(quote!(#header {})).ok()? {
        syn::Item::Impl(item) => (type_name(&item.self_ty), false),
        syn::Item::Trait(item) => (item.ident.unraw().to_string(), true),
        _ => return None,
    };
    let parser = |input: ParseStream| {
        let inner_attrs = input.call(Attribute::parse_inner)?;
        let mut items = Vec::new();
        while !input.is_empty() {
            let fork = input.fork();
            if let Ok(mut func) = fork.parse::<Func>() {
                input.advance_to(&fork);
                let (attrs, others) = std::mem::take(&mut func.outer_attrs)
                    .into_iter()
                    .partition(is_traced_attr);
                func.outer_attrs = others;
                items.push(BlockItem::Method(Box::new(Method { func, attrs })));
            } else if is_trait {
                let item: syn::TraitItem = input.parse()?;
                items.push(BlockItem::Other(item.into_token_stream()));
            } else {
                let item: syn::ImplItem = input.parse()?;
                items.push(BlockItem::Other(item.into_token_stream()));
            }
        }
        Ok((inner_attrs, items))
    };
    Some(
        parser
            .parse2(body.stream())
            .map(|(inner_attrs, items)| ItemBlock {
                header,
                brace: body.span(),
                inner_attrs,
                items,
                owner,
            }),
    )
}

/// `#[traced]`, `#[traced(..)]`, `#[traced::traced(..)]`, `#[my_reexport::traced(..)]`.
pub(crate) fn is_traced_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "traced")
}

/// The name a type goes by in span names: the last path segment without generics, through
/// references (`&mut Wrapper<T>` → `Wrapper`); other types as written (`[u8]`).
fn type_name(ty: &Type) -> String {
    match peel(ty) {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .map_or_else(String::new, |segment| segment.ident.unraw().to_string()),
        Type::Reference(reference) => type_name(&reference.elem),
        Type::Slice(slice) => format!("[{}]", type_name(&slice.elem)),
        Type::Array(array) => format!("[{}]", type_name(&array.elem)),
        Type::TraitObject(object) => object
            .bounds
            .iter()
            .find_map(|bound| match bound {
                syn::TypeParamBound::Trait(bound) => bound.path.segments.last(),
                _ => None,
            })
            .map_or_else(String::new, |segment| format!("dyn {}", segment.ident)),
        other => other.to_token_stream().to_string().replace(' ', ""),
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

    fn parse_fn(tokens: TokenStream) -> syn::Result<Func> {
        match parse_item(tokens)? {
            Item::Fn(func) => Ok(*func),
            Item::Block(_) => panic!("a block"),
        }
    }

    fn parse_block_ok(tokens: TokenStream) -> ItemBlock {
        match parse_item(tokens) {
            Ok(Item::Block(block)) => block,
            Ok(Item::Fn(_)) => panic!("a function"),
            Err(err) => panic!("{err}"),
        }
    }

    #[test]
    fn plain_function() {
        let func = parse_fn(quote!(
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
            let func = parse_fn(quote!(fn f(#receiver, x: u8) {})).unwrap();
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
        let func = parse_fn(quote!(
            fn f(&self) -> u32;
        ))
        .unwrap();
        assert!(matches!(func.body, Body::Missing(_)));
    }

    #[test]
    fn default_fn() {
        let func = parse_fn(quote!(default fn f() {})).unwrap();
        assert!(func.defaultness.is_some());
    }

    #[test]
    fn opaque_body() {
        let func = parse_fn(quote!(fn f() { let x = ; x })).unwrap();
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
            "#[traced] can only be used on functions, impl blocks and traits, not on a struct"
        );
        let Err(err) = parse_item(quote!(
            mod m {}
        )) else {
            panic!("a module parsed");
        };
        assert_eq!(
            err.to_string(),
            "#[traced] can only be used on functions, impl blocks and traits, not on a module"
        );
    }

    #[test]
    fn impl_blocks_and_traits() {
        let block = parse_block_ok(quote!(
            #[derive_nothing]
            unsafe impl<'a, T: Clone> my::Trait<T> for &'a mut my::Wrapper<T> where T: Send {
                #![allow(unused)]
                const N: usize = 1;
                type Out = T;
                #[inline]
                #[traced(kind = "client")]
                fn a(&self) -> u8 { 1 }
                fn b(&self) { let x = ; }
                my_macro!();
            }
        ));
        assert_eq!(block.owner, "Wrapper");
        assert_eq!(block.inner_attrs.len(), 1);
        assert_eq!(block.items.len(), 5);
        let BlockItem::Method(a) = &block.items[2] else {
            panic!("not a method");
        };
        assert_eq!(a.attrs.len(), 1, "its #[traced] is taken out");
        assert_eq!(a.func.outer_attrs.len(), 1, "#[inline] stays");
        let BlockItem::Method(b) = &block.items[3] else {
            panic!("not a method");
        };
        assert!(matches!(b.func.body, Body::Opaque { .. }));

        let block = parse_block_ok(quote!(
            pub trait r#Shape: Sized {
                fn area(&self) -> f64;
                fn describe(&self) -> String {
                    String::new()
                }
            }
        ));
        assert_eq!(block.owner, "Shape");
        let BlockItem::Method(area) = &block.items[0] else {
            panic!("not a method");
        };
        assert!(matches!(area.func.body, Body::Missing(_)));
    }

    #[test]
    fn owner_names() {
        for (ty, name) in [
            (quote!(Order), "Order"),
            (quote!(crate::shop::Order<'a, T>), "Order"),
            (quote!(&mut Order), "Order"),
            (quote!([u8]), "[u8]"),
            (quote!(dyn Shape + Send), "dyn Shape"),
            (quote!((u8, u16)), "(u8,u16)"),
        ] {
            assert_eq!(parse_block_ok(quote!(impl #ty {})).owner, name);
        }
    }

    #[test]
    fn outputs() {
        let output = |item: TokenStream| parse_fn(item).unwrap().output();
        assert!(matches!(
            output(quote!(
                fn f() {}
            )),
            Output::Unit
        ));
        assert!(matches!(
            output(quote!(
                fn f() -> () {}
            )),
            Output::Unit
        ));
        assert!(matches!(
            output(quote!(
                async fn f() {}
            )),
            Output::Unit
        ));
        assert!(matches!(
            output(quote!(
                fn f() -> ! {}
            )),
            Output::Never
        ));
        assert!(matches!(
            output(quote!(
                fn f() -> u8 {}
            )),
            Output::Type(_)
        ));
        assert!(matches!(
            output(quote!(
                fn f() -> impl Future<Output = ()> {
                    async {}
                }
            )),
            Output::Unit
        ));
        assert!(matches!(
            output(quote!(
                fn f() -> BoxFuture<'static, u8> {
                    Box::pin(async { 1 })
                }
            )),
            Output::Unknown
        ));
    }

    #[test]
    fn broken_signature_keeps_syns_error() {
        let Err(err) = parse_item(quote!(fn f(a: ) {})) else {
            panic!("a broken signature parsed");
        };
        assert!(!err.to_string().contains("#[traced]"), "{err}");
    }
}
