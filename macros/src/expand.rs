//! Code generation. Every path is absolute through `::traced::__private`, every generated local
//! starts with `__traced_` and has mixed-site hygiene, and the user's tokens keep their spans.
//!
//! Four shapes, chosen from the signature and the body:
//!
//! - `async fn`: the body moves into an async block wrapped in `Instrumented`, which ends the
//!   span when the future completes (or is dropped) and reads the output.
//! - a sync fn whose tail is `async { }` or `Box::pin(async { })` (what `#[async_trait]`
//!   writes): the span starts at the call and the tail block is wrapped in `Instrumented`.
//! - a sync fn returning a value: the body runs inside a labeled block (its `return` and `?`
//!   redirected to the label) so the result can be read; the guard's `Drop` ends the span.
//! - a sync fn returning `!`, or whose body did not parse: the body runs as is under the guard.

use crate::ast::{self, Body, Func, Param};
use crate::attr::{Args, Kind};
use crate::rewrite;
use crate::valid::{self, Errors};
use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::visit_mut::{self, VisitMut};
use syn::{
    Attribute, Expr, FnArg, GenericArgument, Lifetime, PathArguments, ReturnType, Stmt, Type,
};

/// Parses, validates and expands; the caller turns an error into output.
pub(crate) fn try_expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let args = crate::attr::parse(args, &mut errors);
    let func = match ast::parse_item(item.clone()) {
        Ok(func) => {
            valid::check(&args, &func, &mut errors);
            Some(func)
        }
        Err(err) => {
            errors.push(err);
            None
        }
    };
    errors.finish()?;
    match func {
        Some(func) if !cfg!(feature = "off") => Ok(expand(&args, func)),
        _ => Ok(item),
    }
}

/// The generated locals and label. Mixed-site: the user's body cannot name them.
struct Names {
    span: Ident,
    entered: Ident,
    ret: Ident,
    out: Ident,
    never: Ident,
    label: Lifetime,
}

impl Names {
    fn new() -> Self {
        let local = |name: &str| Ident::new(name, Span::mixed_site());
        Names {
            span: local("__traced_span"),
            entered: local("__traced_entered"),
            ret: local("__traced_ret"),
            out: local("__traced_out"),
            never: local("__traced_never"),
            label: Lifetime::new("'__traced_body", Span::mixed_site()),
        }
    }
}

fn expand(args: &Args, mut func: Func) -> TokenStream {
    let names = Names::new();
    let callsite = callsite(args, &func);
    let recording = recording(args, &func, &names);
    // Recorded parameters are read by the expansion, so each is rebound under the user's own
    // ident (and `mut`) to keep `unused_variables` and `unused_mut` firing as before.
    let rebinds = if recording.is_some() {
        rebind_params(&mut func.sig)
    } else {
        TokenStream::new()
    };

    let Names { span, entered, .. } = &names;
    let inner_attrs = &func.inner_attrs;
    let shape = Shape::of(&func);
    let span_mut = (recording.is_some() || matches!(shape, Shape::Labeled | Shape::Plain))
        .then(|| quote!(mut));
    let prelude = quote! {
        #(#inner_attrs)*
        #callsite
        let #span_mut #span = ::traced::__private::Span::start_callsite(&__TRACED_CALLSITE);
        #recording
    };

    let body = match (shape, &mut func.body) {
        (_, Body::Missing(_)) => return func.into_token_stream(),
        (Shape::Async, body) => {
            let ret = nameable(return_type(&func.sig.output));
            let fake_edge = ret
                .as_ref()
                .filter(|ty| !is_unit(ty))
                .map(|ty| fake_return_edge(ty, &names));
            let block = braced(body, &quote!(#fake_edge #rebinds));
            let on_output = on_output(ret.as_ref(), &names);
            quote! {
                #prelude
                ::traced::__private::Instrumented::new(#span, async move #block, #on_output).await
            }
        }
        (Shape::AsyncTail, Body::Block(block)) => {
            let out = future_output(&func.sig.output).and_then(nameable);
            let on_output = on_output(out.as_ref(), &names);
            let mut stmts = std::mem::take(&mut block.stmts);
            if let Some(Stmt::Expr(tail, None)) = stmts.last_mut() {
                instrument_tail(tail, span, &on_output);
            }
            quote! {
                #prelude
                #rebinds
                #(#stmts)*
            }
        }
        (Shape::Labeled, Body::Block(block)) => {
            rewrite::redirect_exits(block, &names.label);
            let Names { ret, label, .. } = &names;
            let annotation = nameable(return_type(&func.sig.output)).map(|ty| quote!(: #ty));
            quote! {
                #prelude
                let mut #entered = #span.enter_until_end();
                #rebinds
                let #ret #annotation = #label: #block;
                // The body may diverge (`panic!`, `todo!`, `loop {}`); this runs when it returns.
                #[allow(unreachable_code)]
                {
                    // Autoref specialization: each call resolves to one of these traits.
                    #[allow(unused_imports)]
                    use ::traced::__private::{
                        OutcomeAny as _, OutcomeDebug as _, OutcomeDisplay as _, OutcomeNone as _,
                    };
                    (&&&&::traced::__private::Ret(&#ret)).__traced_outcome(&mut #entered);
                }
                // As above: unreachable when the body diverges.
                #[allow(unreachable_code)]
                #ret
            }
        }
        (_, body) => {
            let block = braced(body, &TokenStream::new());
            quote! {
                #prelude
                let #entered = #span.enter_until_end();
                #rebinds
                #block
            }
        }
    };

    let Func {
        outer_attrs,
        vis,
        defaultness,
        sig,
        body: user_body,
        ..
    } = &func;
    // The function's braces keep their spans: rustc reads lints such as `dead_code` at the
    // item's span, which must stay the user's.
    let body = with_braces_of(user_body, body);
    quote! {
        #(#outer_attrs)*
        #vis #defaultness #sig #body
    }
}

#[derive(Clone, Copy)]
enum Shape {
    Async,
    AsyncTail,
    Labeled,
    Plain,
}

impl Shape {
    fn of(func: &Func) -> Shape {
        if func.sig.asyncness.is_some() {
            return Shape::Async;
        }
        let Body::Block(block) = &func.body else {
            return Shape::Plain;
        };
        if let Some(Stmt::Expr(tail, None)) = block.stmts.last()
            && async_tail(tail).is_some()
        {
            return Shape::AsyncTail;
        }
        match &func.sig.output {
            ReturnType::Type(_, ty) if matches!(peel(ty), Type::Never(_)) => Shape::Plain,
            _ => Shape::Labeled,
        }
    }
}

/// `static __TRACED_CALLSITE`: name, kind, and where the function is.
fn callsite(args: &Args, func: &Func) -> TokenStream {
    let ident = &func.sig.ident;
    let function = ident.unraw().to_string();
    let name = args
        .name
        .as_ref()
        .map_or_else(|| function.clone(), |name| name.value.value());
    let kind = args.kind.as_ref().map_or(Kind::Internal, |kind| kind.value);
    let kind = format_ident!("{}", kind.variant());
    // At the fn's name, so `line!()` is the line of the `fn`, not of the attribute.
    let location = quote_spanned! {ident.span()=>
        ::traced::__private::file!(), ::traced::__private::line!()
    };
    quote! {
        static __TRACED_CALLSITE: ::traced::__private::Callsite = ::traced::__private::Callsite::new(
            #name,
            ::traced::__private::SpanKind::#kind,
            ::traced::__private::module_path!(),
            #function,
            #location,
        );
    }
}

/// `if span.is_recording() { span.attr("a", ...); ... }`, or nothing if nothing is recorded.
fn recording(args: &Args, func: &Func, names: &Names) -> Option<TokenStream> {
    let span = &names.span;
    let attrs = args
        .attrs
        .as_ref()
        .map_or(&[][..], |attrs| &attrs.value[..]);
    let skipped = |name: &str| {
        args.skip_all.is_some()
            || args
                .skip
                .as_ref()
                .is_some_and(|skip| skip.value.iter().any(|s| s.unraw() == name))
            // An `attrs` entry with a parameter's name replaces it.
            || attrs.iter().any(|entry| entry.key == name)
    };

    let mut calls = Vec::new();
    let (mut any_self, mut any_value) = (false, !attrs.is_empty());
    for param in func.params() {
        let ident = param.ident();
        let key = ident.unraw().to_string();
        if skipped(&key) {
            continue;
        }
        // At the parameter, so "cannot be recorded" points at it; call-site hygiene still
        // resolves the name to the parameter, and lints see generated code.
        let at = Span::call_site().located_at(ident.span());
        let mut ident = ident;
        ident.set_span(at);
        calls.push(match param {
            Param::Receiver(_) => {
                any_self = true;
                quote_spanned! {at=>
                    #span.attr(#key, (&&&::traced::__private::Arg(&#ident)).__traced_self_value());
                }
            }
            Param::Ident(..) => {
                any_value = true;
                quote_spanned! {at=>
                    #span.attr(#key, (&&&::traced::__private::Arg(&#ident)).__traced_value());
                }
            }
        });
    }
    for entry in attrs {
        let key = &entry.key;
        let value = &entry.value;
        let at = Span::call_site().located_at(value.span());
        calls.push(quote_spanned! {at=>
            #span.attr(#key, (&&&::traced::__private::Arg(&(#value))).__traced_value());
        });
    }
    if calls.is_empty() {
        return None;
    }
    let no_arg = any_value.then(|| quote!(NoArg as _,));
    let self_arg = any_self.then(|| quote!(SelfArg as _,));
    Some(quote! {
        if #span.is_recording() {
            // Autoref specialization: each call resolves to one of these traits.
            #[allow(unused_imports)]
            use ::traced::__private::{ValueArg as _, DebugArg as _, #no_arg #self_arg};
            #(#calls)*
        }
    })
}

/// Strips `mut` from each plain-ident parameter and returns `let mut x = x;` rebinds, with the
/// user's own ident and `mut` tokens and the parameter's lint attributes.
fn rebind_params(sig: &mut syn::Signature) -> TokenStream {
    let mut rebinds = TokenStream::new();
    for arg in &mut sig.inputs {
        let FnArg::Typed(typed) = arg else {
            continue;
        };
        // `_x` is exempt from `unused_variables` anyway, and rebinding it would trip clippy's
        // `no_effect_underscore_binding`; its `mut` stays in the signature, linted as before.
        match ast::plain_ident(typed) {
            Some(pat) if !pat.ident.unraw().to_string().starts_with('_') => {}
            _ => continue,
        }
        // `#[allow(unused_variables)]` on a parameter is about the binding the body sees.
        let (lints, others): (Vec<Attribute>, Vec<Attribute>) = std::mem::take(&mut typed.attrs)
            .into_iter()
            .partition(is_lint_attr);
        typed.attrs = others;
        let syn::Pat::Ident(pat) = &mut *typed.pat else {
            continue;
        };
        let mutability = pat.mutability.take();
        let binding = &pat.ident;
        let mut value = binding.clone();
        value.set_span(Span::call_site().located_at(binding.span()));
        rebinds.extend(quote! {
            #(#lints)*
            let #mutability #binding = #value;
        });
    }
    rebinds
}

fn is_lint_attr(attr: &Attribute) -> bool {
    ["allow", "warn", "deny", "forbid", "expect"]
        .iter()
        .any(|lint| attr.path().is_ident(lint))
}

/// `{ #tokens }` with the braces of the user's body.
fn with_braces_of(body: &Body, tokens: TokenStream) -> TokenStream {
    let brace = match body {
        Body::Block(block) => block.brace_token,
        Body::Opaque { brace, .. } => *brace,
        Body::Missing(semi) => syn::token::Brace(semi.span),
    };
    let mut group = Group::new(Delimiter::Brace, tokens);
    group.set_span(brace.span.join());
    TokenTree::Group(group).into()
}

/// `{ #prefix body }` with the body's own braces (their span decides the edition rules of
/// the body's tail expression).
fn braced(body: &Body, prefix: &TokenStream) -> TokenStream {
    let stmts = match body {
        Body::Block(block) => {
            let stmts = &block.stmts;
            quote!(#(#stmts)*)
        }
        Body::Opaque { tokens, .. } => tokens.clone(),
        Body::Missing(_) => TokenStream::new(),
    };
    with_braces_of(body, quote!(#prefix #stmts))
}

/// Fixes an async block's output type before its body is checked, as a plain `async fn`
/// does, so `return x.into()` and `?` infer the same types.
fn fake_return_edge(ty: &TokenStream, names: &Names) -> TokenStream {
    let never = &names.never;
    quote! {
        // Never runs; only its type matters.
        #[allow(unreachable_code)]
        if false {
            let #never: #ty = loop {};
            return #never;
        }
    }
}

/// `|out, span| { Ret(out).__traced_outcome(span) }`, with `out: &T` when `T` can be named.
fn on_output(output: Option<&TokenStream>, names: &Names) -> TokenStream {
    let Names { out, span, .. } = names;
    let annotation = output.map(|ty| quote!(: &#ty));
    quote! {
        |#out #annotation, #span| {
            // Autoref specialization: the call resolves to one of these traits.
            #[allow(unused_imports)]
            use ::traced::__private::{
                OutcomeAny as _, OutcomeDebug as _, OutcomeDisplay as _, OutcomeNone as _,
            };
            (&&&&::traced::__private::Ret(#out)).__traced_outcome(#span);
        }
    }
}

/// The async block in a tail `async { }` or `Box::pin(async { })`.
fn async_tail(tail: &Expr) -> Option<&syn::ExprAsync> {
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

/// Wraps the async block of `tail` in `Instrumented::new(span, block, on_output)`.
fn instrument_tail(tail: &mut Expr, span: &Ident, on_output: &TokenStream) {
    let wrap = |block: &Expr| {
        Expr::Verbatim(quote! {
            ::traced::__private::Instrumented::new(#span, #block, #on_output)
        })
    };
    match tail {
        Expr::Async(_) => *tail = wrap(tail),
        Expr::Call(call) => {
            if let Some(arg) = call.args.first_mut() {
                *arg = wrap(arg);
            }
        }
        _ => {}
    }
}

/// The declared return type; `()` when there is none.
fn return_type(output: &ReturnType) -> Type {
    match output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    }
}

/// `T` in `impl Future<Output = T>` or `Pin<Box<dyn Future<Output = T> + Send>>`.
fn future_output(output: &ReturnType) -> Option<Type> {
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

/// The type as written in a `let`: `impl Trait` becomes `_`; `None` if nothing is left to
/// name or it mentions `!`. Its tokens keep the user's spans, so they parse with the user's
/// edition; a lint about the type reports the signature's span, which rustc deduplicates.
fn nameable(mut ty: Type) -> Option<TokenStream> {
    struct Infer {
        never: bool,
    }
    impl VisitMut for Infer {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            match ty {
                Type::ImplTrait(impl_trait) => {
                    let span = impl_trait.impl_token.span;
                    *ty = Type::Infer(syn::TypeInfer {
                        attrs: Vec::new(),
                        underscore_token: syn::Token![_](span),
                    });
                }
                Type::Never(_) => self.never = true,
                _ => visit_mut::visit_type_mut(self, ty),
            }
        }
    }
    let mut infer = Infer { never: false };
    infer.visit_type_mut(&mut ty);
    if infer.never || matches!(peel(&ty), Type::Infer(_)) {
        return None;
    }
    Some(ty.into_token_stream())
}

fn is_unit(ty: &TokenStream) -> bool {
    matches!(syn::parse2::<Type>(ty.clone()), Ok(Type::Tuple(tuple)) if tuple.elems.is_empty())
}

/// Looks through parentheses and invisible groups.
fn peel(ty: &Type) -> &Type {
    match ty {
        Type::Paren(paren) => peel(&paren.elem),
        Type::Group(group) => peel(&group.elem),
        _ => ty,
    }
}

impl ToTokens for Func {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let Func {
            outer_attrs,
            inner_attrs,
            vis,
            defaultness,
            sig,
            body,
        } = self;
        tokens.extend(quote!(#(#outer_attrs)* #vis #defaultness #sig));
        match body {
            Body::Missing(semi) => semi.to_tokens(tokens),
            body => tokens.extend(braced(body, &quote!(#(#inner_attrs)*))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(args: TokenStream, item: TokenStream) -> String {
        let out = try_expand(args, item).unwrap_or_else(|e| panic!("{e}"));
        let file: syn::File = syn::parse2(out.clone()).unwrap_or_else(|e| panic!("{e}\n{out}"));
        file.into_token_stream().to_string()
    }

    #[test]
    fn sync_fn() {
        let out = expand_str(
            quote!(),
            quote!(
                fn add(a: u32, mut b: u32) -> Result<u32, String> {
                    b += 1;
                    if a == 0 {
                        return Err("zero".into());
                    }
                    Ok(a.checked_add(b).ok_or("overflow")?)
                }
            ),
        );
        let expected = quote! {
            fn add(a: u32, b: u32) -> Result<u32, String> {
                static __TRACED_CALLSITE: ::traced::__private::Callsite = ::traced::__private::Callsite::new(
                    "add",
                    ::traced::__private::SpanKind::Internal,
                    ::traced::__private::module_path!(),
                    "add",
                    ::traced::__private::file!(), ::traced::__private::line!(),
                );
                let mut __traced_span = ::traced::__private::Span::start_callsite(&__TRACED_CALLSITE);
                if __traced_span.is_recording() {
                    #[allow(unused_imports)]
                    use ::traced::__private::{ValueArg as _, DebugArg as _, NoArg as _,};
                    __traced_span.attr("a", (&&&::traced::__private::Arg(&a)).__traced_value());
                    __traced_span.attr("b", (&&&::traced::__private::Arg(&b)).__traced_value());
                }
                let mut __traced_entered = __traced_span.enter_until_end();
                let a = a;
                let mut b = b;
                let __traced_ret: Result<u32, String> = '__traced_body: {
                    b += 1;
                    if a == 0 {
                        break '__traced_body Err("zero".into());
                    }
                    Ok(match ::traced::__private::Try::branch(a.checked_add(b).ok_or("overflow")) {
                        ::traced::__private::ControlFlow::Continue(__traced_value) => __traced_value,
                        ::traced::__private::ControlFlow::Break(__traced_residual) => {
                            break '__traced_body ::traced::__private::FromResidual::from_residual(__traced_residual)
                        }
                    })
                };
                #[allow(unreachable_code)]
                {
                    #[allow(unused_imports)]
                    use ::traced::__private::{
                        OutcomeAny as _, OutcomeDebug as _, OutcomeDisplay as _, OutcomeNone as _,
                    };
                    (&&&&::traced::__private::Ret(&__traced_ret)).__traced_outcome(&mut __traced_entered);
                }
                #[allow(unreachable_code)]
                __traced_ret
            }
        };
        let expected: syn::File = syn::parse2(expected).unwrap();
        assert_eq!(out, expected.into_token_stream().to_string());
    }

    #[test]
    fn async_fn() {
        let out = expand_str(
            quote!(
                name = "fetch",
                kind = "client",
                skip(token),
                attrs(http.method = "GET")
            ),
            quote!(
                pub async fn fetch(&self, url: &str, token: String) -> Result<Vec<u8>, Error> {
                    self.get(url, &token).await
                }
            ),
        );
        let expected = quote! {
            pub async fn fetch(&self, url: &str, token: String) -> Result<Vec<u8>, Error> {
                static __TRACED_CALLSITE: ::traced::__private::Callsite = ::traced::__private::Callsite::new(
                    "fetch",
                    ::traced::__private::SpanKind::Client,
                    ::traced::__private::module_path!(),
                    "fetch",
                    ::traced::__private::file!(), ::traced::__private::line!(),
                );
                let mut __traced_span = ::traced::__private::Span::start_callsite(&__TRACED_CALLSITE);
                if __traced_span.is_recording() {
                    #[allow(unused_imports)]
                    use ::traced::__private::{ValueArg as _, DebugArg as _, NoArg as _, SelfArg as _,};
                    __traced_span.attr("self", (&&&::traced::__private::Arg(&self)).__traced_self_value());
                    __traced_span.attr("url", (&&&::traced::__private::Arg(&url)).__traced_value());
                    __traced_span.attr("http.method", (&&&::traced::__private::Arg(&("GET"))).__traced_value());
                }
                ::traced::__private::Instrumented::new(
                    __traced_span,
                    async move {
                        #[allow(unreachable_code)]
                        if false {
                            let __traced_never: Result<Vec<u8>, Error> = loop {};
                            return __traced_never;
                        }
                        let url = url;
                        let token = token;
                        self.get(url, &token).await
                    },
                    |__traced_out: &Result<Vec<u8>, Error>, __traced_span| {
                        #[allow(unused_imports)]
                        use ::traced::__private::{
                            OutcomeAny as _, OutcomeDebug as _, OutcomeDisplay as _, OutcomeNone as _,
                        };
                        (&&&&::traced::__private::Ret(__traced_out)).__traced_outcome(__traced_span);
                    }
                ).await
            }
        };
        let expected: syn::File = syn::parse2(expected).unwrap();
        assert_eq!(out, expected.into_token_stream().to_string());
    }

    #[test]
    fn skip_all_and_no_attrs_leaves_params_alone() {
        let out = expand_str(
            quote!(skip_all),
            quote!(
                fn f(mut a: u8) -> u8 {
                    a += 1;
                    a
                }
            ),
        );
        assert!(out.starts_with("fn f (mut a : u8) -> u8"), "{out}");
        assert!(!out.contains("is_recording"), "{out}");
        assert!(!out.contains("let a = a"), "{out}");
    }

    #[test]
    fn raw_idents_and_names() {
        let out = expand_str(
            quote!(),
            quote!(
                fn r#match(r#type: u8) {}
            ),
        );
        assert!(out.contains("\"match\" , :: traced"), "{out}");
        assert!(out.contains("attr (\"type\" ,"), "{out}");
        assert!(out.contains("let r#type = r#type ;"), "{out}");
    }

    #[test]
    fn never_returning_fn_runs_the_body_as_is() {
        let out = expand_str(
            quote!(),
            quote!(
                fn f() -> ! {
                    loop {}
                }
            ),
        );
        assert!(
            out.contains(
                "let __traced_entered = __traced_span . enter_until_end () ; { loop { } }"
            ),
            "{out}"
        );
        assert!(!out.contains("__traced_body"), "{out}");
    }

    #[test]
    fn impl_trait_return_is_inferred() {
        let out = expand_str(
            quote!(),
            quote!(
                fn f() -> impl Fn() {
                    || {}
                }
            ),
        );
        assert!(out.contains("let __traced_ret = '__traced_body"), "{out}");
        let out = expand_str(
            quote!(),
            quote!(
                fn f() -> Result<impl Display, E> {
                    todo!()
                }
            ),
        );
        assert!(
            out.contains("let __traced_ret : Result < _ , E > ="),
            "{out}"
        );
    }

    #[test]
    fn box_pin_tail() {
        let out = expand_str(
            quote!(),
            quote!(
                fn f<'a>(&'a self, x: u8) -> Pin<Box<dyn Future<Output = u8> + Send + 'a>> {
                    Box::pin(async move { x })
                }
            ),
        );
        assert!(
            out.contains(
                "let x = x ; Box :: pin (:: traced :: __private :: Instrumented :: new \
                 (__traced_span , async move { x } , | __traced_out : & u8 , __traced_span |"
            ),
            "{out}"
        );
        assert!(!out.contains("enter"), "{out}");
    }

    #[test]
    fn async_block_tail() {
        let out = expand_str(
            quote!(skip_all),
            quote!(
                fn f() -> impl Future<Output = ()> {
                    let x = 1;
                    async move {
                        x;
                    }
                }
            ),
        );
        assert!(
            out.contains(
                "let __traced_span = :: traced :: __private :: Span :: start_callsite (& __TRACED_CALLSITE) ; \
                 let x = 1 ; :: traced :: __private :: Instrumented :: new (__traced_span , async move { x ; } , \
                 | __traced_out : & () , __traced_span |"
            ),
            "{out}"
        );
    }

    #[test]
    fn opaque_body_is_kept() {
        let out = try_expand(quote!(), quote!(fn f() -> u8 { let x = ; x })).unwrap();
        let out = out.to_string();
        assert!(out.contains("{ let x = ; x }"), "{out}");
        assert!(out.contains("enter"), "{out}");
    }

    #[test]
    fn lint_attrs_move_to_the_rebind() {
        let out = expand_str(
            quote!(),
            quote!(
                fn f(#[allow(unused_variables)] a: u8) {}
            ),
        );
        assert!(out.starts_with("fn f (a : u8)"), "{out}");
        assert!(
            out.contains("# [allow (unused_variables)] let a = a ;"),
            "{out}"
        );
    }

    #[test]
    fn attrs_key_replaces_parameter() {
        let out = expand_str(
            quote!(attrs(user = user.id)),
            quote!(
                fn f(user: &User) {}
            ),
        );
        assert_eq!(out.matches("attr (\"user\"").count(), 1, "{out}");
        assert!(out.contains("Arg (& (user . id))"), "{out}");
    }

    #[test]
    fn errors_are_combined() {
        let err = try_expand(
            quote!(kind = "clinet", skip(pasword, tokn)),
            quote!(
                const fn f(password: u8, token: u8) {}
            ),
        )
        .unwrap_err();
        assert_eq!(err.into_iter().count(), 4);
    }
}
