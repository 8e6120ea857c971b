//! What the sync crate's tests share: an in-memory [`Target`], a client of
//! a replay server with one-millisecond "seconds", and the waits it heard.

#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use nextneck_sync::{BoxError, Client, ClientOptions, Dialect, Notice, Page, Target};
use serde_json::Value;

use super::Replay;

/// An in-memory target: batches and cursors.
#[derive(Default)]
pub struct Memory {
    pub batches: Vec<Vec<Page>>,
    pub cursors: std::collections::BTreeMap<String, String>,
}

impl Target for Memory {
    fn cursor(&mut self, key: &str) -> Result<Option<String>, BoxError> {
        Ok(self.cursors.get(key).cloned())
    }
    fn commit(&mut self, pages: &[Page]) -> Result<(), BoxError> {
        self.batches.push(pages.to_vec());
        Ok(())
    }
    fn set_cursor(&mut self, key: &str, value: &str) -> Result<(), BoxError> {
        self.cursors.insert(key.to_owned(), value.to_owned());
        Ok(())
    }
}

impl Memory {
    /// A target that starts from these cursors.
    pub fn resuming(other: &Memory) -> Memory {
        Memory {
            cursors: other.cursors.clone(),
            ..Memory::default()
        }
    }

    /// Every stored item (the one element of each body), in order.
    pub fn items(&self) -> Vec<Value> {
        self.batches
            .iter()
            .flatten()
            .map(|p| {
                let v: Value = serde_json::from_slice(&p.body).unwrap();
                v[0].clone()
            })
            .collect()
    }

    /// Every stored item's `id`, in order.
    pub fn ids(&self) -> Vec<u64> {
        self.items()
            .iter()
            .map(|v| v["id"].as_u64().unwrap())
            .collect()
    }
}

/// A client of `api_url` speaking `dialect` with `token`.
pub fn client_of(
    dialect: Dialect,
    api_url: &str,
    token: &str,
    timeout_ms: u64,
) -> (Client, Rc<RefCell<Vec<Notice>>>) {
    let notices = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&notices);
    let mut options = ClientOptions::of(dialect, api_url);
    options.second = Duration::from_millis(1);
    options.timeout = Duration::from_millis(timeout_ms);
    options.retries = 3;
    let client = Client::new(
        options,
        Some(token.to_owned()),
        Box::new(move |n: &Notice| seen.borrow_mut().push(n.clone())),
    );
    (client, notices)
}

/// A GitHub client of the replay server.
pub fn new_client(replay: &Replay, timeout_ms: u64) -> (Client, Rc<RefCell<Vec<Notice>>>) {
    client_of(
        Dialect::Github,
        &replay.base,
        "ghp_secret_test_token",
        timeout_ms,
    )
}

/// The waits heard, as "SECONDS REASON".
pub fn waits(notices: &RefCell<Vec<Notice>>) -> Vec<String> {
    notices
        .borrow()
        .iter()
        .filter_map(|n| match n {
            Notice::Waiting { seconds, reason } => Some(format!("{seconds} {reason}")),
            Notice::Budget { .. } => None,
        })
        .collect()
}
