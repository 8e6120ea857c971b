//! The on-disk cache of `nextneck code`: what a commit changed, keyed by
//! its id.
//!
//! A commit id names its parents, tree, author and times, so everything
//! stored about a commit stays true for as long as the commit exists: a
//! rewritten history (a force-pushed branch, a deleted tag) only makes some
//! entries unreachable, and the loader uses only the commits reachable now
//! (it starts from the references, every run) and drops the others when it
//! writes. The file also remembers the line counts of blobs (keyed by blob
//! id, equally immutable) so that sizing a tree again costs nothing.
//!
//! Format (little-endian), versioned by [`MAGIC`] and [`FORMAT`]:
//!
//! ```text
//! magic "nextneck-code\0", u32 format, u32 flags (bit 0: renames tracked)
//! u32 n, n × (u32 len, bytes)             raw author identities "Name <email>"
//! u32 n, n × (u32 len, bytes)             paths
//! u32 n, n × commit:
//!     [20] id, [20] tree, u8 parents, parents × [20] id,
//!     u32 identity, i64 author time, i64 committer time,
//!     u32 changes (u32::MAX: not diffed), changes ×
//!         (u8 kind, u32 path, u32 from (u32::MAX: none), u32 added, u32 deleted)
//!         where added = deleted = u32::MAX marks a binary file
//! u32 n, n × ([20] blob id, u32 lines (u32::MAX: binary))
//! u64 FNV-1a of everything before
//! ```
//!
//! Writing goes to a temporary file in the same directory, renamed over the
//! old one, so a reader never sees half a file; a file that fails any check
//! is ignored (and rewritten).

use std::io::Write;
use std::path::Path;

use gix::ObjectId;
use gix::hashtable::HashMap;

/// The first bytes of a cache file.
pub(crate) const MAGIC: &[u8; 14] = b"nextneck-code\0";
/// Bumped whenever the format or the meaning of a stored figure changes
/// (for example how lines are counted), so old files are ignored.
pub(crate) const FORMAT: u32 = 1;

const NONE: u32 = u32::MAX;

/// One change as stored: indices into the file's own path table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StoredChange {
    pub kind: u8,
    pub path: u32,
    pub from: u32,
    pub added: u32,
    pub deleted: u32,
}

/// One commit as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredCommit {
    pub id: ObjectId,
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
    pub identity: u32,
    pub author_time: i64,
    pub committer_time: i64,
    pub changes: Option<Vec<StoredChange>>,
}

/// A whole cache file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CacheFile {
    pub renames: bool,
    pub identities: Vec<Vec<u8>>,
    pub paths: Vec<Box<str>>,
    pub commits: Vec<StoredCommit>,
    pub blob_lines: Vec<(ObjectId, Option<u32>)>,
}

fn fnv1a(data: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The FNV-1a hash of `data` as 16 hex digits (names per-repository
/// folders in the user cache directory).
pub(crate) fn hex_hash(data: &[u8]) -> String {
    format!("{:016x}", fnv1a(data))
}

impl CacheFile {
    /// Serializes the file.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.commits.len() * 120);
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, FORMAT);
        put_u32(&mut out, u32::from(self.renames));
        put_u32(&mut out, self.identities.len() as u32);
        for ident in &self.identities {
            put_u32(&mut out, ident.len() as u32);
            out.extend_from_slice(ident);
        }
        put_u32(&mut out, self.paths.len() as u32);
        for path in &self.paths {
            put_u32(&mut out, path.len() as u32);
            out.extend_from_slice(path.as_bytes());
        }
        put_u32(&mut out, self.commits.len() as u32);
        for c in &self.commits {
            out.extend_from_slice(c.id.as_slice());
            out.extend_from_slice(c.tree.as_slice());
            out.push(c.parents.len().min(255) as u8);
            for p in c.parents.iter().take(255) {
                out.extend_from_slice(p.as_slice());
            }
            put_u32(&mut out, c.identity);
            out.extend_from_slice(&c.author_time.to_le_bytes());
            out.extend_from_slice(&c.committer_time.to_le_bytes());
            match &c.changes {
                None => put_u32(&mut out, NONE),
                Some(changes) => {
                    put_u32(&mut out, changes.len() as u32);
                    for ch in changes {
                        out.push(ch.kind);
                        put_u32(&mut out, ch.path);
                        put_u32(&mut out, ch.from);
                        put_u32(&mut out, ch.added);
                        put_u32(&mut out, ch.deleted);
                    }
                }
            }
        }
        put_u32(&mut out, self.blob_lines.len() as u32);
        for (id, lines) in &self.blob_lines {
            out.extend_from_slice(id.as_slice());
            put_u32(&mut out, lines.unwrap_or(NONE));
        }
        let sum = fnv1a(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Parses a file; `None` when anything is off (wrong magic, format,
    /// checksum, an index out of range, trailing bytes).
    pub(crate) fn decode(data: &[u8]) -> Option<CacheFile> {
        let body_len = data.len().checked_sub(8)?;
        let (body, sum) = data.split_at(body_len);
        if fnv1a(body) != u64::from_le_bytes(sum.try_into().ok()?) {
            return None;
        }
        let mut r = Reader { data: body };
        if r.bytes(MAGIC.len())? != MAGIC || r.u32()? != FORMAT {
            return None;
        }
        let flags = r.u32()?;
        let mut file = CacheFile {
            renames: flags & 1 == 1,
            ..CacheFile::default()
        };
        let n = r.count(4)?;
        file.identities.reserve(n);
        for _ in 0..n {
            let len = r.u32()? as usize;
            file.identities.push(r.bytes(len)?.to_vec());
        }
        let n = r.count(4)?;
        file.paths.reserve(n);
        for _ in 0..n {
            let len = r.u32()? as usize;
            let path = std::str::from_utf8(r.bytes(len)?).ok()?;
            file.paths.push(path.into());
        }
        let paths = file.paths.len() as u32;
        let identities = file.identities.len() as u32;
        let n = r.count(65)?;
        file.commits.reserve(n);
        for _ in 0..n {
            let id = r.oid()?;
            let tree = r.oid()?;
            let parent_count = r.u8()?;
            let parents = (0..parent_count)
                .map(|_| r.oid())
                .collect::<Option<Vec<_>>>()?;
            let identity = r.u32()?;
            if identity >= identities {
                return None;
            }
            let author_time = r.i64()?;
            let committer_time = r.i64()?;
            let count = r.u32()?;
            let changes = if count == NONE {
                None
            } else {
                let count = count as usize;
                if count > r.data.len() / 17 {
                    return None;
                }
                let mut changes = Vec::with_capacity(count);
                for _ in 0..count {
                    let ch = StoredChange {
                        kind: r.u8()?,
                        path: r.u32()?,
                        from: r.u32()?,
                        added: r.u32()?,
                        deleted: r.u32()?,
                    };
                    if ch.kind > 3 || ch.path >= paths || (ch.from != NONE && ch.from >= paths) {
                        return None;
                    }
                    changes.push(ch);
                }
                Some(changes)
            };
            file.commits.push(StoredCommit {
                id,
                tree,
                parents,
                identity,
                author_time,
                committer_time,
                changes,
            });
        }
        let n = r.count(24)?;
        file.blob_lines.reserve(n);
        for _ in 0..n {
            let id = r.oid()?;
            let lines = r.u32()?;
            file.blob_lines.push((id, (lines != NONE).then_some(lines)));
        }
        r.data.is_empty().then_some(file)
    }

    /// An index from commit id to position in [`CacheFile::commits`].
    pub(crate) fn index(&self) -> HashMap<ObjectId, u32> {
        let mut index = HashMap::default();
        index.reserve(self.commits.len());
        for (i, c) in self.commits.iter().enumerate() {
            index.insert(c.id, i as u32);
        }
        index
    }
}

/// Reads a cache file; `None` when it is missing, unreadable or invalid.
pub(crate) fn read(path: &Path) -> Option<CacheFile> {
    let data = std::fs::read(path).ok()?;
    CacheFile::decode(&data)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, renamed into place.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("the cache path has no directory"))?;
    std::fs::create_dir_all(dir)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = path
        .file_name()
        .map_or_else(|| "cache".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.flush()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.data.len() {
            return None;
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.bytes(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes(4)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }

    fn oid(&mut self) -> Option<ObjectId> {
        ObjectId::try_from(self.bytes(20)?).ok()
    }

    /// A count of items each at least `min_size` bytes long; `None` when
    /// the rest of the data cannot hold that many.
    fn count(&mut self, min_size: usize) -> Option<usize> {
        let n = self.u32()? as usize;
        (n.checked_mul(min_size)? <= self.data.len()).then_some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(b: u8) -> ObjectId {
        ObjectId::try_from(&[b; 20][..]).expect("20 bytes")
    }

    fn sample() -> CacheFile {
        CacheFile {
            renames: true,
            identities: vec![b"Ada <ada@example.com>".to_vec(), b"Bo <bo@x>".to_vec()],
            paths: vec!["a.txt".into(), "dir/b.bin".into()],
            commits: vec![
                StoredCommit {
                    id: oid(1),
                    tree: oid(2),
                    parents: vec![],
                    identity: 0,
                    author_time: 1_700_000_000,
                    committer_time: -5,
                    changes: Some(vec![
                        StoredChange {
                            kind: 0,
                            path: 0,
                            from: NONE,
                            added: 3,
                            deleted: 0,
                        },
                        StoredChange {
                            kind: 3,
                            path: 1,
                            from: 0,
                            added: NONE,
                            deleted: NONE,
                        },
                    ]),
                },
                StoredCommit {
                    id: oid(3),
                    tree: oid(4),
                    parents: vec![oid(1), oid(9)],
                    identity: 1,
                    author_time: 1,
                    committer_time: 2,
                    changes: None,
                },
            ],
            blob_lines: vec![(oid(7), Some(12)), (oid(8), None)],
        }
    }

    #[test]
    fn round_trips() {
        let file = sample();
        assert_eq!(CacheFile::decode(&file.encode()), Some(file));
        assert_eq!(
            CacheFile::decode(&CacheFile::default().encode()),
            Some(CacheFile::default())
        );
    }

    #[test]
    fn damaged_files_are_ignored() {
        let bytes = sample().encode();
        // Every truncation, and every single flipped bit in the first bytes.
        for n in 0..bytes.len() {
            assert_eq!(CacheFile::decode(&bytes[..n]), None, "truncated to {n}");
        }
        for i in 0..bytes.len().min(200) {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x10;
            assert_eq!(CacheFile::decode(&damaged), None, "byte {i} flipped");
        }
        // Another format version, with a valid checksum.
        let mut other = bytes[..bytes.len() - 8].to_vec();
        other[MAGIC.len()] = 99;
        let sum = fnv1a(&other);
        other.extend_from_slice(&sum.to_le_bytes());
        assert_eq!(CacheFile::decode(&other), None);
    }

    #[test]
    fn writes_replace_the_file_atomically() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub/cache.bin");
        write_atomic(&path, b"one").expect("first write");
        write_atomic(&path, b"two").expect("second write");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["cache.bin"], "no temporary file is left behind");
    }
}
