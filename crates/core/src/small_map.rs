//! [`SmallMap`]: a map kept as a key-sorted vector, for the engine's collections that stay
//! small by nature (channels, views, pending requests, per-flush dirty sets, presence members).
//!
//! It iterates in key order like a `BTreeMap`, looks up by binary search, and inserts or
//! removes by shifting the vector (O(n), cheap for the few dozen entries these hold). Each key
//! and value type costs a few hundred bytes of WASM, where a `BTreeMap` instantiation costs
//! several kilobytes. Collections that can hold many thousands of entries (a channel's
//! documents, a view's ids) stay on `BTreeMap`.

use std::borrow::Borrow;
use std::fmt;

/// A map kept sorted by key in one vector.
#[derive(Clone, PartialEq)]
pub(crate) struct SmallMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> SmallMap<K, V> {
        SmallMap {
            entries: Vec::new(),
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for SmallMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K: Ord, V> SmallMap<K, V> {
    /// An empty map.
    pub(crate) fn new() -> SmallMap<K, V> {
        SmallMap::default()
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
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let at = self.find(key).ok()?;
        self.entries.get(at).map(|(_, v)| v)
    }

    /// The value of `key`, mutably.
    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let at = self.find(key).ok()?;
        self.entries.get_mut(at).map(|(_, v)| v)
    }

    /// Whether `key` has a value.
    pub(crate) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).is_ok()
    }

    /// Sets the value of `key`; returns the previous one.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(at) => self
                .entries
                .get_mut(at)
                .map(|(_, v)| std::mem::replace(v, value)),
            Err(at) => {
                self.entries.insert(at, (key, value));
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let at = self.find(key).ok()?;
        Some(self.entries.remove(at).1)
    }

    /// The value of `key`, inserting the default first when there is none.
    pub(crate) fn or_default<Q>(&mut self, key: &Q) -> &mut V
    where
        K: Borrow<Q>,
        Q: Ord + ToOwned<Owned = K> + ?Sized,
        V: Default,
    {
        let at = match self.find(key) {
            Ok(at) => at,
            Err(at) => {
                self.entries.insert(at, (key.to_owned(), V::default()));
                at
            }
        };
        &mut self.entries[at].1
    }
}

impl<K, V> SmallMap<K, V> {
    /// Whether the map is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Entries in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Entries in key order, values mutably.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// Keys in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> {
        self.entries.iter().map(|(k, _)| k)
    }

    /// Values in key order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// Values in key order, mutably.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// The keys (in order) of the values `keep` accepts. The predicate is taken as `dyn`, so
    /// the callers' closures share one instantiation per map type.
    pub(crate) fn keys_where(&self, keep: &dyn Fn(&V) -> bool) -> Vec<K>
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

impl<K, V> IntoIterator for SmallMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_keys_sorted_and_unique() {
        let mut m: SmallMap<String, u32> = SmallMap::new();
        assert_eq!(m.insert("b".into(), 1), None);
        assert_eq!(m.insert("a".into(), 2), None);
        assert_eq!(m.insert("c".into(), 3), None);
        assert_eq!(m.insert("b".into(), 4), Some(1));
        assert_eq!(
            m.keys().map(String::as_str).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(m.get("b"), Some(&4));
        assert!(m.contains_key("c") && !m.contains_key("d"));
        *m.or_default("d") += 5;
        *m.or_default("a") += 1;
        assert_eq!(m.values().copied().collect::<Vec<_>>(), [3, 4, 3, 5]);
        assert_eq!(m.remove("a"), Some(3));
        assert_eq!(m.remove("a"), None);
        assert_eq!(m.len(), 3);
        assert_eq!(m.keys_where(&|v| *v > 3), ["b", "d"]);
        assert_eq!(format!("{m:?}"), r#"{"b": 4, "c": 3, "d": 5}"#);
        let owned: Vec<(String, u32)> = m.into_iter().collect();
        assert_eq!(owned[0], ("b".to_string(), 4));
    }
}
