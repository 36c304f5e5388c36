//! Small durable metadata (Raft vote, committed log id, the log's own
//! last-purged id) in one checksummed file, `meta`, replaced atomically.
//!
//! A save writes the whole map to `meta.tmp`, `fsync`s it, renames it over
//! `meta` and `fsync`s the directory, and only then updates the in-memory
//! copy and returns. A crash at any point leaves either the old or the new
//! file (rename is atomic), never a mix; a leftover `meta.tmp` is deleted on
//! open. A `meta` whose checksum fails is therefore real damage and is
//! reported as [`LogError::Corrupt`], never silently reset (resetting a vote
//! would let a node vote twice in one term).
//!
//! Deliberately not done: large values or frequent writes (every save
//! rewrites the whole file and costs two fsyncs; the vote changes at most a
//! few times per election).

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::LogError;
use super::format::{decode_meta, encode_meta};
use super::segment::sync_dir;

/// The metadata file and its in-memory copy.
#[derive(Debug)]
pub struct MetaFile {
    dir: PathBuf,
    items: BTreeMap<String, Vec<u8>>,
}

impl MetaFile {
    /// Name of the metadata file.
    pub const NAME: &'static str = "meta";
    const TMP: &'static str = "meta.tmp";

    /// Loads `dir/meta` (an absent file is an empty map) and removes a
    /// leftover `meta.tmp`.
    pub fn open(dir: &Path) -> Result<MetaFile, LogError> {
        let tmp = dir.join(Self::TMP);
        match std::fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(LogError::io("remove", tmp, e)),
        }
        let path = dir.join(Self::NAME);
        let items = match std::fs::read(&path) {
            Ok(bytes) => {
                decode_meta(&bytes).map_err(|(offset, detail)| LogError::corrupt(&path, offset, detail))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(LogError::io("read", path, e)),
        };
        Ok(MetaFile {
            dir: dir.to_path_buf(),
            items,
        })
    }

    /// The current value of `key`.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.items.get(key).map(Vec::as_slice)
    }

    /// Durably sets `key` to `value` (atomic replace of the whole file).
    /// On error the in-memory copy is unchanged.
    pub fn set(&mut self, key: &str, value: &[u8]) -> Result<(), LogError> {
        let mut items = self.items.clone();
        items.insert(key.to_string(), value.to_vec());
        let bytes = encode_meta(&items);
        let tmp = self.dir.join(Self::TMP);
        let path = self.dir.join(Self::NAME);
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)
                .map_err(|e| LogError::io("create", &tmp, e))?;
            f.write_all(&bytes).map_err(|e| LogError::io("write", &tmp, e))?;
            f.sync_all().map_err(|e| LogError::io("fsync", &tmp, e))?;
        }
        std::fs::rename(&tmp, &path).map_err(|e| LogError::io("rename", &tmp, e))?;
        sync_dir(&self.dir)?;
        self.items = items;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = MetaFile::open(dir.path()).unwrap();
        assert_eq!(m.get("vote"), None);
        m.set("vote", b"v1").unwrap();
        m.set("vote", b"v2").unwrap();
        m.set("committed", b"c").unwrap();
        assert_eq!(m.get("vote"), Some(&b"v2"[..]));
        // A leftover temp file from a crash is ignored and removed.
        std::fs::write(dir.path().join("meta.tmp"), b"half-written").unwrap();
        let m = MetaFile::open(dir.path()).unwrap();
        assert_eq!(m.get("vote"), Some(&b"v2"[..]));
        assert_eq!(m.get("committed"), Some(&b"c"[..]));
        assert!(!dir.path().join("meta.tmp").exists());
    }

    #[test]
    fn damaged_meta_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = MetaFile::open(dir.path()).unwrap();
        m.set("vote", b"v1").unwrap();
        let path = dir.path().join("meta");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[14] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
        let err = MetaFile::open(dir.path()).unwrap_err();
        assert!(
            matches!(err, LogError::Corrupt { ref path, .. } if path.ends_with("meta")),
            "{err}"
        );
    }
}
