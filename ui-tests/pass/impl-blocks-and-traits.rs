//! `#[traced]` on impl blocks and traits: generics, where clauses, associated items, macros,
//! `#[async_trait]` in both orders, and methods that are left alone.
#![deny(warnings)]

use async_trait::async_trait;
use traced::traced;

#[derive(Debug, Default)]
struct Store<T> {
    items: Vec<T>,
}

macro_rules! getter {
    ($name:ident) => {
        fn $name(&self) -> usize {
            self.items.len()
        }
    };
}

#[traced]
impl<T: Clone + std::fmt::Debug> Store<T>
where
    T: Send,
{
    const LIMIT: usize = 10;

    getter!(count);

    fn push(&mut self, item: T) -> Result<(), String> {
        if self.items.len() >= Self::LIMIT {
            return Err("full".into());
        }
        self.items.push(item);
        Ok(())
    }

    const fn limit() -> usize {
        Self::LIMIT
    }

    #[traced(ignore)]
    fn first(&self) -> Option<T> {
        self.items.first().cloned()
    }
}

#[traced]
trait Repo {
    type Id;
    const NAME: &'static str;
    fn load(&self, id: u64) -> Option<String>;
    fn exists(&self, id: u64) -> bool {
        self.load(id).is_some()
    }
    async fn load_async(&self, id: u64) -> Option<String> {
        self.load(id)
    }
}

struct Mem;

#[traced(skip_all)]
impl Repo for Mem {
    type Id = u64;
    const NAME: &'static str = "mem";
    fn load(&self, id: u64) -> Option<String> {
        (id == 1).then(|| "one".to_owned())
    }
}

#[async_trait]
trait Fetch {
    async fn fetch(&self, id: u64) -> Result<u64, String>;
}

#[async_trait]
#[traced]
impl Fetch for Mem {
    async fn fetch(&self, id: u64) -> Result<u64, String> {
        Ok(id)
    }
}

struct Other;

#[traced]
#[async_trait]
impl Fetch for Other {
    async fn fetch(&self, id: u64) -> Result<u64, String> {
        Err(id.to_string())
    }
}

fn main() {
    let mut store = Store::<u8>::default();
    store.push(1).unwrap();
    assert_eq!(store.count(), 1);
    assert_eq!(Store::<u8>::limit(), 10);
    assert_eq!(store.first(), Some(1));
    assert!(Mem.exists(1));
    assert_eq!(futures::executor::block_on(Mem.load_async(1)).as_deref(), Some("one"));
    assert_eq!(<Mem as Repo>::NAME, "mem");
    assert_eq!(futures::executor::block_on(Mem.fetch(2)), Ok(2));
    assert!(futures::executor::block_on(Other.fetch(2)).is_err());
}
