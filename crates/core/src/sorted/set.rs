//! [`SortedSet`]: a set kept as one sorted vector.

use std::borrow::Borrow;
use std::fmt;

use super::SortedMap;

/// A set kept sorted in one vector (a [`SortedMap`] without values).
#[derive(Clone, PartialEq, Default)]
pub struct SortedSet<T> {
    map: SortedMap<T, ()>,
}

impl<T: fmt::Debug> fmt::Debug for SortedSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.map.keys()).finish()
    }
}

impl<T: Ord> SortedSet<T> {
    /// An empty set.
    pub fn new() -> SortedSet<T> {
        SortedSet {
            map: SortedMap::new(),
        }
    }

    /// Adds `item`; whether it was new.
    pub fn insert(&mut self, item: T) -> bool {
        self.map.insert(item, ()).is_none()
    }

    /// Adds `item`, making an owned one only when it is new; whether it was new.
    pub fn insert_ref<Q>(&mut self, item: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Ord + ToOwned<Owned = T> + ?Sized,
    {
        self.map.insert_absent(item)
    }

    /// Removes `item`; whether it was there.
    pub fn remove<Q>(&mut self, item: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.map.remove(item).is_some()
    }

    /// Whether `item` is in the set.
    pub fn contains<Q>(&self, item: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.map.contains_key(item)
    }
}

impl<T> SortedSet<T> {
    /// From items already in strictly ascending order (the caller's promise; not checked).
    pub(crate) fn from_sorted_unique(entries: Vec<(T, ())>) -> SortedSet<T> {
        SortedSet {
            map: SortedMap { entries },
        }
    }

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

impl<T> IntoIterator for SortedSet<T> {
    type Item = T;
    type IntoIter = std::iter::Map<std::vec::IntoIter<(T, ())>, fn((T, ())) -> T>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.into_iter().map(|(t, ())| t)
    }
}

impl<'a, T> IntoIterator for &'a SortedSet<T> {
    type Item = &'a T;
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (T, ())>, fn(&'a (T, ())) -> &'a T>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.entries.iter().map(|(t, ())| t)
    }
}

impl<T: Ord> FromIterator<T> for SortedSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> SortedSet<T> {
        let mut entries = Vec::new();
        for t in iter {
            entries.push((t, ()));
        }
        SortedSet {
            map: SortedMap::from_unsorted(entries),
        }
    }
}

impl<T: Ord, const N: usize> From<[T; N]> for SortedSet<T> {
    fn from(items: [T; N]) -> SortedSet<T> {
        items.into_iter().collect()
    }
}
