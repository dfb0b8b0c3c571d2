//! Checks that need both the options and the function. Every error is collected ([`Errors`],
//! serde's `Ctxt`) so that one compile shows all of them, each at the token that caused it.

use crate::ast::{Body, Func};
use crate::attr::Args;
use std::collections::BTreeSet;
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

/// Checks the options against the function.
pub(crate) fn check(args: &Args, func: &Func, errors: &mut Errors) {
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
    check_skip(args, func, errors);
    check_attrs(args, errors);
}

fn check_skip(args: &Args, func: &Func, errors: &mut Errors) {
    let Some(skip) = &args.skip else {
        return;
    };
    if args.skip_all.is_some() {
        errors.push(syn::Error::new(
            skip.span,
            "`skip(..)` cannot be combined with `skip_all`, which already skips every parameter",
        ));
    }
    let params: Vec<String> = func
        .params()
        .iter()
        .map(|p| p.ident().unraw().to_string())
        .collect();
    let mut seen = BTreeSet::new();
    for ident in &skip.value {
        let name = ident.unraw().to_string();
        if !params.contains(&name) {
            let hint = did_you_mean(&name, params.iter().map(String::as_str));
            let existing = if params.is_empty() {
                "this function has no parameter that can be recorded".to_owned()
            } else {
                let list = params
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("the parameters are {list}")
            };
            errors.push(syn::Error::new(
                ident.span(),
                format!("no parameter named `{name}`{hint}; {existing}"),
            ));
        } else if !seen.insert(name.clone()) {
            errors.push(syn::Error::new(
                ident.span(),
                format!("`{name}` is already skipped"),
            ));
        }
    }
}

fn check_attrs(args: &Args, errors: &mut Errors) {
    let Some(attrs) = &args.attrs else {
        return;
    };
    let mut seen = BTreeSet::new();
    for entry in &attrs.value {
        if !seen.insert(entry.key.as_str()) {
            errors.push(syn::Error::new_spanned(
                &entry.key_tokens,
                format!("the attribute key `{}` is given twice", entry.key),
            ));
        }
    }
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
        let func = ast::parse_item(item).unwrap();
        check(&args, &func, &mut errors);
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
