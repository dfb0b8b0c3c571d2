use traced::traced;

#[traced(skip(pasword, tokn))]
fn login(user: &str, password: &str, token: u64) -> bool {
    !user.is_empty() && !password.is_empty() && token != 0
}

fn main() {}
