//! Fresh databases on both backends, and `both_backends!`, which defines a
//! test once per backend.

use std::path::Path;

/// The variable that names the PostgreSQL server the tests use.
pub const POSTGRES_VARIABLE: &str = "NEXTNECK_TEST_POSTGRES";

/// A fresh, empty database: its URL and a temporary directory (the SQLite
/// file's home, and a working directory for commands run against it). A
/// PostgreSQL schema is dropped when the `Db` is.
pub struct Db {
    /// The store URL (`sqlite:…` or `postgres://…?options=…`).
    pub url: String,
    /// A temporary directory removed with the `Db`.
    pub dir: tempfile::TempDir,
}

impl Db {
    /// The temporary directory's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `sqlite` or `postgres`, for names that must differ per backend.
    pub fn backend(&self) -> &'static str {
        if self.url.starts_with("sqlite:") {
            "sqlite"
        } else {
            "postgres"
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        nextneck_store::drop_postgres_schema(&self.url);
    }
}

/// A fresh SQLite file (`nextneck.db`) in a temporary directory.
pub fn sqlite() -> Db {
    let dir = tempdir();
    Db {
        url: format!("sqlite:{}", dir.path().join("nextneck.db").display()),
        dir,
    }
}

/// A fresh schema on the PostgreSQL server `NEXTNECK_TEST_POSTGRES` names;
/// the variable missing is a failure. Safe inside an async runtime (the
/// blocking client runs on a thread of its own).
pub fn postgres() -> Db {
    let base = std::env::var(POSTGRES_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_VARIABLE} must hold a PostgreSQL URL (./.ci/run sets it, e.g. postgres://postgres@127.0.0.1:5432/test)"
        )
    });
    let made = std::thread::spawn(move || nextneck_store::fresh_postgres_schema(&base))
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let url = made.unwrap_or_else(|e| panic!("cannot make a fresh PostgreSQL schema: {e}"));
    Db {
        url,
        dir: tempdir(),
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("cannot make a temporary directory: {e}"))
}

/// Defines each named test function, which takes a [`Db`], twice:
/// `on_sqlite::NAME` on a fresh SQLite file and `on_postgres::NAME` on a
/// fresh PostgreSQL schema.
///
/// `both_backends!(a, b)` defines `#[test]`s of `fn(Db)`;
/// `both_backends!(async: a, b)` defines `#[tokio::test]`s of
/// `async fn(Db)` (the test crate depends on tokio with its macros).
#[macro_export]
macro_rules! both_backends {
    (async: $($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test] async fn $name() { super::$name($crate::sqlite()).await; } )* }
        mod on_postgres { $( #[tokio::test] async fn $name() { super::$name($crate::postgres()).await; } )* }
    };
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[test] fn $name() { super::$name($crate::sqlite()); } )* }
        mod on_postgres { $( #[test] fn $name() { super::$name($crate::postgres()); } )* }
    };
}
