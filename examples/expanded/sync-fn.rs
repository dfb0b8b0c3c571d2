// What `#[traced]` writes. Rendered by `cargo test -p traced-macros` (`expand::tests::expansion_snapshots`);
// `UPDATE_EXPAND=1` rewrites it. Not compiled: the types are left out.
//
// #[traced(kind = "client", ret)]
// pub fn charge(amount: u64, card_number: &str) -> Result<u64, PaymentError> {
//     if amount == 0 {
//         return Err(PaymentError::Zero);
//     }
//     let fee = fee_for(amount)?;
//     Ok(amount + fee)
// }

pub fn charge(amount: u64, card_number: &str) -> Result<u64, PaymentError> {
    static __TRACED_CALLSITE: ::traced::__private::Callsite = ::traced::__private::Callsite::new(
        ::traced::__private::crate_scope!(),
        "charge",
        ::traced::__private::SpanKind::Client,
        ::traced::__private::module_path!(),
        "charge",
        ::traced::__private::file!(),
        ::traced::__private::line!(),
    );
    let mut __traced_span = ::traced::__private::Guard::start(&__TRACED_CALLSITE);
    let (amount,) = if __traced_span.is_recording() {
        let __traced_args = (amount,);
        ::traced::__private::record(
            &mut __traced_span,
            |__traced_attrs: &mut ::traced::__private::Attrs<'_>| {
                let (amount,) = &__traced_args;
                use ::traced::__private::autoref::*;
                __traced_attrs
                    .attr(
                        "amount",
                        (&&&::traced::__private::Arg(amount)).__traced_value(),
                    );
                __traced_attrs.attr("card_number", ::traced::__private::redacted());
            },
        );
        __traced_args
    } else {
        (amount,)
    };
    let amount = amount;
    let card_number = card_number;
    #[allow(clippy::diverging_sub_expression)]
    let __traced_ret: Result<u64, PaymentError> = '__traced_body: {
        if amount == 0 {
            break '__traced_body Err(PaymentError::Zero);
        }
        let fee = match ::traced::__private::Try::branch(fee_for(amount)) {
            ::traced::__private::ControlFlow::Continue(__traced_value) => __traced_value,
            ::traced::__private::ControlFlow::Break(__traced_residual) => {
                break '__traced_body ::traced::__private::FromResidual::from_residual(
                    __traced_residual,
                );
            }
        };
        Ok(amount + fee)
    };
    #[allow(unreachable_code)]
    {
        use ::traced::__private::autoref::*;
        (&&&&&::traced::__private::Ret(&__traced_ret))
            .__traced_outcome(&mut __traced_span, ::traced::__private::ErrMode::Display);
        if __traced_span.is_recording() {
            if let ::core::option::Option::Some(__traced_value) = (&&&::traced::__private::Ret(
                &__traced_ret,
            ))
                .__traced_ok()
            {
                ::traced::__private::record_return(
                    &mut __traced_span,
                    (&&&::traced::__private::Arg(__traced_value)).__traced_value(),
                );
            }
        }
    }
    __traced_ret
}
