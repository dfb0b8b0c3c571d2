// What `#[traced]` writes. Rendered by `cargo test -p traced-macros` (`expand::tests::expansion_snapshots`);
// `UPDATE_EXPAND=1` rewrites it. Not compiled: the types are left out.
//
// impl Cart {
//     #[traced(name = "cart.add", attrs(cart.size = self.items.len()))]
//     pub fn add(&mut self, item: Item) {
//         self.items.push(item);
//     }
// }

impl Cart {
    pub fn add(&mut self, item: Item) {
        static __TRACED_CALLSITE: ::traced::__private::LazyLock<
            ::traced::__private::Callsite,
        > = ::traced::__private::LazyLock::new(|| {
            struct Here;
            ::traced::__private::Callsite::in_impl(
                ::traced::__private::crate_scope!(),
                ::traced::__private::type_name::<Here>(),
                "add",
                ::core::option::Option::Some("cart.add"),
                ::traced::__private::SpanKind::Internal,
                ::core::option::Option::Some((
                    ::traced::__private::module_path!(),
                    ::traced::__private::file!(),
                    ::traced::__private::line!(),
                )),
            )
        });
        let mut __traced_span = ::traced::__private::Guard::start(&__TRACED_CALLSITE);
        if __traced_span.is_recording() {
            ::traced::__private::record(
                &mut __traced_span,
                |__traced_attrs: &mut ::traced::__private::Attrs<'_>| {
                    use ::traced::__private::autoref::*;
                    __traced_attrs
                        .attr(
                            "self",
                            (&&&::traced::__private::Arg(&self)).__traced_self_value(),
                        );
                    __traced_attrs
                        .attr(
                            "item",
                            (&&&::traced::__private::Arg(&item)).__traced_value(),
                        );
                    __traced_attrs
                        .attr(
                            "cart.size",
                            (&&&::traced::__private::Arg(&(self.items.len())))
                                .__traced_value(),
                        );
                },
            );
        }
        let item = item;
        #[allow(clippy::diverging_sub_expression)]
        let __traced_ret: () = '__traced_body: {
            self.items.push(item);
        };
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
}
