//! `nextneck sync`'s cursors on both backends: absent until set, replaced
//! by a later set, kept across reopening the store.

#![allow(clippy::unwrap_used, missing_docs)]

use nextneck_store::open;
use nextneck_testkit::{Db, both_backends};

fn cursors_are_set_replaced_and_kept(db: Db) {
    let url = &db.url;
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

both_backends!(cursors_are_set_replaced_and_kept);
