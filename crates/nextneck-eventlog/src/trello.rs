//! Trello's board export (Menu → Print, export and share → Export as
//! JSON): an object with the board's `lists`, `cards` and `actions`.
//!
//! Each card is an item, named `#` and its short id (as the board shows
//! it). It enters a list when created there (`createCard`, `copyCard`,
//! `convertToCardFromCheckItem`, `moveCardToBoard`, `emailCard`: the
//! action's `data.list`) and when moved to it (`updateCard` with
//! `data.listAfter`), at the action's `date`. The export holds the board's
//! newest actions only (1000 at most): a card created before the oldest
//! one starts at its first move recorded.

use std::collections::HashMap;

use nextneck_model::flow::EventLog;
use serde::Deserialize;

use crate::document::{shape_error, time_field};
use crate::{Ctx, Error, push_entry};

#[derive(Deserialize)]
struct Board {
    actions: Vec<Action>,
    #[serde(default)]
    cards: Vec<Card>,
}

#[derive(Deserialize)]
struct Action {
    #[serde(rename = "type")]
    kind: String,
    #[serde(deserialize_with = "date")]
    date: i64,
    #[serde(default)]
    data: Data,
}

#[derive(Default, Deserialize)]
struct Data {
    card: Option<CardRef>,
    list: Option<ListRef>,
    #[serde(rename = "listAfter")]
    list_after: Option<ListRef>,
}

#[derive(Deserialize)]
struct CardRef {
    id: String,
    #[serde(rename = "idShort")]
    id_short: Option<u64>,
}

#[derive(Deserialize)]
struct ListRef {
    name: String,
}

#[derive(Deserialize)]
struct Card {
    id: String,
    #[serde(rename = "idShort")]
    id_short: Option<u64>,
}

fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    time_field(d, "date")
}

/// Actions that create a card in a list.
const CREATES: &[&str] = &[
    "createCard",
    "copyCard",
    "convertToCardFromCheckItem",
    "moveCardToBoard",
    "emailCard",
];

pub(crate) fn read(text: &[u8], ctx: &Ctx<'_>, log: &mut EventLog) -> Result<(), Error> {
    let what = "Trello's board export";
    for board in serde_json::Deserializer::from_slice(text).into_iter::<Board>() {
        let board = board.map_err(|e| shape_error(&e, what, ctx))?;
        read_board(board, log);
    }
    Ok(())
}

fn read_board(board: Board, log: &mut EventLog) {
    let short: HashMap<&str, u64> = board
        .cards
        .iter()
        .filter_map(|c| Some((c.id.as_str(), c.id_short?)))
        .collect();
    // (time, card, list); the export lists the newest action first.
    let mut entries: Vec<(i64, String, &str)> = Vec::new();
    for a in board.actions.iter().rev() {
        let Some(card) = &a.data.card else { continue };
        let list = if CREATES.contains(&a.kind.as_str()) {
            a.data.list.as_ref()
        } else if a.kind == "updateCard" {
            a.data.list_after.as_ref()
        } else {
            None
        };
        let Some(list) = list.filter(|l| !l.name.trim().is_empty()) else {
            continue;
        };
        let name = match card
            .id_short
            .or_else(|| short.get(card.id.as_str()).copied())
        {
            Some(n) => format!("#{n}"),
            None => card.id.clone(),
        };
        entries.push((a.date, name, list.name.trim()));
    }
    // Stable: actions at the same time keep the board's order.
    entries.sort_by_key(|e| e.0);
    for (at, card, list) in &entries {
        push_entry(log, card, list, *at, None);
    }
}
