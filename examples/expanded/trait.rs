// What `#[traced]` writes. Rendered by `cargo test -p traced-macros` (`expand::tests::expansion_snapshots`);
// `UPDATE_EXPAND=1` rewrites it. Not compiled: the types are left out.
//
// #[traced(kind = "consumer")]
// pub trait Handler {
//     fn topic(&self) -> &str;
//
//     async fn handle(&self, message: Message) -> Result<(), HandlerError> {
//         self.process(&message.payload).await
//     }
// }

pub trait Handler {
    fn topic(&self) -> &str;
    fn handle(
        &self,
        message: Message,
    ) -> impl ::traced::__private::Future<Output = Result<(), HandlerError>> {
        static __TRACED_CALLSITE: ::traced::__private::Callsite = ::traced::__private::Callsite::new(
            ::traced::__private::crate_scope!(),
            "Handler::handle",
            ::traced::__private::SpanKind::Consumer,
            ::traced::__private::module_path!(),
            "Handler::handle",
            ::traced::__private::file!(),
            ::traced::__private::line!(),
        );
        let mut __traced_span = ::traced::__private::Span::start_callsite(
            &__TRACED_CALLSITE,
        );
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
                            "message",
                            (&&&::traced::__private::Arg(&message)).__traced_value(),
                        );
                },
            );
        }
        ::traced::__private::Instrumented::new(
            __traced_span,
            async move {
                #[allow(unreachable_code)]
                if false {
                    let __traced_never: Result<(), HandlerError> = loop {};
                    return __traced_never;
                }
                let _ = &self;
                let message = message;
                self.process(&message.payload).await
            },
            |__traced_out: &Result<(), HandlerError>, __traced_span| {
                use ::traced::__private::autoref::*;
                (&&&&&::traced::__private::Ret(__traced_out))
                    .__traced_outcome(
                        __traced_span,
                        ::traced::__private::ErrMode::Display,
                    );
            },
        )
    }
}
