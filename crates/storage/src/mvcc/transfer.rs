//! State transfer: a consistent copy of the whole store, for Raft snapshots.
//!
//! [`Mvcc::export`] writes the store as of its applied version `v`: every
//! stored version at or below `v`, the commit records at or below `v` (later
//! commits whose read version is below `v` need them to be validated exactly
//! as on every other replica), the GC horizon and the metadata that was
//! current at `v`. Applies continue meanwhile (their versions are above `v`
//! and are filtered out); GC waits, since it could delete what the copy
//! still has to read.
//!
//! [`Mvcc::import`] replaces the store's whole content with such a copy. It
//! checks the copy end to end (framing and a CRC-32) before touching
//! anything, marks the store as "installing" while it replaces the content,
//! and clears the mark in the batch that sets the new applied version. A
//! store opened with the mark still present was interrupted mid-install; it
//! is reset to empty (version 0), and Raft sends the snapshot again.
//!
//! Format: `QDBXFER1`, then frames `u32 length (LE) | postcard bytes`: first
//! a [`TransferHeader`], then `(key, value)` pairs of raw engine keys, then a
//! zero length, then the CRC-32 of everything before it (u32 LE).

use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::{Durability, Mvcc, Version, keys};
use crate::engine::WriteBatch;
use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"QDBXFER1";
const CHUNK: usize = 1024;

/// What a transfer describes, besides the data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferHeader {
    pub version: Version,
    pub horizon: Version,
    /// The metadata (see [`Mvcc::apply_entry`]) as of `version`.
    pub meta: Vec<(String, Vec<u8>)>,
}

struct Checksummed<W> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Checksummed<W> {
    fn frame(&mut self, bytes: &[u8]) -> Result<()> {
        let len = u32::try_from(bytes.len()).map_err(|_| Error::decode("transfer", "frame too large"))?;
        self.write(&len.to_le_bytes())?;
        self.write(bytes)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.crc.update(bytes);
        self.inner
            .write_all(bytes)
            .map_err(|e| Error::io("writing a state transfer", e))
    }
}

impl Mvcc {
    /// Writes a consistent copy of the store at its applied version to
    /// `out` (see the module docs) and returns its header.
    pub fn export(&self, out: &mut dyn Write) -> Result<TransferHeader> {
        // Version and metadata must be read together, under the apply lock;
        // the GC lock (taken after it, see the module docs on lock order)
        // is held to the end so no garbage is deleted under the export.
        let apply = self.inner.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let _gc = self.inner.gc_lock.lock().unwrap_or_else(|e| e.into_inner());
        let header = self.header()?;
        drop(apply);
        let mut out = Checksummed {
            inner: out,
            crc: crc32fast::Hasher::new(),
        };
        out.write(MAGIC)?;
        out.frame(&postcard::to_stdvec(&header).map_err(|e| Error::decode("transfer header", e))?)?;
        let versions = self.inner.engine.scan(keys::version_range(&(
            std::ops::Bound::Unbounded,
            std::ops::Bound::Unbounded,
        )));
        for item in versions {
            let (k, v) = item?;
            if keys::split_version_key(&k)?.1 <= header.version {
                out.frame(&postcard::to_stdvec(&(k, v)).map_err(|e| Error::decode("transfer pair", e))?)?;
            }
        }
        for item in self.inner.engine.scan(keys::commit_range(0, header.version)) {
            let (k, v) = item?;
            out.frame(&postcard::to_stdvec(&(k, v)).map_err(|e| Error::decode("transfer pair", e))?)?;
        }
        out.write(&0u32.to_le_bytes())?;
        let crc = out.crc.clone().finalize();
        out.inner
            .write_all(&crc.to_le_bytes())
            .map_err(|e| Error::io("writing a state transfer", e))?;
        Ok(header)
    }

    /// Replaces the store's content with a copy made by [`Mvcc::export`].
    /// Every read of this store that overlaps the install fails with
    /// [`Error::StoreReplaced`] when it ends, whenever that is.
    pub fn import<R: Read + Seek>(&self, input: &mut R) -> Result<TransferHeader> {
        let header = read_transfer(input, &mut |_| Ok(()))?; // verify first
        input
            .seek(SeekFrom::Start(0))
            .map_err(|e| Error::io("rewinding a state transfer", e))?;

        let _apply = self.inner.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let _gc = self.inner.gc_lock.lock().unwrap_or_else(|e| e.into_inner());
        let engine = &self.inner.engine;
        // Odd from here on, and above any value a reader may hold: every
        // read that overlaps this install fails when it ends, whenever that
        // is. If the install fails half-way the count stays odd, the store
        // unreadable, until an install succeeds or the store is reopened
        // (and reset to empty by the mark below). Only installs write the
        // count, under the apply lock held here.
        let installing = (self.inner.installs.load(Ordering::SeqCst) + 1) | 1;
        self.inner.installs.store(installing, Ordering::SeqCst);
        let mut batch = WriteBatch::new();
        batch.put(keys::INSTALLING.to_vec(), vec![1]);
        engine.write(batch)?;
        self.wipe_except_install_mark()?;
        let mut batch = WriteBatch::new();
        read_transfer(input, &mut |(k, v)| {
            batch.put(k, v);
            if batch.len() >= CHUNK {
                engine.write(std::mem::take(&mut batch))?;
            }
            Ok(())
        })?;
        // The data on disk before the batch that completes the install.
        engine.sync()?;
        for (name, value) in &header.meta {
            batch.put(keys::meta_key(name), value.clone());
        }
        batch.put(keys::HORIZON.to_vec(), keys::encode_u64(header.horizon));
        batch.put(keys::APPLIED.to_vec(), keys::encode_u64(header.version));
        batch.delete(keys::INSTALLING.to_vec());
        // The wipe dropped any checkpoint; a checkpointed store gets one at
        // the installed version, written with everything it vouches for.
        let mut checkpointed = self.lock_checkpointed();
        if self.inner.durability == Durability::Checkpointed {
            batch.put(keys::CHECKPOINT.to_vec(), super::encode_checkpoint(&header)?);
        }
        engine.write(batch)?;
        engine.sync()?;
        *checkpointed = match self.inner.durability {
            Durability::Checkpointed => header.version,
            Durability::AtomicApplies => 0,
        };
        drop(checkpointed);
        *self.lock_recent() = super::RecentWrites::starting_after(header.version);
        *self.inner.lock_meta() = header.meta.iter().cloned().collect();
        // The cached newest versions describe the replaced store: cleared
        // in the same step that publishes the new one (see `latest`).
        let mut latest = self.inner.lock_latest();
        latest.clear();
        self.inner.applied.store(header.version, Ordering::Release);
        self.inner.horizon.store(header.horizon, Ordering::Release);
        self.inner.installs.store(installing + 1, Ordering::SeqCst);
        drop(latest);
        tracing::info!(version = header.version, "installed a state transfer");
        Ok(header)
    }

    /// Deletes every key but the install mark.
    pub(super) fn wipe_except_install_mark(&self) -> Result<()> {
        let engine = &self.inner.engine;
        let mut batch = WriteBatch::new();
        for item in engine.scan(keys::everything()) {
            let (k, _) = item?;
            if k != keys::INSTALLING {
                batch.delete(k);
            }
            if batch.len() >= CHUNK {
                engine.write(std::mem::take(&mut batch))?;
            }
        }
        engine.write(batch)
    }
}

/// Parses a transfer, handing every pair to `each`; checks the checksum.
fn read_transfer<R: Read>(
    input: &mut R,
    each: &mut dyn FnMut((Vec<u8>, Vec<u8>)) -> Result<()>,
) -> Result<TransferHeader> {
    let bad = |detail: &str| Error::decode("state transfer", detail);
    let mut crc = crc32fast::Hasher::new();
    let mut read = |buf: &mut [u8], crc: &mut crc32fast::Hasher, hash: bool| -> Result<()> {
        input.read_exact(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => bad("truncated"),
            _ => Error::io("reading a state transfer", e),
        })?;
        if hash {
            crc.update(buf);
        }
        Ok(())
    };
    let mut magic = [0u8; 8];
    read(&mut magic, &mut crc, true)?;
    if &magic != MAGIC {
        return Err(bad("not a QuorumDB state transfer"));
    }
    let mut header = None;
    loop {
        let mut len = [0u8; 4];
        read(&mut len, &mut crc, true)?;
        let len = u32::from_le_bytes(len) as usize;
        if len == 0 {
            break;
        }
        if len > 1 << 30 {
            return Err(bad("frame length out of range"));
        }
        let mut frame = vec![0u8; len];
        read(&mut frame, &mut crc, true)?;
        match header {
            None => {
                header =
                    Some(postcard::from_bytes::<TransferHeader>(&frame).map_err(|e| bad(&e.to_string()))?)
            }
            Some(_) => each(postcard::from_bytes(&frame).map_err(|e| bad(&e.to_string()))?)?,
        }
    }
    let mut stored = [0u8; 4];
    read(&mut stored, &mut crc, false)?;
    if u32::from_le_bytes(stored) != crc.finalize() {
        return Err(bad("checksum mismatch"));
    }
    header.ok_or_else(|| bad("no header"))
}
