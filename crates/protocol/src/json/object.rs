//! [`Object`]: a JSON object as a key-sorted vector, shared on clone.

use std::sync::Arc;

use super::Json;

/// A JSON object: entries kept sorted by key (byte order, as a `BTreeMap<String, _>` iterates),
/// one entry per key. Built from text, a repeated key keeps its last value (as serde_json's
/// `Map` does); [`Object::is_duplicate_key`] tells which keys were repeated (message decoding
/// rejects a repeated field it reads). Writing iterates in key order.
///
/// A clone shares the entries (a reference count, not a copy of the tree): the client engine
/// holds a document's body as confirmed, as visible, in its change sets and in its cache writes,
/// and each of those is one count. A change through [`Object::insert`], [`Object::remove`] or
/// [`Object::get_mut`] copies the entries first when they are shared (copy on write), so a
/// clone never sees another's changes.
#[derive(Debug, Clone, Default)]
pub struct Object {
    entries: Arc<Vec<(String, Json)>>,
    /// Keys the source text repeated (`None`: none).
    duplicates: Option<Box<[String]>>,
}

impl PartialEq for Object {
    fn eq(&self, other: &Object) -> bool {
        Arc::ptr_eq(&self.entries, &other.entries) || self.entries == other.entries
    }
}

impl Object {
    /// An empty object.
    pub fn new() -> Object {
        Object::default()
    }

    /// From entries in any order; a repeated key keeps its last value.
    pub fn from_entries(entries: Vec<(String, Json)>) -> Object {
        if entries.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0)) {
            // Already in order (as this crate writes objects): nothing to sort or merge.
            return Object {
                entries: Arc::new(entries),
                duplicates: None,
            };
        }
        // Stable: equal keys stay in source order, so the last one wins below.
        let entries = stable_sorted(entries);
        let mut out: Vec<(String, Json)> = Vec::with_capacity(entries.len());
        let mut duplicates: Vec<String> = Vec::new();
        for entry in entries {
            match out.last_mut() {
                Some(last) if last.0 == entry.0 => {
                    if duplicates.last() != Some(&entry.0) {
                        duplicates.push(entry.0.clone());
                    }
                    *last = entry;
                }
                _ => out.push(entry),
            }
        }
        Object {
            entries: Arc::new(out),
            duplicates: (!duplicates.is_empty()).then(|| duplicates.into_boxed_slice()),
        }
    }

    /// Whether the text this object was parsed from repeated any key.
    pub fn had_duplicate_keys(&self) -> bool {
        self.duplicates.is_some()
    }

    /// Whether the text this object was parsed from repeated `key`.
    pub fn is_duplicate_key(&self, key: &str) -> bool {
        self.duplicates
            .as_ref()
            .is_some_and(|keys| keys.iter().any(|k| k == key))
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.find(key)
            .ok()
            .and_then(|i| self.entries.get(i))
            .map(|e| &e.1)
    }

    /// The value of `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        let i = self.find(key).ok()?;
        Arc::make_mut(&mut self.entries)
            .get_mut(i)
            .map(|e| &mut e.1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key`; the previous value, if any.
    pub fn insert(&mut self, key: impl Into<String>, value: Json) -> Option<Json> {
        let key = key.into();
        let found = self.find(&key);
        let entries = Arc::make_mut(&mut self.entries);
        match found {
            Ok(i) => entries
                .get_mut(i)
                .map(|e| std::mem::replace(&mut e.1, value)),
            Err(i) => {
                entries.insert(i.min(entries.len()), (key, value));
                None
            }
        }
    }

    /// Removes `key`; its value, if any.
    pub fn remove(&mut self, key: &str) -> Option<Json> {
        let i = self.find(key).ok().filter(|&i| i < self.entries.len())?;
        Some(Arc::make_mut(&mut self.entries).remove(i).1)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Json)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.iter().map(|(k, _)| k)
    }

    /// Values in key order.
    pub fn values(&self) -> impl Iterator<Item = &Json> {
        self.entries.iter().map(|(_, v)| v)
    }
}

/// The entries sorted by key, stably.
fn stable_sorted(entries: Vec<(String, Json)>) -> Vec<(String, Json)> {
    let order = crate::stable_order(
        entries.len(),
        &|a, b| match (entries.get(a), entries.get(b)) {
            (Some(x), Some(y)) => x.0 < y.0,
            _ => false,
        },
    );
    let mut slots: Vec<Option<(String, Json)>> = Vec::with_capacity(entries.len());
    for entry in entries {
        slots.push(Some(entry));
    }
    let mut sorted = Vec::with_capacity(slots.len());
    for i in order {
        if let Some(entry) = slots.get_mut(i).and_then(Option::take) {
            sorted.push(entry);
        }
    }
    sorted
}

impl FromIterator<(String, Json)> for Object {
    fn from_iter<I: IntoIterator<Item = (String, Json)>>(iter: I) -> Object {
        let mut object = Object::from_entries(iter.into_iter().collect());
        object.duplicates = None;
        object
    }
}

impl IntoIterator for Object {
    type Item = (String, Json);
    type IntoIter = std::vec::IntoIter<(String, Json)>;
    fn into_iter(self) -> Self::IntoIter {
        // The entries themselves when this is their only holder, else a copy of them.
        Arc::try_unwrap(self.entries)
            .unwrap_or_else(|shared| (*shared).clone())
            .into_iter()
    }
}

impl<'a> IntoIterator for &'a Object {
    type Item = (&'a String, &'a Json);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Json)>,
        fn(&'a (String, Json)) -> (&'a String, &'a Json),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}
