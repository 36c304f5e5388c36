//! Iterators that turn the raw version keys of a range into the key-value
//! pairs visible at one snapshot version.
//!
//! Forward: the versions of one key arrive newest first, so the first version
//! at or below the snapshot decides the key and the rest are skipped.
//! Reverse: they arrive oldest first, so the last version at or below the
//! snapshot seen before the key changes decides it.
//!
//! Every item, and the end of the scan, re-checks the GC horizon *after*
//! reading: GC raises the horizon before it deletes anything, so a scan that
//! raced with a GC above its version reports [`Error::SnapshotTooOld`]
//! instead of silently returning fewer rows.

use std::sync::Arc;

use super::{Inner, keys};
use crate::engine::{KvPair, ScanIter};
use crate::error::Result;
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

/// Visible key-value pairs of a key range at one version.
pub struct VisibleScan {
    inner: Arc<Inner>,
    raw: ScanIter,
    version: Version,
    order: ScanOrder,
    /// Forward: the key already decided. Reverse: the key being collected
    /// and its best visible value so far.
    current: Option<Current>,
    done: bool,
}

impl VisibleScan {
    pub(super) fn new(inner: Arc<Inner>, raw: ScanIter, version: Version, order: ScanOrder) -> Self {
        Self {
            inner,
            raw,
            version,
            order,
            current: None,
            done: false,
        }
    }

    fn next_forward(&mut self) -> Result<Option<KvPair>> {
        for item in self.raw.by_ref() {
            let (raw_key, raw_value) = item?;
            let (prefix, version) = keys::split_version_key(&raw_key)?;
            if version > self.version {
                continue;
            }
            if matches!(&self.current, Some((p, _)) if p.as_slice() == prefix) {
                continue; // an older version of a key already decided
            }
            self.current = Some((prefix.to_vec(), None));
            if let Some(value) = keys::decode_value(&raw_value)? {
                return Ok(Some((keys::user_key(prefix)?, value.to_vec())));
            }
        }
        Ok(None)
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
        let result = result.and_then(|item| self.inner.check_horizon(self.version).map(|()| item));
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
