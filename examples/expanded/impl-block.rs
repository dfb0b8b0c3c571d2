// What `#[traced]` writes. Rendered by `cargo test -p traced-macros` (`expand::tests::expansion_snapshots`);
// `UPDATE_EXPAND=1` rewrites it. Not compiled: the types are left out.
//
// #[traced(skip(self), code = false)]
// impl<S: Store> Repository for Users<S> {
//     fn get(&self, id: u64) -> Option<User> {
//         self.store.get(id)
//     }
//
//     #[traced(redact(email), err(expected))]
//     fn find(&self, email: &str) -> Result<User, NotFound> {
//         self.store.find(email).ok_or(NotFound)
//     }
//
//     #[traced(ignore)]
//     fn len(&self) -> usize {
//         self.store.len()
//     }
// }

impl<S: Store> Repository for Users<S> {
    fn get(&self, id: u64) -> Option<User> {
        static __TRACED_CALLSITE: ::traced::__private::Callsite = ::traced::__private::Callsite::without_code(
            ::traced::__private::crate_scope!(),
            "Users::get",
            ::traced::__private::SpanKind::Internal,
        );
        let mut __traced_span = ::traced::__private::Guard::start(&__TRACED_CALLSITE);
        let (id,) = if __traced_span.is_recording() {
            let __traced_args = (id,);
            ::traced::__private::record(
                &mut __traced_span,
                |__traced_attrs: &mut ::traced::__private::Attrs<'_>| {
                    let (id,) = &__traced_args;
                    use ::traced::__private::autoref::*;
                    __traced_attrs
                        .attr("id", (&&&::traced::__private::Arg(id)).__traced_value());
                },
            );
            __traced_args
        } else {
            (id,)
        };
        let id = id;
        #[allow(clippy::diverging_sub_expression)]
        let __traced_ret: Option<User> = '__traced_body: { self.store.get(id) };
        #[allow(unreachable_code)]
        {
            use ::traced::__private::autoref::*;
            (&&&&&::traced::__private::Ret(&__traced_ret))
                .__traced_outcome(
                    &mut __traced_span,
                    ::traced::__private::ErrMode::Display,
                );
        }
        __traced_ret
    }
    fn find(&self, email: &str) -> Result<User, NotFound> {
        static __TRACED_CALLSITE: ::traced::__private::Callsite = ::traced::__private::Callsite::without_code(
            ::traced::__private::crate_scope!(),
            "Users::find",
            ::traced::__private::SpanKind::Internal,
        );
        let mut __traced_span = ::traced::__private::Guard::start(&__TRACED_CALLSITE);
        if __traced_span.is_recording() {
            ::traced::__private::record(
                &mut __traced_span,
                |__traced_attrs: &mut ::traced::__private::Attrs<'_>| {
                    __traced_attrs.attr("email", ::traced::__private::redacted());
                },
            );
        }
        let email = email;
        #[allow(clippy::diverging_sub_expression)]
        let __traced_ret: Result<User, NotFound> = '__traced_body: {
            self.store.find(email).ok_or(NotFound)
        };
        #[allow(unreachable_code)]
        {
            use ::traced::__private::autoref::*;
            (&&&&&::traced::__private::Ret(&__traced_ret))
                .__traced_outcome(
                    &mut __traced_span,
                    ::traced::__private::ErrMode::Expected,
                );
        }
        __traced_ret
    }
    fn len(&self) -> usize {
        self.store.len()
    }
}
