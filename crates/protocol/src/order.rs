//! [`stable_order`]: the one sort of the protocol and the client engine.

/// The order of `n` items by `less` (`less(a, b)`: item `a` sorts before item `b`), stably: a
/// bottom-up merge sort of positions, one instantiation for every item type (no generic sort
/// machinery in the WASM build, no panicking index). Shared by [`Object`](crate::Object) and
/// the client engine's sorted map.
pub fn stable_order(n: usize, less: &dyn Fn(usize, usize) -> bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut merged = order.clone();
    let mut width = 1;
    while width < n {
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut l, mut r) = (start, mid);
            for at in start..end {
                let (left, right) = (order.get(l).copied(), order.get(r).copied());
                let pick = match (left, right) {
                    (Some(a), Some(b)) if l < mid && r < end => {
                        if less(b, a) {
                            r += 1;
                            b
                        } else {
                            l += 1;
                            a
                        }
                    }
                    (Some(a), _) if l < mid => {
                        l += 1;
                        a
                    }
                    (_, Some(b)) => {
                        r += 1;
                        b
                    }
                    _ => break,
                };
                if let Some(slot) = merged.get_mut(at) {
                    *slot = pick;
                }
            }
            start = end;
        }
        std::mem::swap(&mut order, &mut merged);
        width *= 2;
    }
    order
}
