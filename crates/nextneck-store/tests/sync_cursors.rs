//! `nextneck sync`'s cursors on both backends: absent until set, replaced
//! by a later set, kept across reopening the store.

#![allow(clippy::unwrap_used, missing_docs)]

use nextneck_store::{fresh_postgres_schema, open};

fn check(url: &str) {
    let mut store = open(url).unwrap();
    assert_eq!(store.sync_cursor("github:o/r:pulls").unwrap(), None);
    store.set_sync_cursor("github:o/r:pulls", "a").unwrap();
    store.set_sync_cursor("github:o/r:runs", "b").unwrap();
    store.set_sync_cursor("github:o/r:pulls", "c").unwrap();
    drop(store);
    let mut store = open(url).unwrap();
    assert_eq!(
        store.sync_cursor("github:o/r:pulls").unwrap().as_deref(),
        Some("c")
    );
    assert_eq!(
        store.sync_cursor("github:o/r:runs").unwrap().as_deref(),
        Some("b")
    );
}

#[test]
fn cursors_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    check(&format!("sqlite:{}", dir.path().join("t.db").display()));
}

#[test]
fn cursors_on_postgres() {
    let base = std::env::var("NEXTNECK_TEST_POSTGRES")
        .expect("NEXTNECK_TEST_POSTGRES must hold a PostgreSQL URL");
    let url = fresh_postgres_schema(&base).unwrap();
    check(&url);
    nextneck_store::drop_postgres_schema(&url);
}
