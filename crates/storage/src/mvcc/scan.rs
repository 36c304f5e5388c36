//! Iterators that turn the raw version keys of a range into the key-value
//! pairs visible at one snapshot version.
//!
//! Forward: the versions of one key arrive newest first, so the first version
//! at or below the snapshot decides the key and the rest are skipped.
//! Reverse: they arrive oldest first, so the last version at or below the
//! snapshot seen before the key changes decides it.
//!
//! A key updated often has many old versions. A forward scan steps over a
//! few of them, then seeks past the rest ([`SEEK_AFTER`]): reading a row
//! costs about the same however long its history, up to the GC horizon.
//! (Reverse scans still step through every version.)
//!
//! Every item, and the end of the scan, re-checks the GC horizon *after*
//! reading: GC raises the horizon before it deletes anything, so a scan that
//! raced with a GC above its version reports [`Error::SnapshotTooOld`]
//! instead of silently returning fewer rows. Likewise a state transfer
//! counts itself before it wipes the store, so a scan that raced with one
//! reports [`Error::StoreReplaced`].
//!
//! [`Error::SnapshotTooOld`]: crate::Error::SnapshotTooOld
//! [`Error::StoreReplaced`]: crate::Error::StoreReplaced

use std::ops::Bound;
use std::sync::Arc;

use super::{Inner, keys};
use crate::engine::{KeyRange, KvPair, ScanIter};
use crate::error::Result;
use crate::keycode;
use crate::mvcc::Version;

/// Scan order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanOrder {
    Forward,
    Reverse,
}

/// A key's encoded prefix and, in reverse scans, its newest visible version
/// so far: `None` = none yet, `Some(None)` = a tombstone.
type Current = (Vec<u8>, Option<Option<Vec<u8>>>);

/// Old versions of one key a forward scan steps over before it seeks past
/// the rest (a seek costs about as much as a few steps).
pub const SEEK_AFTER: usize = 4;

/// Visible key-value pairs of a key range at one version.
pub struct VisibleScan {
    inner: Arc<Inner>,
    raw: ScanIter,
    /// The end of the raw range, for seeking past a key's old versions.
    raw_end: Bound<Vec<u8>>,
    /// Old versions of the current key stepped over so far.
    stepped: usize,
    version: Version,
    /// The store's install count when the snapshot was taken.
    installs: u64,
    order: ScanOrder,
    /// Forward: the key already decided. Reverse: the key being collected
    /// and its best visible value so far.
    current: Option<Current>,
    done: bool,
}

impl VisibleScan {
    /// The visible pairs among the version keys in `raw_range`.
    /// `at` is the snapshot's version and the store's install count when
    /// it was taken.
    pub(super) fn new(inner: Arc<Inner>, raw_range: KeyRange, at: (Version, u64), order: ScanOrder) -> Self {
        let (version, installs) = at;
        let raw_end = raw_range.1.clone();
        Self {
            raw: inner.engine.scan(raw_range),
            inner,
            raw_end,
            stepped: 0,
            version,
            installs,
            order,
            current: None,
            done: false,
        }
    }

    fn next_forward(&mut self) -> Result<Option<KvPair>> {
        while let Some(item) = self.raw.next() {
            let (raw_key, raw_value) = item?;
            let (prefix, version) = keys::split_version_key(&raw_key)?;
            if version > self.version {
                continue;
            }
            if matches!(&self.current, Some((p, _)) if p.as_slice() == prefix) {
                // An older version of a key already decided.
                self.stepped += 1;
                if self.stepped >= SEEK_AFTER {
                    self.seek_past_current();
                }
                continue;
            }
            self.stepped = 0;
            self.current = Some((prefix.to_vec(), None));
            if let Some(value) = keys::decode_value(&raw_value)? {
                return Ok(Some((keys::user_key(prefix)?, value.to_vec())));
            }
        }
        Ok(None)
    }

    /// Restarts the raw scan after the last version of the current key.
    fn seek_past_current(&mut self) {
        self.stepped = 0;
        let Some((prefix, _)) = &self.current else { return };
        // Version keys are `prefix ++ version` and the prefix is prefix-free,
        // so everything at or above `prefix_end` belongs to later keys.
        let start = match keycode::prefix_end(prefix) {
            Some(end) => Bound::Included(end),
            None => return,
        };
        self.raw = self.inner.engine.scan((start, self.raw_end.clone()));
    }

    fn next_reverse(&mut self) -> Result<Option<KvPair>> {
        loop {
            let Some(item) = self.raw.next_back() else {
                // Emit the last key collected, if visible.
                return match self.current.take() {
                    Some((prefix, Some(Some(value)))) => Ok(Some((keys::user_key(&prefix)?, value))),
                    _ => Ok(None),
                };
            };
            let (raw_key, raw_value) = item?;
            let (prefix, version) = keys::split_version_key(&raw_key)?;
            let visible = version <= self.version;
            let same_key = matches!(&self.current, Some((p, _)) if p.as_slice() == prefix);
            if same_key {
                if visible && let Some((_, best)) = &mut self.current {
                    *best = Some(keys::decode_value(&raw_value)?.map(<[u8]>::to_vec));
                }
                continue;
            }
            let best = if visible {
                Some(keys::decode_value(&raw_value)?.map(<[u8]>::to_vec))
            } else {
                None
            };
            let finished = self.current.replace((prefix.to_vec(), best));
            if let Some((prefix, Some(Some(value)))) = finished {
                return Ok(Some((keys::user_key(&prefix)?, value)));
            }
        }
    }
}

impl Iterator for VisibleScan {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let result = match self.order {
            ScanOrder::Forward => self.next_forward(),
            ScanOrder::Reverse => self.next_reverse(),
        };
        // Re-check the horizon after the read (see module docs).
        let result = self.inner.read_outcome(result, self.version, self.installs);
        match result {
            Ok(Some(pair)) => Some(Ok(pair)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
