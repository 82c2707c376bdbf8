use super::*;

#[test]
fn keeps_keys_sorted_and_unique() {
    let mut m: SortedMap<String, u32> = SortedMap::new();
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
    assert_eq!(m.set("c", 9), Some(3));
    assert_eq!(m.set("e", 1), None);
    assert_eq!(m["e"], 1);
    let owned: Vec<(String, u32)> = m.into_iter().collect();
    assert_eq!(owned[0], ("b".to_string(), 4));
}

/// Built from entries in any order, the map equals the one inserting them one by one (the last
/// of a repeated key wins), for every order of a few keys with repeats.
#[test]
fn from_unsorted_equals_inserting_in_order() {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for len in 0..40 {
        for _ in 0..20 {
            let mut entries = Vec::new();
            for i in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                entries.push(((seed % 17).to_string(), i));
            }
            let mut one_by_one = SortedMap::new();
            for (k, v) in entries.clone() {
                one_by_one.insert(k, v);
            }
            let built = SortedMap::from_unsorted(entries.clone());
            assert_eq!(built, one_by_one, "{entries:?}");
            let reference: std::collections::BTreeMap<_, _> = entries.into_iter().collect();
            assert!(built.iter().eq(reference.iter()));
        }
    }
}

#[test]
fn set_keeps_items_sorted_and_unique() {
    let mut s: SortedSet<String> = ["b".to_string(), "a".to_string()].into();
    assert!(s.insert("c".into()));
    assert!(!s.insert("a".into()));
    assert!(s.insert_ref("0"));
    assert!(!s.insert_ref("0"));
    assert!(s.contains("b"));
    assert!(s.remove("b") && !s.remove("b"));
    assert_eq!(
        s.iter().map(String::as_str).collect::<Vec<_>>(),
        ["0", "a", "c"]
    );
    assert_eq!(format!("{s:?}"), r#"{"0", "a", "c"}"#);
    assert_eq!(s.len(), 3);
    s.clear();
    assert!(s.is_empty());
}
