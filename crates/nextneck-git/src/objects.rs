//! Reading trees and blobs from packs, with a cache of decoded objects
//! keyed by pack position, as git's delta base cache works.
//!
//! A pack stores most versions of a file as deltas against another version
//! (usually the next newer one), in chains up to 50 deep. Reading an old
//! version means decoding its chain from the nearest version already at
//! hand. gix caches the objects it was asked for, but not the ones decoded
//! on the way, and always inflates a chain's full base again; walking the
//! history from new to old, that makes every read cost most of a chain.
//! This reader caches every object it decodes, intermediate ones included,
//! so that reading the versions of a file one after the other costs one
//! delta each, as in git. Objects not in a pack (loose ones, alternates)
//! are read through gix.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

use gix::ObjectId;
use gix::odb::pack;

use crate::{Error, find};

/// The repository's packs, opened once and shared by every thread.
pub(crate) struct Packs {
    bundles: Vec<pack::Bundle>,
    /// Per pack, once [`Packs::hash_indices`] ran: an open-addressing table
    /// of index positions by object id. A lookup in a pack index is a
    /// binary search over the whole index, mostly cache misses; diffing a
    /// long history looks up most objects of the repository, and this
    /// table makes a lookup one probe (4 bytes an object, twice over).
    tables: Vec<Vec<u32>>,
}

const EMPTY: u32 = u32::MAX;

/// Where an object id starts probing a table of `len` (a power of two)
/// slots: ids are uniformly distributed, so their first bytes will do.
fn slot_of(id: &[u8], len: usize) -> usize {
    let mut word = [0u8; 8];
    word.copy_from_slice(&id[..8]);
    (u64::from_le_bytes(word) as usize) & (len - 1)
}

impl Packs {
    /// Opens every pack index of the repository (unreadable ones are left
    /// to gix).
    pub(crate) fn open(repo: &gix::Repository) -> Packs {
        let pack_dir = repo.common_dir().join("objects").join("pack");
        let mut paths: Vec<_> = std::fs::read_dir(&pack_dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "idx"))
                    .collect()
            })
            .unwrap_or_default();
        paths.sort();
        let bundles = paths
            .iter()
            .filter_map(|p| pack::Bundle::at(p, repo.object_hash()).ok())
            .collect();
        Packs {
            bundles,
            tables: Vec::new(),
        }
    }

    /// Builds the lookup tables (worth it before reading many objects: a
    /// few milliseconds per 100,000 objects).
    pub(crate) fn hash_indices(&mut self) {
        if !self.tables.is_empty() {
            return;
        }
        self.tables = self
            .bundles
            .iter()
            .map(|bundle| {
                let n = bundle.index.num_objects();
                let len = (n as usize * 2).next_power_of_two().max(2);
                let mut table = vec![EMPTY; len];
                for i in 0..n {
                    let mut slot = slot_of(bundle.index.oid_at_index(i).as_bytes(), len);
                    while table[slot] != EMPTY {
                        slot = (slot + 1) & (len - 1);
                    }
                    table[slot] = i;
                }
                table
            })
            .collect();
    }

    fn locate(&self, id: &ObjectId) -> Option<Position> {
        if !self.tables.is_empty() {
            return self.bundles.iter().zip(&self.tables).enumerate().find_map(
                |(b, (bundle, table))| {
                    let mut slot = slot_of(id.as_bytes(), table.len());
                    loop {
                        let i = table[slot];
                        if i == EMPTY {
                            return None;
                        }
                        if bundle.index.oid_at_index(i) == id.as_ref() {
                            return Some((b as u32, bundle.index.pack_offset_at_index(i)));
                        }
                        slot = (slot + 1) & (table.len() - 1);
                    }
                },
            );
        }
        self.bundles.iter().enumerate().find_map(|(b, bundle)| {
            let i = bundle.index.lookup(id)?;
            Some((b as u32, bundle.index.pack_offset_at_index(i)))
        })
    }
}

/// A decoded object.
pub(crate) type Object = Rc<Vec<u8>>;

/// A hash for pack positions (FxHash's mixing).
#[derive(Default)]
struct PositionHasher(u64);

impl Hasher for PositionHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Position = (u32, u64);

/// Object positions remembered per thread (some 40 bytes each).
const LOCATED_LIMIT: usize = 1 << 18;

/// Decoded objects by pack position, oldest out first (first in, first
/// out: cheaper than least recently used, and as good here, where objects
/// are needed again soon or not at all).
struct Cache {
    map: HashMap<Position, (gix::object::Kind, Object), BuildHasherDefault<PositionHasher>>,
    order: VecDeque<(Position, usize)>,
    bytes: usize,
    limit: usize,
}

impl Cache {
    fn get(&self, key: Position) -> Option<(gix::object::Kind, Object)> {
        self.map
            .get(&key)
            .map(|(kind, data)| (*kind, Rc::clone(data)))
    }

    fn put(&mut self, key: Position, kind: gix::object::Kind, data: &Object) {
        let size = data.capacity();
        if size > self.limit / 4 || self.map.contains_key(&key) {
            return;
        }
        self.map.insert(key, (kind, Rc::clone(data)));
        self.order.push_back((key, size));
        self.bytes += size;
        while self.bytes > self.limit {
            let Some((old, size)) = self.order.pop_front() else {
                break;
            };
            self.map.remove(&old);
            self.bytes -= size;
        }
    }
}

/// One thread's object reader.
pub(crate) struct Reader<'p> {
    packs: &'p Packs,
    repo: gix::Repository,
    cache: Cache,
    /// Where objects are in the packs, when the packs have no lookup
    /// tables: a lookup in a pack index is a binary search over the whole
    /// index, mostly cache misses, and many objects are read more than once.
    located: gix::hashtable::HashMap<ObjectId, Option<Position>>,
    inflate: gix::zlib::Inflate,
    delta: Vec<u8>,
}

impl<'p> Reader<'p> {
    /// A reader keeping up to `limit` bytes of decoded objects.
    pub(crate) fn new(packs: &'p Packs, repo: gix::Repository, limit: usize) -> Reader<'p> {
        Reader {
            packs,
            repo,
            cache: Cache {
                map: HashMap::default(),
                order: VecDeque::new(),
                bytes: 0,
                limit,
            },
            located: gix::hashtable::HashMap::default(),
            inflate: gix::zlib::Inflate::default(),
            delta: Vec::new(),
        }
    }

    /// Object `id`, which must be of `kind`.
    pub(crate) fn read(&mut self, id: &ObjectId, kind: gix::object::Kind) -> Result<Object, Error> {
        let position = if !self.packs.tables.is_empty() {
            self.packs.locate(id)
        } else if let Some(p) = self.located.get(id) {
            *p
        } else {
            if self.located.len() > LOCATED_LIMIT {
                self.located.clear();
            }
            let p = self.packs.locate(id);
            self.located.insert(*id, p);
            p
        };
        let (found, data) = match position {
            Some((b, offset)) => match self.decode(b, offset) {
                Ok(decoded) => decoded,
                Err(reason) => {
                    return Err(Error::BadObject {
                        id: id.to_string(),
                        reason: format!("unreadable pack entry: {reason}"),
                    });
                }
            },
            None => self.read_loose(id)?,
        };
        if found != kind {
            return Err(Error::BadObject {
                id: id.to_string(),
                reason: format!("expected a {kind}, found a {found}"),
            });
        }
        Ok(data)
    }

    fn read_loose(&mut self, id: &ObjectId) -> Result<(gix::object::Kind, Object), Error> {
        let mut buf = Vec::new();
        let (kind, len) = match find(&self.repo, id, &mut buf)? {
            Some(data) => (data.kind, data.data.len()),
            None => {
                return Err(Error::BadObject {
                    id: id.to_string(),
                    reason: "the object is missing from the object database".to_owned(),
                });
            }
        };
        buf.truncate(len);
        Ok((kind, Rc::new(buf)))
    }

    /// The object at `offset` in pack `b`: its chain is followed down to
    /// an object in the cache or a full one, then its deltas are applied
    /// upwards, every result cached.
    fn decode(&mut self, b: u32, offset: u64) -> Result<(gix::object::Kind, Object), String> {
        let bundle = &self.packs.bundles[b as usize];
        let mut chain: Vec<pack::data::Entry> = Vec::new();
        let mut cursor = offset;
        let (kind, mut data) = loop {
            if let Some(hit) = self.cache.get((b, cursor)) {
                break hit;
            }
            if chain.len() > 10_000 {
                return Err("a delta chain that does not end".to_owned());
            }
            let entry = bundle.pack.entry(cursor).map_err(|e| e.to_string())?;
            use pack::data::entry::Header;
            match entry.header {
                Header::OfsDelta { base_distance } => {
                    cursor = entry
                        .checked_base_pack_offset(base_distance)
                        .ok_or("a delta base before the start of the pack")?;
                    chain.push(entry);
                }
                Header::RefDelta { base_id } => {
                    chain.push(entry);
                    let base = match self.packs.locate(&base_id) {
                        Some((bb, bo)) if bb != b || bo != cursor => self.decode(bb, bo)?,
                        _ => self.read_loose(&base_id).map_err(|e| e.to_string())?,
                    };
                    break base;
                }
                header => {
                    let kind = header
                        .as_kind()
                        .ok_or("an entry that is neither an object nor a delta")?;
                    let size = usize::try_from(entry.decompressed_size)
                        .map_err(|_| "an entry too large for memory")?;
                    let mut out = vec![0; size];
                    bundle
                        .pack
                        .decompress_entry(&entry, &mut self.inflate, &mut out)
                        .map_err(|e| e.to_string())?;
                    let out = Rc::new(out);
                    self.cache.put((b, cursor), kind, &out);
                    break (kind, out);
                }
            }
        };
        for entry in chain.iter().rev() {
            let size = usize::try_from(entry.decompressed_size)
                .map_err(|_| "a delta too large for memory")?;
            self.delta.resize(size, 0);
            bundle
                .pack
                .decompress_entry(entry, &mut self.inflate, &mut self.delta)
                .map_err(|e| e.to_string())?;
            let mut result = Vec::with_capacity(delta_result_size(&self.delta)?);
            apply_delta(&data, &self.delta, &mut result)?;
            data = Rc::new(result);
            self.cache.put((b, entry.pack_offset()), kind, &data);
        }
        Ok((kind, data))
    }
}

/// A size in a delta header: little-endian base-128.
fn delta_size(d: &[u8], i: &mut usize) -> Result<usize, String> {
    let mut size = 0usize;
    let mut shift = 0;
    loop {
        let byte = *d.get(*i).ok_or("a delta header cut short")?;
        *i += 1;
        if shift > 56 {
            return Err("a delta size too large".to_owned());
        }
        size |= usize::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            return Ok(size);
        }
    }
}

/// The size of the object a delta makes.
fn delta_result_size(delta: &[u8]) -> Result<usize, String> {
    let mut i = 0;
    delta_size(delta, &mut i)?;
    delta_size(delta, &mut i)
}

/// Applies a git delta (base size, result size, then copy and insert
/// instructions) to `base`.
fn apply_delta(base: &[u8], delta: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut i = 0;
    let base_size = delta_size(delta, &mut i)?;
    if base_size != base.len() {
        return Err(format!(
            "a delta for a base of {base_size} bytes applied to one of {}",
            base.len()
        ));
    }
    let result_size = delta_size(delta, &mut i)?;
    out.clear();
    out.reserve(result_size);
    while i < delta.len() {
        let cmd = delta[i];
        i += 1;
        if cmd & 0x80 != 0 {
            let mut arg = |bit: u8, shift: u32| -> Result<usize, String> {
                if cmd & bit == 0 {
                    return Ok(0);
                }
                let byte = *delta.get(i).ok_or("a copy instruction cut short")?;
                i += 1;
                Ok(usize::from(byte) << shift)
            };
            let offset = arg(0x01, 0)? | arg(0x02, 8)? | arg(0x04, 16)? | arg(0x08, 24)?;
            let mut size = arg(0x10, 0)? | arg(0x20, 8)? | arg(0x40, 16)?;
            if size == 0 {
                size = 0x10000;
            }
            let end = offset
                .checked_add(size)
                .ok_or("a copy range that overflows")?;
            out.extend_from_slice(
                base.get(offset..end)
                    .ok_or("a copy range beyond the base object")?,
            );
        } else if cmd != 0 {
            let end = i + usize::from(cmd);
            out.extend_from_slice(delta.get(i..end).ok_or("an insert cut short")?);
            i = end;
        } else {
            return Err("the reserved delta instruction 0".to_owned());
        }
    }
    if out.len() != result_size {
        return Err(format!(
            "a delta that makes {} bytes instead of {result_size}",
            out.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_tables_find_what_index_searches_find() {
        let dir = tempfile::tempdir().expect("temp dir");
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .current_dir(dir.path())
                .args(args)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_AUTHOR_NAME", "A")
                .env("GIT_AUTHOR_EMAIL", "a@x")
                .env("GIT_COMMITTER_NAME", "A")
                .env("GIT_COMMITTER_EMAIL", "a@x")
                .output()
                .expect("git runs");
            assert!(out.status.success(), "git {args:?}");
        };
        git(&["init", "-q"]);
        for i in 0..40 {
            std::fs::write(dir.path().join(format!("f{}.txt", i % 7)), format!("{i}\n"))
                .expect("write");
            git(&["add", "-A"]);
            git(&["commit", "-q", "-m", &format!("c{i}")]);
        }
        git(&["repack", "-adq"]);
        let repo = gix::open(dir.path()).expect("a repository");
        let mut packs = Packs::open(&repo);
        let ids: Vec<ObjectId> = packs.bundles[0].index.iter().map(|e| e.oid).collect();
        assert!(ids.len() > 100);
        let searched: Vec<_> = ids.iter().map(|id| packs.locate(id)).collect();
        packs.hash_indices();
        let hashed: Vec<_> = ids.iter().map(|id| packs.locate(id)).collect();
        assert_eq!(searched, hashed);
        assert!(hashed.iter().all(Option::is_some));
        let missing =
            ObjectId::from_hex(b"0123456789abcdef0123456789abcdef01234567").expect("valid hex");
        assert_eq!(packs.locate(&missing), None);
    }

    fn apply(base: &[u8], delta: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = vec![1, 2, 3];
        apply_delta(base, delta, &mut out).map(|()| out)
    }

    #[test]
    fn deltas_copy_and_insert() {
        let base = b"hello, world";
        // base 12, result 12: copy 7 bytes at 0, insert "there", copy... no:
        // copy "hello, " (offset 0, size 7), insert "there".
        let delta = [12, 12, 0x80 | 0x10, 7, 5, b't', b'h', b'e', b'r', b'e'];
        assert_eq!(apply(base, &delta).expect("valid"), b"hello, there");
        // A copy with an offset: "world" at 7.
        let delta = [12, 5, 0x80 | 0x01 | 0x10, 7, 5];
        assert_eq!(apply(base, &delta).expect("valid"), b"world");
        // Wrong base size, range beyond the base, reserved instruction.
        assert!(apply(base, &[11, 1, 1, b'x']).is_err());
        assert!(apply(base, &[12, 5, 0x80 | 0x01 | 0x10, 10, 5]).is_err());
        assert!(apply(base, &[12, 1, 0]).is_err());
        assert!(apply(base, &[12, 9, 1, b'x']).is_err(), "wrong result size");
    }
}
