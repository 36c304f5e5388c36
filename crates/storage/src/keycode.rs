//! Order-preserving key encoding ("keycode").
//!
//! `encode` turns a tuple of [`KeyValue`]s into bytes such that comparing two
//! encodings byte-wise (as sled and `BTreeMap<Vec<u8>, _>` do) gives the same
//! answer as comparing the tuples element by element. That is what makes a
//! primary-key range a key range and lets an index scan run in key order.
//!
//! # Format
//!
//! Each element is a one-byte type tag followed by its payload. Every element
//! encoding is *prefix-free* (no encoding is a proper prefix of another), so
//! a tuple is just its elements concatenated, and a shorter tuple that is a
//! prefix of a longer one sorts first.
//!
//! | value   | tag  | payload                                                   |
//! |---------|------|-----------------------------------------------------------|
//! | `Bool`  | 0x02 | `0x00` false, `0x01` true                                 |
//! | `Int`   | 0x03 | 8 bytes big-endian with the sign bit flipped              |
//! | `Float` | 0x04 | 8 bytes: IEEE bits, sign bit flipped for positives, all bits flipped for negatives |
//! | `Text`  | 0x05 | UTF-8 bytes, `0x00` escaped as `0x00 0xFF`, ended by `0x00 0x00` |
//! | `Bytes` | 0x06 | as `Text`                                                 |
//! | `Null`  | 0x07 | none                                                      |
//!
//! Deliberate choices:
//! - **NULL sorts after every non-NULL value**, which is PostgreSQL's default
//!   B-tree order (`ASC NULLS LAST`, `DESC NULLS FIRST`).
//! - **-0.0 is stored as 0.0**: SQL says `-0.0 = 0.0`, so they must be the
//!   same key. Decoding gives back 0.0.
//! - **All NaNs are one value that sorts above +infinity**, as in PostgreSQL,
//!   where `NaN = NaN` and NaN is greater than every other float.
//! - **Descending elements** ([`Direction::Desc`]) store the ascending
//!   encoding with every byte inverted; since the ascending encodings are
//!   prefix-free this exactly reverses their order. The inverted tag bytes
//!   (0xF8..=0xFD) differ from the ascending ones, so decoding needs no schema.
//! - Types compare by tag first. The SQL layer keeps a column to one type, so
//!   cross-type order only matters for determinism, not semantics.
//!
//! This module does not know about tables or indexes; the SQL layer decides
//! what tuple goes in a key.

use std::cmp::Ordering;

use crate::error::{Error, Result};

/// One element of an encoded key.
#[derive(Clone, Debug)]
pub enum KeyValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
}

/// Sort direction of one key element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    Asc,
    Desc,
}

const TAG_BOOL: u8 = 0x02;
const TAG_INT: u8 = 0x03;
const TAG_FLOAT: u8 = 0x04;
const TAG_TEXT: u8 = 0x05;
const TAG_BYTES: u8 = 0x06;
const TAG_NULL: u8 = 0x07;

impl KeyValue {
    fn tag(&self) -> u8 {
        match self {
            KeyValue::Null => TAG_NULL,
            KeyValue::Bool(_) => TAG_BOOL,
            KeyValue::Int(_) => TAG_INT,
            KeyValue::Float(_) => TAG_FLOAT,
            KeyValue::Text(_) => TAG_TEXT,
            KeyValue::Bytes(_) => TAG_BYTES,
        }
    }
}

/// The order the encoding preserves: by type tag, then by value; floats by
/// the canonical order described in the module docs.
impl Ord for KeyValue {
    fn cmp(&self, other: &Self) -> Ordering {
        use KeyValue::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => float_bits(*a).cmp(&float_bits(*b)),
            (Text(a), Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            (a, b) => a.tag().cmp(&b.tag()),
        }
    }
}

impl PartialOrd for KeyValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for KeyValue {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for KeyValue {}

/// The order-preserving bit pattern of a float (see module docs).
fn float_bits(f: f64) -> u64 {
    let f = if f.is_nan() {
        f64::NAN
    } else if f == 0.0 {
        0.0
    } else {
        f
    };
    let bits = f.to_bits();
    if bits >> 63 == 1 { !bits } else { bits | 1 << 63 }
}

fn float_from_bits(bits: u64) -> f64 {
    let bits = if bits >> 63 == 1 { bits & !(1 << 63) } else { !bits };
    f64::from_bits(bits)
}

/// Encodes a tuple with every element ascending.
pub fn encode(values: &[KeyValue]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(values.len() * 9);
    for value in values {
        encode_value(&mut buf, value, Direction::Asc);
    }
    buf
}

/// Appends one element in the given direction.
pub fn encode_value(buf: &mut Vec<u8>, value: &KeyValue, direction: Direction) {
    let start = buf.len();
    buf.push(value.tag());
    match value {
        KeyValue::Null => {}
        KeyValue::Bool(b) => buf.push(u8::from(*b)),
        KeyValue::Int(i) => buf.extend_from_slice(&((*i as u64) ^ (1 << 63)).to_be_bytes()),
        KeyValue::Float(f) => buf.extend_from_slice(&float_bits(*f).to_be_bytes()),
        KeyValue::Text(s) => encode_escaped(buf, s.as_bytes()),
        KeyValue::Bytes(b) => encode_escaped(buf, b),
    }
    if direction == Direction::Desc {
        for byte in &mut buf[start..] {
            *byte = !*byte;
        }
    }
}

/// Appends arbitrary bytes, escaped and terminated, without a type tag. Used
/// for internal keys that embed an opaque user key.
pub fn encode_escaped(buf: &mut Vec<u8>, bytes: &[u8]) {
    for &byte in bytes {
        buf.push(byte);
        if byte == 0x00 {
            buf.push(0xFF);
        }
    }
    buf.extend_from_slice(&[0x00, 0x00]);
}

/// Decodes a tuple produced by [`encode`] or [`encode_value`] (any mix of
/// directions). Trailing bytes are an error.
pub fn decode(mut bytes: &[u8]) -> Result<Vec<KeyValue>> {
    let mut values = Vec::new();
    while !bytes.is_empty() {
        values.push(decode_value(&mut bytes)?);
    }
    Ok(values)
}

/// Decodes one element from the front of `input`, advancing it.
pub fn decode_value(input: &mut &[u8]) -> Result<KeyValue> {
    let (&first, rest) = input
        .split_first()
        .ok_or_else(|| Error::decode("key", "unexpected end of key"))?;
    let (tag, invert) = match first {
        TAG_BOOL..=TAG_NULL => (first, false),
        t if (!t) >= TAG_BOOL && (!t) <= TAG_NULL => (!t, true),
        t => return Err(Error::decode("key", format!("unknown type tag {t:#04x}"))),
    };
    *input = rest;
    let byte = |b: u8| if invert { !b } else { b };
    let value = match tag {
        TAG_NULL => KeyValue::Null,
        TAG_BOOL => match take(input, 1)?.first().map(|b| byte(*b)) {
            Some(0) => KeyValue::Bool(false),
            Some(1) => KeyValue::Bool(true),
            other => return Err(Error::decode("key", format!("invalid bool byte {other:?}"))),
        },
        TAG_INT => KeyValue::Int((take_u64(input, invert)? ^ (1 << 63)) as i64),
        TAG_FLOAT => KeyValue::Float(float_from_bits(take_u64(input, invert)?)),
        TAG_TEXT => {
            let raw = decode_escaped_inner(input, invert)?;
            KeyValue::Text(String::from_utf8(raw).map_err(|e| Error::decode("key", e))?)
        }
        TAG_BYTES => KeyValue::Bytes(decode_escaped_inner(input, invert)?),
        _ => unreachable!("tag range checked above"),
    };
    Ok(value)
}

/// Decodes bytes written by [`encode_escaped`] from the front of `input`.
pub fn decode_escaped(input: &mut &[u8]) -> Result<Vec<u8>> {
    decode_escaped_inner(input, false)
}

fn decode_escaped_inner(input: &mut &[u8], invert: bool) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| input.get(i).map(|b| if invert { !*b } else { *b });
    loop {
        match (at(i), at(i + 1)) {
            (Some(0x00), Some(0x00)) => {
                *input = &input[i + 2..];
                return Ok(out);
            }
            (Some(0x00), Some(0xFF)) => {
                out.push(0x00);
                i += 2;
            }
            (Some(0x00), other) => {
                return Err(Error::decode("key", format!("invalid escape 0x00 {other:?}")));
            }
            (Some(b), _) => {
                out.push(b);
                i += 1;
            }
            (None, _) => return Err(Error::decode("key", "unterminated string")),
        }
    }
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
    if input.len() < n {
        return Err(Error::decode("key", "unexpected end of key"));
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

fn take_u64(input: &mut &[u8], invert: bool) -> Result<u64> {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(take(input, 8)?);
    let v = u64::from_be_bytes(raw);
    Ok(if invert { !v } else { v })
}

/// The smallest key greater than every key that starts with `prefix`, or
/// `None` if there is none (the prefix is all 0xFF). Used for prefix scans.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = KeyValue> {
        prop_oneof![
            Just(KeyValue::Null),
            any::<bool>().prop_map(KeyValue::Bool),
            any::<i64>().prop_map(KeyValue::Int),
            prop_oneof![
                any::<f64>(),
                Just(f64::NAN),
                Just(-0.0),
                Just(0.0),
                Just(f64::INFINITY),
                Just(f64::NEG_INFINITY),
                Just(f64::MIN_POSITIVE),
                Just(-f64::MIN_POSITIVE),
            ]
            .prop_map(KeyValue::Float),
            "[a\u{0}\u{7f}é]{0,6}".prop_map(KeyValue::Text),
            prop::collection::vec(prop_oneof![Just(0u8), Just(0xFF), any::<u8>()], 0..6)
                .prop_map(KeyValue::Bytes),
        ]
    }

    fn directed() -> impl Strategy<Value = (KeyValue, Direction)> {
        (value(), prop_oneof![Just(Direction::Asc), Just(Direction::Desc)])
    }

    fn encode_directed(tuple: &[(KeyValue, Direction)]) -> Vec<u8> {
        let mut buf = Vec::new();
        for (v, d) in tuple {
            encode_value(&mut buf, v, *d);
        }
        buf
    }

    fn cmp_directed(a: &[(KeyValue, Direction)], b: &[(KeyValue, Direction)]) -> Ordering {
        for ((x, dx), (y, dy)) in a.iter().zip(b) {
            assert_eq!(dx, dy);
            let o = match dx {
                Direction::Asc => x.cmp(y),
                Direction::Desc => y.cmp(x),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.len().cmp(&b.len())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn order_is_preserved(a in prop::collection::vec(value(), 0..4),
                              b in prop::collection::vec(value(), 0..4)) {
            let (ea, eb) = (encode(&a), encode(&b));
            prop_assert_eq!(a.cmp(&b), ea.cmp(&eb), "{:?} vs {:?}", a, b);
        }

        #[test]
        fn roundtrip(a in prop::collection::vec(value(), 0..5)) {
            prop_assert_eq!(decode(&encode(&a)).unwrap(), a);
        }

        #[test]
        fn mixed_directions_preserve_order_and_roundtrip(
            dirs in prop::collection::vec(prop_oneof![Just(Direction::Asc), Just(Direction::Desc)], 1..4),
            seed_a in prop::collection::vec(directed(), 4),
            seed_b in prop::collection::vec(directed(), 4),
        ) {
            // Two tuples with the same per-column direction, as in an index.
            let a: Vec<_> = dirs.iter().zip(&seed_a).map(|(d, (v, _))| (v.clone(), *d)).collect();
            let b: Vec<_> = dirs.iter().zip(&seed_b).map(|(d, (v, _))| (v.clone(), *d)).collect();
            let (ea, eb) = (encode_directed(&a), encode_directed(&b));
            prop_assert_eq!(cmp_directed(&a, &b), ea.cmp(&eb));
            let decoded = decode(&ea).unwrap();
            let values: Vec<_> = a.into_iter().map(|(v, _)| v).collect();
            prop_assert_eq!(decoded, values);
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..32)) {
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn float_special_values() {
        let order = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -f64::MIN_POSITIVE,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            f64::INFINITY,
            f64::NAN,
        ];
        let encoded: Vec<_> = order.iter().map(|f| encode(&[KeyValue::Float(*f)])).collect();
        assert!(encoded.windows(2).all(|w| w[0] < w[1]));
        // -0.0 and 0.0 are the same key; every NaN is the same key.
        assert_eq!(encode(&[KeyValue::Float(-0.0)]), encode(&[KeyValue::Float(0.0)]));
        let other_nan = f64::from_bits(f64::NAN.to_bits() | 1);
        assert_eq!(
            encode(&[KeyValue::Float(other_nan)]),
            encode(&[KeyValue::Float(f64::NAN)])
        );
        match decode(&encode(&[KeyValue::Float(-0.0)])).unwrap().as_slice() {
            [KeyValue::Float(f)] => assert!(f.is_sign_positive() && *f == 0.0),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn null_sorts_last_ascending_and_first_descending() {
        let null = encode(&[KeyValue::Null]);
        for v in [
            KeyValue::Int(i64::MAX),
            KeyValue::Text("\u{10FFFF}".into()),
            KeyValue::Bytes(vec![0xFF; 4]),
        ] {
            assert!(encode(std::slice::from_ref(&v)) < null);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            encode_value(&mut a, &KeyValue::Null, Direction::Desc);
            encode_value(&mut b, &v, Direction::Desc);
            assert!(a < b);
        }
    }

    #[test]
    fn rejects_malformed_input_with_an_error() {
        assert!(decode(&[0x42]).is_err()); // unknown tag
        assert!(decode(&[TAG_INT, 1, 2]).is_err()); // truncated
        assert!(decode(&[TAG_TEXT, b'a']).is_err()); // unterminated
        assert!(decode(&[TAG_TEXT, 0x00, 0x01]).is_err()); // bad escape
        assert!(decode(&[TAG_TEXT, 0xC3, 0x28, 0x00, 0x00]).is_err()); // bad UTF-8
        assert!(decode(&[TAG_BOOL, 7]).is_err());
    }

    #[test]
    fn prefix_end_bounds_every_key_with_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[0x01, 0xFF]), Some(vec![0x02]));
        assert_eq!(prefix_end(&[0xFF, 0xFF]), None);
    }
}
