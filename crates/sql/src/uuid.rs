//! The UUID type: 16 bytes, read and written as PostgreSQL does, and
//! `gen_random_uuid()`.
//!
//! Input takes 32 hex digits (either case), optionally in braces, with a
//! hyphen allowed after any group of four digits, so
//! `a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11`,
//! `{A0EEBC99-9C0B4EF8-BB6D6BB9-BD380A11}` and
//! `a0eebc999c0b4ef8bb6d6bb9bd380a11` are the same value; anything else is
//! 22P02 (so is surrounding whitespace, as in PostgreSQL). Output is
//! always the lower-case 8-4-4-4-12 form. Values order as their bytes do
//! (PostgreSQL's order), which is also their key order.
//!
//! Stored rows and catalogs keep working: `Value::Uuid` and
//! `DataType::Uuid` are the last variants of their enums, so what was
//! written before they existed decodes unchanged.
//!
//! `gen_random_uuid()` is a version 4 UUID from the operating system's
//! random source (`ring`'s `SystemRandom`).

use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Result, SqlError, codes};

/// Parses PostgreSQL's accepted text forms (see the module docs).
pub fn parse(s: &str) -> Result<[u8; 16]> {
    let bad = || {
        SqlError::new(
            codes::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type uuid: \"{s}\""),
        )
    };
    let t = match s.strip_prefix('{') {
        Some(inner) => inner.strip_suffix('}').ok_or_else(bad)?,
        None => s,
    };
    let mut out = [0u8; 16];
    let mut digits = 0usize;
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '-' {
            // Only after a group of four digits, never first, last or
            // doubled.
            if digits == 0 || !digits.is_multiple_of(4) || digits == 32 || chars.peek() == Some(&'-') {
                return Err(bad());
            }
            continue;
        }
        let d = c.to_digit(16).ok_or_else(bad)? as u8;
        if digits == 32 {
            return Err(bad());
        }
        out[digits / 2] |= if digits.is_multiple_of(2) { d << 4 } else { d };
        digits += 1;
    }
    if digits != 32 {
        return Err(bad());
    }
    Ok(out)
}

/// The lower-case `8-4-4-4-12` text form.
pub fn format(b: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        s.push(char::from(HEX[usize::from(byte >> 4)]));
        s.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    s
}

/// A random (version 4, RFC 4122 variant) UUID.
pub fn random() -> Result<[u8; 16]> {
    let mut b = [0u8; 16];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| SqlError::internal("the system's random source failed"))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms_read_the_same_value() {
        let want = parse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").expect("canonical");
        for s in [
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
            "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
        ] {
            assert_eq!(parse(s).expect(s), want, "{s}");
        }
        assert_eq!(format(&want), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    }

    #[test]
    fn malformed_input_is_22p02() {
        for s in [
            "",
            "a0eebc99",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
            "a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11",
            "-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
            "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eébc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        ] {
            let err = parse(s).expect_err(s);
            assert_eq!(err.code, codes::INVALID_TEXT_REPRESENTATION, "{s}");
        }
    }

    #[test]
    fn random_uuids_are_version_4_and_distinct() {
        let a = random().expect("random");
        let b = random().expect("random");
        assert_ne!(a, b);
        let text = format(&a);
        assert_eq!(&text[14..15], "4");
        assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"), "{text}");
        assert_eq!(parse(&text).expect("round trip"), a);
    }
}
