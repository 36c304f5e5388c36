//! The MVCC layer's layout of the engine's flat key space.
//!
//! ```text
//! 0x00 0x01                               -> applied version (u64 BE)
//! 0x00 0x02                               -> GC horizon (u64 BE)
//! 0x00 0x03                               -> snapshot install in progress
//! 0x00 0x04                               -> checkpoint (postcard TransferHeader;
//!                                            checkpointed stores only)
//! 0x00 0x10 name                          -> metadata kept by the embedding
//!                                            layer (e.g. Raft membership)
//! 0x01 escaped(user key) !version(u64 BE) -> 0x00 (tombstone) | 0x01 value
//! 0x02 version (u64 BE)                   -> postcard(Vec<user key>): the keys
//!                                            the commit at that version wrote
//! ```
//!
//! The user key is escaped with [`keycode::encode_escaped`], which is
//! prefix-free, so all versions of one key are contiguous and user-key order
//! is preserved. The version is stored bit-inverted so that a forward scan
//! meets the newest version of a key first.

use std::ops::Bound;

use crate::engine::KeyRange;
use crate::error::{Error, Result};
use crate::keycode;
use crate::mvcc::Version;

pub(crate) const APPLIED: &[u8] = &[0x00, 0x01];
pub(crate) const HORIZON: &[u8] = &[0x00, 0x02];
pub(crate) const INSTALLING: &[u8] = &[0x00, 0x03];
pub(crate) const CHECKPOINT: &[u8] = &[0x00, 0x04];
const META_PREFIX: &[u8] = &[0x00, 0x10];
const VERSION_PREFIX: u8 = 0x01;
const COMMIT_PREFIX: u8 = 0x02;

pub(crate) fn meta_key(name: &str) -> Vec<u8> {
    [META_PREFIX, name.as_bytes()].concat()
}

/// All metadata keys, and the name of one.
pub(crate) fn all_meta() -> KeyRange {
    (
        Bound::Included(META_PREFIX.to_vec()),
        Bound::Excluded(vec![0x00, 0x11]),
    )
}

pub(crate) fn meta_name(raw: &[u8]) -> Result<String> {
    raw.strip_prefix(META_PREFIX)
        .and_then(|name| String::from_utf8(name.to_vec()).ok())
        .ok_or_else(|| Error::decode("metadata key", format!("{raw:02x?}")))
}

/// Every key the MVCC layer owns.
pub(crate) fn everything() -> KeyRange {
    (Bound::Unbounded, Bound::Unbounded)
}

/// The encoded user-key part of a version key: everything but the version.
pub(crate) fn key_prefix(key: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(key.len() + 11);
    buf.push(VERSION_PREFIX);
    keycode::encode_escaped(&mut buf, key);
    buf
}

pub(crate) fn version_key(key: &[u8], version: Version) -> Vec<u8> {
    let mut buf = key_prefix(key);
    buf.extend_from_slice(&(!version).to_be_bytes());
    buf
}

/// Splits a version key into its user-key prefix (as in [`key_prefix`]) and
/// its version.
pub(crate) fn split_version_key(raw: &[u8]) -> Result<(&[u8], Version)> {
    if raw.len() < 1 + 2 + 8 || raw[0] != VERSION_PREFIX {
        return Err(Error::decode("version key", format!("{raw:02x?}")));
    }
    let (prefix, version) = raw.split_at(raw.len() - 8);
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(version);
    Ok((prefix, !u64::from_be_bytes(bytes)))
}

/// Decodes the user key out of a prefix produced by [`key_prefix`].
pub(crate) fn user_key(prefix: &[u8]) -> Result<Vec<u8>> {
    let mut rest = prefix
        .get(1..)
        .ok_or_else(|| Error::decode("version key", "empty"))?;
    let key = keycode::decode_escaped(&mut rest)?;
    if !rest.is_empty() {
        return Err(Error::decode("version key", "trailing bytes"));
    }
    Ok(key)
}

/// All versions of `key` at or below `version`, newest first.
pub(crate) fn versions_at_or_below(key: &[u8], version: Version) -> KeyRange {
    (
        Bound::Included(version_key(key, version)),
        Bound::Included(version_key(key, 0)),
    )
}

/// All version keys of all user keys in `range`.
pub(crate) fn version_range(range: &KeyRange) -> KeyRange {
    let start = match &range.0 {
        Bound::Included(k) => Bound::Included(key_prefix(k)),
        Bound::Excluded(k) => Bound::Excluded(version_key(k, 0)),
        Bound::Unbounded => Bound::Included(vec![VERSION_PREFIX]),
    };
    let end = match &range.1 {
        Bound::Included(k) => Bound::Included(version_key(k, 0)),
        Bound::Excluded(k) => Bound::Excluded(key_prefix(k)),
        Bound::Unbounded => Bound::Excluded(vec![VERSION_PREFIX + 1]),
    };
    (start, end)
}

pub(crate) fn encode_value(value: Option<&[u8]>) -> Vec<u8> {
    match value {
        None => vec![0x00],
        Some(v) => {
            let mut buf = Vec::with_capacity(v.len() + 1);
            buf.push(0x01);
            buf.extend_from_slice(v);
            buf
        }
    }
}

/// `None` is a tombstone.
pub(crate) fn decode_value(raw: &[u8]) -> Result<Option<&[u8]>> {
    match raw.split_first() {
        Some((0x00, [])) => Ok(None),
        Some((0x01, value)) => Ok(Some(value)),
        _ => Err(Error::decode("version value", format!("bad tag in {raw:02x?}"))),
    }
}

pub(crate) fn commit_key(version: Version) -> Vec<u8> {
    let mut buf = Vec::with_capacity(9);
    buf.push(COMMIT_PREFIX);
    buf.extend_from_slice(&version.to_be_bytes());
    buf
}

/// Commit records with versions in `from..=to`.
pub(crate) fn commit_range(from: Version, to: Version) -> KeyRange {
    (Bound::Included(commit_key(from)), Bound::Included(commit_key(to)))
}

pub(crate) fn all_commits() -> KeyRange {
    (
        Bound::Included(vec![COMMIT_PREFIX]),
        Bound::Excluded(vec![COMMIT_PREFIX + 1]),
    )
}

pub(crate) fn commit_version(raw: &[u8]) -> Result<Version> {
    match raw {
        [COMMIT_PREFIX, rest @ ..] if rest.len() == 8 => {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(rest);
            Ok(u64::from_be_bytes(bytes))
        }
        _ => Err(Error::decode("commit record key", format!("{raw:02x?}"))),
    }
}

pub(crate) fn encode_u64(v: u64) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

pub(crate) fn decode_u64(what: &'static str, raw: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = raw
        .try_into()
        .map_err(|_| Error::decode(what, format!("expected 8 bytes, got {}", raw.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_newest_first_within_a_key_and_keys_stay_ordered() {
        let mut keys = vec![
            version_key(b"a", 1),
            version_key(b"a", 7),
            version_key(b"a\x00", 3),
            version_key(b"b", 2),
            version_key(b"", 9),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                version_key(b"", 9),
                version_key(b"a", 7),
                version_key(b"a", 1),
                version_key(b"a\x00", 3),
                version_key(b"b", 2),
            ]
        );
        let (prefix, v) = split_version_key(&keys[1]).unwrap();
        assert_eq!((user_key(prefix).unwrap(), v), (b"a".to_vec(), 7));
    }
}
