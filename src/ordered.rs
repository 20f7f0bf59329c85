//! Ordered sets built one insertion at a time.
//!
//! `BTreeSet::from_iter` (what `collect()` calls) sorts its input before
//! building the tree, which compiles a stable sort for every element type:
//! about 4 KB of the `.wasm` each. `insert` is compiled once per element type
//! anyway, so [`set`] costs nothing extra; the set is the same.

use std::collections::BTreeSet;

/// The items as an ordered set (duplicates kept once), like `collect()`.
pub(crate) fn set<T: Ord>(items: impl IntoIterator<Item = T>) -> BTreeSet<T> {
    let mut set = BTreeSet::new();
    set.extend(items);
    set
}
