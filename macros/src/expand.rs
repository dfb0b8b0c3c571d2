//! Code generation. Every path is absolute through `::traced::__private` (or the `crate = path`
//! option's path), every generated local starts with `__traced_` and has mixed-site hygiene,
//! and the user's tokens keep their spans.
//!
//! The shapes of function, chosen from the signature and the body:
//!
//! - `async fn`: emitted as a `fn` returning `impl Future`; the span starts at the call, and
//!   the body (every parameter moved in) becomes an async block wrapped in `Instrumented`,
//!   which ends the span when the future completes (or is dropped) and reads the output.
//!   Under `#[async_trait]` the `async fn` stays, its span started at the first poll.
//! - a sync fn whose tail is `async { }` or `Box::pin(async { })` (what `#[async_trait]`
//!   writes): the span starts at the call and the tail block is wrapped in `Instrumented`.
//! - a sync fn returning a value: the body runs inside a labeled block (its `return` and `?`
//!   redirected to the label) so the result can be read; the guard's `Drop` ends the span.
//!   A body with a macro that may hide a `return` (`bail!`) runs in a closure instead (or,
//!   under `#[track_caller]`, keeps its label and a guard that marks an unseen exit).
//! - a sync fn returning `!`, or whose body did not parse: the body runs as is under the guard.
//!
//! An impl block or a trait is emitted as written, with each method that has a body expanded
//! as a function, under the block's options merged with the method's own.

use crate::ast::{self, BlockItem, Body, Func, Item, ItemBlock, Output, Param};
use crate::attr::{self, Args, AttrEntry, ErrMode, Kind, Opt};
use crate::valid::{self, Errors, Place};
use crate::{rewrite, secret};
use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::visit_mut::{self, VisitMut};
use syn::{Attribute, Expr, FnArg, Lifetime, ReturnType, Stmt, Type};

/// Parses, validates and expands; the caller turns an error into output (with [`fallback`]).
pub(crate) fn try_expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    try_expand_with(args, item, cfg!(feature = "off"))
}

/// With `off` (the `traced/off` feature), everything is checked and nothing instrumented.
fn try_expand_with(args: TokenStream, item: TokenStream, off: bool) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let args = attr::parse(args, &mut errors);
    match ast::parse_item(item.clone()) {
        Ok(Item::Fn(func)) => {
            valid::check(&args, &func, Place::Fn, &mut errors);
            errors.finish()?;
            if off {
                return Ok(item);
            }
            let options = Options {
                own: &args,
                block: None,
                owner: None,
                async_trait: false,
            };
            Ok(expand_fn(&options, *func))
        }
        Ok(Item::Block(block)) => {
            let own = own_args(&block, &mut errors);
            let instrumented: Vec<&Func> = methods(&block)
                .zip(&own)
                .filter(|(func, own)| match own {
                    Some(own) => own.ignore.is_none(),
                    None => instrumentable(func),
                })
                .map(|(func, _)| func)
                .collect();
            valid::check_block(&args, &instrumented, &mut errors);
            errors.finish()?;
            Ok(expand_block(&args, block, own, off))
        }
        Err(error) => Err(errors.fail(error)),
    }
}

/// What to emit beside the errors: the item as written, so the rest of the crate still
/// type-checks; for a block, without its methods' own `#[traced]` (else each would expand
/// again on its own and repeat the errors).
pub(crate) fn fallback(item: TokenStream) -> TokenStream {
    match ast::parse_block(item.clone()) {
        Some(Ok(block)) => {
            let own = methods(&block).map(|_| None).collect();
            expand_block(&Args::default(), block, own, true)
        }
        _ => item,
    }
}

/// The methods of a block, in order.
fn methods(block: &ItemBlock) -> impl Iterator<Item = &Func> {
    block.items.iter().filter_map(|item| match item {
        BlockItem::Method(method) => Some(&method.func),
        BlockItem::Other(_) => None,
    })
}

/// The options of each method's own `#[traced(...)]`, checked against the method.
fn own_args(block: &ItemBlock, errors: &mut Errors) -> Vec<Option<Args>> {
    let mut own = Vec::new();
    for item in &block.items {
        let BlockItem::Method(method) = item else {
            continue;
        };
        let mut attrs = method.attrs.iter();
        let Some(first) = attrs.next() else {
            own.push(None);
            continue;
        };
        for extra in attrs {
            errors.push(syn::Error::new_spanned(
                extra,
                "this method already has a `#[traced]` attribute",
            ));
        }
        let tokens = match &first.meta {
            syn::Meta::Path(_) => TokenStream::new(),
            syn::Meta::List(list) => list.tokens.clone(),
            syn::Meta::NameValue(meta) => {
                errors.push(syn::Error::new_spanned(
                    meta,
                    "expected `#[traced]` or `#[traced(...)]`",
                ));
                TokenStream::new()
            }
        };
        let args = attr::parse(tokens, errors);
        valid::check(&args, &method.func, Place::Method, errors);
        own.push(Some(args));
    }
    own
}

/// A method the block's attribute instruments: one with a body, not a `const fn`.
fn instrumentable(func: &Func) -> bool {
    !matches!(func.body, Body::Missing(_)) && func.sig.constness.is_none()
}

/// The block as written, its methods expanded (or, with `off`, only their `#[traced]` removed).
fn expand_block(args: &Args, block: ItemBlock, own: Vec<Option<Args>>, off: bool) -> TokenStream {
    let ItemBlock {
        header,
        brace,
        inner_attrs,
        items,
        owner,
        ..
    } = block;
    let async_trait = mentions_async_trait(header.clone());
    let mut own = own.into_iter();
    let items = items.into_iter().map(|item| match item {
        BlockItem::Other(tokens) => tokens,
        BlockItem::Method(method) => {
            let own = own.next().flatten();
            let func = method.func;
            let skipped = match &own {
                Some(own) => own.ignore.is_some(),
                None => !instrumentable(&func),
            };
            if off || skipped {
                return func.into_token_stream();
            }
            let own = own.unwrap_or_default();
            let options = Options {
                own: &own,
                block: Some(args),
                owner: Some(&owner),
                async_trait,
            };
            expand_fn(&options, func)
        }
    });
    let mut body = Group::new(Delimiter::Brace, quote!(#(#inner_attrs)* #(#items)*));
    body.set_span(brace);
    quote!(#header #body)
}

/// Whether a block's header (its remaining attributes) names `async_trait`.
fn mentions_async_trait(header: TokenStream) -> bool {
    header.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "async_trait",
        TokenTree::Group(group) => mentions_async_trait(group.stream()),
        _ => false,
    })
}

/// The options of one function: its own attribute's, then its block's.
struct Options<'a> {
    own: &'a Args,
    block: Option<&'a Args>,
    /// `Type` or `Trait`, for a method of a traced block.
    owner: Option<&'a str>,
    /// The block is under `#[async_trait]`, which expands after us and must see `async fn`.
    async_trait: bool,
}

/// What happens to a parameter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Treatment {
    Record,
    /// `reveal(x)`: recorded as it is, its `Debug` text and URLs not scrubbed of secrets.
    Reveal,
    Redact,
    Skip,
}

impl<'a> Options<'a> {
    /// The method's own value of an option, else the block's.
    fn pick<T>(&self, field: fn(&Args) -> &Option<Opt<T>>) -> Option<&'a Opt<T>> {
        field(self.own)
            .as_ref()
            .or_else(|| self.block.and_then(|block| field(block).as_ref()))
    }

    /// `::traced`, or the `crate = path` option's path.
    fn krate(&self) -> TokenStream {
        self.pick(|a| &a.krate)
            .map_or_else(|| quote!(::traced), |krate| krate.value.to_token_stream())
    }

    /// The method's own lists decide first, then the block's, then the name.
    fn treatment(&self, name: &str) -> Treatment {
        let has = |list: &Option<Opt<Vec<Ident>>>| {
            list.as_ref()
                .is_some_and(|list| list.value.iter().any(|ident| ident.unraw() == name))
        };
        for args in std::iter::once(self.own).chain(self.block) {
            if args.skip_all.is_some() || has(&args.skip) {
                return Treatment::Skip;
            }
            if has(&args.redact) {
                return Treatment::Redact;
            }
            if has(&args.reveal) {
                return Treatment::Reveal;
            }
        }
        if secret::looks_secret(name) {
            Treatment::Redact
        } else {
            Treatment::Record
        }
    }

    /// The method's `attrs`, then the block's whose keys the method does not set.
    fn attrs(&self) -> Vec<&'a AttrEntry> {
        let own: &[AttrEntry] = self.own.attrs.as_ref().map_or(&[], |a| &a.value);
        let block: &[AttrEntry] = self
            .block
            .and_then(|block| block.attrs.as_ref())
            .map_or(&[], |a| &a.value);
        own.iter()
            .chain(
                block
                    .iter()
                    .filter(|entry| own.iter().all(|o| o.key != entry.key)),
            )
            .collect()
    }
}

/// The generated locals and label. Mixed-site: the user's body cannot name them.
struct Names {
    span: Ident,
    attrs: Ident,
    ret: Ident,
    out: Ident,
    never: Ident,
    value: Ident,
    parent: Ident,
    label: Lifetime,
    /// The arguments passed through the recording branch (see [`recording`]).
    args: Ident,
}

impl Names {
    fn new() -> Self {
        let local = |name: &str| Ident::new(name, Span::mixed_site());
        Names {
            span: local("__traced_span"),
            attrs: local("__traced_attrs"),
            ret: local("__traced_ret"),
            out: local("__traced_out"),
            never: local("__traced_never"),
            value: local("__traced_value"),
            args: local("__traced_args"),
            parent: local("__traced_parent"),
            label: Lifetime::new("'__traced_body", Span::mixed_site()),
        }
    }
}

fn expand_fn(options: &Options, mut func: Func) -> TokenStream {
    let names = Names::new();
    let krate = options.krate();
    let callsite = callsite(options, &func, &krate);
    let recording = recording(options, &func, &names, &krate);
    // Recorded parameters are read by the expansion, so each is rebound under the user's own
    // ident (and `mut`) to keep `unused_variables` and `unused_mut` firing as before.
    let shape = Shape::of(&func, options.async_trait);
    let moves = matches!(shape, Shape::AsyncCall);
    let rebinds = if recording.is_some() || moves {
        rebind_params(&mut func.sig, |name| read_by_context(options, name), moves)
    } else {
        TokenStream::new()
    };

    let Names { span, .. } = &names;
    let inner_attrs = &func.inner_attrs;
    let output = func.output();
    let span_mut = (recording.is_some() || matches!(shape, Shape::Labeled)).then(|| quote!(mut));
    // A sync function's span is started and entered at once: a guard that ends it on drop.
    let start = start(
        options,
        &names,
        &krate,
        matches!(shape, Shape::Labeled | Shape::Plain),
    );
    let (redirected, track_caller) = redirect(shape, &func, &names, &krate);
    let watched = track_caller && redirected.as_ref().is_some_and(|(_, hidden)| *hidden);
    let start = if watched {
        quote!(#krate::__private::Watched::new(#start))
    } else {
        start
    };
    let prelude = quote! {
        #(#inner_attrs)*
        #callsite
        let #span_mut #span = #start;
        #recording
    };

    let body = match (shape, &mut func.body) {
        (_, Body::Missing(_)) => return func.into_token_stream(),
        (Shape::Async | Shape::AsyncCall, body) => {
            let at_call = matches!(shape, Shape::AsyncCall);
            let future = async_body(options, &output, &func.sig, body, &rebinds, &names, &krate);
            if at_call {
                call_time_signature(&mut func.sig, &krate);
                quote!(#prelude #future)
            } else {
                quote!(#prelude #future.await)
            }
        }
        (Shape::AsyncTail, Body::Block(block)) => {
            let out = ast::future_output(&func.sig.output).and_then(nameable);
            let on_output = on_output(options, &output, out.as_ref(), &names, &krate);
            let stmts = instrument_tail(block, span, &on_output, &krate);
            quote!(#prelude #rebinds #stmts)
        }
        (Shape::Labeled, Body::Block(block)) => {
            let Some((redirected, hidden)) = redirected else {
                unreachable!("a labeled body is redirected above");
            };
            let ty = nameable(return_type(&func.sig.output));
            let ret = &names.ret;
            let outcome = outcome(
                options,
                &output,
                &names,
                &krate,
                (&quote!(&#ret), &quote!(&mut #span), &quote!(#span)),
            );
            let body = labeled(
                block,
                (redirected, hidden, track_caller),
                ty.as_ref(),
                &outcome,
                &names,
                &krate,
            );
            quote!(#prelude #rebinds #body)
        }
        (_, body) => {
            let block = braced(body, &TokenStream::new());
            quote! {
                #prelude
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

/// A labeled sync body with its exits redirected, whether a macro may hide one (see
/// [`labeled`]), and whether the function is `#[track_caller]`.
fn redirect(
    shape: Shape,
    func: &Func,
    names: &Names,
    krate: &TokenStream,
) -> (Option<(syn::Block, bool)>, bool) {
    let redirected = match (shape, &func.body) {
        (Shape::Labeled, Body::Block(block)) => {
            let mut redirected = block.clone();
            let hidden = rewrite::redirect_exits(&mut redirected, &names.label, krate);
            Some((redirected, hidden))
        }
        _ => None,
    };
    let track_caller = func
        .outer_attrs
        .iter()
        .any(|attr| attr.path().is_ident("track_caller"));
    (redirected, track_caller)
}

/// A sync body whose result is read, then its outcome check, then the result. A label keeps
/// the body in the function's own frame (no closure: `#[track_caller]` and backtraces stay as
/// written), its `return`s and `?`s redirected to it. A macro that may hide a `return`
/// (`bail!`, `ensure!`: `hidden`) gets past a label, so such a body runs in a closure that
/// every exit leaves through; a `#[track_caller]` function keeps its label (a closure would
/// report its own location), and its guard (`Watched`) marks an unseen exit as an error.
fn labeled(
    block: &syn::Block,
    (redirected, hidden, track_caller): (syn::Block, bool, bool),
    ty: Option<&TokenStream>,
    outcome: &TokenStream,
    names: &Names,
    krate: &TokenStream,
) -> TokenStream {
    let Names {
        ret, label, span, ..
    } = names;
    let annotation = ty.map(|ty| quote!(: #ty));
    let (body, seen) = match (hidden, track_caller) {
        (false, _) => (quote!(#label: #redirected), None),
        (true, false) => {
            let arrow = ty.map(|ty| quote!(-> #ty));
            (quote!(#krate::__private::call_once(|| #arrow #block)), None)
        }
        (true, true) => (quote!(#label: #redirected), Some(quote!(#span.seen();))),
    };
    quote! {
        // A body that is only `todo!()` or `panic!()` diverges inside this `let`.
        #[allow(clippy::diverging_sub_expression)]
        let #ret #annotation = #body;
        // The body may diverge (`panic!`, `todo!`, `loop {}`); this runs when it returns.
        // rustc reports only the first unreachable statement of a block, so the statements
        // after it need no `allow` (and the tail expression carries no attribute, which
        // rust-analyzer misreads as an unresolved name).
        #[allow(unreachable_code)]
        #outcome
        #seen
        #ret
    }
}

/// `Instrumented::new(span, async move { body }, on_output)`: the body of an `async fn`, its
/// parameters moved in by `rebinds`.
fn async_body(
    options: &Options,
    output: &Output,
    sig: &syn::Signature,
    body: &Body,
    rebinds: &TokenStream,
    names: &Names,
    krate: &TokenStream,
) -> TokenStream {
    let ret = nameable(return_type(&sig.output));
    let fake_edge = ret
        .as_ref()
        .filter(|ty| !is_unit(ty))
        .map(|ty| fake_return_edge(ty, names));
    let block = braced(body, &quote!(#fake_edge #rebinds));
    let on_output = on_output(options, output, ret.as_ref(), names, krate);
    let span = &names.span;
    quote!(#krate::__private::Instrumented::new(#span, async move #block, #on_output))
}

/// `async fn f(..) -> T` becomes `fn f(..) -> impl Future<Output = T>`, so that the span
/// starts when the function is called. The `impl` is written at a call-site span, which
/// carries this macro crate's edition (2024): the opaque type captures every generic and
/// lifetime in scope, elided ones included, exactly as the `async fn` did, on any edition of
/// the user's crate. Auto traits (`Send`) leak through it as they do through `async fn`.
fn call_time_signature(sig: &mut syn::Signature, krate: &TokenStream) {
    let async_token = sig.asyncness.take();
    let at = async_token.map_or_else(Span::call_site, |token| {
        Span::call_site().located_at(token.span)
    });
    let ty = match &sig.output {
        ReturnType::Default => quote_spanned!(at=> ()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let krate = located_at(krate, at);
    let arrow = match &sig.output {
        ReturnType::Type(arrow, _) => *arrow,
        ReturnType::Default => syn::Token![->](at),
    };
    let future = quote_spanned!(at=> impl #krate::__private::Future<Output = #ty>);
    sig.output = ReturnType::Type(arrow, Box::new(Type::Verbatim(future)));
}

#[derive(Clone, Copy)]
enum Shape {
    /// An `async fn`: made a sync fn returning an instrumented `async move` block.
    AsyncCall,
    /// An `async fn` under `#[async_trait]`, which must still see it as `async fn`: the span
    /// starts at its first poll.
    Async,
    AsyncTail,
    Labeled,
    Plain,
}

impl Shape {
    fn of(func: &Func, async_trait: bool) -> Shape {
        if func.sig.asyncness.is_some() {
            return if async_trait {
                Shape::Async
            } else {
                Shape::AsyncCall
            };
        }
        if !matches!(func.body, Body::Block(_)) {
            return Shape::Plain;
        }
        if func.async_tail().is_some() {
            return Shape::AsyncTail;
        }
        match &func.sig.output {
            ReturnType::Type(_, ty) if matches!(ast::peel(ty), Type::Never(_)) => Shape::Plain,
            _ => Shape::Labeled,
        }
    }
}

/// `static __TRACED_CALLSITE`: name, kind, and where the function is.
fn callsite(options: &Options, func: &Func, krate: &TokenStream) -> TokenStream {
    let ident = &func.sig.ident;
    let function = match options.owner {
        Some(owner) => format!("{owner}::{}", ident.unraw()),
        None => ident.unraw().to_string(),
    };
    let name = options
        .own
        .name
        .as_ref()
        .map_or_else(|| function.clone(), |name| name.value.value());
    let kind = options
        .pick(|a| &a.kind)
        .map_or(Kind::Internal, |kind| kind.value);
    let kind = format_ident!("{}", kind.variant());
    let new = if options.pick(|a| &a.code).is_none_or(|code| code.value) {
        // At the fn's name, so `line!()` is the line of the `fn`, not of the attribute.
        let at = located_at(krate, ident.span());
        let location = quote_spanned! {ident.span()=>
            #at::__private::file!(), #at::__private::line!()
        };
        quote! {
            #krate::__private::Callsite::new(
                #krate::__private::crate_scope!(),
                #name,
                #krate::__private::SpanKind::#kind,
                #krate::__private::module_path!(),
                #function,
                #location,
            )
        }
    } else {
        quote!(#krate::__private::Callsite::without_code(
            #krate::__private::crate_scope!(),
            #name,
            #krate::__private::SpanKind::#kind,
        ))
    };
    if options.owner.is_none() && in_impl(&func.sig) {
        return lone_method_callsite(options, func, &kind, krate);
    }
    quote! {
        static __TRACED_CALLSITE: #krate::__private::Callsite = #new;
    }
}

/// Whether a lone function is surely a method: it has a receiver or names `Self` in its
/// signature. (A lone associated function that does not is named like a free function: the
/// macro cannot tell them apart, and a free function's path holds no type to read.)
fn in_impl(sig: &syn::Signature) -> bool {
    fn names_self(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tree| match tree {
            TokenTree::Ident(ident) => ident == "Self",
            TokenTree::Group(group) => names_self(group.stream()),
            _ => false,
        })
    }
    sig.receiver().is_some()
        || names_self(sig.inputs.to_token_stream())
        || names_self(sig.output.to_token_stream())
}

/// The callsite of a method traced on its own: its type is read once, at the first call,
/// from the `type_name` of an item declared in the initializer (see `Callsite::in_impl`).
fn lone_method_callsite(
    options: &Options,
    func: &Func,
    kind: &Ident,
    krate: &TokenStream,
) -> TokenStream {
    let ident = &func.sig.ident;
    let method = ident.unraw().to_string();
    let name = options.own.name.as_ref().map_or_else(
        || quote!(::core::option::Option::None),
        |name| {
            let name = &name.value;
            quote!(::core::option::Option::Some(#name))
        },
    );
    let location = if options.pick(|a| &a.code).is_none_or(|code| code.value) {
        // At the fn's name, so `line!()` is the line of the `fn`, not of the attribute.
        let at = located_at(krate, ident.span());
        let location = quote_spanned! {ident.span()=>
            #at::__private::file!(), #at::__private::line!()
        };
        quote!(::core::option::Option::Some((#krate::__private::module_path!(), #location)))
    } else {
        quote!(::core::option::Option::None)
    };
    quote! {
        static __TRACED_CALLSITE: #krate::__private::LazyLock<#krate::__private::Callsite> =
            #krate::__private::LazyLock::new(|| {
                struct Here;
                #krate::__private::Callsite::in_impl(
                    #krate::__private::crate_scope!(),
                    #krate::__private::type_name::<Here>(),
                    #method,
                    #name,
                    #krate::__private::SpanKind::#kind,
                    #location,
                )
            });
    }
}

/// The span's start: under the active span, or under `parent = expr`. The expression is
/// borrowed (a parameter it names stays the body's), evaluated only when a pipeline is
/// installed, and converted by the levels of `__private::ParentOf`.
fn start(options: &Options, names: &Names, krate: &TokenStream, guard: bool) -> TokenStream {
    let Some(parent) = &options.own.parent else {
        return if guard {
            quote!(#krate::__private::Guard::start(&__TRACED_CALLSITE))
        } else {
            quote!(#krate::__private::Span::start_callsite(&__TRACED_CALLSITE))
        };
    };
    let expr = &parent.value;
    // At the expression, so "cannot make a parent span out of `T`" points at it.
    let at = Span::call_site().located_at(expr.span());
    let krate_at = located_at(krate, at);
    let mut value = names.parent.clone();
    value.set_span(value.span().located_at(at));
    let convert = quote_spanned! {at=>
        (&&&&&&&#krate_at::__private::ParentOf(#value)).__traced_parent().into_parent(#value)
    };
    let span = quote! {
        if #krate::__private::enabled() {
            let #value = &(#expr);
            let #value = {
                use #krate::__private::autoref::*;
                #convert
            };
            #krate::__private::Span::start_callsite_with_parent(&__TRACED_CALLSITE, &#value)
        } else {
            #krate::__private::Span::none()
        }
    };
    if guard {
        quote!(#krate::__private::Guard::enter(#span))
    } else {
        span
    }
}

/// Whether the user's own `parent` or `links` expression reads the parameter `name`.
fn read_by_context(options: &Options, name: &str) -> bool {
    let parent = options.own.parent.iter().map(|parent| &parent.value);
    let links = options.own.links.iter().flat_map(|links| &links.value);
    parent
        .chain(links.map(|link| &link.context))
        .any(|expr| mentions(expr, name))
}

/// `if span.is_recording() { record(&mut span, |attrs| { attrs.attr("a", ...); ... }) }`;
/// with small arguments to pass through the branch (see [`passed_through`]),
/// `let (a, b) = if span.is_recording() { let args = (a, b); record(..); args } else { (a, b) };`;
/// nothing if nothing is recorded.
fn recording(
    options: &Options,
    func: &Func,
    names: &Names,
    krate: &TokenStream,
) -> Option<TokenStream> {
    let writer = &names.attrs;
    let attrs = options.attrs();
    let mut calls = Vec::new();
    let mut autoref = !attrs.is_empty();
    let moved = passed_through(options, func);
    // With no expression of the user's in the closure, the arguments passed through are
    // read there by reference, in place; an `attrs` or `links` expression may name one, and
    // sees it as the parameter it is, copied.
    let in_place = attrs.is_empty() && options.own.links.is_none();
    for param in func.params() {
        let ident = param.ident();
        let key = ident.unraw().to_string();
        // An `attrs` entry with a parameter's name replaces it.
        if attrs.iter().any(|entry| entry.key == key) {
            continue;
        }
        // At the parameter, so "cannot be recorded" points at it, and lints see generated
        // code. The name itself keeps its own span: written by a `macro_rules!`, it resolves
        // only with that macro's hygiene. Except `_x`, whose use clippy would report
        // (`used_underscore_binding`) at a span of the user's own.
        let at = Span::call_site().located_at(ident.span());
        let mut ident = ident;
        if key.starts_with('_') {
            ident.set_span(at);
        }
        let krate = located_at(krate, at);
        let treatment = options.treatment(&key);
        autoref |= matches!(treatment, Treatment::Record | Treatment::Reveal);
        // A parameter under `#[cfg(..)]` is recorded only where it exists.
        let cfgs = param.cfgs();
        // A parameter passed through the branch is bound there by reference already.
        let arg = if in_place && moved.contains(&ident) {
            quote_spanned!(at=> #ident)
        } else {
            quote_spanned!(at=> &#ident)
        };
        let call = match (treatment, &param) {
            (Treatment::Skip, _) => continue,
            (Treatment::Redact, _) => quote_spanned! {at=>
                #writer.attr(#key, #krate::__private::redacted());
            },
            (Treatment::Record | Treatment::Reveal, Param::Receiver(_)) => quote_spanned! {at=>
                #writer.attr(#key, (&&&#krate::__private::Arg(&#ident)).__traced_self_value());
            },
            (Treatment::Record, Param::Ident(..)) => quote_spanned! {at=>
                #writer.attr(#key, (&&&#krate::__private::Arg(#arg)).__traced_value());
            },
            (Treatment::Reveal, Param::Ident(..)) => quote_spanned! {at=>
                #writer.attr(#key, (&&&#krate::__private::Arg(#arg)).__traced_revealed());
            },
        };
        calls.push(quote!(#(#cfgs)* #call));
    }
    for entry in attrs {
        let key = &entry.key;
        let value = &entry.value;
        let at = Span::call_site().located_at(value.span());
        let krate = located_at(krate, at);
        calls.push(quote_spanned! {at=>
            #writer.attr(#key, (&&&#krate::__private::Arg(&(#value))).__traced_value());
        });
    }
    for link in options.own.links.iter().flat_map(|links| &links.value) {
        let context = &link.context;
        let at = Span::call_site().located_at(context.span());
        let attrs = link.attrs.iter().map(|entry| {
            let key = &entry.key;
            let value = &entry.value;
            let at = Span::call_site().located_at(value.span());
            let krate = located_at(krate, at);
            quote_spanned! {at=>
                #krate::__private::link_attr(
                    #key,
                    (&&&#krate::__private::Arg(&(#value))).__traced_value(),
                )
            }
        });
        autoref |= !link.attrs.is_empty();
        let krate = located_at(krate, at);
        calls.push(quote_spanned! {at=>
            #krate::__private::add_link(#writer, &(#context), [#(#attrs),*]);
        });
    }
    if calls.is_empty() {
        return None;
    }
    let autoref = autoref.then(|| quote!(use #krate::__private::autoref::*;));
    let calls = quote!(#autoref #(#calls)*);
    Some(record_call(&moved, in_place, &calls, names, krate))
}

/// The call to `record` with the closure that makes `calls`, in the branch that runs only
/// when the span records, the arguments in `moved` passed through it (see
/// [`passed_through`]), each read in place or copied.
fn record_call(
    moved: &[Ident],
    in_place: bool,
    calls: &TokenStream,
    names: &Names,
    krate: &TokenStream,
) -> TokenStream {
    let span = &names.span;
    let writer = &names.attrs;
    // Out of line (`record` is `#[inline(never)]`): the values built for the attributes take
    // stack in `record`'s frame, only while recording, not in the traced function's own.
    let record = quote! {
        #krate::__private::record(&mut #span, |#writer: &mut #krate::__private::Attrs<'_>| {
            #calls
        });
    };
    if moved.is_empty() {
        return quote! {
            if #span.is_recording() {
                #record
            }
        };
    }
    // The recorded arguments that are small values (see `passed_through`) pass through the
    // recording branch in a tuple of its own, which the closure borrows whole: `record`
    // reads them by reference, so they must be in memory, but only there. Read where they
    // were, each parameter was written to the stack on entry, on every call, recording or
    // not, and the closure held a pointer to each: `disabled/traced` (nothing installed)
    // took 3.01 ns, 2.46 this way; a traced frame 80 bytes, 64 (tests/stack.rs).
    let args = &names.args;
    let unpack = if in_place {
        quote!(&#args)
    } else {
        quote!(#krate::__private::copied(&#args))
    };
    quote! {
        let (#(#moved,)*) = if #span.is_recording() {
            let #args = (#(#moved,)*);
            #krate::__private::record(&mut #span, |#writer: &mut #krate::__private::Attrs<'_>| {
                let (#(#moved,)*) = #unpack;
                #calls
            });
            #args
        } else {
            (#(#moved,)*)
        };
    }
}

/// The recorded parameters passed through the recording branch (see [`recording`]): plain
/// identifiers of a [`small`] type, as written (a copy of one is a register or two; a larger
/// value stays where the caller put it), that no `parent` or `links` expression reads, not
/// under `#[cfg]` and not named `_x`.
fn passed_through(options: &Options, func: &Func) -> Vec<Ident> {
    let attrs = options.attrs();
    func.sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(typed) => Some(typed),
            FnArg::Receiver(_) => None,
        })
        .filter(|typed| ast::cfgs(&typed.attrs).is_empty() && small(&typed.ty))
        .filter_map(|typed| ast::plain_ident(typed).map(|pat| pat.ident.clone()))
        .filter(|ident| {
            let key = ident.unraw().to_string();
            !key.starts_with('_')
                && !attrs.iter().any(|entry| entry.key == key)
                && matches!(
                    options.treatment(&key),
                    Treatment::Record | Treatment::Reveal
                )
                && !read_by_context(options, &key)
        })
        .collect()
}

/// A `Copy` type whose values are a register or two: a shared reference, a raw pointer, or a
/// primitive scalar spelled as such.
fn small(ty: &Type) -> bool {
    const SCALARS: [&str; 16] = [
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "f32", "f64", "bool", "char",
    ];
    match ty {
        // Not `&mut T`, which is not `Copy`.
        Type::Reference(reference) => reference.mutability.is_none(),
        Type::Ptr(_) => true,
        Type::Paren(inner) => small(&inner.elem),
        Type::Group(inner) => small(&inner.elem),
        Type::Path(path) => {
            path.qself.is_none()
                && path
                    .path
                    .get_ident()
                    .is_some_and(|ident| SCALARS.iter().any(|scalar| ident == scalar))
        }
        _ => false,
    }
}

/// What runs once the function has returned: the outcome of an `Err`, then `ret`, `on_ok` and
/// `on_err`. `result` is a `&T` expression; `span` a `&mut Span` (or `&mut Guard`) and
/// `place` the same as a place to call methods on.
fn outcome(
    options: &Options,
    output: &Output,
    names: &Names,
    krate: &TokenStream,
    (result, span, place): (&TokenStream, &TokenStream, &TokenStream),
) -> TokenStream {
    let mode = options
        .pick(|a| &a.err)
        .map_or(ErrMode::Display, |err| err.value);
    let mode = format_ident!("{}", mode.variant());
    let mut at_end = Vec::new();
    // A block's `ret` skips its methods that return nothing; a method's own is checked.
    let ret = options
        .pick(|a| &a.ret)
        .filter(|_| !matches!(output, Output::Unit | Output::Never));
    if let Some(ret) = ret {
        let value = &names.value;
        let at = Span::call_site().located_at(ret.span);
        let (krate, result, span) = (
            located_at(krate, at),
            located_at(result, at),
            located_at(span, at),
        );
        at_end.push(quote_spanned! {at=>
            if let ::core::option::Option::Some(#value) =
                (&&&#krate::__private::Ret(#result)).__traced_ok()
            {
                #krate::__private::record_return(
                    #span,
                    (&&&#krate::__private::Arg(#value)).__traced_value(),
                );
            }
        });
    }
    let arm = |entries: &Option<Opt<Vec<AttrEntry>>>, binding: &str| {
        let entries = entries.as_ref()?;
        // The binding takes the span of the user's own `ok` (or `err`): written by a
        // `macro_rules!`, it resolves only with that macro's hygiene.
        let binding = entries
            .value
            .iter()
            .find_map(|e| mention(&e.value, binding))
            .map_or_else(|| quote!(_), ToTokens::into_token_stream);
        let calls = entries.value.iter().map(|entry| {
            let key = &entry.key;
            let value = &entry.value;
            let at = Span::call_site().located_at(value.span());
            let krate = located_at(krate, at);
            quote_spanned! {at=>
                #krate::__private::result_attr(
                    #span,
                    #key,
                    (&&&#krate::__private::Arg(&(#value))).__traced_value(),
                );
            }
        });
        let at = Span::call_site().located_at(entries.span);
        Some((binding, quote!(#(#calls)*), at))
    };
    let result_is = |at: Span| {
        let (krate, result) = (located_at(krate, at), located_at(result, at));
        quote_spanned!(at=> #krate::__private::as_result(#result))
    };
    match (
        arm(&options.own.on_ok, "ok"),
        arm(&options.own.on_err, "err"),
    ) {
        (Some((ok, on_ok, at)), Some((err, on_err, _))) => {
            let result = result_is(at);
            at_end.push(quote! {
                match #result {
                    ::core::result::Result::Ok(#ok) => { #on_ok }
                    ::core::result::Result::Err(#err) => { #on_err }
                }
            });
        }
        (Some((ok, on_ok, at)), None) => {
            let result = result_is(at);
            at_end.push(quote! {
                if let ::core::result::Result::Ok(#ok) = #result { #on_ok }
            });
        }
        (None, Some((err, on_err, at))) => {
            let result = result_is(at);
            at_end.push(quote! {
                if let ::core::result::Result::Err(#err) = #result { #on_err }
            });
        }
        (None, None) => {}
    }
    let at_end = (!at_end.is_empty()).then(|| {
        quote! {
            if #place.is_recording() {
                #(#at_end)*
            }
        }
    });
    quote! {{
        use #krate::__private::autoref::*;
        (&&&&&#krate::__private::Ret(#result))
            .__traced_outcome(#span, #krate::__private::ErrMode::#mode);
        #at_end
    }}
}

/// Whether `expr` mentions the identifier `name` (in macro arguments too).
fn mentions(expr: &Expr, name: &str) -> bool {
    mention(expr, name).is_some()
}

/// The first identifier `name` in `expr` (in macro arguments too), with its span.
fn mention(expr: &Expr, name: &str) -> Option<Ident> {
    fn walk(tokens: TokenStream, name: &str) -> Option<Ident> {
        tokens.into_iter().find_map(|tree| match tree {
            TokenTree::Ident(ident) if ident == name => Some(ident),
            TokenTree::Group(group) => walk(group.stream(), name),
            _ => None,
        })
    }
    walk(expr.to_token_stream(), name)
}

/// `tokens` with every span (inside groups too) moved to `span`'s location, hygiene kept: the
/// default `::traced` path is at the attribute, and a diagnostic about a call through it would
/// otherwise stretch from the attribute to the token it is about.
pub(crate) fn located_at(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner = Group::new(group.delimiter(), located_at(&group.stream(), span));
                inner.set_span(group.span().located_at(span));
                tree = TokenTree::Group(inner);
            }
            tree.set_span(tree.span().located_at(span));
            tree
        })
        .collect()
}

/// Strips `mut` from each plain-ident parameter and returns `let mut x = x;` rebinds, with the
/// user's own ident and `mut` tokens and the parameter's lint attributes.
///
/// With `moves` (the body of an `async fn`, now an `async move` block), every parameter is
/// moved into the block, as `async fn` does: the others are mentioned (`let _ = &x;`), and a
/// pattern (`(a, b): T`, `_: T`) becomes `__traced_argN: T` in the signature and
/// `let (a, b) = __traced_argN;` in the block.
fn rebind_params(
    sig: &mut syn::Signature,
    used: impl Fn(&str) -> bool,
    moves: bool,
) -> TokenStream {
    let mut rebinds = TokenStream::new();
    for (index, arg) in sig.inputs.iter_mut().enumerate() {
        let typed = match arg {
            FnArg::Typed(typed) => typed,
            FnArg::Receiver(receiver) if moves => {
                let this = Ident::from(receiver.self_token);
                rebinds.extend(quote!(let _ = &#this;));
                continue;
            }
            FnArg::Receiver(_) => continue,
        };
        // `#[allow(unused_variables)]` on a parameter is about the binding the body sees.
        let lints = |typed: &mut syn::PatType| -> Vec<Attribute> {
            let (lints, others) = std::mem::take(&mut typed.attrs)
                .into_iter()
                .partition(is_lint_attr);
            typed.attrs = others;
            lints
        };
        // A parameter under `#[cfg(..)]` is rebound only where it exists; a `cfg_attr` (a
        // lint or a `cfg`) stays on the parameter and applies to the rebinding too.
        let cfgs: Vec<Attribute> = ast::cfgs(&typed.attrs).into_iter().cloned().collect();
        // `_x` is exempt from `unused_variables` anyway, and rebinding it would trip clippy's
        // `no_effect_underscore_binding`; its `mut` stays in the signature, linted as before.
        // So is a parameter the user's own `parent` or `links` expression reads.
        match ast::plain_ident(typed).map(|pat| pat.ident.clone()) {
            Some(ident)
                if !ident.unraw().to_string().starts_with('_')
                    && !used(&ident.unraw().to_string()) => {}
            Some(mut ident) => {
                if moves {
                    // At a generated span, so clippy does not see a use of `_x`.
                    ident.set_span(Span::call_site().located_at(ident.span()));
                    rebinds.extend(quote!(#(#cfgs)* let _ = &#ident;));
                }
                continue;
            }
            None if moves => {
                let lints = lints(typed);
                let arg = Ident::new(&format!("__traced_arg{index}"), Span::mixed_site());
                let pat = std::mem::replace(
                    &mut *typed.pat,
                    syn::Pat::Ident(syn::PatIdent {
                        attrs: Vec::new(),
                        by_ref: None,
                        mutability: None,
                        ident: arg.clone(),
                        subpat: None,
                    }),
                );
                rebinds.extend(quote!(#(#cfgs)* #(#lints)* let #pat = #arg;));
                continue;
            }
            None => continue,
        }
        let lints = lints(typed);
        let syn::Pat::Ident(pat) = &mut *typed.pat else {
            continue;
        };
        let mutability = pat.mutability.take();
        // Both names keep the user's span: written by a `macro_rules!`, the parameter
        // resolves only with that macro's hygiene.
        let binding = &pat.ident;
        let value = binding;
        rebinds.extend(quote! {
            #(#cfgs)*
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

/// `|out, span| { outcome }`, with `out: &T` when `T` can be named.
fn on_output(
    options: &Options,
    output: &Output,
    ty: Option<&TokenStream>,
    names: &Names,
    krate: &TokenStream,
) -> TokenStream {
    let Names { out, span, .. } = names;
    let annotation = ty.map(|ty| quote!(: &#ty));
    let outcome = outcome(
        options,
        output,
        names,
        krate,
        (&quote!(#out), &quote!(#span), &quote!(#span)),
    );
    quote! {
        |#out #annotation, #span| #outcome
    }
}

/// The statements of `block`, the async block of its tail wrapped in
/// `Instrumented::new(span, block, on_output)`.
fn instrument_tail(
    block: &mut syn::Block,
    span: &Ident,
    on_output: &TokenStream,
    krate: &TokenStream,
) -> TokenStream {
    let mut stmts = std::mem::take(&mut block.stmts);
    if let Some(Stmt::Expr(tail, None)) = stmts.last_mut() {
        wrap_tail(tail, span, on_output, krate);
    }
    quote!(#(#stmts)*)
}

/// Wraps the async block of `tail` in `Instrumented::new(span, block, on_output)`.
fn wrap_tail(tail: &mut Expr, span: &Ident, on_output: &TokenStream, krate: &TokenStream) {
    let wrap = |block: &Expr| {
        Expr::Verbatim(quote! {
            #krate::__private::Instrumented::new(#span, #block, #on_output)
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
    if infer.never || matches!(ast::peel(&ty), Type::Infer(_)) {
        return None;
    }
    Some(ty.into_token_stream())
}

fn is_unit(ty: &TokenStream) -> bool {
    matches!(syn::parse2::<Type>(ty.clone()), Ok(Type::Tuple(tuple)) if tuple.elems.is_empty())
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

    /// [`try_expand`] as without the `off` feature, whatever this build has: the expansion
    /// is what these tests check (`off` has its own below).
    fn expanded(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
        try_expand_with(args, item, false)
    }

    fn expand_str(args: TokenStream, item: TokenStream) -> String {
        let out = expanded(args, item).unwrap_or_else(|e| panic!("{e}"));
        let file: syn::File = syn::parse2(out.clone()).unwrap_or_else(|e| panic!("{e}\n{out}"));
        file.into_token_stream().to_string()
    }

    /// Each file in `examples/expanded/` shows what the macro writes for one kind of item: the
    /// input (as a comment), then the expansion rendered by prettyplease. This test renders
    /// them again and compares; `UPDATE_EXPAND=1 cargo test -p traced-macros` rewrites them.
    #[test]
    // One case per snapshot file: the length is the list of cases.
    #[allow(clippy::too_many_lines)]
    fn expansion_snapshots() {
        let cases = [
            (
                "sync-fn",
                r#"
#[traced(kind = "client", ret)]
pub fn charge(amount: u64, card_number: &str) -> Result<u64, PaymentError> {
    if amount == 0 {
        return Err(PaymentError::Zero);
    }
    let fee = fee_for(amount)?;
    Ok(amount + fee)
}
"#,
            ),
            (
                "hidden-exit",
                r#"
#[traced]
pub fn reserve(stock: &mut Stock, sku: &str, count: u32) -> anyhow::Result<u32> {
    anyhow::ensure!(count > 0, "nothing to reserve");
    let left = stock.take(sku, count)?;
    Ok(left)
}
"#,
            ),
            (
                "async-fn",
                r#"
#[traced(kind = "server", skip(db), on_ok(order.count = ok.len()), err(debug))]
pub async fn list_orders(db: &Db, page: u32) -> Result<Vec<Order>, DbError> {
    db.orders(page).await
}
"#,
            ),
            (
                "parent-and-links",
                r#"
#[traced(kind = "consumer", parent = &message.headers, links(message.sent_by => (messaging.operation = "publish")))]
pub fn process(message: &Message) -> Result<(), ProcessError> {
    handle(&message.body)
}
"#,
            ),
            (
                "method",
                r#"
impl Cart {
    #[traced(name = "cart.add", attrs(cart.size = self.items.len()))]
    pub fn add(&mut self, item: Item) {
        self.items.push(item);
    }
}
"#,
            ),
            (
                "impl-block",
                r"
#[traced(skip(self), code = false)]
impl<S: Store> Repository for Users<S> {
    fn get(&self, id: u64) -> Option<User> {
        self.store.get(id)
    }

    #[traced(redact(email), err(expected))]
    fn find(&self, email: &str) -> Result<User, NotFound> {
        self.store.find(email).ok_or(NotFound)
    }

    #[traced(ignore)]
    fn len(&self) -> usize {
        self.store.len()
    }
}
",
            ),
            (
                "trait",
                r#"
#[traced(kind = "consumer")]
pub trait Handler {
    fn topic(&self) -> &str;

    async fn handle(&self, message: Message) -> Result<(), HandlerError> {
        self.process(&message.payload).await
    }
}
"#,
            ),
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/expanded");
        let update = std::env::var_os("UPDATE_EXPAND").is_some();
        let mut stale = Vec::new();
        for (name, input) in cases {
            let rendered = render_snapshot(input.trim());
            let path = dir.join(format!("{name}.rs"));
            let current = std::fs::read_to_string(&path).unwrap_or_default();
            if current != rendered {
                if update {
                    std::fs::create_dir_all(&dir).unwrap();
                    std::fs::write(&path, &rendered).unwrap();
                } else {
                    stale.push(path.display().to_string());
                }
            }
        }
        assert!(
            stale.is_empty(),
            "expansion snapshots differ (rerun with UPDATE_EXPAND=1 and review the diff): {stale:?}"
        );
    }

    /// The input as a comment, then the expansion of its one item.
    fn render_snapshot(input: &str) -> String {
        let out = expand_snapshot_item(syn::parse_str(input).unwrap());
        let file: syn::File = syn::parse2(out.clone()).unwrap_or_else(|e| panic!("{e}\n{out}"));
        let mut text = String::from(
            "// What `#[traced]` writes. Rendered by `cargo test -p traced-macros` \
             (`expand::tests::expansion_snapshots`);\n\
             // `UPDATE_EXPAND=1` rewrites it. Not compiled: the types are left out.\n//\n",
        );
        for line in input.lines() {
            text.push_str(if line.is_empty() { "//" } else { "// " });
            text.push_str(line);
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&prettyplease::unparse(&file));
        text
    }

    /// `#[traced(args)] item` expanded; for a plain impl, the `#[traced]` of each method.
    fn expand_snapshot_item(mut item: syn::Item) -> TokenStream {
        let attrs = match &mut item {
            syn::Item::Fn(f) => &mut f.attrs,
            syn::Item::Impl(i) => &mut i.attrs,
            syn::Item::Trait(t) => &mut t.attrs,
            _ => panic!("unexpected item"),
        };
        if let Some(pos) = attrs.iter().position(ast::is_traced_attr) {
            let args = match attrs.remove(pos).meta {
                syn::Meta::List(list) => list.tokens,
                _ => TokenStream::new(),
            };
            return expanded(args, item.into_token_stream()).unwrap_or_else(|e| panic!("{e}"));
        }
        // A plain impl: expand its methods' attributes one by one.
        let syn::Item::Impl(mut block) = item else {
            panic!("no #[traced]");
        };
        for impl_item in &mut block.items {
            if let syn::ImplItem::Fn(method) = impl_item
                && let Some(pos) = method.attrs.iter().position(ast::is_traced_attr)
            {
                let attr = method.attrs.remove(pos);
                let syn::Meta::List(list) = attr.meta else {
                    panic!("no arguments");
                };
                let out = expanded(list.tokens, method.to_token_stream())
                    .unwrap_or_else(|e| panic!("{e}"));
                *impl_item = syn::ImplItem::Verbatim(out);
            }
        }
        block.into_token_stream()
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
                "let __traced_span = :: traced :: __private :: Guard :: start (& __TRACED_CALLSITE) ; { loop { } }"
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
        let out = expanded(quote!(), quote!(fn f() -> u8 { let x = ; x })).unwrap();
        let out = out.to_string();
        assert!(out.contains("{ let x = ; x }"), "{out}");
        assert!(out.contains("Guard :: start"), "{out}");
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
    fn off_checks_and_emits_blocks_without_method_attributes() {
        let block = quote!(
            impl S {
                #[traced(ignore)]
                fn a(&self) {}
                #[inline]
                #[traced(kind = "client")]
                fn b(&self) {}
            }
        );
        let out = try_expand_with(quote!(skip(self)), block, true).unwrap();
        let expected = quote!(
            impl S {
                fn a(&self) {}
                #[inline]
                fn b(&self) {}
            }
        );
        assert_eq!(out.to_string(), expected.to_string());
        let bad = quote!(
            impl S {
                #[traced(kind = "clinet")]
                fn b(&self) {}
            }
        );
        assert!(try_expand_with(quote!(), bad, true).is_err());
    }

    #[test]
    fn fallback_removes_method_attributes_so_errors_are_not_repeated() {
        let out = fallback(quote!(
            impl S {
                #[traced(kind = "clinet")]
                fn b(&self) {}
            }
        ));
        assert_eq!(
            out.to_string(),
            quote!(impl S { fn b(&self) {} }).to_string()
        );
        let function = quote!(
            fn f() {}
        );
        assert_eq!(fallback(function.clone()).to_string(), function.to_string());
    }

    #[test]
    fn crate_path_replaces_every_traced_path() {
        let out = expand_str(
            quote!(crate = my::facade, ret, on_ok(n = *ok), attrs(a = 1)),
            quote!(
                async fn f(x: u8) -> Result<u8, E> {
                    let y = g(x)?;
                    Ok(y)
                }
            ),
        );
        assert!(!out.contains(":: traced ::"), "{out}");
        assert!(
            out.contains("my :: facade :: __private :: Callsite"),
            "{out}"
        );
        let out = expand_str(
            quote!(crate = my::facade),
            quote!(
                fn f(x: u8) -> Option<u8> {
                    Some(x.checked_add(1)?)
                }
            ),
        );
        assert!(!out.contains(":: traced ::"), "{out}");
        assert!(
            out.contains("my :: facade :: __private :: Try :: branch"),
            "{out}"
        );
    }

    #[test]
    fn code_false_and_block_names() {
        let out = expand_str(
            quote!(code = false),
            quote!(
                impl<T> Wrapper<T> {
                    fn get(&self) -> u8 {
                        1
                    }
                }
            ),
        );
        assert!(
            out.contains(
                "Callsite :: without_code (:: traced :: __private :: crate_scope ! () , \"Wrapper::get\" , :: traced :: __private :: SpanKind :: Internal ,)"
            ),
            "{out}"
        );
    }

    #[test]
    fn secret_names_are_redacted_unless_revealed() {
        let out = expand_str(
            quote!(reveal(token)),
            quote!(
                fn f(password: &str, token: u8, user: &str) {}
            ),
        );
        assert!(
            out.contains("attr (\"password\" , :: traced :: __private :: redacted ())"),
            "{out}"
        );
        // Both pass through the recording branch (`passed_through`), read there in place.
        assert!(out.contains("Arg (token)) . __traced_revealed ()"), "{out}");
        assert!(out.contains("Arg (user)"), "{out}");
        assert!(
            out.contains("let (token , user ,) = if __traced_span . is_recording ()"),
            "{out}"
        );
    }

    #[test]
    fn parent_is_borrowed_and_evaluated_only_when_enabled() {
        let out = expand_str(
            quote!(parent = &headers, skip_all),
            quote!(
                fn f(headers: &Headers) {}
            ),
        );
        assert!(
            out.contains(
                "let mut __traced_span = :: traced :: __private :: Guard :: enter (\
                 if :: traced :: __private :: enabled () { \
                 let __traced_parent = & (& headers) ;"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                ":: traced :: __private :: Span :: start_callsite_with_parent \
                 (& __TRACED_CALLSITE , & __traced_parent) } \
                 else { :: traced :: __private :: Span :: none () }) ;"
            ),
            "{out}"
        );
        assert!(!out.contains("start_callsite (&"), "{out}");
    }

    #[test]
    fn links_are_added_when_recording_and_their_params_not_rebound() {
        let out = expand_str(
            quote!(links(cx, batch.first => (index = 0))),
            quote!(
                fn f(cx: SpanContext, batch: &Batch, n: u8) {}
            ),
        );
        assert!(
            out.contains(":: traced :: __private :: add_link (__traced_attrs , & (cx) , []) ;"),
            "{out}"
        );
        assert!(
            out.contains(
                ":: traced :: __private :: add_link (__traced_attrs , & (batch . first) , \
                 [:: traced :: __private :: link_attr (\"index\" , (& & & :: traced :: __private \
                 :: Arg (& (0))) . __traced_value () ,)]) ;"
            ),
            "{out}"
        );
        // Read by the user's own link expressions: not rebound, so not reported unused.
        assert!(!out.contains("let cx = cx"), "{out}");
        assert!(!out.contains("let batch = batch"), "{out}");
        assert!(out.contains("let n = n ;"), "{out}");
    }

    #[test]
    fn errors_are_combined() {
        let err = expanded(
            quote!(kind = "clinet", skip(pasword, tokn)),
            quote!(
                const fn f(password: u8, token: u8) {}
            ),
        )
        .unwrap_err();
        assert_eq!(err.into_iter().count(), 4);
    }
}
