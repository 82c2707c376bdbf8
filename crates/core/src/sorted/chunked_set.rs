//! [`ChunkedSet`]: a set kept in sorted chunks (a [`ChunkedMap`] without values), for the
//! sets of document ids that grow with a channel (the ids changed since a flush, a view's
//! present documents).

use std::borrow::Borrow;
use std::fmt;

use super::chunked::Finger;
use super::{ChunkKey, ChunkedMap};

/// A set kept sorted in chunks; iterates in order.
#[derive(Clone, PartialEq)]
pub struct ChunkedSet<T> {
    map: ChunkedMap<T, ()>,
}

impl<T> Default for ChunkedSet<T> {
    fn default() -> ChunkedSet<T> {
        ChunkedSet {
            map: ChunkedMap::default(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for ChunkedSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.map.keys()).finish()
    }
}

impl<T: ChunkKey> ChunkedSet<T> {
    /// An empty set.
    pub fn new() -> ChunkedSet<T> {
        ChunkedSet::default()
    }

    /// Adds `item`, making an owned one only when it is new; whether it was new.
    pub fn insert_ref<Q>(&mut self, item: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: ChunkKey + ToOwned<Owned = T> + ?Sized,
    {
        self.map.insert_absent(item)
    }

    /// [`ChunkedSet::insert_ref`] for items visited in increasing order (see
    /// [`ChunkedMap::place_from`]).
    pub(crate) fn insert_ref_from<Q>(&mut self, item: &Q, finger: &mut Finger) -> bool
    where
        T: Borrow<Q>,
        Q: ChunkKey + ToOwned<Owned = T> + ?Sized,
    {
        self.map.insert_absent_from(item, finger)
    }

    /// Removes `item`; whether it was there.
    pub fn remove<Q>(&mut self, item: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: ChunkKey + ?Sized,
    {
        self.map.remove(item).is_some()
    }

    /// Whether `item` is in the set.
    pub fn contains<Q>(&self, item: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: ChunkKey + ?Sized,
    {
        self.map.contains_key(item)
    }
}

impl<T> ChunkedSet<T> {
    /// The number of items.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Removes every item.
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// Items in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.map.keys()
    }
}

impl<'a, T> IntoIterator for &'a ChunkedSet<T> {
    type Item = &'a T;
    type IntoIter = std::iter::Map<
        <&'a ChunkedMap<T, ()> as IntoIterator>::IntoIter,
        fn((&'a T, &'a ())) -> &'a T,
    >;

    fn into_iter(self) -> Self::IntoIter {
        (&self.map).into_iter().map(|(t, ())| t)
    }
}

impl<T: ChunkKey + Borrow<str>> ChunkedSet<T> {
    /// From string items in any order (for tests and tools).
    pub fn from_strs(items: &[&str]) -> ChunkedSet<T>
    where
        str: ToOwned<Owned = T>,
    {
        let mut set = ChunkedSet::new();
        for item in items {
            set.insert_ref(*item);
        }
        set
    }
}
