//! Redirects a synchronous body's exits to the macro's label, so the result can be read before
//! the function returns: `return e` becomes `break 'label e`, and `e?` becomes a match on
//! `::traced::__private::Try::branch(e)` whose residual arm breaks to the label.
//!
//! Closures, async blocks, const blocks, nested items and macro invocations have exits of their
//! own (or opaque tokens), so the visitor does not descend into them. A `?` inside a `try` block
//! belongs to that block and is left alone; a `return` inside one still leaves the function.

use proc_macro2::{Span, TokenStream};
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ExprBreak, ExprReturn, ExprTry, Lifetime, Token};

/// Rewrites the exits of `block`'s statements (not of nested closures, async blocks or items).
/// `krate` is the path of the `traced` crate (`::traced`).
pub(crate) fn redirect_exits(block: &mut syn::Block, label: &Lifetime, krate: &TokenStream) {
    Redirect {
        label: label.clone(),
        krate: krate.clone(),
        try_blocks: 0,
    }
    .visit_block_mut(block);
}

struct Redirect {
    label: Lifetime,
    krate: TokenStream,
    /// How many `try { }` blocks enclose the current expression.
    try_blocks: usize,
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

    // Macro arguments are opaque tokens; what they expand to is not known here.
    fn visit_macro_mut(&mut self, _mac: &mut syn::Macro) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{ToTokens, quote};

    fn rewrite(body: proc_macro2::TokenStream) -> String {
        let mut block: syn::Block = syn::parse2(body).unwrap();
        redirect_exits(
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
            let m = vec![return, x?];
            const { 1 };
            c
        });
        assert_eq!(rewrite(body.clone()), tokens(&body));
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
