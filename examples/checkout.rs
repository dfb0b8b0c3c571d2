//! The checkout flow of a small shop: one `server` span per order, with a `client` child
//! that charges the card. The second order's payment is declined.
//!
//! ```text
//! cargo run --example checkout                                              # tree on stderr
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run --example checkout --features otlp
//! ```

use std::fmt;
use traced::traced;

#[derive(Debug)]
struct Order {
    id: u64,
    total: f64,
    card_number: String,
}

#[derive(Debug)]
struct PaymentError(String);

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PaymentError {}

#[traced(
    kind = "server",
    name = "process-order",
    skip(order),
    attrs(order.id = order.id, order.total = order.total)
)]
fn process_order(order: &Order) -> Result<String, PaymentError> {
    let items = reserve_stock(order.id);
    let receipt = charge_payment(order.total, &order.card_number)?;
    Ok(format!("{receipt} for {items} items"))
}

#[traced]
fn reserve_stock(order_id: u64) -> u32 {
    (order_id % 5) as u32 + 1
}

#[traced(kind = "client", name = "charge-payment", skip(card_number))]
fn charge_payment(amount: f64, card_number: &str) -> Result<String, PaymentError> {
    if amount > 100.0 {
        return Err(PaymentError(format!(
            "card ending {} declined: {amount:.2} is over the limit",
            &card_number[card_number.len() - 4..]
        )));
    }
    Ok(format!("receipt-{:05}", (amount * 100.0) as u64))
}

fn main() {
    // Console by default; OTLP to a collector when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    let _guard = traced::init();

    let orders = [
        Order {
            id: 7,
            total: 42.50,
            card_number: "4242424242424242".into(),
        },
        Order {
            id: 8,
            total: 250.00,
            card_number: "4000000000000002".into(),
        },
    ];
    for order in &orders {
        match process_order(order) {
            Ok(receipt) => println!("order {}: paid, {receipt}", order.id),
            Err(e) => println!("order {}: failed, {e}", order.id),
        }
    }
}
