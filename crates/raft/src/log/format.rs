//! The on-disk byte format of the Raft log: segment headers, records and the
//! metadata file. Pure encoding and decoding, no I/O.
//!
//! All integers are little-endian.
//!
//! Segment file `<seq:020>.seg`, preallocated and zero-filled:
//!
//! ```text
//! 0   8  magic  "QDBRLOG1"
//! 8   8  seq    u64, equals the number in the file name
//! 16  8  base   u64, index of the first record this segment holds (or would hold)
//! 24  4  crc32  of bytes 0..24
//! 28  4  zero
//! 32  ...       records, back to back, then zeros up to the end of the file
//! ```
//!
//! Record (24-byte header + payload):
//!
//! ```text
//! 0   4  len    u32, payload length
//! 4   4  crc32  over bytes 0..4, 8..24 and the payload (everything but itself)
//! 8   8  index  u64
//! 16  8  term   u64
//! 24  len       payload
//! ```
//!
//! Invariants: a valid record header is never all zeros, because the CRC-32 of
//! 20 zero bytes (plus any payload) is not zero (checked by a unit test); so
//! an all-zero header unambiguously marks the end of the records in a
//! segment, and a preallocated, zero-filled segment reads as "empty".
//!
//! Metadata file `meta`: `"QDBMETA1"`, a u32 count, then per item a u32 key
//! length, the UTF-8 key, a u32 value length and the value, and finally a
//! CRC-32 of everything before it.
//!
//! Deliberately not here: compression, encryption, record padding/alignment
//! and chained checksums (etcd chains CRCs; here each record carries its index
//! and recovery checks index continuity, which catches reordering and stale
//! records just as well, and truncation zeroes what it removes).

/// Magic at the start of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"QDBRLOG1";
/// Size of the segment header; records start at this offset.
pub const SEGMENT_HEADER_LEN: u64 = 32;
/// Size of a record header.
pub const RECORD_HEADER_LEN: u64 = 24;
/// Magic at the start of the metadata file.
pub const META_MAGIC: [u8; 8] = *b"QDBMETA1";

/// A decoded segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Sequence number (also the file name).
    pub seq: u64,
    /// Index of the first record of the segment.
    pub base: u64,
}

impl SegmentHeader {
    /// Encodes the header.
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_LEN as usize] {
        let mut b = [0u8; SEGMENT_HEADER_LEN as usize];
        b[0..8].copy_from_slice(&SEGMENT_MAGIC);
        b[8..16].copy_from_slice(&self.seq.to_le_bytes());
        b[16..24].copy_from_slice(&self.base.to_le_bytes());
        let crc = crc32fast::hash(&b[0..24]);
        b[24..28].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes a header, or says what is wrong with it.
    pub fn decode(b: &[u8]) -> Result<SegmentHeader, String> {
        if b.len() < SEGMENT_HEADER_LEN as usize {
            return Err(format!(
                "segment header is {} bytes, need {SEGMENT_HEADER_LEN}",
                b.len()
            ));
        }
        if b[0..8] != SEGMENT_MAGIC {
            return Err("bad segment magic".to_string());
        }
        let crc = u32_at(b, 24);
        if crc32fast::hash(&b[0..24]) != crc {
            return Err("segment header checksum mismatch".to_string());
        }
        Ok(SegmentHeader {
            seq: u64_at(b, 8),
            base: u64_at(b, 16),
        })
    }
}

/// A decoded record header (the payload is checked separately).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Payload length.
    pub len: u32,
    /// Stored checksum.
    pub crc: u32,
    /// Raft log index.
    pub index: u64,
    /// Raft term.
    pub term: u64,
}

impl RecordHeader {
    /// Parses the 24 header bytes (no validation).
    pub fn parse(b: &[u8; RECORD_HEADER_LEN as usize]) -> RecordHeader {
        RecordHeader {
            len: u32_at(b, 0),
            crc: u32_at(b, 4),
            index: u64_at(b, 8),
            term: u64_at(b, 16),
        }
    }

    /// True if all 24 bytes were zero: the end-of-records marker.
    pub fn is_zero(&self) -> bool {
        self.len == 0 && self.crc == 0 && self.index == 0 && self.term == 0
    }

    /// Total record size on disk.
    pub fn record_len(&self) -> u64 {
        RECORD_HEADER_LEN + u64::from(self.len)
    }

    /// True if the stored checksum matches the header fields and `payload`.
    pub fn checks(&self, payload: &[u8]) -> bool {
        record_crc(self.len, self.index, self.term, payload) == self.crc
    }
}

/// The checksum of a record: over len, index, term and payload.
pub fn record_crc(len: u32, index: u64, term: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&len.to_le_bytes());
    h.update(&index.to_le_bytes());
    h.update(&term.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Appends the encoded record to `out`. The caller guarantees
/// `payload.len() <= u32::MAX`.
pub fn encode_record(out: &mut Vec<u8>, index: u64, term: u64, payload: &[u8]) {
    let len = payload.len() as u32;
    let crc = record_crc(len, index, term, payload);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(&term.to_le_bytes());
    out.extend_from_slice(payload);
}

/// Encodes the metadata map.
pub fn encode_meta(items: &std::collections::BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&META_MAGIC);
    out.extend_from_slice(&(items.len() as u32).to_le_bytes());
    for (k, v) in items {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        out.extend_from_slice(v);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes the metadata map, or says what is wrong (and at which offset).
pub fn decode_meta(b: &[u8]) -> Result<std::collections::BTreeMap<String, Vec<u8>>, (u64, String)> {
    if b.len() < 16 {
        return Err((0, format!("metadata file is only {} bytes", b.len())));
    }
    let body = &b[..b.len() - 4];
    if crc32fast::hash(body) != u32_at(b, b.len() - 4) {
        return Err(((b.len() - 4) as u64, "metadata checksum mismatch".to_string()));
    }
    if body[0..8] != META_MAGIC {
        return Err((0, "bad metadata magic".to_string()));
    }
    let count = u32_at(body, 8);
    let mut pos = 12usize;
    let mut items = std::collections::BTreeMap::new();
    let take = |pos: &mut usize| -> Result<Vec<u8>, (u64, String)> {
        if *pos + 4 > body.len() {
            return Err((*pos as u64, "metadata item runs past the end".to_string()));
        }
        let n = u32_at(body, *pos) as usize;
        *pos += 4;
        if *pos + n > body.len() {
            return Err((*pos as u64, "metadata item runs past the end".to_string()));
        }
        let v = body[*pos..*pos + n].to_vec();
        *pos += n;
        Ok(v)
    };
    for _ in 0..count {
        let at = pos as u64;
        let key =
            String::from_utf8(take(&mut pos)?).map_err(|_| (at, "metadata key is not UTF-8".to_string()))?;
        let value = take(&mut pos)?;
        items.insert(key, value);
    }
    if pos != body.len() {
        return Err((pos as u64, "trailing bytes after the metadata items".to_string()));
    }
    Ok(items)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_record_header_is_never_all_zero() {
        // The smallest, most zero-like record: empty payload, index 0, term 0.
        assert_ne!(record_crc(0, 0, 0, &[]), 0);
        let mut buf = Vec::new();
        encode_record(&mut buf, 0, 0, &[]);
        let h = RecordHeader::parse(buf[..24].try_into().unwrap());
        assert!(!h.is_zero());
        assert!(h.checks(&[]));
    }

    #[test]
    fn record_round_trip_and_checksum_covers_everything() {
        let mut buf = Vec::new();
        encode_record(&mut buf, 7, 3, b"hello");
        assert_eq!(buf.len(), 24 + 5);
        let h = RecordHeader::parse(buf[..24].try_into().unwrap());
        assert_eq!((h.len, h.index, h.term), (5, 7, 3));
        assert!(h.checks(&buf[24..]));
        for i in 0..buf.len() {
            if (4..8).contains(&i) {
                continue;
            }
            let mut bad = buf.clone();
            bad[i] ^= 0x01;
            let h = RecordHeader::parse(bad[..24].try_into().unwrap());
            let payload_ok = h.len as usize == bad.len() - 24;
            assert!(
                !(payload_ok && h.checks(&bad[24..])),
                "flip at byte {i} went unnoticed"
            );
        }
    }

    #[test]
    fn segment_header_round_trip() {
        let h = SegmentHeader { seq: 9, base: 1234 };
        let b = h.encode();
        assert_eq!(SegmentHeader::decode(&b), Ok(h));
        let mut bad = b;
        bad[17] ^= 0xff;
        assert!(SegmentHeader::decode(&bad).is_err());
        assert!(SegmentHeader::decode(&[0u8; 32]).is_err());
        assert!(SegmentHeader::decode(&b[..10]).is_err());
    }

    #[test]
    fn meta_round_trip_and_damage() {
        let mut m = std::collections::BTreeMap::new();
        m.insert("vote".to_string(), b"abc".to_vec());
        m.insert("committed".to_string(), vec![]);
        let b = encode_meta(&m);
        assert_eq!(decode_meta(&b), Ok(m));
        for i in 0..b.len() {
            let mut bad = b.clone();
            bad[i] ^= 0x40;
            assert!(decode_meta(&bad).is_err(), "flip at byte {i} went unnoticed");
        }
        assert!(decode_meta(&b[..b.len() - 1]).is_err());
        assert!(decode_meta(&[]).is_err());
    }
}
