// Errors in a method's own attribute and in the block's are all reported, once each.
use traced::traced;

struct Order;

#[traced(skip(amuont))]
impl Order {
    #[traced(kind = "clinet")]
    fn pay(&self, amount: u64) {
        let _ = amount;
    }

    #[traced(ignore, ret)]
    fn total(&self) -> u64 {
        0
    }
}

fn main() {
    Order.pay(1);
    let _ = Order.total();
}
