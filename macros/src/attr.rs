//! The option grammar of `#[traced(...)]`.
//!
//! One field per option in [`Args`], each keeping the span of the option's name so that later
//! stages can point at it. Adding an option means: a field here, an arm in [`parse_option`], its
//! checks in `valid.rs`, its code in `expand.rs`.
//!
//! Parsing never stops at the first mistake: an option that does not parse is reported, skipped
//! up to the next top-level comma, and the rest is still read, so one compile shows every typo.

use crate::valid::{Errors, closest, did_you_mean};
use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt as _;
use syn::parse::{ParseStream, Parser as _};
use syn::{Expr, Ident, LitBool, LitStr, Token};

/// Every option, in the order the docs list them; used in "unknown option" errors.
pub(crate) const OPTIONS: &[&str] = &[
    "name", "kind", "skip", "skip_all", "redact", "reveal", "attrs", "ret", "on_ok", "on_err",
    "err", "code", "parent", "links", "crate", "ignore",
];

/// The parsed options of one `#[traced(...)]` attribute.
#[derive(Default)]
pub(crate) struct Args {
    /// `name = "..."`: the span name. Default: the function's name (`Type::method` inside a
    /// traced impl block or trait).
    pub name: Option<Opt<LitStr>>,
    /// `kind = "server"`: the OpenTelemetry span kind. Default: internal.
    pub kind: Option<Opt<Kind>>,
    /// `skip(a, b, self)`: parameters not recorded.
    pub skip: Option<Opt<Vec<Ident>>>,
    /// `skip_all`: record no parameter.
    pub skip_all: Option<Opt<()>>,
    /// `redact(a, b)`: parameters recorded as `[REDACTED]`.
    pub redact: Option<Opt<Vec<Ident>>>,
    /// `reveal(a)`: parameters whose names look like secrets, recorded anyway.
    pub reveal: Option<Opt<Vec<Ident>>>,
    /// `attrs(key = expr, ...)`: extra attributes computed from expressions.
    pub attrs: Option<Opt<Vec<AttrEntry>>>,
    /// `ret`: record the returned value (the `Ok` value of a `Result`).
    pub ret: Option<Opt<()>>,
    /// `on_ok(key = expr, ...)`: attributes computed from the `Ok` value, bound as `ok`.
    pub on_ok: Option<Opt<Vec<AttrEntry>>>,
    /// `on_err(key = expr, ...)`: attributes computed from the error, bound as `err`.
    pub on_err: Option<Opt<Vec<AttrEntry>>>,
    /// `err(debug)`: how a returned `Err` is recorded. Default: `display`.
    pub err: Option<Opt<ErrMode>>,
    /// `code = false`: leave out the code location (`code.*` attributes).
    pub code: Option<Opt<bool>>,
    /// `parent = expr`: the span's parent instead of the thread's active span.
    pub parent: Option<Opt<Expr>>,
    /// `links(cx, cx => (key = value, ...))`: links to other spans.
    pub links: Option<Opt<Vec<LinkEntry>>>,
    /// `crate = path`: where the `traced` crate is, for crates that re-export it.
    pub krate: Option<Opt<syn::Path>>,
    /// `ignore`: on a method of a traced impl block or trait, leave it uninstrumented.
    pub ignore: Option<Opt<()>>,
}

/// One option's value and the span of the option's name.
pub(crate) struct Opt<T> {
    pub span: Span,
    pub value: T,
}

/// `kind = "..."`: the five OpenTelemetry span kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Server,
    Client,
    Producer,
    Consumer,
    Internal,
}

impl Kind {
    pub(crate) const ALL: [(&'static str, Kind); 5] = [
        ("server", Kind::Server),
        ("client", Kind::Client),
        ("producer", Kind::Producer),
        ("consumer", Kind::Consumer),
        ("internal", Kind::Internal),
    ];

    /// The variant's name in `::traced::__private::SpanKind`.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Kind::Server => "Server",
            Kind::Client => "Client",
            Kind::Producer => "Producer",
            Kind::Consumer => "Consumer",
            Kind::Internal => "Internal",
        }
    }
}

/// `err(...)`: how a returned `Err` is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrMode {
    /// Status `Error` with the `Display` text (`Debug` if there is none), `exception` event.
    Display,
    /// The same with the `Debug` text (`Display` if there is none).
    Debug,
    /// An expected outcome: status stays `Unset`, no event, only `error.type`.
    Expected,
}

impl ErrMode {
    pub(crate) const ALL: [(&'static str, ErrMode); 3] = [
        ("display", ErrMode::Display),
        ("debug", ErrMode::Debug),
        ("expected", ErrMode::Expected),
    ];

    /// The variant's name in `::traced::__private::ErrMode`.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            ErrMode::Display => "Display",
            ErrMode::Debug => "Debug",
            ErrMode::Expected => "Expected",
        }
    }
}

/// `key = value` inside `attrs(...)`, `on_ok(...)` and `on_err(...)`.
pub(crate) struct AttrEntry {
    /// The key as recorded: `order.id`, `payment.provider`.
    pub key: String,
    /// The key as written, for error spans.
    pub key_tokens: TokenStream,
    pub value: Expr,
}

/// One entry of `links(...)`: `cx` or `cx => (key = value, ...)`.
pub(crate) struct LinkEntry {
    /// The linked span context, borrowed by the expansion.
    pub context: Expr,
    /// The link's attributes.
    pub attrs: Vec<AttrEntry>,
}

/// Parses the attribute's arguments, reporting every mistake into `errors`.
pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    for_each_item(tokens, errors, |input, errors| {
        parse_option(input, &mut args, errors)
    });
    args
}

/// Reads one option and stores it in `args`. Semantic mistakes (a duplicate, an unknown kind)
/// go to `errors` and parsing goes on; a syntax error is returned and the caller skips ahead.
fn parse_option(input: ParseStream, args: &mut Args, errors: &mut Errors) -> syn::Result<()> {
    let name = input.call(Ident::parse_any)?;
    let span = name.span();
    match name.to_string().as_str() {
        "name" => {
            input.parse::<Token![=]>()?;
            let lit = parse_lit_str(input, "name = \"...\"")?;
            if lit.value().is_empty() {
                errors.push(syn::Error::new(lit.span(), "the span name cannot be empty"));
            }
            set(&mut args.name, &name, lit, errors);
        }
        "kind" => {
            input.parse::<Token![=]>()?;
            let lit = parse_lit_str(input, "kind = \"server\"")?;
            match parse_kind(&lit) {
                Ok(kind) => set(&mut args.kind, &name, kind, errors),
                Err(err) => errors.push(err),
            }
        }
        "skip" => {
            let list = parse_parens(input, "skip(a, b)")?;
            let idents = parse_list(list, errors, |input, _| input.call(Ident::parse_any));
            set(&mut args.skip, &name, idents, errors);
        }
        "skip_all" => {
            parse_flag(input, &name)?;
            set(&mut args.skip_all, &name, (), errors);
        }
        "redact" | "reveal" => {
            let list = parse_parens(input, &format!("{name}(a, b)"))?;
            let idents = parse_list(list, errors, |input, _| input.call(Ident::parse_any));
            let slot = if name == "redact" {
                &mut args.redact
            } else {
                &mut args.reveal
            };
            set(slot, &name, idents, errors);
        }
        "attrs" | "on_ok" | "on_err" => {
            let example = match name.to_string().as_str() {
                "attrs" => "attrs(order.id = order.id)",
                "on_ok" => "on_ok(order.items = ok.len())",
                _ => "on_err(error.code = err.code())",
            };
            let list = parse_parens(input, example)?;
            let entries = parse_list(list, errors, |input, _| parse_attr_entry(input));
            let slot = match name.to_string().as_str() {
                "attrs" => &mut args.attrs,
                "on_ok" => &mut args.on_ok,
                _ => &mut args.on_err,
            };
            set(slot, &name, entries, errors);
        }
        "ret" => {
            parse_flag(input, &name)?;
            set(&mut args.ret, &name, (), errors);
        }
        "ignore" => {
            parse_flag(input, &name)?;
            set(&mut args.ignore, &name, (), errors);
        }
        "err" => {
            let mode = parse_err(input, &name)?;
            set(&mut args.err, &name, mode, errors);
        }
        "code" => {
            input.parse::<Token![=]>()?;
            let value = parse_code(input)?;
            set(&mut args.code, &name, value, errors);
        }
        "parent" => {
            let expr = parse_parent(input, &name)?;
            set(&mut args.parent, &name, expr, errors);
        }
        "links" => {
            let entries = parse_links(input, &name, errors)?;
            set(&mut args.links, &name, entries, errors);
        }
        "crate" => {
            input.parse::<Token![=]>()?;
            let path = parse_crate(input)?;
            set(&mut args.krate, &name, path, errors);
        }
        unknown => {
            let hint = did_you_mean(unknown, OPTIONS.iter().copied());
            let valid = OPTIONS
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(syn::Error::new(
                span,
                format!("unknown option `{unknown}`{hint}; the options are {valid}"),
            ));
        }
    }
    Ok(())
}

/// Stores an option's value, or reports a duplicate at the second occurrence's name.
fn set<T>(slot: &mut Option<Opt<T>>, name: &Ident, value: T, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(syn::Error::new(
            name.span(),
            format!("duplicate option `{name}`: it is already given above"),
        ));
    } else {
        *slot = Some(Opt {
            span: name.span(),
            value,
        });
    }
}

/// A flag such as `skip_all` or `ret`: nothing may follow its name.
fn parse_flag(input: ParseStream, name: &Ident) -> syn::Result<()> {
    if input.peek(Token![=]) || input.peek(syn::token::Paren) {
        return Err(input.error(format!("`{name}` takes no value")));
    }
    Ok(())
}

/// `err(display)`, `err(debug)`, `err(expected)`.
fn parse_err(input: ParseStream, name: &Ident) -> syn::Result<ErrMode> {
    let example = "err(display)`, `err(debug)` or `err(expected)";
    if !input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            name.span(),
            format!("`err` takes a mode: `{example}`"),
        ));
    }
    let list = parse_parens(input, example)?;
    parse_err_mode.parse2(list)
}

/// The value of `code = false`.
fn parse_code(input: ParseStream) -> syn::Result<bool> {
    if input.peek(LitBool) {
        return Ok(input.parse::<LitBool>()?.value);
    }
    let value: TokenTree = input.parse()?;
    let quoted = matches!(&value, TokenTree::Literal(lit)
        if matches!(lit.to_string().as_str(), "\"true\"" | "\"false\""));
    let hint = if quoted { " without quotes" } else { "" };
    Err(syn::Error::new(
        value.span(),
        format!("expected `true` or `false`{hint}: `code = false` leaves out the code location"),
    ))
}

/// The expression of `parent = expr`.
fn parse_parent(input: ParseStream, name: &Ident) -> syn::Result<Expr> {
    let example = "`parent = traced::propagation::extract(&headers)`, `parent = &headers` \
                   or `parent = None` (a new trace)";
    let Some(eq) = input.parse::<Option<Token![=]>>()? else {
        return Err(syn::Error::new(
            name.span(),
            format!("`parent` takes a value: {example}"),
        ));
    };
    if input.is_empty() || input.peek(Token![,]) {
        return Err(syn::Error::new(
            eq.span,
            format!("expected an expression after `parent =`: {example}"),
        ));
    }
    input.parse()
}

/// The entries of `links(...)`: at least one.
fn parse_links(
    input: ParseStream,
    name: &Ident,
    errors: &mut Errors,
) -> syn::Result<Vec<LinkEntry>> {
    let example = "links(message.context, batch.first => (messaging.batch.index = 0))";
    let list: TokenTree = input
        .fork()
        .parse()
        .map_err(|_| input.error(format!("expected a parenthesized list: `{example}`")))?;
    let tokens = parse_parens(input, example)?;
    if tokens.is_empty() {
        errors.push(syn::Error::new_spanned(
            quote::quote!(#name #list),
            format!("`links()` needs at least one span context: `{example}`"),
        ));
    }
    Ok(parse_list(tokens, errors, parse_link_entry))
}

/// `cx` or `cx => (key = value, ...)` inside `links(...)`.
fn parse_link_entry(input: ParseStream, errors: &mut Errors) -> syn::Result<LinkEntry> {
    let context: Expr = input.parse()?;
    let mut attrs = Vec::new();
    if let Some(arrow) = input.parse::<Option<Token![=>]>>()? {
        let example = "cx => (messaging.batch.index = 0)";
        let list = parse_parens(input, example)?;
        if list.is_empty() {
            errors.push(syn::Error::new(
                arrow.spans[0],
                format!("expected the link's attributes after `=>`: `{example}`"),
            ));
        }
        attrs = parse_list(list, errors, |input, _| parse_attr_entry(input));
    }
    Ok(LinkEntry { context, attrs })
}

/// The path of `crate = my_facade::traced`.
fn parse_crate(input: ParseStream) -> syn::Result<syn::Path> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`crate` takes a path, not a string: `crate = {}`",
                lit.value()
            ),
        ));
    }
    input.call(syn::Path::parse_mod_style)
}

/// The single mode inside `err(...)`.
fn parse_err_mode(input: ParseStream) -> syn::Result<ErrMode> {
    let ident = input.call(Ident::parse_any)?;
    if !input.is_empty() {
        return Err(input.error("`err(...)` takes one mode"));
    }
    let value = ident.to_string();
    if let Some((_, mode)) = ErrMode::ALL.iter().find(|(name, _)| *name == value) {
        return Ok(*mode);
    }
    let names = ErrMode::ALL.map(|(name, _)| name);
    let hint = did_you_mean(&value, names);
    let valid = names.map(|m| format!("`{m}`")).join(", ");
    Err(syn::Error::new(
        ident.span(),
        format!("unknown error mode `{value}`{hint}; the modes are {valid}"),
    ))
}

fn parse_lit_str(input: ParseStream, example: &str) -> syn::Result<LitStr> {
    if input.peek(LitStr) {
        input.parse()
    } else {
        Err(input.error(format!("expected a string literal: `{example}`")))
    }
}

fn parse_kind(lit: &LitStr) -> syn::Result<Kind> {
    let value = lit.value();
    if let Some((_, kind)) = Kind::ALL.iter().find(|(name, _)| *name == value) {
        return Ok(*kind);
    }
    let names = Kind::ALL.map(|(name, _)| name);
    let hint = closest(&value.to_lowercase(), names)
        .map_or_else(String::new, |k| format!(" (did you mean \"{k}\"?)"));
    let valid = names.map(|k| format!("\"{k}\"")).join(", ");
    Err(syn::Error::new(
        lit.span(),
        format!("unknown span kind \"{value}\"{hint}; the kinds are {valid}"),
    ))
}

/// Reads a parenthesized group and returns its contents.
fn parse_parens(input: ParseStream, example: &str) -> syn::Result<TokenStream> {
    match input.parse::<TokenTree>() {
        Ok(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis => {
            Ok(group.stream())
        }
        Ok(other) => Err(syn::Error::new(
            other.span(),
            format!("expected a parenthesized list: `{example}`"),
        )),
        Err(_) => Err(input.error(format!("expected a parenthesized list: `{example}`"))),
    }
}

/// `order.id = expr` or `"payment.provider" = expr`.
fn parse_attr_entry(input: ParseStream) -> syn::Result<AttrEntry> {
    let mut key_tokens = TokenStream::new();
    let mut quoted = false;
    let key = if input.peek(LitStr) {
        quoted = true;
        let lit: LitStr = input.parse()?;
        lit.to_tokens(&mut key_tokens);
        if lit.value().is_empty() {
            return Err(syn::Error::new(
                lit.span(),
                "an attribute key cannot be empty",
            ));
        }
        lit.value()
    } else if input.peek(Ident::peek_any) {
        let mut key = String::new();
        loop {
            let part = input.call(Ident::parse_any)?;
            part.to_tokens(&mut key_tokens);
            key.push_str(&part.unraw().to_string());
            if !input.peek(Token![.]) {
                break;
            }
            let dot: Token![.] = input.parse()?;
            dot.to_tokens(&mut key_tokens);
            key.push('.');
        }
        key
    } else {
        return Err(input.error(
            "expected an attribute key: a dotted name such as `order.id` \
             or a string literal such as `\"payment.provider\"`",
        ));
    };
    if !input.peek(Token![=]) {
        let shown = if quoted { format!("\"{key}\"") } else { key };
        return Err(syn::Error::new_spanned(
            &key_tokens,
            format!("expected `=` and a value after the key: `{shown} = ...`"),
        ));
    }
    input.parse::<Token![=]>()?;
    let value: Expr = input.parse()?;
    Ok(AttrEntry {
        key,
        key_tokens,
        value,
    })
}

/// Parses a comma-separated list (trailing comma allowed) of items, each read by `item`.
/// A syntax error in one item is reported and the item skipped up to the next comma.
fn parse_list<T>(
    tokens: TokenStream,
    errors: &mut Errors,
    mut item: impl FnMut(ParseStream, &mut Errors) -> syn::Result<T>,
) -> Vec<T> {
    let mut items = Vec::new();
    for_each_item(tokens, errors, |input, errors| {
        items.push(item(input, errors)?);
        Ok(())
    });
    items
}

/// The error-recovering loop behind [`parse`] and [`parse_list`].
fn for_each_item(
    tokens: TokenStream,
    errors: &mut Errors,
    mut item: impl FnMut(ParseStream, &mut Errors) -> syn::Result<()>,
) {
    let parser = |input: ParseStream| {
        while !input.is_empty() {
            if let Err(err) = item(input, errors) {
                errors.push(err);
                skip_to_comma(input);
            } else if !input.is_empty() && !input.peek(Token![,]) {
                errors.push(input.error("expected `,`"));
                skip_to_comma(input);
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(())
    };
    if let Err(err) = parser.parse2(tokens) {
        errors.push(err);
    }
}

/// Skips token trees up to (not including) the next top-level comma, or to the end.
fn skip_to_comma(input: ParseStream) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if matches!(&tt, TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse_ok(tokens: TokenStream) -> Args {
        let mut errors = Errors::default();
        let args = parse(tokens, &mut errors);
        if let Err(err) = errors.finish() {
            panic!("unexpected error: {err}");
        }
        args
    }

    fn parse_errs(tokens: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        let _ = parse(tokens, &mut errors);
        match errors.finish() {
            Ok(()) => Vec::new(),
            Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn empty() {
        let args = parse_ok(quote!());
        assert!(args.name.is_none() && args.kind.is_none() && args.skip.is_none());
        assert!(args.skip_all.is_none() && args.attrs.is_none());
    }

    #[test]
    fn every_option_and_trailing_comma() {
        let args = parse_ok(quote!(
            name = "checkout",
            kind = "server",
            skip(password, self),
            attrs(
                order.id = order.id,
                "payment.provider" = "stripe",
                r#type.x = 1
            ),
        ));
        assert_eq!(args.name.unwrap().value.value(), "checkout");
        assert_eq!(args.kind.unwrap().value, Kind::Server);
        let skip: Vec<_> = args
            .skip
            .unwrap()
            .value
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(skip, ["password", "self"]);
        let attrs = args.attrs.unwrap().value;
        let keys: Vec<_> = attrs.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["order.id", "payment.provider", "type.x"]);
        assert_eq!(attrs[0].value.to_token_stream().to_string(), "order . id");
    }

    #[test]
    fn all_kinds() {
        for (name, kind) in Kind::ALL {
            let args = parse_ok(quote!(kind = #name));
            assert_eq!(args.kind.unwrap().value, kind);
        }
    }

    #[test]
    fn skip_all() {
        assert!(parse_ok(quote!(skip_all)).skip_all.is_some());
        assert_eq!(
            parse_errs(quote!(skip_all = true)),
            ["`skip_all` takes no value"]
        );
    }

    #[test]
    fn unknown_option_lists_the_options() {
        let errs = parse_errs(quote!(nmae = "x"));
        assert_eq!(
            errs,
            ["unknown option `nmae` (did you mean `name`?); \
              the options are `name`, `kind`, `skip`, `skip_all`, `redact`, `reveal`, `attrs`, \
              `ret`, `on_ok`, `on_err`, `err`, `code`, `parent`, `links`, `crate`, `ignore`"]
        );
    }

    #[test]
    fn duplicate_option() {
        let errs = parse_errs(quote!(name = "a", name = "b"));
        assert_eq!(errs, ["duplicate option `name`: it is already given above"]);
    }

    #[test]
    fn unknown_kind_lists_the_kinds() {
        let errs = parse_errs(quote!(kind = "clinet"));
        assert_eq!(
            errs,
            ["unknown span kind \"clinet\" (did you mean \"client\"?); \
              the kinds are \"server\", \"client\", \"producer\", \"consumer\", \"internal\""]
        );
    }

    #[test]
    fn name_must_be_a_string() {
        assert_eq!(
            parse_errs(quote!(name = checkout)),
            ["expected a string literal: `name = \"...\"`"]
        );
        assert_eq!(
            parse_errs(quote!(name = "")),
            ["the span name cannot be empty"]
        );
    }

    #[test]
    fn every_error_is_reported() {
        let errs = parse_errs(quote!(
            nmae = "x",
            kind = "clinet",
            name = 1 + 2,
            skip(a, 1, b),
            attrs(1 = 2, ok = 3, k),
            name = "ok",
            bogus(a, b)
        ));
        assert_eq!(errs.len(), 7, "{errs:#?}");
    }

    #[test]
    fn result_options() {
        let args = parse_ok(quote!(
            ret,
            err(debug),
            on_ok(order.items = ok.len()),
            on_err(error.code = err.code())
        ));
        assert!(args.ret.is_some());
        assert_eq!(args.err.unwrap().value, ErrMode::Debug);
        assert_eq!(args.on_ok.unwrap().value[0].key, "order.items");
        assert_eq!(args.on_err.unwrap().value[0].key, "error.code");
        assert_eq!(
            parse_ok(quote!(err(expected))).err.unwrap().value,
            ErrMode::Expected
        );
        assert_eq!(
            parse_errs(quote!(err(dbg))),
            ["unknown error mode `dbg`; the modes are `display`, `debug`, `expected`"]
        );
        assert_eq!(
            parse_errs(quote!(err)),
            ["`err` takes a mode: `err(display)`, `err(debug)` or `err(expected)`"]
        );
        assert_eq!(parse_errs(quote!(ret = true)), ["`ret` takes no value"]);
    }

    #[test]
    fn code_crate_redact_reveal_ignore() {
        let args = parse_ok(quote!(
            code = false,
            crate = my::traced,
            redact(email),
            reveal(token_count),
            ignore
        ));
        assert!(!args.code.unwrap().value);
        assert_eq!(
            args.krate.unwrap().value.to_token_stream().to_string(),
            "my :: traced"
        );
        assert_eq!(args.redact.unwrap().value[0], "email");
        assert_eq!(args.reveal.unwrap().value[0], "token_count");
        assert!(args.ignore.is_some());
        assert_eq!(
            parse_errs(quote!(code = maybe)),
            ["expected `true` or `false`: `code = false` leaves out the code location"]
        );
        assert_eq!(
            parse_errs(quote!(code = "false")),
            ["expected `true` or `false` without quotes: \
              `code = false` leaves out the code location"]
        );
        assert_eq!(
            parse_errs(quote!(crate = "my::traced")),
            ["`crate` takes a path, not a string: `crate = my::traced`"]
        );
    }

    #[test]
    fn parent_and_links() {
        let args = parse_ok(quote!(
            parent = propagation::extract(&headers),
            links(
                message.context,
                batch[1].context => (messaging.batch.index = 1, "messaging.system" = "kafka"),
            ),
            kind = "consumer"
        ));
        assert_eq!(
            args.parent.unwrap().value.to_token_stream().to_string(),
            "propagation :: extract (& headers)"
        );
        let links = args.links.unwrap().value;
        assert_eq!(links.len(), 2);
        assert_eq!(
            links[0].context.to_token_stream().to_string(),
            "message . context"
        );
        assert!(links[0].attrs.is_empty());
        let keys: Vec<_> = links[1].attrs.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["messaging.batch.index", "messaging.system"]);
        assert_eq!(args.kind.unwrap().value, Kind::Consumer);
        assert!(parse_ok(quote!(parent = None)).parent.is_some());
    }

    #[test]
    fn parent_and_links_errors() {
        let takes = "`parent = traced::propagation::extract(&headers)`, `parent = &headers` \
                     or `parent = None` (a new trace)";
        assert_eq!(
            parse_errs(quote!(parent)),
            [format!("`parent` takes a value: {takes}")]
        );
        assert_eq!(
            parse_errs(quote!(parent(cx), kind = "server")),
            [format!("`parent` takes a value: {takes}")]
        );
        assert_eq!(
            parse_errs(quote!(parent =, kind = "server")),
            [format!("expected an expression after `parent =`: {takes}")]
        );
        assert_eq!(
            parse_errs(quote!(parent = a, parent = b)),
            ["duplicate option `parent`: it is already given above"]
        );
        assert_eq!(
            parse_errs(quote!(links())),
            ["`links()` needs at least one span context: \
              `links(message.context, batch.first => (messaging.batch.index = 0))`"]
        );
        assert_eq!(
            parse_errs(quote!(links = cx)),
            ["expected a parenthesized list: \
              `links(message.context, batch.first => (messaging.batch.index = 0))`"]
        );
        assert_eq!(
            parse_errs(quote!(links(cx => ()))),
            ["expected the link's attributes after `=>`: `cx => (messaging.batch.index = 0)`"]
        );
        assert_eq!(
            parse_errs(quote!(links(cx => index = 1))),
            ["expected a parenthesized list: `cx => (messaging.batch.index = 0)`"]
        );
    }

    #[test]
    fn missing_comma() {
        let errs = parse_errs(quote!(name = "a" kind = "server"));
        assert_eq!(errs, ["expected `,`"]);
    }

    #[test]
    fn attrs_bad_key() {
        let errs = parse_errs(quote!(attrs(42 = x)));
        assert_eq!(
            errs,
            [
                "expected an attribute key: a dotted name such as `order.id` \
              or a string literal such as `\"payment.provider\"`"
            ]
        );
        let errs = parse_errs(quote!(attrs(order.id)));
        assert_eq!(
            errs,
            ["expected `=` and a value after the key: `order.id = ...`"]
        );
    }
}
