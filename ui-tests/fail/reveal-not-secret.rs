use traced::traced;

#[traced(reveal(count))]
fn add(count: u32) {
    let _ = count;
}

fn main() {
    add(1);
}
