use traced::traced;

#[derive(Debug)]
struct MyError;

#[traced]
fn parse(s: &str) -> Result<u32, MyError> {
    let n: u32 = s.parse()?;
    Ok(n)
}

fn main() {
    let _ = parse("1");
}
