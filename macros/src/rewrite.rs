//! Redirects a synchronous body's exits to the macro's label, so the result can be read before
//! the function returns: `return e` becomes `break 'label e`, and `e?` becomes a match on
//! `::traced::__private::Try::branch(e)` whose residual arm breaks to the label.
//!
//! Closures, async blocks, const blocks, nested items and macro invocations have exits of their
//! own (or opaque tokens), so the visitor does not descend into them. A `?` inside a `try` block
//! belongs to that block and is left alone; a `return` inside one still leaves the function.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens as _;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ExprBreak, ExprReturn, ExprTry, Lifetime, Token};

/// Rewrites the exits of `block`'s statements (not of nested closures, async blocks or items).
/// `krate` is the path of the `traced` crate (`::traced`).
///
/// The arguments of the macros known to write no `return` of their own (`format!`, `vec!`,
/// `println!`, `assert!`, ...) are rewritten too when they parse as expressions. Returns
/// whether an exit may remain hidden: a macro not on that list (`bail!`, `ensure!`, any
/// other, which may expand to a `return`), or a known one whose arguments hold a `?` or a
/// `return` but do not parse.
#[must_use]
pub(crate) fn redirect_exits(
    block: &mut syn::Block,
    label: &Lifetime,
    krate: &TokenStream,
) -> bool {
    let mut redirect = Redirect {
        label: label.clone(),
        krate: krate.clone(),
        try_blocks: 0,
        hidden: false,
    };
    redirect.visit_block_mut(block);
    redirect.hidden
}

/// Macros that never expand to a `return` of their own: the standard formatting, assertion,
/// panic and collection macros, error constructors and logging macros. Their arguments are
/// expressions whose exits are the function's.
const EXIT_FREE: &[&str] = &[
    "anyhow",
    "assert",
    "assert_eq",
    "assert_ne",
    "cfg",
    "column",
    "concat",
    "dbg",
    "debug",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "env",
    "eprint",
    "eprintln",
    "error",
    "event",
    "eyre",
    "file",
    "format",
    "format_args",
    "format_err",
    "info",
    "line",
    "matches",
    "module_path",
    "option_env",
    "panic",
    "print",
    "println",
    "stringify",
    "todo",
    "trace",
    "unimplemented",
    "unreachable",
    "vec",
    "warn",
    "write",
    "writeln",
];

struct Redirect {
    label: Lifetime,
    krate: TokenStream,
    /// How many `try { }` blocks enclose the current expression.
    try_blocks: usize,
    /// Whether a macro may hide an exit.
    hidden: bool,
}

impl Redirect {
    /// The label, placed at `span` for diagnostics but keeping its mixed-site hygiene.
    fn label_at(&self, span: Span) -> Lifetime {
        let span = self.label.span().located_at(span);
        let mut label = self.label.clone();
        label.apostrophe = span;
        label.ident.set_span(span);
        label
    }

    fn break_for_return(&self, ret: ExprReturn) -> Expr {
        let span = ret.return_token.span;
        Expr::Break(ExprBreak {
            attrs: ret.attrs,
            break_token: Token![break](span),
            label: Some(self.label_at(span)),
            expr: ret.expr,
        })
    }

    fn match_for_try(&self, try_expr: ExprTry) -> Expr {
        // Generated tokens sit at the `?` so errors (a residual that does not convert) point there.
        let span = Span::call_site().located_at(try_expr.question_token.span);
        let label = self.label_at(span);
        let ExprTry { attrs, expr, .. } = try_expr;
        let krate = crate::expand::located_at(&self.krate, span);
        let mut rewritten: syn::ExprMatch = syn::parse_quote_spanned! {span=>
            match #krate::__private::Try::branch(#expr) {
                #krate::__private::ControlFlow::Continue(__traced_value) => __traced_value,
                #krate::__private::ControlFlow::Break(__traced_residual) => {
                    break #label #krate::__private::FromResidual::from_residual(__traced_residual)
                }
            }
        };
        rewritten.attrs = attrs;
        Expr::Match(rewritten)
    }
}

impl VisitMut for Redirect {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            // Their own `return` and `?` target themselves.
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => return,
            Expr::TryBlock(_) => {
                self.try_blocks += 1;
                visit_mut::visit_expr_mut(self, expr);
                self.try_blocks -= 1;
                return;
            }
            _ => {}
        }
        // Inner exits first: `return x?` rewrites the `?`, then the `return`.
        visit_mut::visit_expr_mut(self, expr);
        let placeholder = Expr::Verbatim(proc_macro2::TokenStream::new());
        *expr = match std::mem::replace(expr, placeholder) {
            Expr::Return(ret) => self.break_for_return(ret),
            Expr::Try(try_expr) if self.try_blocks == 0 => self.match_for_try(try_expr),
            other => other,
        };
    }

    // A nested `fn`, `impl` or `mod` has its own returns.
    fn visit_item_mut(&mut self, _item: &mut syn::Item) {}

    // A known macro's arguments are expressions: their exits are rewritten. Any other macro
    // may expand to a `return` of its own, which no rewrite can see.
    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        let known = mac
            .path
            .segments
            .last()
            .is_some_and(|segment| EXIT_FREE.contains(&segment.ident.to_string().as_str()));
        if !known {
            self.hidden = true;
            return;
        }
        if !has_exit(mac.tokens.clone()) {
            return;
        }
        match self.rewrite_args(mac.tokens.clone()) {
            Some(tokens) => mac.tokens = tokens,
            None => self.hidden = true,
        }
    }
}

impl Redirect {
    /// A macro's arguments parsed as `expr, expr, ..` (or `expr; expr` for `vec!`), their
    /// exits rewritten; `None` if they are something else.
    fn rewrite_args(&mut self, tokens: TokenStream) -> Option<TokenStream> {
        use syn::parse::Parser as _;
        use syn::punctuated::Punctuated;
        if let Ok(mut args) = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(tokens.clone())
        {
            for arg in &mut args {
                self.visit_expr_mut(arg);
            }
            return Some(args.into_token_stream());
        }
        let repeat = |input: syn::parse::ParseStream| {
            let value: Expr = input.parse()?;
            let semi: Token![;] = input.parse()?;
            let count: Expr = input.parse()?;
            Ok((value, semi, count))
        };
        let (mut value, semi, mut count) = repeat.parse2(tokens).ok()?;
        self.visit_expr_mut(&mut value);
        self.visit_expr_mut(&mut count);
        Some(quote::quote!(#value #semi #count))
    }
}

/// Whether macro arguments hold a `?` or a `return` (at any depth).
fn has_exit(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Punct(punct) => punct.as_char() == '?',
        proc_macro2::TokenTree::Ident(ident) => ident == "return",
        proc_macro2::TokenTree::Group(group) => has_exit(group.stream()),
        proc_macro2::TokenTree::Literal(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{ToTokens, quote};

    fn rewrite(body: proc_macro2::TokenStream) -> String {
        let mut block: syn::Block = syn::parse2(body).unwrap();
        let _hidden = redirect_exits(
            &mut block,
            &Lifetime::new("'l", Span::mixed_site()),
            &quote!(::traced),
        );
        block.to_token_stream().to_string()
    }

    fn tokens(body: &proc_macro2::TokenStream) -> String {
        body.to_string()
    }

    #[test]
    fn return_becomes_break() {
        assert_eq!(
            rewrite(quote!({
                if a {
                    return 1;
                }
                return;
            })),
            tokens(&quote!({
                if a {
                    break 'l 1;
                }
                break 'l;
            }))
        );
    }

    #[test]
    fn question_mark_becomes_branch() {
        let expected = "{ let x = match ::traced::__private::Try::branch(f()) { \
            ::traced::__private::ControlFlow::Continue(__traced_value) => __traced_value, \
            ::traced::__private::ControlFlow::Break(__traced_residual) => { \
            break 'l ::traced::__private::FromResidual::from_residual(__traced_residual) } }; x }";
        let expected: proc_macro2::TokenStream = expected.parse().unwrap();
        assert_eq!(
            rewrite(quote!({
                let x = f()?;
                x
            })),
            tokens(&expected)
        );
    }

    #[test]
    fn nested_exits() {
        let out = rewrite(quote!({
            return g(f()?)?;
        }));
        assert_eq!(out.matches("Try :: branch").count(), 2, "{out}");
        assert!(out.starts_with("{ break 'l match"), "{out}");
        assert!(!out.contains("return"), "{out}");
    }

    #[test]
    fn user_loops_and_labels_are_untouched() {
        let body = quote!({
            'outer: loop {
                for x in xs {
                    if x {
                        break 'outer;
                    }
                    continue;
                }
                break;
            }
        });
        assert_eq!(rewrite(body.clone()), tokens(&body));
    }

    #[test]
    fn closures_async_blocks_items_and_macros_keep_their_exits() {
        let body = quote!({
            let c = |x: u8| -> Option<u8> { return Some(x?) };
            let a = async move { return f().await? };
            fn inner() -> Option<u8> {
                return Some(g()?);
            }
            let m = unknown![return, x?];
            const { 1 };
            c
        });
        assert_eq!(rewrite(body.clone()), tokens(&body));
    }

    #[test]
    fn known_macro_arguments_are_rewritten_and_unknown_macros_reported() {
        let mut block: syn::Block = syn::parse_quote!({
            let v = vec![a.parse()?];
            let w = vec![f()?; n];
            println!("{}", y?);
            v
        });
        let label = Lifetime::new("'l", Span::mixed_site());
        assert!(!redirect_exits(&mut block, &label, &quote!(::traced)));
        let out = block.to_token_stream().to_string();
        assert_eq!(out.matches("Try :: branch").count(), 3, "{out}");
        assert!(!out.contains('?'), "{out}");

        for hidden in [
            quote!({ anyhow::bail!("no") }),
            quote!({
                ensure!(x, "no");
            }),
            quote!({ my_macro!(x) }),
            // A known macro whose arguments hold a `?` but do not parse as expressions.
            quote!({ matches!(x?, Some(y) if y > 1) }),
        ] {
            let mut block: syn::Block = syn::parse2(hidden.clone()).unwrap();
            assert!(
                redirect_exits(&mut block, &label, &quote!(::traced)),
                "{hidden}"
            );
        }
        let mut block: syn::Block = syn::parse_quote!({
            assert!(x, "{}", 1);
            format!("{x}")
        });
        assert!(!redirect_exits(&mut block, &label, &quote!(::traced)));
    }

    #[test]
    fn try_blocks_keep_their_question_marks() {
        let out = rewrite(quote!({
            let r: Option<u8> = try {
                if a {
                    return 1;
                }
                f()?
            };
            2
        }));
        assert!(out.contains("break 'l 1"), "{out}");
        assert!(out.contains("f () ?"), "{out}");
    }

    #[test]
    fn let_else_and_match_arms() {
        let out = rewrite(quote!({
            let Some(x) = y else { return Err(e) };
            match x {
                0 => return Ok(0),
                n => n?,
            }
        }));
        assert!(out.contains("else { break 'l Err (e) }"), "{out}");
        assert!(out.contains("0 => break 'l Ok (0)"), "{out}");
        assert!(out.contains("n => match"), "{out}");
    }
}
