use traced::traced;

#[traced]
fn parse(s: &str) -> u32 {
    if s.is_empty() {
        return "empty";
    }
    s.len()
}

fn main() {
    let _ = parse("x");
}
