//! [`SortedMap`] and [`SortedSet`]: a map (set) kept as one key-sorted vector, the engine's small
//! ordered collections.
//!
//! They iterate in key order like `SortedMap` / `SortedSet` (so every output that lists documents
//! or ids stays deterministic), look up by binary search, and insert or remove by shifting the
//! vector. Appending in key order (a cached channel read back, a snapshot page sent in id
//! order) is a push; building from entries in any order sorts once ([`SortedMap::from_unsorted`],
//! one index sort shared by every key type). Each key and value type costs a few hundred bytes of
//! WASM, where a `SortedMap` instantiation costs several kilobytes (issue #13).
//!
//! What grows with a channel's documents (to 100,000 and more) is chunked instead: the two
//! document maps are [`ChunkedMap`]s and the sets of changed or present ids [`ChunkedSet`]s,
//! the same order and API over short sorted chunks, so a new key shifts one chunk, not the map.

use std::borrow::Borrow;
use std::fmt;

mod chunked;
mod chunked_set;
#[cfg(feature = "serde")]
mod serde_impl;
mod set;

pub(crate) use chunked::Finger;
pub use chunked::{ChunkKey, ChunkedMap};
pub use chunked_set::ChunkedSet;
pub use set::SortedSet;

/// A map kept sorted by key in one vector.
#[derive(Clone, PartialEq)]
pub struct SortedMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> SortedMap<K, V> {
        SortedMap {
            entries: Vec::new(),
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for SortedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    /// An empty map.
    pub fn new() -> SortedMap<K, V> {
        SortedMap::default()
    }

    /// From entries in any order; of a repeated key the last entry wins (as inserting them
    /// one by one would).
    pub fn from_unsorted(mut entries: Vec<(K, V)>) -> SortedMap<K, V> {
        let sorted = entries.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0));
        if sorted {
            return SortedMap { entries };
        }
        let order = tether_protocol::stable_order(entries.len(), &|a, b| match (
            entries.get(a),
            entries.get(b),
        ) {
            (Some(x), Some(y)) => x.0 < y.0,
            _ => false,
        });
        let mut slots: Vec<Option<(K, V)>> = Vec::with_capacity(entries.len());
        for entry in entries.drain(..) {
            slots.push(Some(entry));
        }
        let mut out: Vec<(K, V)> = Vec::with_capacity(slots.len());
        for i in order {
            let Some(entry) = slots.get_mut(i).and_then(Option::take) else {
                continue;
            };
            match out.last_mut() {
                // Stable order: the later of two equal keys comes second and replaces.
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => out.push(entry),
            }
        }
        SortedMap { entries: out }
    }

    /// Where `key` is (`Ok`) or would go (`Err`).
    fn find<Q>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// The value of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let at = self.find(key).ok()?;
        self.entries.get(at).map(|(_, v)| v)
    }

    /// The value of `key`, mutably.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let at = self.find(key).ok()?;
        self.entries.get_mut(at).map(|(_, v)| v)
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).is_ok()
    }

    /// Sets the value of `key`; returns the previous one.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(at) => self
                .entries
                .get_mut(at)
                .map(|(_, v)| std::mem::replace(v, value)),
            Err(at) => {
                self.entries
                    .insert(at.min(self.entries.len()), (key, value));
                None
            }
        }
    }

    /// Sets the value of `key`, making an owned key only when it is new; returns the previous
    /// value.
    pub fn set<Q>(&mut self, key: &Q, value: V) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ToOwned<Owned = K> + ?Sized,
    {
        match self.find(key) {
            Ok(at) => self
                .entries
                .get_mut(at)
                .map(|(_, v)| std::mem::replace(v, value)),
            Err(at) => {
                self.entries
                    .insert(at.min(self.entries.len()), (key.to_owned(), value));
                None
            }
        }
    }

    /// Inserts `key` with the default value when it is absent (one search); whether it was.
    pub(crate) fn insert_absent<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ToOwned<Owned = K> + ?Sized,
        V: Default,
    {
        match self.find(key) {
            Ok(_) => false,
            Err(at) => {
                let at = at.min(self.entries.len());
                self.entries.insert(at, (key.to_owned(), V::default()));
                true
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let at = self.find(key).ok()?;
        // Checked here, so the compiler drops `remove`'s own (formatting) assertion.
        (at < self.entries.len()).then(|| self.entries.remove(at).1)
    }

    /// The entry of `key`, to fill in when vacant (`BTreeMap`'s `entry(..).or_default()`).
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        Entry { map: self, key }
    }

    /// The value of `key`, inserting the default first when there is none.
    pub fn or_default<Q>(&mut self, key: &Q) -> &mut V
    where
        K: Borrow<Q>,
        Q: Ord + ToOwned<Owned = K> + ?Sized,
        V: Default,
    {
        let at = match self.find(key) {
            Ok(at) => at,
            Err(at) => {
                let at = at.min(self.entries.len());
                self.entries.insert(at, (key.to_owned(), V::default()));
                at
            }
        };
        &mut self.entries[at].1
    }
}

impl<K, V> SortedMap<K, V> {
    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Entries in key order, values mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.entries.iter().map(|(k, _)| k)
    }

    /// Values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// Values in key order, mutably.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// The values in key order, by value.
    pub fn into_values(self) -> impl Iterator<Item = V> {
        self.entries.into_iter().map(|(_, v)| v)
    }

    /// The keys (in order) of the values `keep` accepts. The predicate is taken as `dyn`, so
    /// the callers' closures share one instantiation per map type.
    pub fn keys_where(&self, keep: &dyn Fn(&V) -> bool) -> Vec<K>
    where
        K: Clone,
    {
        let mut keys = Vec::new();
        for (k, v) in &self.entries {
            if keep(v) {
                keys.push(k.clone());
            }
        }
        keys
    }
}

/// The place of one key in a [`SortedMap`], vacant or not.
pub struct Entry<'a, K, V> {
    map: &'a mut SortedMap<K, V>,
    key: K,
}

impl<'a, K: Ord, V> Entry<'a, K, V> {
    /// The value, inserting `value` first when there is none.
    pub fn or_insert(self, value: V) -> &'a mut V {
        let at = match self.map.find(&self.key) {
            Ok(at) => at,
            Err(at) => {
                let at = at.min(self.map.entries.len());
                self.map.entries.insert(at, (self.key, value));
                at
            }
        };
        &mut self.map.entries[at].1
    }

    /// The value, inserting the default first when there is none.
    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert(V::default())
    }
}

impl<K, V> IntoIterator for SortedMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a SortedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for SortedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> SortedMap<K, V> {
        SortedMap::from_unsorted(iter.into_iter().collect())
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for SortedMap<K, V> {
    fn from(entries: [(K, V); N]) -> SortedMap<K, V> {
        SortedMap::from_unsorted(Vec::from(entries))
    }
}

impl<K, V, Q> std::ops::Index<&Q> for SortedMap<K, V>
where
    K: Ord + Borrow<Q>,
    Q: Ord + ?Sized,
{
    type Output = V;

    /// The value of `key`; panics when there is none (as `SortedMap`'s index does). For tests
    /// and tools: the engine itself uses [`SortedMap::get`].
    fn index(&self, key: &Q) -> &V {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no entry for the key"),
        }
    }
}

#[cfg(test)]
mod tests;
