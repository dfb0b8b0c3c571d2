use traced::traced;

struct Order;

#[traced]
impl Order {
    fn pay(&self) {}
}

fn main() {
    Order.pay();
}
