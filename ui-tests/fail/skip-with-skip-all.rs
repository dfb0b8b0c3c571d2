use traced::traced;

#[traced(skip(password), skip_all)]
fn login(user: &str, password: &str) -> bool {
    user == password
}

fn main() {}
