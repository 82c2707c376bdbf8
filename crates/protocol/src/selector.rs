//! View selectors: which documents of a channel a view holds. A document is in a view when it
//! exists, its id is in the view's id set (a by-id view, `subscribe.ids`) and its body matches
//! the view's filter (each part only when given). Server and client decide it with this one
//! implementation, as they do filters.

use crate::document::MAX_DOC_ID_LEN;
use crate::filter::Filter;
use crate::json::Json;

/// Most ids one by-id view (`subscribe.ids`) may name.
pub const MAX_VIEW_IDS: usize = 256;

/// The ids of a by-id view: 1..=[`MAX_VIEW_IDS`] distinct document ids, kept sorted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdSet(Vec<String>);

/// Why `subscribe.ids` is invalid; answered as `INVALID_IDS` with this text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdsError {
    /// `ids` is not a JSON array.
    NotAnArray,
    /// `ids` is an empty array (a view of nothing).
    Empty,
    /// More than [`MAX_VIEW_IDS`] ids.
    TooMany {
        /// How many were given.
        count: usize,
    },
    /// The item at `index` is not a string.
    NotAString {
        /// Position in the array.
        index: usize,
    },
    /// The item at `index` is not a valid document id (1..=256 bytes).
    BadId {
        /// Position in the array.
        index: usize,
    },
    /// An id appears more than once.
    Duplicate {
        /// The repeated id.
        id: String,
    },
}

impl std::fmt::Display for IdsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdsError::NotAnArray => f.write_str("ids must be an array of document ids"),
            IdsError::Empty => f.write_str("ids must name at least one document id"),
            IdsError::TooMany { count } => {
                write!(
                    f,
                    "ids names {count} documents, at most {MAX_VIEW_IDS} allowed"
                )
            }
            IdsError::NotAString { index } => write!(f, "ids[{index}] is not a string"),
            IdsError::BadId { index } => write!(
                f,
                "ids[{index}] is not a document id (1 to {MAX_DOC_ID_LEN} bytes)"
            ),
            IdsError::Duplicate { id } => write!(f, "ids names \"{id}\" more than once"),
        }
    }
}

impl std::error::Error for IdsError {}

impl IdSet {
    /// Parses and validates the wire form (a JSON array of distinct document ids).
    pub fn parse(value: &Json) -> Result<IdSet, IdsError> {
        let items = value.as_array().ok_or(IdsError::NotAnArray)?;
        if items.len() > MAX_VIEW_IDS {
            return Err(IdsError::TooMany { count: items.len() });
        }
        let mut ids = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let id = item.as_str().ok_or(IdsError::NotAString { index })?;
            ids.push(id.to_owned());
        }
        IdSet::new(ids)
    }

    /// A set of the given ids, validated as [`IdSet::parse`] does.
    pub fn new(ids: Vec<String>) -> Result<IdSet, IdsError> {
        if ids.is_empty() {
            return Err(IdsError::Empty);
        }
        if ids.len() > MAX_VIEW_IDS {
            return Err(IdsError::TooMany { count: ids.len() });
        }
        // Sorted by inserting at the binary-search position (at most 256 ids): no sort
        // routine of its own in the WASM bundle.
        let mut sorted: Vec<String> = Vec::with_capacity(ids.len());
        for (index, id) in ids.into_iter().enumerate() {
            if id.is_empty() || id.len() > MAX_DOC_ID_LEN {
                return Err(IdsError::BadId { index });
            }
            match sorted.binary_search(&id) {
                Ok(_) => return Err(IdsError::Duplicate { id }),
                Err(at) => sorted.insert(at, id),
            }
        }
        Ok(IdSet(sorted))
    }

    /// The union of two sets, or `None` when it would exceed [`MAX_VIEW_IDS`].
    pub fn union(&self, other: &IdSet) -> Option<IdSet> {
        let mut ids = self.0.clone();
        for id in &other.0 {
            if let Err(at) = ids.binary_search(id) {
                ids.insert(at, id.clone());
            }
        }
        (ids.len() <= MAX_VIEW_IDS).then_some(IdSet(ids))
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: &str) -> bool {
        self.0
            .binary_search_by(|probe| probe.as_str().cmp(id))
            .is_ok()
    }

    /// The ids in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The wire form: a JSON array of the ids, sorted.
    pub fn to_value(&self) -> Json {
        Json::Array(self.0.iter().map(|id| Json::String(id.clone())).collect())
    }
}

/// What a view holds: the documents matching `filter` (all, when `None`) whose id is in
/// `ids` (any id, when `None`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selector {
    /// The view's filter.
    pub filter: Option<Filter>,
    /// The view's ids (a by-id view).
    pub ids: Option<IdSet>,
}

impl Selector {
    /// Whether the selector holds every document of the channel (no filter, no ids).
    pub fn is_all(&self) -> bool {
        self.filter.is_none() && self.ids.is_none()
    }

    /// Whether an existing document (`id`, `body`) is in the view.
    pub fn matches(&self, id: &str, body: &Json) -> bool {
        self.ids.as_ref().is_none_or(|ids| ids.contains(id))
            && self.filter.as_ref().is_none_or(|f| f.matches(body))
    }

    /// Whether a document in the state `body` (`None`: it does not exist) is in the view.
    pub fn holds(&self, id: &str, body: Option<&Json>) -> bool {
        body.is_some_and(|b| self.matches(id, b))
    }

    /// A canonical string, equal for equal selectors (views are shared by key): `""` for
    /// every document, the filter's [`Filter::canonical_key`] for a filter alone, and with
    /// ids that key followed by `#ids` and the sorted ids as a JSON array.
    pub fn canonical_key(&self) -> String {
        let mut key = self
            .filter
            .as_ref()
            .map(Filter::canonical_key)
            .unwrap_or_default();
        if let Some(ids) = &self.ids {
            key.push_str("#ids");
            ids.to_value().write_to(&mut key);
        }
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Result<IdSet, IdsError> {
        IdSet::parse(&Json::parse(text).unwrap())
    }

    #[test]
    fn ids_are_validated_with_typed_errors() {
        assert_eq!(ids("\"a\""), Err(IdsError::NotAnArray));
        assert_eq!(ids("[]"), Err(IdsError::Empty));
        assert_eq!(ids("[\"a\", 1]"), Err(IdsError::NotAString { index: 1 }));
        assert_eq!(ids("[\"a\", \"\"]"), Err(IdsError::BadId { index: 1 }));
        assert_eq!(
            ids("[\"b\", \"a\", \"b\"]"),
            Err(IdsError::Duplicate { id: "b".into() })
        );
        let many: Vec<String> = (0..=MAX_VIEW_IDS).map(|i| format!("\"d{i}\"")).collect();
        assert_eq!(
            ids(&format!("[{}]", many.join(","))),
            Err(IdsError::TooMany {
                count: MAX_VIEW_IDS + 1
            })
        );
        let long = "x".repeat(MAX_DOC_ID_LEN + 1);
        assert_eq!(
            ids(&format!("[\"{long}\"]")),
            Err(IdsError::BadId { index: 0 })
        );
        assert!(ids(&format!("[{}]", many[..MAX_VIEW_IDS].join(","))).is_ok());
    }

    #[test]
    fn key_is_sorted_and_keeps_filter_keys() {
        let a = Selector {
            filter: None,
            ids: Some(ids("[\"t2\", \"t1\"]").unwrap()),
        };
        let b = Selector {
            filter: None,
            ids: Some(ids("[\"t1\", \"t2\"]").unwrap()),
        };
        assert_eq!(a.canonical_key(), b.canonical_key());
        assert_eq!(a.canonical_key(), "#ids[\"t1\",\"t2\"]");
        assert_eq!(Selector::default().canonical_key(), "");
        let f =
            Filter::parse(&Json::parse(r#"{"field":"s","op":"eq","value":1}"#).unwrap()).unwrap();
        let filtered = Selector {
            filter: Some(f.clone()),
            ids: None,
        };
        assert_eq!(filtered.canonical_key(), f.canonical_key());
    }

    #[test]
    fn matches_needs_the_id_and_the_filter() {
        let f =
            Filter::parse(&Json::parse(r#"{"field":"s","op":"eq","value":1}"#).unwrap()).unwrap();
        let sel = Selector {
            filter: Some(f),
            ids: Some(ids("[\"t1\"]").unwrap()),
        };
        let one = Json::parse(r#"{"s":1}"#).unwrap();
        let two = Json::parse(r#"{"s":2}"#).unwrap();
        assert!(sel.matches("t1", &one));
        assert!(!sel.matches("t1", &two));
        assert!(!sel.matches("t2", &one));
        assert!(!sel.holds("t1", None));
        let union = ids("[\"a\"]")
            .unwrap()
            .union(&ids("[\"b\",\"a\"]").unwrap());
        assert_eq!(union, Some(ids("[\"a\",\"b\"]").unwrap()));
    }
}
