//! Value codec: SQL values to and from PostgreSQL wire formats.
//!
//! - [`pg_type`] maps a [`DataType`] to the wire [`Type`] (OID) and back
//!   ([`data_type_of`]).
//! - [`encode_row`] builds a `DataRow` from engine values, each column in
//!   the text or binary format the client asked for; a value whose runtime
//!   kind differs from the described column type is cast first, so the
//!   bytes always match the RowDescription the client already has.
//! - [`decode_param`] turns a Bind parameter (text or binary) into a
//!   [`Value`].
//!
//! Invariants: nothing here panics on client bytes — every malformed input
//! is an `SqlError` (22P02 / 22021 / 08P01); format-code lists shorter than
//! the column count are read with bounds checks (pgwire's own
//! `Format::format_for` indexes without one).
//!
//! Deliberately not done: arrays, intervals, timestamptz as a distinct
//! type (a timestamptz parameter is read as UTC and stored as timestamp),
//! typmods other than varchar(n) and numeric(p,s).

use bytes::{BufMut, BytesMut};
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::FieldFormat;
use pgwire::messages::data::DataRow;
use quorumdb_sql::numeric::Decimal;
use quorumdb_sql::{DataType, SqlError, Value};

/// Days between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
/// Microseconds between 1970-01-01 and 2000-01-01.
const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS * 86_400_000_000;

/// The wire type of an engine type.
pub fn pg_type(ty: DataType) -> Type {
    match ty {
        DataType::Bool => Type::BOOL,
        DataType::Int2 => Type::INT2,
        DataType::Int4 => Type::INT4,
        DataType::Int8 => Type::INT8,
        DataType::Float4 => Type::FLOAT4,
        DataType::Float8 => Type::FLOAT8,
        DataType::Numeric(_) => Type::NUMERIC,
        DataType::Text(None) | DataType::Unknown => Type::TEXT,
        DataType::Text(Some(_)) => Type::VARCHAR,
        DataType::Date => Type::DATE,
        DataType::Timestamp => Type::TIMESTAMP,
        DataType::TimestampTz => Type::TIMESTAMPTZ,
        DataType::Bytea => Type::BYTEA,
        DataType::Interval => Type::INTERVAL,
        DataType::Uuid => Type::UUID,
    }
}

/// `pg_attribute.atttypmod` for a column type (-1 when none).
pub fn type_modifier(ty: DataType) -> i32 {
    match ty {
        DataType::Text(Some(n)) => i32::try_from(n).map(|n| n.saturating_add(4)).unwrap_or(-1),
        DataType::Numeric(Some((p, s))) => ((i32::from(p) << 16) | i32::from(s)) + 4,
        _ => -1,
    }
}

/// `pg_type.typlen` for a column type (-1 for variable width).
pub fn type_size(ty: DataType) -> i16 {
    match ty {
        DataType::Bool => 1,
        DataType::Int2 => 2,
        DataType::Int4 | DataType::Float4 | DataType::Date => 4,
        DataType::Int8 | DataType::Float8 | DataType::Timestamp | DataType::TimestampTz => 8,
        DataType::Interval | DataType::Uuid => 16,
        _ => -1,
    }
}

/// The engine type for a wire type, when the engine has one.
pub fn data_type_of(ty: &Type) -> Option<DataType> {
    Some(match *ty {
        Type::BOOL => DataType::Bool,
        Type::INT2 => DataType::Int2,
        Type::INT4 | Type::OID => DataType::Int4,
        Type::INT8 => DataType::Int8,
        Type::FLOAT4 => DataType::Float4,
        Type::FLOAT8 => DataType::Float8,
        Type::NUMERIC => DataType::Numeric(None),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => DataType::Text(None),
        Type::DATE => DataType::Date,
        Type::TIMESTAMP => DataType::Timestamp,
        Type::TIMESTAMPTZ => DataType::TimestampTz,
        Type::BYTEA => DataType::Bytea,
        Type::INTERVAL => DataType::Interval,
        Type::UUID => DataType::Uuid,
        _ => return None,
    })
}

/// The format of column/parameter `idx`, tolerating short code lists (a
/// protocol violation answered by PostgreSQL with 08P01; here text).
pub fn format_at(format: &Format, idx: usize) -> FieldFormat {
    match format {
        Format::UnifiedText => FieldFormat::Text,
        Format::UnifiedBinary => FieldFormat::Binary,
        Format::Individual(codes) => match codes.get(idx) {
            Some(1) => FieldFormat::Binary,
            _ => FieldFormat::Text,
        },
    }
}

/// Encodes one row; `types[i]` and `formats[i]` describe column `i`.
pub fn encode_row(row: &[Value], types: &[DataType], formats: &[FieldFormat]) -> Result<DataRow, SqlError> {
    let mut buf = BytesMut::with_capacity(16 * row.len().max(1));
    for (i, v) in row.iter().enumerate() {
        let ty = types.get(i).copied().unwrap_or(DataType::Unknown);
        let fmt = formats.get(i).copied().unwrap_or(FieldFormat::Text);
        match encode_value(v, ty, fmt)? {
            None => buf.put_i32(-1),
            Some(bytes) => {
                let len = i32::try_from(bytes.len())
                    .map_err(|_| SqlError::new("54000", "value too large for the wire protocol"))?;
                buf.put_i32(len);
                buf.put_slice(&bytes);
            }
        }
    }
    let field_count = i16::try_from(row.len()).map_err(|_| SqlError::new("54011", "too many columns"))?;
    Ok(DataRow::new(buf, field_count))
}

/// Encodes one value of a column of type `ty` (`None` for NULL).
pub fn encode_value(v: &Value, ty: DataType, fmt: FieldFormat) -> Result<Option<Vec<u8>>, SqlError> {
    if v.is_null() {
        return Ok(None);
    }
    // An untyped column is described as text: send its text form.
    let ty = if ty == DataType::Unknown {
        DataType::Text(None)
    } else {
        ty
    };
    // Make the value's kind match the described type.
    let cast;
    let v = match (v, ty) {
        (Value::Int(_), t) if t.is_integer() => v,
        (Value::Float(_), t) if t.is_float() => v,
        (Value::Text(_), DataType::Text(_)) => v,
        (Value::Bool(_), DataType::Bool)
        | (Value::Numeric(_), DataType::Numeric(_))
        | (Value::Date(_), DataType::Date)
        | (Value::Timestamp(_), DataType::Timestamp | DataType::TimestampTz)
        | (Value::Bytes(_), DataType::Bytea)
        | (Value::Interval(_), DataType::Interval)
        | (Value::Uuid(_), DataType::Uuid) => v,
        _ => {
            cast = v.cast(ty)?;
            &cast
        }
    };
    if fmt == FieldFormat::Text {
        let text = match (v, ty) {
            (Value::Float(f), DataType::Float4) => float4_text(*f),
            // The session time zone is UTC; PostgreSQL prints its offset.
            (Value::Timestamp(_), DataType::TimestampTz) => format!("{}+00", v.to_text().unwrap_or_default()),
            _ => v.to_text().unwrap_or_default(),
        };
        return Ok(Some(text.into_bytes()));
    }
    Ok(Some(match (v, ty) {
        (Value::Bool(b), _) => vec![u8::from(*b)],
        (Value::Int(i), DataType::Int2) => i16::try_from(*i)
            .map_err(|_| SqlError::overflow("smallint"))?
            .to_be_bytes()
            .to_vec(),
        (Value::Int(i), DataType::Int4) => i32::try_from(*i)
            .map_err(|_| SqlError::overflow("integer"))?
            .to_be_bytes()
            .to_vec(),
        (Value::Int(i), _) => i.to_be_bytes().to_vec(),
        (Value::Float(f), DataType::Float4) => (*f as f32).to_be_bytes().to_vec(),
        (Value::Float(f), _) => f.to_be_bytes().to_vec(),
        (Value::Numeric(d), _) => encode_numeric(&d.to_string()),
        (Value::Date(d), _) => {
            let days = i64::from(*d) - PG_EPOCH_DAYS;
            i32::try_from(days)
                .map_err(|_| SqlError::overflow("date"))?
                .to_be_bytes()
                .to_vec()
        }
        (Value::Timestamp(t), _) => t
            .checked_sub(PG_EPOCH_MICROS)
            .ok_or_else(|| SqlError::overflow("timestamp"))?
            .to_be_bytes()
            .to_vec(),
        (Value::Bytes(b), _) => b.clone(),
        (Value::Uuid(u), _) => u.to_vec(),
        // PostgreSQL's binary interval: time (micros), days, months.
        (Value::Interval(iv), _) => {
            let mut out = iv.micros.to_be_bytes().to_vec();
            out.extend(iv.days.to_be_bytes());
            out.extend(iv.months.to_be_bytes());
            out
        }
        (other, _) => other.to_text().unwrap_or_default().into_bytes(),
    }))
}

/// float4 text: the shortest text that round-trips the 32-bit value, laid
/// out as PostgreSQL prints a real.
fn float4_text(f: f64) -> String {
    quorumdb_sql::types::format_float4(f as f32)
}

/// Decodes a Bind parameter whose Parse-time type is `wire` (None or
/// unknown: the engine coerces it). Like [`decode_param`], except that a
/// text timestamp with a UTC offset (`2024-02-29 13:45:30+00`, as pgjdbc
/// sends for `LocalDateTime`) is read as PostgreSQL does: `timestamp`
/// ignores the offset, `timestamptz` converts the value to UTC.
pub fn decode_wire_param(
    bytes: Option<&[u8]>,
    wire: Option<&Type>,
    fmt: FieldFormat,
) -> Result<Value, SqlError> {
    let ty = wire.and_then(data_type_of);
    if let (Some(b), FieldFormat::Text, Some(w @ (&Type::TIMESTAMP | &Type::TIMESTAMPTZ))) =
        (bytes, fmt, wire)
        && let Some((local, offset_secs)) = split_utc_offset(utf8(b)?.trim())
    {
        let micros = quorumdb_sql::datetime::parse_timestamp(local)?;
        let shift = if *w == Type::TIMESTAMPTZ {
            offset_secs * 1_000_000
        } else {
            0
        };
        return Ok(Value::Timestamp(
            micros
                .checked_sub(shift)
                .ok_or_else(|| SqlError::overflow("timestamp"))?,
        ));
    }
    decode_param(bytes, ty, fmt)
}

/// Splits `<date> <time><offset>` into the local part and the offset in
/// seconds east of UTC; offsets are `Z`, `±HH`, `±HHMM` or `±HH:MM[:SS]`
/// after a time of day. `None` when there is no offset.
fn split_utc_offset(s: &str) -> Option<(&str, i64)> {
    let time_at = s.find([' ', 'T'])? + 1;
    let time = &s[time_at..];
    if let Some(local) = time.strip_suffix('Z') {
        return Some((&s[..time_at + local.len()], 0));
    }
    let sign_at = time.rfind(['+', '-'])?;
    let (local, zone) = (&time[..sign_at], &time[sign_at..]);
    if !local.contains(':') {
        return None;
    }
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let digits = &zone[1..];
    if !digits.chars().all(|c| c.is_ascii_digit() || c == ':') {
        return None;
    }
    let fields: Vec<&str> = if digits.contains(':') {
        digits.split(':').collect()
    } else if digits.len() == 4 {
        vec![&digits[..2], &digits[2..]]
    } else {
        vec![digits]
    };
    if fields.is_empty() || fields.len() > 3 {
        return None;
    }
    let mut secs = 0i64;
    for (i, f) in fields.iter().enumerate() {
        if f.is_empty() || f.len() > 2 || !f.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let n: i64 = f.parse().ok()?;
        secs += n * [3600, 60, 1][i];
    }
    if secs > 16 * 3600 {
        return None;
    }
    Some((s[..time_at + local.len()].trim_end(), sign * secs))
}

/// Decodes a Bind parameter of declared type `ty` (None: unknown).
pub fn decode_param(bytes: Option<&[u8]>, ty: Option<DataType>, fmt: FieldFormat) -> Result<Value, SqlError> {
    let Some(bytes) = bytes else {
        return Ok(Value::Null);
    };
    if fmt == FieldFormat::Text {
        let s = utf8(bytes)?;
        // A text parameter acts like an untyped literal: the engine coerces
        // it where it is used. Bytea text input is decoded here so that
        // `\x..` reaches a bytea column as bytes.
        return Ok(match ty {
            Some(DataType::Bytea) => Value::Bytes(quorumdb_sql::types::parse_bytea(s)?),
            // Arithmetic takes no text operand (`now() + $1`): read an
            // interval sent as text here, as drivers send timedeltas.
            Some(DataType::Interval) => Value::Interval(quorumdb_sql::interval::parse(s)?),
            Some(DataType::Uuid) => Value::Uuid(quorumdb_sql::uuid::parse(s)?),
            _ => Value::Text(s.to_owned()),
        });
    }
    let bad = |what: &str| {
        SqlError::new(
            "22P03",
            format!("incorrect binary data format in bind parameter ({what})"),
        )
    };
    Ok(match ty {
        Some(DataType::Bool) => match bytes {
            [b] => Value::Bool(*b != 0),
            _ => return Err(bad("boolean")),
        },
        Some(DataType::Int2) => Value::Int(i64::from(i16::from_be_bytes(
            bytes.try_into().map_err(|_| bad("smallint"))?,
        ))),
        Some(DataType::Int4) => Value::Int(i64::from(i32::from_be_bytes(
            bytes.try_into().map_err(|_| bad("integer"))?,
        ))),
        Some(DataType::Int8) => Value::Int(i64::from_be_bytes(bytes.try_into().map_err(|_| bad("bigint"))?)),
        Some(DataType::Float4) => Value::Float(f64::from(f32::from_be_bytes(
            bytes.try_into().map_err(|_| bad("real"))?,
        ))),
        Some(DataType::Float8) => Value::Float(f64::from_be_bytes(
            bytes.try_into().map_err(|_| bad("double precision"))?,
        )),
        Some(DataType::Numeric(_)) => {
            let text = decode_numeric(bytes).ok_or_else(|| bad("numeric"))?;
            Value::Numeric(Decimal::parse(&text)?)
        }
        Some(DataType::Date) => {
            let d = i32::from_be_bytes(bytes.try_into().map_err(|_| bad("date"))?);
            let days = i64::from(d) + PG_EPOCH_DAYS;
            Value::Date(i32::try_from(days).map_err(|_| SqlError::overflow("date"))?)
        }
        Some(DataType::Timestamp | DataType::TimestampTz) => {
            let t = i64::from_be_bytes(bytes.try_into().map_err(|_| bad("timestamp"))?);
            Value::Timestamp(
                t.checked_add(PG_EPOCH_MICROS)
                    .ok_or_else(|| SqlError::overflow("timestamp"))?,
            )
        }
        Some(DataType::Bytea) => Value::Bytes(bytes.to_vec()),
        Some(DataType::Interval) => {
            let [t @ .., d0, d1, d2, d3, m0, m1, m2, m3] = bytes else {
                return Err(bad("interval"));
            };
            Value::Interval(quorumdb_sql::interval::Interval {
                micros: i64::from_be_bytes(t.try_into().map_err(|_| bad("interval"))?),
                days: i32::from_be_bytes([*d0, *d1, *d2, *d3]),
                months: i32::from_be_bytes([*m0, *m1, *m2, *m3]),
            })
        }
        Some(DataType::Uuid) => Value::Uuid(bytes.try_into().map_err(|_| bad("uuid"))?),
        Some(DataType::Text(_)) | Some(DataType::Unknown) | None => Value::Text(utf8(bytes)?.to_owned()),
    })
}

fn utf8(bytes: &[u8]) -> Result<&str, SqlError> {
    std::str::from_utf8(bytes)
        .map_err(|_| SqlError::new("22021", "invalid byte sequence for encoding \"UTF8\""))
}

/// PostgreSQL binary NUMERIC from decimal text (`-123.4500`).
pub fn encode_numeric(text: &str) -> Vec<u8> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let dscale = frac.len();
    let int = int.trim_start_matches('0');
    // Left-pad the integer part and right-pad the fraction to groups of 4.
    let int_pad = (4 - int.len() % 4) % 4;
    let frac_pad = (4 - frac.len() % 4) % 4;
    let all: String = "0".repeat(int_pad) + int + frac + &"0".repeat(frac_pad);
    let mut groups: Vec<i16> = all
        .as_bytes()
        .chunks(4)
        .map(|c| {
            c.iter()
                .fold(0i16, |acc, d| acc * 10 + i16::from(d.saturating_sub(b'0')))
        })
        .collect();
    let int_groups = (int.len() + int_pad) / 4;
    let mut weight = int_groups as i64 - 1;
    // Strip leading zero groups (adjusting the weight) and trailing ones.
    let lead = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..lead);
    weight -= lead as i64;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let mut out = Vec::with_capacity(8 + 2 * groups.len());
    out.extend_from_slice(&(groups.len() as i16).to_be_bytes());
    out.extend_from_slice(&(weight as i16).to_be_bytes());
    let sign: u16 = if neg && !groups.is_empty() { 0x4000 } else { 0 };
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(dscale as i16).to_be_bytes());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    out
}

/// Decimal text from PostgreSQL binary NUMERIC (`None` if malformed or NaN).
pub fn decode_numeric(b: &[u8]) -> Option<String> {
    let rd = |i: usize| -> Option<i16> { Some(i16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?])) };
    let ndigits = usize::try_from(rd(0)?).ok()?;
    let weight = i64::from(rd(2)?);
    let sign = rd(4)? as u16;
    let dscale = usize::try_from(rd(6)?).ok()?;
    if sign == 0xC000 || b.len() != 8 + 2 * ndigits || dscale > 1000 || weight.abs() > 10_000 {
        return None;
    }
    let mut digits = Vec::with_capacity(ndigits);
    for i in 0..ndigits {
        let d = rd(8 + 2 * i)?;
        if !(0..10_000).contains(&d) {
            return None;
        }
        digits.push(d);
    }
    // Group k (0-based) is worth 10000^(weight - k).
    let group = |k: i64| -> i16 {
        usize::try_from(k)
            .ok()
            .and_then(|k| digits.get(k).copied())
            .unwrap_or(0)
    };
    let mut int = String::new();
    for k in 0..=weight.max(-1) {
        if k > weight {
            break;
        }
        int.push_str(&format!("{:04}", group(k)));
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let mut frac = String::new();
    let mut k = weight + 1;
    while frac.len() < dscale {
        frac.push_str(&format!("{:04}", group(k)));
        k += 1;
    }
    frac.truncate(dscale);
    let sign = if sign == 0x4000 { "-" } else { "" };
    Some(if dscale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    })
}

#[cfg(test)]
mod tests {

    /// An interval parameter arrives in text from most drivers (psycopg's
    /// timedelta, pgjdbc's PGInterval) and in binary from others: both
    /// become the same value.
    #[test]
    fn interval_parameters_decode_from_text_and_binary() {
        let want = Value::Interval(quorumdb_sql::interval::Interval {
            months: 1,
            days: 2,
            micros: 3_000_000,
        });
        let text = decode_param(
            Some(b"1 mon 2 days 00:00:03"),
            Some(DataType::Interval),
            FieldFormat::Text,
        );
        assert_eq!(text.unwrap(), want);
        let mut binary = 3_000_000i64.to_be_bytes().to_vec();
        binary.extend(2i32.to_be_bytes());
        binary.extend(1i32.to_be_bytes());
        let decoded = decode_param(Some(&binary), Some(DataType::Interval), FieldFormat::Binary);
        assert_eq!(decoded.unwrap(), want);
        let bad = decode_param(Some(&binary[..15]), Some(DataType::Interval), FieldFormat::Binary);
        assert_eq!(bad.unwrap_err().code, "22P03");
        let garbage = decode_param(Some(b"soon"), Some(DataType::Interval), FieldFormat::Text);
        assert_eq!(garbage.unwrap_err().code, "22007");
    }

    /// A UUID travels as its 36-character text or as 16 bytes (pgjdbc
    /// sends `java.util.UUID` in binary); both ways round-trip, and a
    /// wrong length or bad text is an error, never a panic.
    #[test]
    fn uuid_values_round_trip_in_text_and_binary() {
        let text = b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        let v = decode_param(Some(text), Some(DataType::Uuid), FieldFormat::Text).unwrap();
        let binary = encode_value(&v, DataType::Uuid, FieldFormat::Binary)
            .unwrap()
            .unwrap();
        assert_eq!(binary.len(), 16);
        assert_eq!(binary[..2], [0xa0, 0xee]);
        let back = decode_param(Some(&binary), Some(DataType::Uuid), FieldFormat::Binary).unwrap();
        assert_eq!(back, v);
        let out = encode_value(&v, DataType::Uuid, FieldFormat::Text)
            .unwrap()
            .unwrap();
        assert_eq!(out, text);
        assert_eq!(pg_type(DataType::Uuid), Type::UUID);
        assert_eq!(data_type_of(&Type::UUID), Some(DataType::Uuid));
        let short = decode_param(Some(&binary[..15]), Some(DataType::Uuid), FieldFormat::Binary);
        assert_eq!(short.unwrap_err().code, "22P03");
        let garbage = decode_param(Some(b"nope"), Some(DataType::Uuid), FieldFormat::Text);
        assert_eq!(garbage.unwrap_err().code, "22P02");
    }

    use super::*;

    #[test]
    fn numeric_round_trips() {
        for s in [
            "0",
            "1",
            "-1",
            "123.4500",
            "0.0001",
            "-0.05",
            "10000",
            "123456789.987654321",
            "1.50",
        ] {
            let enc = encode_numeric(s);
            assert_eq!(decode_numeric(&enc).as_deref(), Some(s), "{s}");
        }
    }

    #[test]
    fn text_timestamps_with_offsets() {
        let ts = |s: &str, wire: &Type| decode_wire_param(Some(s.as_bytes()), Some(wire), FieldFormat::Text);
        let local = quorumdb_sql::datetime::parse_timestamp("2024-02-29 13:45:30.123456").unwrap();
        assert_eq!(
            ts("2024-02-29 13:45:30.123456+00", &Type::TIMESTAMP).unwrap(),
            Value::Timestamp(local)
        );
        assert_eq!(
            ts("2024-02-29 13:45:30.123456-08:00", &Type::TIMESTAMP).unwrap(),
            Value::Timestamp(local)
        );
        assert_eq!(
            ts("2024-02-29 13:45:30.123456+0530", &Type::TIMESTAMPTZ).unwrap(),
            Value::Timestamp(local - 19_800_000_000)
        );
        assert_eq!(
            ts("2024-02-29T13:45:30.123456Z", &Type::TIMESTAMPTZ).unwrap(),
            Value::Timestamp(local)
        );
        // No offset: left to the engine, as before.
        assert_eq!(
            ts("2024-02-29 13:45:30", &Type::TIMESTAMP).unwrap(),
            Value::Text("2024-02-29 13:45:30".into())
        );
        assert_eq!(
            ts("2024-02-29", &Type::TIMESTAMP).unwrap(),
            Value::Text("2024-02-29".into())
        );
        assert!(ts("2024-02-29 13:45:30+99", &Type::TIMESTAMP).is_ok());
        assert!(ts("2024-02-29 13:45:30+ab", &Type::TIMESTAMP).is_ok());
        for odd in [
            "2024-02-29 13:45:30+1é1",
            "2024-02-29 13:45:30+é",
            "x y:+",
            "T:-",
            " :+::::",
        ] {
            let _ = ts(odd, &Type::TIMESTAMPTZ);
        }
    }

    #[test]
    fn malformed_binary_params_are_errors() {
        let e = decode_param(Some(&[1, 2, 3]), Some(DataType::Int4), FieldFormat::Binary).unwrap_err();
        assert_eq!(e.code, "22P03");
        assert!(decode_numeric(&[0, 1]).is_none());
        let e = decode_param(Some(&[0xff]), None, FieldFormat::Text).unwrap_err();
        assert_eq!(e.code, "22021");
    }
}
