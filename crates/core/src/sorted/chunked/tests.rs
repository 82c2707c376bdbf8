use std::collections::BTreeMap;

use super::*;
use crate::sorted::ChunkedSet;

/// A fixed pseudo-random sequence (xorshift64).
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// The most entries one insert or remove can shift: one whole chunk, plus the chunk headers
/// when the chunk splits or goes.
fn worst_shift(m: &ChunkedMap<String, u64>) -> usize {
    let lens = m.chunk_lens();
    lens.iter().copied().max().unwrap_or(0) + lens.len()
}

/// Random inserts, overwrites and removes agree with `BTreeMap` at every step: same entries
/// in the same order, same previous values.
#[test]
fn agrees_with_btreemap_under_random_operations() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut m: ChunkedMap<String, u64> = ChunkedMap::new();
    let mut reference = BTreeMap::new();
    for step in 0..40_000_u64 {
        let key = format!("k{}", next(&mut seed) % 3_000);
        match next(&mut seed) % 5 {
            0 | 1 => assert_eq!(m.insert(key.clone(), step), reference.insert(key, step)),
            2 => assert_eq!(m.set(&key, step), reference.insert(key, step)),
            3 => {
                let was = reference.get(&key).copied();
                *m.slot(&key, || step) += 1;
                *reference.entry(key).or_insert(step) += 1;
                assert!(was.is_none() || m.len() == reference.len());
            }
            _ => assert_eq!(m.remove(&key), reference.remove(&key)),
        }
        assert_eq!(m.len(), reference.len());
        if step % 997 == 0 {
            assert!(m.iter().eq(reference.iter()));
            assert!(m.chunk_lens().iter().all(|&l| l > 0 && l < 2 * CHUNK));
        }
    }
    assert!(m.iter().eq(reference.iter()));
    for (k, v) in &reference {
        assert_eq!(m.get(k), Some(v));
        assert_eq!(m[k.as_str()], *v);
    }
    assert!(!m.contains_key("absent") && m.get("absent").is_none());
    let rebuilt = ChunkedMap::from_unsorted(reference.into_iter().rev().collect());
    assert_eq!(rebuilt, m);
}

/// The work of one new key stays bounded as the map grows to 100,000 entries in random order
/// (a sorted vector would shift up to the whole map, ~n/2 on average): no chunk reaches
/// `2 * CHUNK` entries and there are at most ~n / (CHUNK / 2) chunks. Then removing most
/// entries again keeps chunks merged, so the chunk count follows the size down.
#[test]
fn an_insert_or_remove_shifts_a_bounded_number_of_entries() {
    let n = 100_000_usize;
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut m: ChunkedMap<String, u64> = ChunkedMap::new();
    let mut keys = Vec::with_capacity(n);
    let mut worst = 0;
    while m.len() < n {
        let key = format!("{:016x}", next(&mut seed));
        if m.insert(key.clone(), 0).is_none() {
            keys.push(key);
        }
        if m.len() % 1_000 == 0 {
            worst = worst.max(worst_shift(&m));
        }
    }
    let lens = m.chunk_lens();
    assert!(lens.iter().all(|&l| l < 2 * CHUNK), "{lens:?}");
    assert!(lens.len() <= n / (CHUNK / 2) + 1, "{} chunks", lens.len());
    // 2 * CHUNK + n / (CHUNK / 2): about 1,300, where a sorted vector shifts ~50,000.
    assert!(worst <= 2 * CHUNK + n / (CHUNK / 2) + 1, "worst {worst}");
    for key in keys
        .iter()
        .step_by(10)
        .chain(keys.iter().skip(1).step_by(10))
    {
        assert_eq!(m.remove(key.as_str()), Some(0));
    }
    for (i, key) in keys.iter().enumerate() {
        if i % 10 > 1 {
            assert_eq!(m.remove(key.as_str()), Some(0));
        }
        if i % 4_999 == 0 {
            let chunks = m.chunk_lens().len();
            assert!(
                chunks <= 4 * m.len() / CHUNK + 2,
                "{chunks} chunks for {}",
                m.len()
            );
        }
    }
    assert!(m.is_empty() && m.chunk_lens().is_empty());
}

/// A map built from a sorted one iterates the same, and small maps are one chunk (the plain
/// sorted vector).
#[test]
fn small_maps_are_one_chunk_and_conversion_keeps_order() {
    let flat: SortedMap<String, u64> = (0..CHUNK as u64).map(|i| (format!("{i:05}"), i)).collect();
    let m: ChunkedMap<String, u64> = flat.clone().into();
    assert!(m.iter().eq(flat.iter()));
    assert_eq!(m.chunk_lens(), [CHUNK]);
    let big: SortedMap<String, u64> = (0..5 * CHUNK as u64)
        .map(|i| (format!("{i:05}"), i))
        .collect();
    let m: ChunkedMap<String, u64> = big.clone().into();
    assert!(m.keys().eq(big.keys()) && m.values().eq(big.values()));
    assert_eq!(m.chunk_lens().len(), 5);
    assert_eq!(
        format!(
            "{:?}",
            ChunkedMap::from_unsorted(vec![("a".to_string(), 1)])
        ),
        r#"{"a": 1}"#
    );
}

/// The chunked set keeps items sorted and unique past one chunk, and counts what is new.
#[test]
fn chunked_set_keeps_items_sorted_and_unique() {
    let mut s: ChunkedSet<String> = ChunkedSet::from_strs(&["b", "a"]);
    let mut seed = 7_u64;
    let mut reference = std::collections::BTreeSet::from(["a".to_string(), "b".to_string()]);
    for _ in 0..5 * CHUNK {
        let item = format!("{:x}", next(&mut seed) % 2_000);
        assert_eq!(s.insert_ref(item.as_str()), reference.insert(item));
    }
    assert!(s.iter().eq(reference.iter()) && (&s).into_iter().eq(reference.iter()));
    assert!(s.contains("a") && s.remove("a") && !s.remove("a") && !s.contains("a"));
    assert_eq!(s.len(), reference.len() - 1);
    assert!(s.len() > 2 * CHUNK, "more than one chunk");
    s.clear();
    assert!(s.is_empty());
    assert_eq!(
        format!("{:?}", ChunkedSet::<String>::from_strs(&["z", "y"])),
        r#"{"y", "z"}"#
    );
}

#[test]
fn key_order_is_str_order() {
    use super::cmp_bytes;
    let words = [
        "",
        "a",
        "a\0",
        "a\0b",
        "ab",
        "abc",
        "b",
        "d1",
        "d10",
        "d9",
        "\u{ff}",
        "é",
        "e",
        "abcdefgh",
        "abcdefghi",
        "abcdefgi",
        "abcdefg",
        "task-000123",
        "task-000124",
    ];
    for x in words {
        for y in words {
            assert_eq!(
                cmp_bytes(x.as_bytes(), y.as_bytes()),
                x.cmp(y),
                "{x:?} vs {y:?}"
            );
        }
    }
}

/// The same place as a full search, whatever the finger: walks in order (the use), out of
/// order, across changes of the map and with arbitrary fingers; every key found by an
/// in-order walk; inserts through a finger build the same set as plain inserts.
#[test]
fn place_from_finds_what_place_finds() {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut m: ChunkedMap<String, u64> = ChunkedMap::new();
    let same = |a: Place, b: Place| a.ci == b.ci && a.found == b.found;
    for round in 0..60_u64 {
        // Grow the map (several chunks after a few rounds), sometimes shrink it.
        for _ in 0..150 {
            let key = format!("k{}", next(&mut seed) % 4_000);
            if next(&mut seed) % 4 == 0 {
                m.remove(key.as_str());
            } else {
                m.insert(key, round);
            }
        }
        // Queries: present keys, absent ones, in order or not.
        let mut queries: Vec<String> = (0..300)
            .map(|_| format!("k{}", next(&mut seed) % 4_200))
            .collect();
        if round % 3 != 0 {
            queries.sort();
        }
        queries.push(String::new());
        queries.push("zzz".into());
        let mut finger = Finger::default();
        for (i, q) in queries.iter().enumerate() {
            let expected = m.place(q.as_str());
            let got = m.place_from(q.as_str(), &mut finger);
            assert!(same(got, expected), "round {round} query {q}");
            if i % 50 == 7 {
                // A stale finger: the map changes under it.
                let key = format!("k{}", next(&mut seed) % 4_000);
                m.insert(key, 0);
            }
            if i % 97 == 3 {
                // A finger from nowhere.
                finger = Finger {
                    ci: (next(&mut seed) % 20) as usize,
                    at: (next(&mut seed) % 600) as usize,
                };
            }
        }
        // Every key, walked in order, is found where it is.
        let keys: Vec<String> = m.keys().cloned().collect();
        let mut finger = Finger::default();
        for k in &keys {
            assert_eq!(m.get_from(k.as_str(), &mut finger), m.get(k.as_str()));
        }
        // Inserts through a finger (in order, then from the start again) build the same set.
        let mut a: ChunkedSet<String> = ChunkedSet::new();
        let mut b: ChunkedSet<String> = ChunkedSet::new();
        let mut finger = Finger::default();
        for k in keys.iter().step_by(2).chain(keys.iter().skip(1).step_by(3)) {
            assert_eq!(
                a.insert_ref_from(k.as_str(), &mut finger),
                b.insert_ref(k.as_str())
            );
        }
        assert_eq!(a, b);
    }
}
