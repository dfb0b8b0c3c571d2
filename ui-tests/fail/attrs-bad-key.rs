use traced::traced;

#[traced(attrs(42 = id, order.id))]
fn checkout(id: u64) -> u64 {
    id
}

fn main() {}
