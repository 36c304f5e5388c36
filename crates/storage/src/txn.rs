//! The gateway side of a transaction.
//!
//! A [`Transaction`] reads from one MVCC [`Snapshot`] at its read version,
//! overlaid by its own buffered writes, and records what it read (under
//! SERIALIZABLE): point keys, and for scans the scanned *range* rather than
//! every key in it, so the read set stays small and also covers phantoms.
//! Reads made inside [`Transaction::constraint_reads`] (the probes a
//! constraint check rests on) are recorded and validated at every
//! isolation level.
//! Nothing leaves the gateway before [`Transaction::commit`], which hands one
//! [`Commit`] to a [`Committer`].
//!
//! A *provisional* transaction started at a version that may miss commits
//! acknowledged elsewhere (see [`Committer::provisional_version`]); it always
//! records its reads. If it writes, commit validation checks those reads
//! against every commit after its read version, exactly as for any other
//! transaction, so it is serializable at its commit version. If it wrote
//! nothing, its commit *confirms* the reads: it takes a linearizable read
//! version and checks that no commit in between wrote into the read set
//! (else 40001). A transaction that read and wrote nothing, or one that was
//! linearizable from the start and wrote nothing, commits without touching
//! the committer.
//!
//! Savepoints are positions in an undo log of the write buffer. Rolling back
//! to one restores the buffered writes; the read set is kept, because those
//! reads did happen and the transaction may have acted on them.
//!
//! What it does not do: lock anything (conflicts are found at apply time),
//! retry (the caller decides; see [`crate::Error::Conflict`]), or decide
//! versions (the committer does).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

use crate::committer::Committer;
use crate::engine::{KeyRange, KvPair};
use crate::error::{Error, Result};
use crate::mvcc::{Commit, Isolation, ScanOrder, Snapshot, Version, VisibleScan};

/// How a transaction runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnOptions {
    pub isolation: Isolation,
    pub read_only: bool,
}

impl Default for TxnOptions {
    fn default() -> Self {
        Self {
            isolation: Isolation::Serializable,
            read_only: false,
        }
    }
}

/// A position in a transaction's write buffer history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Savepoint(usize);

/// A buffered write: the new value, or `None` for a delete.
type Buffered = Option<Vec<u8>>;

/// A key and its buffered state before a change (`None` = not buffered).
type Undo = (Vec<u8>, Option<Buffered>);

/// An open transaction. Dropping it without committing rolls it back.
pub struct Transaction {
    snapshot: Snapshot,
    committer: Arc<dyn Committer>,
    options: TxnOptions,
    writes: BTreeMap<Vec<u8>, Buffered>,
    read_keys: BTreeSet<Vec<u8>>,
    read_ranges: Vec<KeyRange>,
    undo: Vec<Undo>,
    /// Started at a provisional version: reads need confirming.
    provisional: bool,
    /// Inside [`Transaction::constraint_reads`]: reads are tracked whatever
    /// the isolation level.
    constraint: bool,
}

impl Transaction {
    pub(crate) fn new(
        snapshot: Snapshot,
        committer: Arc<dyn Committer>,
        options: TxnOptions,
        provisional: bool,
    ) -> Self {
        Self {
            provisional,
            snapshot,
            committer,
            options,
            writes: BTreeMap::new(),
            read_keys: BTreeSet::new(),
            read_ranges: Vec::new(),
            undo: Vec::new(),
            constraint: false,
        }
    }

    /// Runs `f` with its reads joining the read set even under snapshot
    /// isolation, and makes the commit validate the read set: for reads a
    /// constraint rests on (a unique index probe, a foreign key's parent
    /// row), which no concurrent commit may invalidate whatever the
    /// isolation level. Under SNAPSHOT the read set holds only such reads,
    /// so the commit is validated as SERIALIZABLE over exactly those.
    pub fn constraint_reads<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let outer = std::mem::replace(&mut self.constraint, true);
        let out = f(self);
        self.constraint = outer;
        out
    }

    pub fn read_version(&self) -> Version {
        self.snapshot.version()
    }

    pub fn options(&self) -> TxnOptions {
        self.options
    }

    /// True once the transaction has buffered a write.
    pub fn has_writes(&self) -> bool {
        !self.writes.is_empty()
    }

    /// True if this transaction has written `key` (set or deleted it), so
    /// that nobody else can see its value yet.
    pub fn buffered(&self, key: &[u8]) -> bool {
        self.writes.contains_key(key)
    }

    fn tracks_reads(&self) -> bool {
        (self.options.isolation == Isolation::Serializable || self.constraint) && !self.options.read_only
    }

    pub fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(buffered) = self.writes.get(key) {
            return Ok(buffered.clone());
        }
        if self.tracks_reads() {
            self.read_keys.insert(key.to_vec());
        }
        self.snapshot.get(key)
    }

    /// Scans `range` (own writes included) in the given order. The whole
    /// range joins the read set, even if the caller stops early.
    pub fn scan(&mut self, range: KeyRange, order: ScanOrder) -> TxnScan {
        let buffered: Vec<(Vec<u8>, Buffered)> = if crate::engine::range_is_empty(&range) {
            Vec::new()
        } else {
            self.writes
                .range::<Vec<u8>, _>((range.0.as_ref(), range.1.as_ref()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let stored = self.snapshot.scan(&range, order);
        if self.tracks_reads() {
            self.read_ranges.push(range);
        }
        TxnScan::new(stored, buffered, order)
    }

    /// Scans every key that starts with `prefix`.
    pub fn scan_prefix(&mut self, prefix: &[u8], order: ScanOrder) -> TxnScan {
        let end = match crate::keycode::prefix_end(prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        self.scan((Bound::Included(prefix.to_vec()), end), order)
    }

    pub fn set(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        self.buffer(key, Some(value))
    }

    pub fn delete(&mut self, key: Vec<u8>) -> Result<()> {
        self.buffer(key, None)
    }

    fn buffer(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) -> Result<()> {
        if self.options.read_only {
            return Err(Error::ReadOnly);
        }
        let previous = self.writes.insert(key.clone(), value);
        self.undo.push((key, previous));
        Ok(())
    }

    pub fn savepoint(&self) -> Savepoint {
        Savepoint(self.undo.len())
    }

    /// Undoes every write buffered since `savepoint`.
    pub fn rollback_to(&mut self, savepoint: Savepoint) {
        while self.undo.len() > savepoint.0 {
            let Some((key, previous)) = self.undo.pop() else {
                break;
            };
            match previous {
                Some(value) => self.writes.insert(key, value),
                None => self.writes.remove(&key),
            };
        }
    }

    /// The commit this transaction would send, with a compacted read set.
    pub fn to_commit(&self) -> Commit {
        let read_ranges = merge_ranges(self.read_ranges.clone());
        let read_keys: Vec<Vec<u8>> = self
            .read_keys
            .iter()
            .filter(|k| !read_ranges.iter().any(|r| range_contains(r, k)))
            .cloned()
            .collect();
        Commit {
            read_version: self.read_version(),
            // A read set under SNAPSHOT holds constraint reads only (see
            // `constraint_reads`); validating it is what they ask for.
            isolation: if read_keys.is_empty() && read_ranges.is_empty() {
                self.options.isolation
            } else {
                Isolation::Serializable
            },
            writes: self.writes.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            read_keys,
            read_ranges,
        }
    }

    /// Commits. Returns the commit version, or `None` when there was nothing
    /// to write. A provisional transaction that read but wrote nothing has
    /// its reads confirmed first (see the module docs): a read-write
    /// conflict there is [`Error::Conflict`], as for a commit.
    pub fn commit(self) -> Result<Option<Version>> {
        if self.writes.is_empty() {
            self.confirm_reads()?;
            return Ok(None);
        }
        let commit = self.to_commit();
        self.committer.commit(commit).map(Some)
    }

    /// Confirms a provisional transaction's reads so far: `Ok` when they are
    /// what a linearizable snapshot taken now would have returned,
    /// [`Error::Conflict`] when a commit since its read version wrote into
    /// its read set. Anything derived from those reads (rows, or an error
    /// such as a unique violation) may be shown to the client only after
    /// this, or after a successful commit. Free for a transaction that is
    /// not provisional or has read nothing.
    pub fn confirm_reads(&self) -> Result<()> {
        if !self.provisional || (self.read_keys.is_empty() && self.read_ranges.is_empty()) {
            return Ok(());
        }
        let commit = self.to_commit();
        let through = self.committer.read_version()?;
        self.snapshot
            .confirm_reads(&commit, through)?
            .into_result(through, commit.read_version)
            .map(|_| ())
    }

    /// True if this transaction started at a provisional version.
    pub fn is_provisional(&self) -> bool {
        self.provisional
    }

    /// Discards the transaction. Equivalent to dropping it.
    pub fn rollback(self) {}
}

fn range_contains(range: &KeyRange, key: &[u8]) -> bool {
    let after_start = match &range.0 {
        Bound::Included(s) => s.as_slice() <= key,
        Bound::Excluded(s) => s.as_slice() < key,
        Bound::Unbounded => true,
    };
    let before_end = match &range.1 {
        Bound::Included(e) => key <= e.as_slice(),
        Bound::Excluded(e) => key < e.as_slice(),
        Bound::Unbounded => true,
    };
    after_start && before_end
}

/// Sorts ranges and merges those that overlap or touch, so repeated scans of
/// the same table cost one range in the commit.
fn merge_ranges(mut ranges: Vec<KeyRange>) -> Vec<KeyRange> {
    fn start_key(b: &Bound<Vec<u8>>) -> (Option<&Vec<u8>>, bool) {
        match b {
            Bound::Unbounded => (None, false),
            Bound::Included(k) => (Some(k), false),
            Bound::Excluded(k) => (Some(k), true),
        }
    }
    ranges.sort_by(|a, b| start_key(&a.0).cmp(&start_key(&b.0)));
    let mut merged: Vec<KeyRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        if let Some(last) = merged.last_mut() {
            // Overlap or adjacency: `range` starts at or before `last` ends.
            let touches = match (&last.1, &range.0) {
                (Bound::Unbounded, _) | (_, Bound::Unbounded) => true,
                (Bound::Included(e), Bound::Included(s) | Bound::Excluded(s)) => s <= e,
                (Bound::Excluded(e), Bound::Included(s)) => s <= e,
                (Bound::Excluded(e), Bound::Excluded(s)) => s < e,
            };
            if touches {
                let extends = match (&last.1, &range.1) {
                    (Bound::Unbounded, _) => false,
                    (_, Bound::Unbounded) => true,
                    (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b)) => b >= a,
                    (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b)) => b > a,
                };
                if extends {
                    last.1 = range.1;
                }
                continue;
            }
        }
        merged.push(range);
    }
    merged
}

/// A transaction's scan: the snapshot's visible pairs merged with the
/// transaction's own buffered writes (which win, and may delete).
pub struct TxnScan {
    stored: std::iter::Peekable<VisibleScan>,
    buffered: std::collections::VecDeque<(Vec<u8>, Buffered)>,
    order: ScanOrder,
}

impl TxnScan {
    fn new(stored: VisibleScan, buffered: Vec<(Vec<u8>, Buffered)>, order: ScanOrder) -> Self {
        let mut buffered: std::collections::VecDeque<_> = buffered.into();
        if order == ScanOrder::Reverse {
            buffered.make_contiguous().reverse();
        }
        Self {
            stored: stored.peekable(),
            buffered,
            order,
        }
    }
}

impl Iterator for TxnScan {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::cmp::Ordering;
        loop {
            let next_stored = match self.stored.peek() {
                Some(Err(_)) => return self.stored.next(),
                Some(Ok((k, _))) => Some(k),
                None => None,
            };
            let pick = match (next_stored, self.buffered.front()) {
                (None, None) => return None,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(s), Some((b, _))) => match self.order {
                    ScanOrder::Forward => s.cmp(b),
                    ScanOrder::Reverse => b.cmp(s),
                },
            };
            if pick == Ordering::Less {
                return self.stored.next();
            }
            if pick == Ordering::Equal {
                self.stored.next(); // shadowed by the buffered write
            }
            let (key, value) = self.buffered.pop_front()?;
            if let Some(value) = value {
                return Some(Ok((key, value)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &[u8], e: &[u8]) -> KeyRange {
        (Bound::Included(s.to_vec()), Bound::Excluded(e.to_vec()))
    }

    #[test]
    fn merges_overlapping_and_adjacent_ranges() {
        let merged = merge_ranges(vec![r(b"c", b"e"), r(b"a", b"b"), r(b"b", b"c"), r(b"x", b"z")]);
        assert_eq!(merged, vec![r(b"a", b"e"), r(b"x", b"z")]);
        let all = (Bound::Unbounded, Bound::Unbounded);
        assert_eq!(merge_ranges(vec![r(b"a", b"b"), all.clone()]), vec![all]);
        // Excluded end and excluded start at the same key leave a gap.
        let gap = vec![
            (Bound::Unbounded, Bound::Excluded(b"k".to_vec())),
            (Bound::Excluded(b"k".to_vec()), Bound::Unbounded),
        ];
        assert_eq!(merge_ranges(gap.clone()).len(), 2);
    }
}
