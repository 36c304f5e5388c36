//! The newest version of recently used keys, in memory: point reads that
//! need not search the engine.
//!
//! A point read at snapshot `s` wants the newest version of a key at or
//! below `s`. In the engine that is a range scan (versions sort newest
//! first under the key), and sled's iterators copy a whole tree node to
//! start one: in profiles, point reads were the largest single cost of the
//! SQL layer. Most reads are at a recent snapshot of a key whose newest
//! version is older than the snapshot, and for those the answer is simply
//! "the key's newest version".
//!
//! **What an entry means.** An entry `key → (v, value)` says: for every
//! snapshot `s` with `v <= s <= applied`, the newest version of `key` at or
//! below `s` is `v`, holding `value` (`None`: deleted, or never written when
//! `v` is 0). A read at `s < v` learns nothing from it and goes to the
//! engine.
//!
//! **How entries stay true.** One counter, the *generation*, moves
//! whenever an entry could be missing something; reads remember it.
//! - Apply, under the cache's lock and in the same step that publishes its
//!   version `V` as applied: replaces the entry of every key it writes that
//!   has one, and bumps the generation if it writes a key that has none.
//!   So no reader can hold a snapshot at or above `V` while an older entry
//!   stands. (Writes do not add entries: an insert-heavy load would only
//!   fill the cache with rows nobody reads.)
//! - A read that missed reads the generation and the applied version `A`
//!   together, scans the engine at `A`, and inserts what it found only if
//!   the generation is unchanged and no newer entry arrived meanwhile. An
//!   unchanged generation means every apply since `A` found this key with
//!   an entry (and kept it current) or did not write it. Keys never written
//!   are not cached.
//! - Clearing (when the cache outgrows its budget, or when a state
//!   transfer replaces the whole store, together with publishing its new
//!   applied version) bumps the generation too.
//! - GC never changes the newest version at or below any snapshot at or
//!   above the horizon (it deletes a tombstone only after the versions under
//!   it), so entries survive it; readers below the horizon still fail their
//!   horizon check.
//!
//! Not here: range scans (they go to the engine), or any eviction smarter
//! than clearing everything when the budget is exceeded.

use std::collections::HashMap;

use super::Version;

/// Bytes of keys and values the cache may hold before it is cleared.
pub(super) const BUDGET: usize = 32 << 20;
/// Bookkeeping bytes counted per entry on top of its key and value.
const ENTRY_OVERHEAD: usize = 64;

pub(super) struct LatestValues {
    generation: u64,
    entries: HashMap<Vec<u8>, (Version, Option<Vec<u8>>)>,
    bytes: usize,
    budget: usize,
}

/// What a lookup found.
pub(super) enum Lookup {
    /// The value at the snapshot.
    Hit(Option<Vec<u8>>),
    /// Read the engine; fill with [`LatestValues::fill`] and this generation.
    Miss { generation: u64 },
}

impl LatestValues {
    pub(super) fn new(budget: usize) -> Self {
        Self {
            generation: 0,
            entries: HashMap::new(),
            bytes: 0,
            budget,
        }
    }

    /// The value of `key` at `snapshot`, if an entry answers for it.
    pub(super) fn lookup(&self, key: &[u8], snapshot: Version) -> Lookup {
        match self.entries.get(key) {
            Some((version, value)) if *version <= snapshot => Lookup::Hit(value.clone()),
            _ => Lookup::Miss {
                generation: self.generation,
            },
        }
    }

    /// Apply wrote `value` for `key` at `version`, newer than anything
    /// applied before. Call under the same lock as publishing `version`.
    pub(super) fn applied(&mut self, key: &[u8], version: Version, value: Option<&[u8]>) {
        match self.entries.get_mut(key) {
            Some(entry) => {
                let old = entry.1.as_ref().map_or(0, Vec::len);
                *entry = (version, value.map(<[u8]>::to_vec));
                self.bytes = self.bytes - old + value.map_or(0, <[u8]>::len);
                if self.bytes > self.budget {
                    self.clear();
                }
            }
            // Fills in flight may have read below `version`.
            None => self.generation += 1,
        }
    }

    /// A read found `(version, value)` as the newest version of `key` at
    /// the applied version it read with `generation`. Ignored if the
    /// generation moved since, if a newer version is already recorded, or
    /// if the key was never written (`version` 0).
    pub(super) fn fill(&mut self, generation: u64, key: &[u8], version: Version, value: Option<Vec<u8>>) {
        if generation != self.generation || version == 0 {
            return;
        }
        if self
            .entries
            .get(key)
            .is_some_and(|(recorded, _)| *recorded >= version)
        {
            return;
        }
        self.insert(key.to_vec(), version, value);
    }

    /// Forgets everything; fills begun before this are ignored.
    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
        self.generation += 1;
    }

    #[cfg(test)]
    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    fn insert(&mut self, key: Vec<u8>, version: Version, value: Option<Vec<u8>>) {
        let size = key.len() + value.as_ref().map_or(0, Vec::len) + ENTRY_OVERHEAD;
        if self.bytes + size > self.budget {
            self.clear();
        }
        self.bytes += size;
        let key_len = key.len();
        if let Some((_, old)) = self.entries.insert(key, (version, value)) {
            self.bytes -= key_len + old.as_ref().map_or(0, Vec::len) + ENTRY_OVERHEAD;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(cache: &LatestValues, key: &[u8], at: Version) -> Option<Option<Vec<u8>>> {
        match cache.lookup(key, at) {
            Lookup::Hit(value) => Some(value),
            Lookup::Miss { .. } => None,
        }
    }

    fn filled(version: Version, value: Option<&[u8]>) -> LatestValues {
        let mut cache = LatestValues::new(BUDGET);
        let generation = cache.generation();
        cache.fill(generation, b"k", version, value.map(<[u8]>::to_vec));
        cache
    }

    #[test]
    fn an_entry_answers_only_at_or_above_its_version_and_apply_keeps_it_current() {
        let mut cache = filled(5, Some(b"five"));
        assert_eq!(hit(&cache, b"k", 4), None);
        assert_eq!(hit(&cache, b"k", 5), Some(Some(b"five".to_vec())));
        assert_eq!(hit(&cache, b"k", 9), Some(Some(b"five".to_vec())));
        cache.applied(b"k", 7, None);
        assert_eq!(hit(&cache, b"k", 6), None);
        assert_eq!(hit(&cache, b"k", 7), Some(None));
    }

    #[test]
    fn a_fill_loses_to_a_newer_entry_an_apply_of_an_uncached_key_and_a_clear() {
        let mut cache = filled(2, Some(b"two"));
        let Lookup::Miss { generation } = cache.lookup(b"k", 1) else {
            panic!("below the entry")
        };
        cache.applied(b"k", 8, Some(b"eight"));
        cache.fill(generation, b"k", 1, Some(b"one".to_vec()));
        assert_eq!(
            hit(&cache, b"k", 9),
            Some(Some(b"eight".to_vec())),
            "newer entry kept"
        );
        let Lookup::Miss { generation } = cache.lookup(b"other", 9) else {
            panic!("not cached")
        };
        cache.applied(b"other", 10, Some(b"ten"));
        assert_eq!(hit(&cache, b"other", 10), None, "writes add no entries");
        cache.fill(generation, b"other", 3, Some(b"three".to_vec()));
        assert_eq!(
            hit(&cache, b"other", 10),
            None,
            "a fill that may miss version 10 is dropped"
        );
        let generation = cache.generation();
        cache.clear();
        cache.fill(generation, b"other", 10, Some(b"ten".to_vec()));
        assert_eq!(
            hit(&cache, b"other", 10),
            None,
            "a fill from before a clear is dropped"
        );
        let generation = cache.generation();
        cache.fill(generation, b"never", 0, None);
        assert_eq!(
            hit(&cache, b"never", 5),
            None,
            "keys never written are not cached"
        );
    }

    #[test]
    fn outgrowing_the_budget_clears_and_invalidates_fills_in_flight() {
        let mut cache = LatestValues::new(1_000);
        let before = cache.generation();
        for i in 0..100u64 {
            let generation = cache.generation();
            cache.fill(generation, &i.to_be_bytes(), i + 1, Some(vec![0u8; 16]));
            assert!(cache.bytes <= 1_000);
        }
        assert_ne!(cache.generation(), before, "cleared at least once");
        assert_eq!(hit(&cache, &99u64.to_be_bytes(), 100), Some(Some(vec![0u8; 16])));
        cache.fill(before, b"late", 1, None);
        assert_eq!(hit(&cache, b"late", 1), None);
        // An apply that grows a value past the budget clears too.
        let generation = cache.generation();
        cache.applied(&99u64.to_be_bytes(), 101, Some(&[0u8; 2_000]));
        assert_ne!(cache.generation(), generation);
        assert!(cache.bytes <= 1_000);
    }
}
