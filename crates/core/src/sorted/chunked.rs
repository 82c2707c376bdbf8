//! [`ChunkedMap`]: a key-sorted map in a list of short sorted vectors, for the maps that grow
//! to many thousand entries (a channel's documents).
//!
//! One sorted vector shifts its whole tail on every new key, so filling it is quadratic; here a
//! new key shifts at most one chunk (under `2 * CHUNK` entries) and, when that chunk splits, the
//! list of chunk headers (one per `CHUNK` entries). A map of up to `2 * CHUNK` entries is one
//! chunk, the same vector as [`SortedMap`]. Only the two document maps use it, so its code is
//! instantiated twice.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;

use super::SortedMap;

/// A key type a [`ChunkedMap`] searches by: its order, through a comparison the searches
/// inline. Strings (the maps' document ids) compare byte by byte in the search, in the order
/// of `str::cmp`, where the library's comparison calls out for every step of a search.
pub trait ChunkKey: Ord {
    /// `self.cmp(other)`.
    fn key_cmp(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
}

impl ChunkKey for str {
    #[inline(always)]
    fn key_cmp(&self, other: &str) -> Ordering {
        cmp_bytes(self.as_bytes(), other.as_bytes())
    }
}

impl ChunkKey for String {
    #[inline(always)]
    fn key_cmp(&self, other: &String) -> Ordering {
        cmp_bytes(self.as_bytes(), other.as_bytes())
    }
}

impl ChunkKey for u64 {}

/// The order of byte strings (as `<[u8]>::cmp`): the first differing byte, else the length.
/// A byte loop inlined in the search: ids differ early, so it stops after a few bytes.
#[inline(always)]
pub(crate) fn cmp_bytes(a: &[u8], b: &[u8]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// Binary search of a sorted chunk for `key`: its index (`Ok`) or where it would go (`Err`),
/// as `binary_search_by` gives them for distinct keys.
#[inline(always)]
fn search<K, V, Q>(chunk: &[(K, V)], key: &Q) -> Result<usize, usize>
where
    K: Borrow<Q>,
    Q: ChunkKey + ?Sized,
{
    let (mut lo, mut hi) = (0, chunk.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let Some((k, _)) = chunk.get(mid) else {
            break;
        };
        match k.borrow().key_cmp(key) {
            Ordering::Less => lo = mid + 1,
            Ordering::Greater => hi = mid,
            Ordering::Equal => return Ok(mid),
        }
    }
    Err(lo)
}

/// Where the last search of an in-order walk over a [`ChunkedMap`] ended (see
/// [`ChunkedMap::place_from`]); the default starts at the first entry.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Finger {
    ci: usize,
    at: usize,
}

/// Where a key is in a [`ChunkedMap`] (`found: Ok`) or would go (`Err`): its chunk and place.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    ci: usize,
    found: Result<usize, usize>,
}

/// Entries per chunk after a split; a chunk splits when it reaches twice this.
const CHUNK: usize = 256;

/// A map kept sorted by key in chunks of at most `2 * CHUNK` sorted entries.
///
/// Invariants: no chunk is empty, and every key of a chunk is below every key of the next.
#[derive(Clone)]
pub struct ChunkedMap<K, V> {
    chunks: Vec<Vec<(K, V)>>,
    len: usize,
}

impl<K, V> Default for ChunkedMap<K, V> {
    fn default() -> ChunkedMap<K, V> {
        ChunkedMap {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<K: PartialEq, V: PartialEq> PartialEq for ChunkedMap<K, V> {
    /// Equal entries, however they are chunked.
    fn eq(&self, other: &ChunkedMap<K, V>) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for ChunkedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Ord, V> From<SortedMap<K, V>> for ChunkedMap<K, V> {
    fn from(map: SortedMap<K, V>) -> ChunkedMap<K, V> {
        let len = map.len();
        let mut chunks = Vec::with_capacity(len / CHUNK + 1);
        let mut chunk = Vec::with_capacity(CHUNK.min(len));
        for entry in map {
            if chunk.len() == CHUNK {
                chunks.push(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)));
            }
            chunk.push(entry);
        }
        if !chunk.is_empty() {
            chunks.push(chunk);
        }
        ChunkedMap { chunks, len }
    }
}

impl<K: ChunkKey, V> ChunkedMap<K, V> {
    /// An empty map.
    pub fn new() -> ChunkedMap<K, V> {
        ChunkedMap::default()
    }

    /// From entries in any order; of a repeated key the last entry wins (as inserting them
    /// one by one would).
    pub fn from_unsorted(entries: Vec<(K, V)>) -> ChunkedMap<K, V> {
        SortedMap::from_unsorted(entries).into()
    }

    /// The chunk `key` is in or would go in (`chunks.len()` when there is none), and where in
    /// it (`Ok`) or where it would go (`Err`).
    fn find<Q>(&self, key: &Q) -> (usize, Result<usize, usize>)
    where
        K: Borrow<Q>,
        Q: ChunkKey + ?Sized,
    {
        // The first chunk whose last key is not below `key`; past the end, the last chunk.
        // Both searches are written out so that the key comparison inlines into them.
        let (mut lo, mut hi) = (0, self.chunks.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let below = self.chunks.get(mid).is_some_and(|c| {
                c.last()
                    .is_some_and(|(k, _)| k.borrow().key_cmp(key) == Ordering::Less)
            });
            if below {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let ci = lo.min(self.chunks.len().saturating_sub(1));
        match self.chunks.get(ci) {
            Some(c) => (ci, search(c, key)),
            None => (ci, Err(0)),
        }
    }

    /// Puts a new entry at `at` of chunk `ci` (as `find` placed it), splitting the chunk when
    /// it is full; where the entry ended up.
    fn put(&mut self, ci: usize, at: usize, key: K, value: V) -> (usize, usize) {
        self.len += 1;
        let Some(chunk) = self.chunks.get_mut(ci) else {
            self.chunks.push(vec![(key, value)]);
            return (self.chunks.len() - 1, 0);
        };
        chunk.insert(at.min(chunk.len()), (key, value));
        if chunk.len() < 2 * CHUNK {
            return (ci, at);
        }
        let tail = chunk.split_off(CHUNK);
        self.chunks.insert(ci + 1, tail);
        if at < CHUNK {
            (ci, at)
        } else {
            (ci + 1, at - CHUNK)
        }
    }

    /// The value at chunk `ci`, place `at` (as `put` or `find` gave them).
    fn at_mut(&mut self, (ci, at): (usize, usize)) -> Option<&mut V> {
        let chunk = self.chunks.get_mut(ci)?;
        chunk.get_mut(at).map(|(_, v)| v)
    }

    /// The value of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ChunkKey + ?Sized,
    {
        let (ci, found) = self.find(key);
        let chunk = self.chunks.get(ci)?;
        chunk.get(found.ok()?).map(|(_, v)| v)
    }

    /// The value of `key`, mutably.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: ChunkKey + ?Sized,
    {
        let (ci, found) = self.find(key);
        self.at_mut((ci, found.ok()?))
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: ChunkKey + ?Sized,
    {
        self.find(key).1.is_ok()
    }

    /// Sets the value of `key`; returns the previous one.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            (ci, Ok(at)) => self.at_mut((ci, at)).map(|v| std::mem::replace(v, value)),
            (ci, Err(at)) => {
                self.put(ci, at, key, value);
                None
            }
        }
    }

    /// Sets the value of `key`, making an owned key only when it is new; returns the previous
    /// value.
    pub fn set<Q>(&mut self, key: &Q, value: V) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ChunkKey + ToOwned<Owned = K> + ?Sized,
    {
        match self.find(key) {
            (ci, Ok(at)) => self.at_mut((ci, at)).map(|v| std::mem::replace(v, value)),
            (ci, Err(at)) => {
                self.put(ci, at, key.to_owned(), value);
                None
            }
        }
    }

    /// Where `key` is or would go, for [`ChunkedMap::at`] and [`ChunkedMap::slot_at`] (one
    /// search for a read and then a write of the same key, the map unchanged in between).
    pub(crate) fn place<Q>(&self, key: &Q) -> Place
    where
        K: Borrow<Q>,
        Q: ChunkKey + ?Sized,
    {
        let (ci, found) = self.find(key);
        Place { ci, found }
    }

    /// [`ChunkedMap::place`] for a walk over keys in increasing order: the search starts where
    /// the last one of the walk (`finger`) ended, galloping, and `finger` moves to the place
    /// found. Any finger gives the right place (one that does not precede `key`, e.g. after a
    /// change of the map or a key out of order, makes a full search); in order, over many keys
    /// of the map, each search takes a few comparisons instead of a whole binary search.
    pub(crate) fn place_from<Q>(&self, key: &Q, finger: &mut Finger) -> Place
    where
        K: Borrow<Q>,
        Q: ChunkKey + ?Sized,
    {
        let place = match self.seek(key, *finger) {
            Some(place) => place,
            None => self.place(key),
        };
        let (Ok(at) | Err(at)) = place.found;
        *finger = Finger { ci: place.ci, at };
        place
    }

    /// The value of `key`, found by [`ChunkedMap::place_from`] (for the tests).
    #[cfg(test)]
    pub(crate) fn get_from<Q>(&self, key: &Q, finger: &mut Finger) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ChunkKey + ?Sized,
    {
        let place = self.place_from(key, finger);
        self.at(place)
    }

    /// The search of [`ChunkedMap::place_from`] from `f`; `None` when `f` is out of range or
    /// an entry before it is not below `key` (then the full search decides).
    fn seek<Q>(&self, key: &Q, f: Finger) -> Option<Place>
    where
        K: Borrow<Q>,
        Q: ChunkKey + ?Sized,
    {
        let below = |k: &K| k.borrow().key_cmp(key) == Ordering::Less;
        let chunk = self.chunks.get(f.ci)?;
        if f.at > chunk.len() {
            return None;
        }
        // Everything before the finger is below `key` when the entry just before it is.
        let before = match f.at.checked_sub(1) {
            Some(i) => chunk.get(i),
            None => {
                f.ci.checked_sub(1)
                    .and_then(|p| self.chunks.get(p))
                    .and_then(|c| c.last())
            }
        };
        if before.is_some_and(|(k, _)| !below(k)) {
            return None;
        }
        // The first chunk from here whose last key is not below `key` (else the last one), as
        // `find` picks it.
        let (mut ci, mut start) = (f.ci, f.at);
        while ci + 1 < self.chunks.len()
            && self
                .chunks
                .get(ci)
                .and_then(|c| c.last())
                .is_some_and(|(k, _)| below(k))
        {
            ci += 1;
            start = 0;
        }
        let rest = self.chunks.get(ci)?.get(start..)?;
        // Gallop: `rest[hi]` is the first probed entry not below `key` (or `hi` is past the
        // end), `rest[lo]` the last one below it (or `lo` is 0).
        let mut hi = 1;
        while rest.get(hi).is_some_and(|(k, _)| below(k)) {
            hi *= 2;
        }
        let lo = hi / 2;
        let window = rest.get(lo..(hi + 1).min(rest.len()))?;
        let found = match search(window, key) {
            Ok(i) => Ok(start + lo + i),
            Err(i) => Err(start + lo + i),
        };
        Some(Place { ci, found })
    }

    /// The value at `place` (as [`ChunkedMap::place`] found it), if the key was there.
    pub(crate) fn at(&self, place: Place) -> Option<&V> {
        let chunk = self.chunks.get(place.ci)?;
        chunk.get(place.found.ok()?).map(|(_, v)| v)
    }

    /// [`ChunkedMap::slot`] at `place`, which [`ChunkedMap::place`] found for `key` with the
    /// map unchanged since.
    pub(crate) fn slot_at<Q>(&mut self, place: Place, key: &Q, make: impl FnOnce() -> V) -> &mut V
    where
        K: Borrow<Q>,
        Q: ChunkKey + ToOwned<Owned = K> + ?Sized,
    {
        let at = match place.found {
            Ok(at) => (place.ci, at),
            Err(at) => self.put(place.ci, at, key.to_owned(), make()),
        };
        &mut self.chunks[at.0][at.1].1
    }

    /// The value of `key`, inserting `make()` first when there is none (one search).
    pub(crate) fn slot<Q>(&mut self, key: &Q, make: impl FnOnce() -> V) -> &mut V
    where
        K: Borrow<Q>,
        Q: ChunkKey + ToOwned<Owned = K> + ?Sized,
    {
        let place = match self.find(key) {
            (ci, Ok(at)) => (ci, at),
            (ci, Err(at)) => self.put(ci, at, key.to_owned(), make()),
        };
        &mut self.chunks[place.0][place.1].1
    }

    /// Inserts `key` with the default value when it is absent (one search); whether it was.
    pub(crate) fn insert_absent<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: ChunkKey + ToOwned<Owned = K> + ?Sized,
        V: Default,
    {
        match self.find(key) {
            (_, Ok(_)) => false,
            (ci, Err(at)) => {
                self.put(ci, at, key.to_owned(), V::default());
                true
            }
        }
    }

    /// [`ChunkedMap::insert_absent`] with the search of [`ChunkedMap::place_from`].
    pub(crate) fn insert_absent_from<Q>(&mut self, key: &Q, finger: &mut Finger) -> bool
    where
        K: Borrow<Q>,
        Q: ChunkKey + ToOwned<Owned = K> + ?Sized,
        V: Default,
    {
        let place = self.place_from(key, finger);
        match place.found {
            Ok(_) => false,
            Err(at) => {
                self.put(place.ci, at, key.to_owned(), V::default());
                true
            }
        }
    }

    /// Removes `key`; returns its value. A chunk left empty goes; one left small merges with
    /// a neighbour when both fit in one chunk, so the chunks stay about `CHUNK` long.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ChunkKey + ?Sized,
    {
        let (ci, found) = self.find(key);
        let at = found.ok()?;
        let chunk = self.chunks.get_mut(ci)?;
        // Checked here, so the compiler drops `remove`'s own (formatting) assertion.
        let (_, value) = (at < chunk.len()).then(|| chunk.remove(at))?;
        self.len -= 1;
        let here = chunk.len();
        if here == 0 {
            self.chunks.remove(ci);
        } else if here < CHUNK / 2 {
            // Into the previous chunk, else the next into this one (order is kept either way).
            let merge = match (ci.checked_sub(1), self.chunks.get(ci + 1)) {
                (Some(p), _) if self.chunks.get(p).is_some_and(|c| c.len() + here <= CHUNK) => {
                    Some(p)
                }
                (_, Some(next)) if next.len() + here <= CHUNK => Some(ci),
                _ => None,
            };
            if let Some(into) = merge {
                let mut moved = self.chunks.remove(into + 1);
                if let Some(c) = self.chunks.get_mut(into) {
                    c.append(&mut moved);
                }
            }
        }
        Some(value)
    }
}

impl<K, V> ChunkedMap<K, V> {
    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.chunks.iter().flatten().map(|(k, v)| (k, v))
    }

    /// Entries in key order, values mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.chunks.iter_mut().flatten().map(|(k, v)| (&*k, v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.chunks.iter().flatten().map(|(k, _)| k)
    }

    /// Values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.chunks.iter().flatten().map(|(_, v)| v)
    }

    /// Values in key order, mutably.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.chunks.iter_mut().flatten().map(|(_, v)| v)
    }

    /// The number of chunks (for the tests that bound the work of an insert).
    #[cfg(test)]
    pub(crate) fn chunk_lens(&self) -> Vec<usize> {
        self.chunks.iter().map(Vec::len).collect()
    }
}

impl<'a, K, V> IntoIterator for &'a ChunkedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<
        std::iter::Flatten<std::slice::Iter<'a, Vec<(K, V)>>>,
        fn(&'a (K, V)) -> (&'a K, &'a V),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.chunks.iter().flatten().map(|(k, v)| (k, v))
    }
}

impl<K: ChunkKey, V> FromIterator<(K, V)> for ChunkedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> ChunkedMap<K, V> {
        ChunkedMap::from_unsorted(iter.into_iter().collect())
    }
}

impl<K, V, Q> std::ops::Index<&Q> for ChunkedMap<K, V>
where
    K: ChunkKey + Borrow<Q>,
    Q: ChunkKey + ?Sized,
{
    type Output = V;

    /// The value of `key`; panics when there is none. For tests and tools: the engine itself
    /// uses [`ChunkedMap::get`].
    fn index(&self, key: &Q) -> &V {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no entry for the key"),
        }
    }
}

#[cfg(test)]
mod tests;
