use traced::traced;

struct Connection;

#[traced]
fn query(conn: &Connection, sql: &str) -> usize {
    let _ = conn;
    sql.len()
}

fn main() {
    let _ = query(&Connection, "select 1");
}
