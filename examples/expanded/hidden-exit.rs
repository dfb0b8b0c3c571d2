// What `#[traced]` writes. Rendered by `cargo test -p traced-macros` (`expand::tests::expansion_snapshots`);
// `UPDATE_EXPAND=1` rewrites it. Not compiled: the types are left out.
//
// #[traced]
// pub fn reserve(stock: &mut Stock, sku: &str, count: u32) -> anyhow::Result<u32> {
//     anyhow::ensure!(count > 0, "nothing to reserve");
//     let left = stock.take(sku, count)?;
//     Ok(left)
// }

pub fn reserve(stock: &mut Stock, sku: &str, count: u32) -> anyhow::Result<u32> {
    static __TRACED_CALLSITE: ::traced::__private::Callsite = ::traced::__private::Callsite::new(
        ::traced::__private::crate_scope!(),
        "reserve",
        ::traced::__private::SpanKind::Internal,
        ::traced::__private::module_path!(),
        "reserve",
        ::traced::__private::file!(),
        ::traced::__private::line!(),
    );
    let mut __traced_span = ::traced::__private::Guard::start(&__TRACED_CALLSITE);
    let (sku, count) = if __traced_span.is_recording() {
        let __traced_args = (sku, count);
        ::traced::__private::record(
            &mut __traced_span,
            |__traced_attrs: &mut ::traced::__private::Attrs<'_>| {
                let (sku, count) = &__traced_args;
                use ::traced::__private::autoref::*;
                __traced_attrs
                    .attr(
                        "stock",
                        (&&&::traced::__private::Arg(&stock)).__traced_value(),
                    );
                __traced_attrs
                    .attr("sku", (&&&::traced::__private::Arg(sku)).__traced_value());
                __traced_attrs
                    .attr(
                        "count",
                        (&&&::traced::__private::Arg(count)).__traced_value(),
                    );
            },
        );
        __traced_args
    } else {
        (sku, count)
    };
    let stock = stock;
    let sku = sku;
    let count = count;
    #[allow(clippy::diverging_sub_expression)]
    let __traced_ret: anyhow::Result<u32> = ::traced::__private::call_once(|| -> anyhow::Result<
        u32,
    > {
        anyhow::ensure!(count > 0, "nothing to reserve");
        let left = stock.take(sku, count)?;
        Ok(left)
    });
    #[allow(unreachable_code)]
    {
        use ::traced::__private::autoref::*;
        (&&&&&::traced::__private::Ret(&__traced_ret))
            .__traced_outcome(&mut __traced_span, ::traced::__private::ErrMode::Display);
    }
    __traced_ret
}
