//! Checks that need both the options and the function. Every error is collected ([`Errors`],
//! serde's `Ctxt`) so that one compile shows all of them, each at the token that caused it.

use crate::ast::{Body, Func, Output, peel};
use crate::attr::Args;
use proc_macro2::Span;
use std::collections::BTreeSet;
use syn::Type;
use syn::ext::IdentExt as _;

/// The errors found so far in one attribute.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// `error` and all errors so far combined into one.
    pub(crate) fn fail(self, error: syn::Error) -> syn::Error {
        let mut errors = self.errors.into_iter();
        let Some(mut first) = errors.next() else {
            return error;
        };
        for earlier in errors {
            first.combine(earlier);
        }
        first.combine(error);
        first
    }

    /// All errors combined into one, if there were any.
    pub(crate) fn finish(self) -> syn::Result<()> {
        let mut errors = self.errors.into_iter();
        let Some(mut first) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            first.combine(error);
        }
        Err(first)
    }
}

/// Where an attribute's options apply.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// On a function.
    Fn,
    /// On a method of a traced impl block or trait: `ignore` is allowed.
    Method,
}

/// Checks the options of a function's own attribute against the function.
pub(crate) fn check(args: &Args, func: &Func, place: Place, errors: &mut Errors) {
    if let Some(ignore) = &args.ignore {
        if place == Place::Fn {
            errors.push(syn::Error::new(
                ignore.span,
                "`ignore` leaves a method of a `#[traced]` impl block or trait uninstrumented; \
                 on its own, remove the attribute instead",
            ));
        } else if let Some(other) = first_other_than_ignore(args) {
            errors.push(syn::Error::new(
                other,
                "an ignored method takes no other option",
            ));
        }
        return;
    }
    if let Some(constness) = &func.sig.constness {
        errors.push(syn::Error::new(
            constness.span,
            "#[traced] cannot be used on a `const fn`: a span starts and ends at run time",
        ));
    }
    if let Body::Missing(_) = func.body {
        let sig = &func.sig;
        errors.push(syn::Error::new_spanned(
            quote::quote!(#sig),
            "#[traced] needs a function body: put it on the method's implementations, \
             or give this method a default body",
        ));
    }
    let params: Vec<String> = func
        .params()
        .iter()
        .map(|p| p.ident().unraw().to_string())
        .collect();
    let existing = if params.is_empty() {
        "this function has no parameter that can be recorded".to_owned()
    } else {
        format!("the parameters are {}", list(&params))
    };
    check_params(args, &params, &existing, errors);
    check_output(args, func, errors);
    check_keys(args, errors);
}

/// Checks the options of a `#[traced]` impl block or trait against its methods.
pub(crate) fn check_block(args: &Args, methods: &[&Func], errors: &mut Errors) {
    let what = "an impl block or a trait";
    let per_method = [
        ("name", args.name.as_ref().map(|o| o.span)),
        ("on_ok", args.on_ok.as_ref().map(|o| o.span)),
        ("on_err", args.on_err.as_ref().map(|o| o.span)),
        // A block-wide parent would also cut the nesting of its methods' spans.
        ("parent", args.parent.as_ref().map(|o| o.span)),
        ("links", args.links.as_ref().map(|o| o.span)),
    ];
    for (option, span) in per_method {
        if let Some(span) = span {
            errors.push(syn::Error::new(
                span,
                format!("`{option}` is for one method: put it on the method, not on {what}"),
            ));
        }
    }
    if let Some(ignore) = &args.ignore {
        errors.push(syn::Error::new(
            ignore.span,
            format!("`ignore` goes on a method inside, not on {what}"),
        ));
    }
    let mut params = Vec::new();
    for func in methods {
        for param in func.params() {
            let name = param.ident().unraw().to_string();
            if !params.contains(&name) {
                params.push(name);
            }
        }
    }
    let existing = if params.is_empty() {
        "its methods have no parameter that can be recorded".to_owned()
    } else {
        format!("the parameters of its methods are {}", list(&params))
    };
    check_params(args, &params, &existing, errors);
    check_keys(args, errors);
}

/// `skip`, `redact` and `reveal`: names that exist, each in one list at most, and not with
/// `skip_all`.
fn check_params(args: &Args, params: &[String], existing: &str, errors: &mut Errors) {
    let lists = [
        ("skip", &args.skip),
        ("redact", &args.redact),
        ("reveal", &args.reveal),
    ];
    let mut seen: Vec<(String, &str)> = Vec::new();
    for (option, list) in lists {
        let Some(list) = list else {
            continue;
        };
        if args.skip_all.is_some() {
            errors.push(syn::Error::new(
                list.span,
                format!(
                    "`{option}(..)` cannot be combined with `skip_all`, \
                     which already skips every parameter"
                ),
            ));
        }
        for ident in &list.value {
            let name = ident.unraw().to_string();
            if !params.contains(&name) {
                let hint = did_you_mean(&name, params.iter().map(String::as_str));
                errors.push(syn::Error::new(
                    ident.span(),
                    format!("no parameter named `{name}`{hint}; {existing}"),
                ));
            } else if let Some((_, earlier)) = seen.iter().find(|(seen, _)| *seen == name) {
                let message = if *earlier == option {
                    format!("`{name}` is already in `{option}(..)`")
                } else {
                    format!("`{name}` is in both `{earlier}(..)` and `{option}(..)`: keep one")
                };
                errors.push(syn::Error::new(ident.span(), message));
            } else {
                // `reveal(..)` takes any parameter: one whose name only looks secret, and
                // one whose `Debug` text would be scrubbed of secret-looking fields.
                seen.push((name.clone(), option));
            }
        }
    }
}

/// `ret` needs a value; `on_ok` and `on_err` need a `Result`.
fn check_output(args: &Args, func: &Func, errors: &mut Errors) {
    let fn_name = func.sig.ident.unraw();
    let output = func.output();
    if let Some(ret) = &args.ret {
        let returns = match output {
            Output::Unit => Some("`()`"),
            Output::Never => Some("`!`"),
            Output::Type(_) | Output::Unknown => None,
        };
        if let Some(returns) = returns {
            errors.push(syn::Error::new(
                ret.span,
                format!("`ret` records the returned value, but `{fn_name}` returns {returns}"),
            ));
        }
    }
    for (option, opt) in [("on_ok", &args.on_ok), ("on_err", &args.on_err)] {
        let Some(opt) = opt else {
            continue;
        };
        let returns = match &output {
            Output::Unit => Some("()".to_owned()),
            Output::Never => Some("!".to_owned()),
            Output::Type(ty) if surely_not_result(ty) => Some(show_type(ty)),
            Output::Type(_) | Output::Unknown => None,
        };
        if let Some(returns) = returns {
            errors.push(syn::Error::new(
                opt.span,
                format!("`{option}` reads a `Result`, but `{fn_name}` returns `{returns}`"),
            ));
        }
    }
}

/// Types that are certainly not a `Result` (nor an alias of one).
fn surely_not_result(ty: &Type) -> bool {
    const NOT_RESULTS: &[&str] = &[
        "bool", "char", "str", "String", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16",
        "i32", "i64", "i128", "isize", "f32", "f64", "Option", "Vec",
    ];
    match peel(ty) {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .is_some_and(|segment| NOT_RESULTS.iter().any(|n| segment.ident == n)),
        Type::Path(_) | Type::Macro(_) | Type::Verbatim(_) | Type::Infer(_) => false,
        _ => true,
    }
}

/// A type as a user writes it: `Option<u32>`, not `Option < u32 >`.
fn show_type(ty: &Type) -> String {
    let mut text = quote::quote!(#ty).to_string();
    for (from, to) in [
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ::", "::"),
        (":: ", "::"),
    ] {
        text = text.replace(from, to);
    }
    text.replace(" ,", ",").replace("& ", "&")
}

/// `attrs`, `on_ok`, `on_err`, each link's attributes: no key twice in one list.
fn check_keys(args: &Args, errors: &mut Errors) {
    let lists = [&args.attrs, &args.on_ok, &args.on_err]
        .into_iter()
        .flatten()
        .map(|entries| &entries.value);
    let links = args.links.iter().flat_map(|links| &links.value);
    for entries in lists.chain(links.map(|link| &link.attrs)) {
        let mut seen = BTreeSet::new();
        for entry in entries {
            if !seen.insert(entry.key.as_str()) {
                errors.push(syn::Error::new_spanned(
                    &entry.key_tokens,
                    format!("the attribute key `{}` is given twice", entry.key),
                ));
            }
        }
    }
}

/// The span of the first option of an ignored method's attribute that is not `ignore`.
fn first_other_than_ignore(args: &Args) -> Option<Span> {
    [
        args.name.as_ref().map(|o| o.span),
        args.kind.as_ref().map(|o| o.span),
        args.skip.as_ref().map(|o| o.span),
        args.skip_all.as_ref().map(|o| o.span),
        args.redact.as_ref().map(|o| o.span),
        args.reveal.as_ref().map(|o| o.span),
        args.attrs.as_ref().map(|o| o.span),
        args.ret.as_ref().map(|o| o.span),
        args.on_ok.as_ref().map(|o| o.span),
        args.on_err.as_ref().map(|o| o.span),
        args.err.as_ref().map(|o| o.span),
        args.code.as_ref().map(|o| o.span),
        args.parent.as_ref().map(|o| o.span),
        args.links.as_ref().map(|o| o.span),
        args.krate.as_ref().map(|o| o.span),
    ]
    .into_iter()
    .flatten()
    .next()
}

/// `` `a`, `b` ``
fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The candidate closest to `word` within a small edit distance, for "did you mean" hints.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // One edit per three characters: `nmae` finds `name`, but `c` does not find `a`.
    let limit = word.chars().count() / 3;
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// ` (did you mean `x`?)`, or "".
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    closest(word, candidates).map_or_else(String::new, |c| format!(" (did you mean `{c}`?)"))
}

/// Levenshtein distance, counting an adjacent swap as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ast, attr};
    use proc_macro2::TokenStream;
    use quote::quote;

    fn errors(args: TokenStream, item: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        let args = attr::parse(args, &mut errors);
        let Ok(ast::Item::Fn(func)) = ast::parse_item(item) else {
            panic!("not a function");
        };
        check(&args, &func, Place::Fn, &mut errors);
        match errors.finish() {
            Ok(()) => Vec::new(),
            Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn skip_reports_every_missing_parameter() {
        let errs = errors(
            quote!(skip(pasword, tokn)),
            quote!(
                fn login(user: &str, password: &str, token: u64) {}
            ),
        );
        assert_eq!(
            errs,
            [
                "no parameter named `pasword` (did you mean `password`?); \
                 the parameters are `user`, `password`, `token`",
                "no parameter named `tokn` (did you mean `token`?); \
                 the parameters are `user`, `password`, `token`",
            ]
        );
    }

    #[test]
    fn skip_self_and_raw_idents() {
        assert!(
            errors(
                quote!(skip(self, r#type)),
                quote!(
                    fn f(&self, r#type: u8) {}
                )
            )
            .is_empty()
        );
        assert_eq!(
            errors(
                quote!(skip(self)),
                quote!(
                    fn f() {}
                )
            ),
            ["no parameter named `self`; this function has no parameter that can be recorded"]
        );
    }

    #[test]
    fn skip_with_skip_all() {
        assert_eq!(
            errors(
                quote!(skip(a), skip_all),
                quote!(
                    fn f(a: u8) {}
                )
            ),
            ["`skip(..)` cannot be combined with `skip_all`, which already skips every parameter"]
        );
    }

    #[test]
    fn const_fn_and_missing_body() {
        assert_eq!(
            errors(
                quote!(),
                quote!(
                    const fn f() {}
                )
            ),
            ["#[traced] cannot be used on a `const fn`: a span starts and ends at run time"]
        );
        assert_eq!(
            errors(
                quote!(),
                quote!(
                    fn f(&self);
                )
            ),
            [
                "#[traced] needs a function body: put it on the method's implementations, \
              or give this method a default body"
            ]
        );
    }

    #[test]
    fn duplicate_attr_key() {
        assert_eq!(
            errors(
                quote!(attrs(a.b = 1, "a.b" = 2)),
                quote!(
                    fn f() {}
                )
            ),
            ["the attribute key `a.b` is given twice"]
        );
    }

    #[test]
    fn redact_and_reveal() {
        assert_eq!(
            errors(
                quote!(redact(emial), reveal(count)),
                quote!(
                    fn f(email: &str, count: u8) {}
                )
            ),
            ["no parameter named `emial` (did you mean `email`?); \
                 the parameters are `email`, `count`",]
        );
        assert_eq!(
            errors(
                quote!(skip(email, token), redact(email), reveal(token)),
                quote!(
                    fn f(email: &str, token: u8) {}
                )
            ),
            [
                "`email` is in both `skip(..)` and `redact(..)`: keep one",
                "`token` is in both `skip(..)` and `reveal(..)`: keep one",
            ]
        );
        assert_eq!(
            errors(
                quote!(skip_all, redact(email)),
                quote!(
                    fn f(email: &str) {}
                )
            ),
            [
                "`redact(..)` cannot be combined with `skip_all`, which already skips every parameter"
            ]
        );
    }

    #[test]
    fn ret_needs_a_value() {
        for item in [
            quote!(
                fn f() {}
            ),
            quote!(
                fn f() -> () {}
            ),
            quote!(
                async fn f() {}
            ),
            quote!(
                fn f() -> impl Future<Output = ()> {
                    async {}
                }
            ),
        ] {
            assert_eq!(
                errors(quote!(ret), item),
                ["`ret` records the returned value, but `f` returns `()`"]
            );
        }
        assert!(
            errors(
                quote!(ret),
                quote!(
                    fn f() -> u8 {
                        1
                    }
                )
            )
            .is_empty()
        );
    }

    #[test]
    fn on_ok_needs_a_result() {
        assert_eq!(
            errors(
                quote!(on_ok(a = ok), on_err(b = err)),
                quote!(
                    fn f() -> Option<u32> {
                        None
                    }
                )
            ),
            [
                "`on_ok` reads a `Result`, but `f` returns `Option<u32>`",
                "`on_err` reads a `Result`, but `f` returns `Option<u32>`",
            ]
        );
        assert_eq!(
            errors(
                quote!(on_ok(a = ok)),
                quote!(
                    fn f() {}
                )
            ),
            ["`on_ok` reads a `Result`, but `f` returns `()`"]
        );
        for ty in [
            quote!(Result<u8, E>),
            quote!(io::Result<u8>),
            quote!(MyResult),
        ] {
            assert!(
                errors(
                    quote!(on_ok(a = ok)),
                    quote!(
                        fn f() -> #ty {
                            todo!()
                        }
                    )
                )
                .is_empty()
            );
        }
    }

    #[test]
    fn parent_and_links_belong_on_methods() {
        let mut errors = Errors::default();
        let args = attr::parse(
            quote!(parent = &self.origin, links(self.cause), kind = "client"),
            &mut errors,
        );
        check_block(&args, &[], &mut errors);
        let errs: Vec<String> = errors
            .finish()
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            errs,
            [
                "`parent` is for one method: put it on the method, not on an impl block or a trait",
                "`links` is for one method: put it on the method, not on an impl block or a trait",
            ]
        );
    }

    #[test]
    fn link_attribute_keys_are_distinct() {
        assert_eq!(
            errors(
                quote!(links(a => (k = 1, k = 2), b => (k = 3))),
                quote!(
                    fn f(a: u8, b: u8) {}
                )
            ),
            ["the attribute key `k` is given twice"]
        );
    }

    #[test]
    fn ignore_only_on_methods() {
        assert_eq!(
            errors(
                quote!(ignore),
                quote!(
                    fn f() {}
                )
            ),
            [
                "`ignore` leaves a method of a `#[traced]` impl block or trait uninstrumented; \
                 on its own, remove the attribute instead"
            ]
        );
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("clinet", "client"), 1);
        assert_eq!(
            did_you_mean("nmae", ["name", "kind"]),
            " (did you mean `name`?)"
        );
        assert_eq!(did_you_mean("zzz", ["name", "kind"]), "");
    }
}
