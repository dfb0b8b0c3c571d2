use traced::traced;

struct Order;

#[traced(name = "order", on_ok(id = 1))]
impl Order {
    fn pay(&self) -> Result<(), String> {
        Ok(())
    }
}

fn main() {
    let _ = Order.pay();
}
