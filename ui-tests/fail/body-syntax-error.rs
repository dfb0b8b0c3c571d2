// A body that does not parse: the function is still emitted (so `main` finds it and nothing
// else fails), and the only error is rustc's own, at the user's token.
use traced::traced;

#[traced]
fn half_written(a: u32) -> u32 {
    let b = ;
    a + b
}

struct Cart;

#[traced]
impl Cart {
    fn total(&self) -> u32 {
        let x = 1 +;
        x
    }
}

fn main() {
    half_written(1);
    Cart.total();
}
