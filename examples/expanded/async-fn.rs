// What `#[traced]` writes. Rendered by `cargo test -p traced-macros` (`expand::tests::expansion_snapshots`);
// `UPDATE_EXPAND=1` rewrites it. Not compiled: the types are left out.
//
// #[traced(kind = "server", skip(db), on_ok(order.count = ok.len()), err(debug))]
// pub async fn list_orders(db: &Db, page: u32) -> Result<Vec<Order>, DbError> {
//     db.orders(page).await
// }

pub fn list_orders(
    db: &Db,
    page: u32,
) -> impl ::traced::__private::Future<Output = Result<Vec<Order>, DbError>> {
    static __TRACED_CALLSITE: ::traced::__private::Callsite = ::traced::__private::Callsite::new(
        ::traced::__private::crate_scope!(),
        "list_orders",
        ::traced::__private::SpanKind::Server,
        ::traced::__private::module_path!(),
        "list_orders",
        ::traced::__private::file!(),
        ::traced::__private::line!(),
    );
    let mut __traced_span = ::traced::__private::Span::start_callsite(
        &__TRACED_CALLSITE,
    );
    let (page,) = if __traced_span.is_recording() {
        let __traced_args = (page,);
        ::traced::__private::record(
            &mut __traced_span,
            |__traced_attrs: &mut ::traced::__private::Attrs<'_>| {
                let (page,) = &__traced_args;
                use ::traced::__private::autoref::*;
                __traced_attrs
                    .attr("page", (&&&::traced::__private::Arg(page)).__traced_value());
            },
        );
        __traced_args
    } else {
        (page,)
    };
    ::traced::__private::Instrumented::new(
        __traced_span,
        async move {
            #[allow(unreachable_code)]
            if false {
                let __traced_never: Result<Vec<Order>, DbError> = loop {};
                return __traced_never;
            }
            let db = db;
            let page = page;
            db.orders(page).await
        },
        |__traced_out: &Result<Vec<Order>, DbError>, __traced_span| {
            use ::traced::__private::autoref::*;
            (&&&&&::traced::__private::Ret(__traced_out))
                .__traced_outcome(__traced_span, ::traced::__private::ErrMode::Debug);
            if __traced_span.is_recording() {
                if let ::core::result::Result::Ok(ok) = ::traced::__private::as_result(
                    __traced_out,
                ) {
                    ::traced::__private::result_attr(
                        __traced_span,
                        "order.count",
                        (&&&::traced::__private::Arg(&(ok.len()))).__traced_value(),
                    );
                }
            }
        },
    )
}
