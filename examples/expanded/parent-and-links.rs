// What `#[traced]` writes. Rendered by `cargo test -p traced-macros` (`expand::tests::expansion_snapshots`);
// `UPDATE_EXPAND=1` rewrites it. Not compiled: the types are left out.
//
// #[traced(kind = "consumer", parent = &message.headers, links(message.sent_by => (messaging.operation = "publish")))]
// pub fn process(message: &Message) -> Result<(), ProcessError> {
//     handle(&message.body)
// }

pub fn process(message: &Message) -> Result<(), ProcessError> {
    static __TRACED_CALLSITE: ::traced::__private::Callsite = ::traced::__private::Callsite::new(
        ::traced::__private::crate_scope!(),
        "process",
        ::traced::__private::SpanKind::Consumer,
        ::traced::__private::module_path!(),
        "process",
        ::traced::__private::file!(),
        ::traced::__private::line!(),
    );
    let mut __traced_span = ::traced::__private::Guard::enter(
        if ::traced::__private::enabled() {
            let __traced_parent = &(&message.headers);
            let __traced_parent = {
                use ::traced::__private::autoref::*;
                (&&&&&&&::traced::__private::ParentOf(__traced_parent))
                    .__traced_parent()
                    .into_parent(__traced_parent)
            };
            ::traced::__private::Span::start_callsite_with_parent(
                &__TRACED_CALLSITE,
                &__traced_parent,
            )
        } else {
            ::traced::__private::Span::none()
        },
    );
    if __traced_span.is_recording() {
        ::traced::__private::record(
            &mut __traced_span,
            |__traced_attrs: &mut ::traced::__private::Attrs<'_>| {
                use ::traced::__private::autoref::*;
                __traced_attrs
                    .attr(
                        "message",
                        (&&&::traced::__private::Arg(&message)).__traced_value(),
                    );
                ::traced::__private::add_link(
                    __traced_attrs,
                    &(message.sent_by),
                    [
                        ::traced::__private::link_attr(
                            "messaging.operation",
                            (&&&::traced::__private::Arg(&("publish"))).__traced_value(),
                        ),
                    ],
                );
            },
        );
    }
    #[allow(clippy::diverging_sub_expression)]
    let __traced_ret: Result<(), ProcessError> = '__traced_body: {
        handle(&message.body)
    };
    #[allow(unreachable_code)]
    {
        use ::traced::__private::autoref::*;
        (&&&&&::traced::__private::Ret(&__traced_ret))
            .__traced_outcome(&mut __traced_span, ::traced::__private::ErrMode::Display);
    }
    __traced_ret
}
