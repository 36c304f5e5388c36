//! The on-disk engine: sled 0.34.
//!
//! Layout of a data directory:
//!
//! ```text
//! <dir>/QUORUMDB      format marker, written once when the directory is created
//! <dir>/db, conf, ... sled's own files
//! ```
//!
//! Durability: sled's `flush()` only issues `sync_file_range` on Linux (sled
//! issue 1452), which survives a process crash but not a power loss. So
//! [`Engine::sync`] flushes sled and then `fdatasync`s sled's data file
//! itself.
//!
//! Opening refuses a non-empty directory without the marker (it is not ours),
//! a marker of another format, and a sled store that fails to open; sled
//! panics on some corrupt files, and that panic is caught and reported as
//! [`Error::Corrupt`] naming the path.
//!
//! sled also *silently* opens some garbage data files as an empty database.
//! To catch that, the marker gains a second line, `holds-data`, the first
//! time a sync finds the store non-empty (or an open does). Opening a store
//! whose marker says `holds-data` but which has no keys is reported as
//! corrupt instead of starting over empty. The line is only ever written
//! after the data it vouches for is durable, so a crash cannot cause a false
//! alarm. (Every user of this engine keeps at least one key forever once it
//! has written: the MVCC layer's applied version.)

use std::fs::File;
use std::io::Write;
use std::ops::Bound;
use std::path::{Path, PathBuf};

use super::{Engine, KeyRange, ScanIter, WriteBatch, WriteOp};
use crate::error::{Error, Result};

/// The name of the marker file in a data directory.
pub const MARKER_FILE: &str = "QUORUMDB";
/// The content of the marker file this build writes and reads.
pub const FORMAT: &str = "quorumdb-storage sled format 1";
/// The marker's second line once the store has held data.
const HOLDS_DATA: &str = "holds-data";

#[derive(Debug)]
pub struct SledEngine {
    path: PathBuf,
    db: sled::Db,
    /// sled's data file, kept open to fdatasync it (see module docs).
    data_file: File,
    /// Whether the marker records that the store has held data.
    holds_data: std::sync::atomic::AtomicBool,
}

impl SledEngine {
    /// Opens the data directory at `path`, creating it if it does not exist
    /// or is empty.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let holds_data = prepare_dir(&path)?;
        let config = sled::Config::new().path(&path).mode(sled::Mode::HighThroughput);
        // sled panics on some corrupt files instead of returning an error.
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()));
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => return Err(sled_open_error(&path, e)),
            Err(panic) => {
                let detail = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "sled panicked while opening".into());
                return Err(Error::Corrupt { path, detail });
            }
        };
        let data_file = File::open(path.join("db"))
            .map_err(|e| Error::io(format!("opening {}", path.join("db").display()), e))?;
        let empty = db.is_empty();
        if holds_data && empty {
            return Err(Error::Corrupt {
                path,
                detail: "the store has held data but sled found none: its data file is damaged".into(),
            });
        }
        let engine = Self {
            path,
            db,
            data_file,
            holds_data: std::sync::atomic::AtomicBool::new(holds_data),
        };
        if !empty && !holds_data {
            engine.mark_holds_data()?;
        }
        tracing::debug!(path = %engine.path.display(), "opened sled engine");
        Ok(engine)
    }

    /// Records in the marker that the (durable) store holds data.
    fn mark_holds_data(&self) -> Result<()> {
        write_marker(&self.path, true)?;
        self.holds_data.store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes sled reports on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        self.db.size_on_disk().map_err(|e| self.err("measuring size", e))
    }

    fn err(&self, context: &str, e: sled::Error) -> Error {
        match e {
            sled::Error::Io(io) => Error::io(format!("{context} in {}", self.path.display()), io),
            other => Error::Corrupt {
                path: self.path.clone(),
                detail: format!("{context}: {other}"),
            },
        }
    }
}

fn sled_open_error(path: &Path, e: sled::Error) -> Error {
    match e {
        sled::Error::Io(io) => Error::io(format!("opening sled store in {}", path.display()), io),
        other => Error::Corrupt {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    }
}

/// Creates the directory and its marker, or checks that an existing directory
/// is a QuorumDB data directory of this format. Returns whether the marker
/// says the store has held data.
fn prepare_dir(path: &Path) -> Result<bool> {
    let io = |what: &str, e| Error::io(format!("{what} {}", path.display()), e);
    let marker = path.join(MARKER_FILE);
    if path.exists() && !path.is_dir() {
        return Err(Error::NotADataDir {
            path: path.to_path_buf(),
            marker: MARKER_FILE,
        });
    }
    if marker.exists() {
        let found = std::fs::read_to_string(&marker).map_err(|e| io("reading marker in", e))?;
        let mut lines = found.lines();
        let format = lines.next().unwrap_or_default();
        if format != FORMAT {
            return Err(Error::IncompatibleFormat {
                path: path.to_path_buf(),
                found: format.chars().take(80).collect(),
                expected: FORMAT,
            });
        }
        return match lines.next() {
            None => Ok(false),
            Some(HOLDS_DATA) => Ok(true),
            Some(other) => Err(Error::Corrupt {
                path: path.to_path_buf(),
                detail: format!(
                    "unexpected line {:?} in {MARKER_FILE}",
                    other.chars().take(80).collect::<String>()
                ),
            }),
        };
    }
    let empty = match std::fs::read_dir(path) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(io("reading", e)),
    };
    if !empty {
        return Err(Error::NotADataDir {
            path: path.to_path_buf(),
            marker: MARKER_FILE,
        });
    }
    std::fs::create_dir_all(path).map_err(|e| io("creating", e))?;
    write_marker(path, false)?;
    Ok(false)
}

/// Writes the marker atomically: a temporary file, fsync, rename, fsync of
/// the directory.
fn write_marker(path: &Path, holds_data: bool) -> Result<()> {
    let io = |what: &str, e| Error::io(format!("{what} {}", path.display()), e);
    let content = if holds_data {
        format!("{FORMAT}\n{HOLDS_DATA}\n")
    } else {
        format!("{FORMAT}\n")
    };
    let temp = path.join(format!("{MARKER_FILE}.tmp"));
    let mut file = File::create(&temp).map_err(|e| io("creating marker in", e))?;
    file.write_all(content.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| io("writing marker in", e))?;
    std::fs::rename(&temp, path.join(MARKER_FILE)).map_err(|e| io("renaming marker in", e))?;
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| io("syncing", e))
}

fn to_sled_bound(bound: Bound<Vec<u8>>) -> Bound<sled::IVec> {
    match bound {
        Bound::Included(k) => Bound::Included(k.into()),
        Bound::Excluded(k) => Bound::Excluded(k.into()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl Engine for SledEngine {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.db
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| self.err("reading", e))
    }

    fn scan(&self, range: KeyRange) -> ScanIter {
        if super::range_is_empty(&range) {
            return Box::new(std::iter::empty());
        }
        let (start, end) = range;
        let path = self.path.clone();
        Box::new(
            self.db
                .range::<sled::IVec, _>((to_sled_bound(start), to_sled_bound(end)))
                .map(move |item| {
                    item.map(|(k, v)| (k.to_vec(), v.to_vec()))
                        .map_err(|e| Error::Corrupt {
                            path: path.clone(),
                            detail: format!("scanning: {e}"),
                        })
                }),
        )
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        let mut sled_batch = sled::Batch::default();
        for op in batch.ops {
            match op {
                WriteOp::Put(k, v) => sled_batch.insert(k, v),
                WriteOp::Delete(k) => sled_batch.remove(k),
            }
        }
        self.db
            .apply_batch(sled_batch)
            .map_err(|e| self.err("writing", e))
    }

    /// One sled operation each: no batch, so sled does not write its I/O
    /// buffer out around it (`pin_log` rolls the buffer before and after a
    /// batch, and each roll is a waited `sync_file_range` on a pool thread).
    fn write_relaxed(&self, batch: WriteBatch) -> Result<()> {
        for op in batch.ops {
            match op {
                WriteOp::Put(k, v) => self.db.insert(k, v).map(drop),
                WriteOp::Delete(k) => self.db.remove(k).map(drop),
            }
            .map_err(|e| self.err("writing", e))?;
        }
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        self.db.flush().map_err(|e| self.err("flushing", e))?;
        self.data_file
            .sync_data()
            .map_err(|e| Error::io(format!("syncing {}", self.path.display()), e))?;
        if !self.holds_data.load(std::sync::atomic::Ordering::Acquire) && !self.db.is_empty() {
            self.mark_holds_data()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sled_engine_behaves_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        {
            let engine = SledEngine::open(&path).unwrap();
            super::super::tests::exercise(&engine);
        }
        let engine = SledEngine::open(&path).unwrap();
        assert_eq!(engine.get(b"b").unwrap(), Some(b"b".to_vec()));
        assert_eq!(engine.get(b"d").unwrap(), None);
        assert_eq!(engine.get(b"e").unwrap(), Some(b"2".to_vec()));
        assert_eq!(engine.get(b"a").unwrap(), None);
    }

    #[test]
    fn refuses_a_directory_that_is_not_ours() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
        let err = SledEngine::open(dir.path()).unwrap_err();
        assert!(matches!(err, Error::NotADataDir { .. }), "{err}");
        assert!(err.to_string().contains(&dir.path().display().to_string()));

        let file = dir.path().join("notes.txt");
        assert!(matches!(SledEngine::open(&file), Err(Error::NotADataDir { .. })));
    }

    #[test]
    fn refuses_another_format() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MARKER_FILE), "quorumdb-storage sled format 99\n").unwrap();
        let err = SledEngine::open(dir.path()).unwrap_err();
        assert!(matches!(err, Error::IncompatibleFormat { .. }), "{err}");
    }

    #[test]
    fn inverted_range_is_empty_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let engine = SledEngine::open(dir.path()).unwrap();
        let range = (Bound::Included(b"z".to_vec()), Bound::Excluded(b"a".to_vec()));
        assert_eq!(engine.scan(range).count(), 0);
    }
}

#[cfg(test)]
mod corruption_tests {
    use super::*;

    fn populated() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let engine = SledEngine::open(dir.path()).unwrap();
        let mut batch = WriteBatch::new();
        for i in 0..1000u32 {
            batch.put(i.to_be_bytes().to_vec(), vec![7; 100]);
        }
        engine.write(batch).unwrap();
        engine.sync().unwrap();
        dir
    }

    #[test]
    fn garbage_in_the_data_file_is_an_error_naming_the_path() {
        for (name, garbage) in [
            ("zeros", vec![0u8; 4096]),
            ("noise", (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect()),
        ] {
            let dir = populated();
            let db = dir.path().join("db");
            std::fs::write(&db, &garbage).unwrap();
            let marker = std::fs::read_to_string(dir.path().join(MARKER_FILE)).unwrap();
            assert!(marker.ends_with("holds-data\n"), "{marker}");
            match SledEngine::open(dir.path()) {
                Err(e) => assert!(
                    e.to_string().contains(&dir.path().display().to_string()),
                    "{name}: {e}"
                ),
                Ok(engine) => {
                    let n = engine.scan((Bound::Unbounded, Bound::Unbounded)).count();
                    panic!("{name}: opened a garbage data file and found {n} keys");
                }
            }
        }
    }
}
