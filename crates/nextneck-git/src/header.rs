//! A raw commit object's header lines (tree, parents, author, committer)
//! and its message, parsed by one function for both walks: the history's
//! (`lib.rs`) and the file changes' (`changes.rs`).

use gix::ObjectId;
use nextneck_model::Timestamp;

/// The parts of a commit object the walks need.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CommitHeader<'a> {
    /// The tree, when asked for; `None` otherwise.
    pub tree: Option<ObjectId>,
    /// The parents, in order.
    pub parents: Vec<ObjectId>,
    /// The author's `Name <email>`, as written.
    pub identity: &'a [u8],
    /// The author's time.
    pub author_time: Timestamp,
    /// The committer's time.
    pub committer_time: Timestamp,
    /// Everything after the first empty line.
    pub message: &'a [u8],
}

/// Parses a raw commit object: header lines up to the first empty line,
/// then the message. With `with_tree`, the tree line is read and required.
pub(crate) fn parse_commit(data: &[u8], with_tree: bool) -> Result<CommitHeader<'_>, String> {
    let mut tree = None;
    let mut parents = Vec::new();
    let mut author = None;
    let mut committer_time = None;
    let mut rest = data;
    let message = loop {
        let (line, after) = match memchr::memchr(b'\n', rest) {
            Some(end) => (&rest[..end], &rest[end + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        if line.is_empty() {
            break after;
        }
        if let Some(hex) = line.strip_prefix(b"tree ").filter(|_| with_tree) {
            let id = ObjectId::from_hex(hex)
                .map_err(|_| format!("bad tree line `{}`", String::from_utf8_lossy(line)))?;
            tree = Some(id);
        } else if let Some(hex) = line.strip_prefix(b"parent ") {
            let id = ObjectId::from_hex(hex)
                .map_err(|_| format!("bad parent line `{}`", String::from_utf8_lossy(line)))?;
            parents.push(id);
        } else if let Some(sig) = line.strip_prefix(b"author ") {
            let time = signature_time(sig).map_err(|e| format!("author line: {e}"))?;
            let end = memchr::memrchr(b'>', sig).map_or(sig.len(), |p| p + 1);
            author = Some((&sig[..end], time));
        } else if let Some(sig) = line.strip_prefix(b"committer ") {
            committer_time = Some(signature_time(sig).map_err(|e| format!("committer line: {e}"))?);
        }
        if after.is_empty() {
            break after;
        }
        rest = after;
    };
    let (identity, author_time) = author.ok_or("no author line")?;
    if with_tree && tree.is_none() {
        return Err("no tree line".to_owned());
    }
    Ok(CommitHeader {
        tree,
        parents,
        identity,
        author_time,
        committer_time: committer_time.ok_or("no committer line")?,
        message,
    })
}

/// The seconds of a signature `Name <email> 1700000000 +0100`.
pub(crate) fn signature_time(sig: &[u8]) -> Result<Timestamp, String> {
    let after_email = match sig.iter().rposition(|&b| b == b'>') {
        Some(pos) => &sig[pos + 1..],
        None => sig,
    };
    let text = String::from_utf8_lossy(after_email);
    let seconds = text
        .split_ascii_whitespace()
        .next()
        .ok_or_else(|| "no time".to_owned())?;
    seconds
        .parse::<i64>()
        .map_err(|_| format!("unreadable time `{seconds}`"))
}
