//! SQL data types and runtime values.
//!
//! A [`Value`] carries its own runtime kind; a [`DataType`] is the declared
//! type of a column or the inferred type of an expression. All integer
//! widths share `Value::Int(i64)`; the declared width is enforced when a
//! value is stored or cast (22003 when it does not fit). Arithmetic is
//! checked in 64 bits (never wraps).
//!
//! Adding a type (NUMERIC, DATE, TIMESTAMP, BYTEA, INTERVAL) means: a `DataType`
//! variant, a `Value` variant if its representation is new, its cast rules
//! in [`Value::cast`], its key encoding in `keys.rs` and its text form in
//! [`Value::to_text`].

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use crate::error::{Result, SqlError, codes};
use crate::numeric::Decimal;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// NUMERIC, optionally with (precision, scale).
    Numeric(Option<(u16, u16)>),
    /// TEXT, or VARCHAR(n)/CHAR(n) with a maximum length in characters.
    Text(Option<u32>),
    Date,
    Timestamp,
    /// TIMESTAMP WITH TIME ZONE: a [`Value::Timestamp`] read as UTC (the
    /// session time zone is always UTC).
    TimestampTz,
    Bytea,
    /// The type of a bare NULL literal; coerces to anything.
    Unknown,
    /// INTERVAL (see [`crate::interval`]). After the types above, so
    /// stored definitions of those decode unchanged.
    Interval,
    /// UUID (see [`crate::uuid`]). Last, for the same reason.
    Uuid,
}

impl DataType {
    pub fn is_integer(self) -> bool {
        matches!(self, DataType::Int2 | DataType::Int4 | DataType::Int8)
    }
    pub fn is_float(self) -> bool {
        matches!(self, DataType::Float4 | DataType::Float8)
    }
    pub fn is_numeric(self) -> bool {
        self.is_integer() || self.is_float() || matches!(self, DataType::Numeric(_))
    }
    /// PostgreSQL's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            DataType::Bool => "boolean",
            DataType::Int2 => "smallint",
            DataType::Int4 => "integer",
            DataType::Int8 => "bigint",
            DataType::Float4 => "real",
            DataType::Float8 => "double precision",
            DataType::Numeric(_) => "numeric",
            DataType::Text(None) => "text",
            DataType::Text(Some(_)) => "character varying",
            DataType::Date => "date",
            DataType::Timestamp => "timestamp without time zone",
            DataType::TimestampTz => "timestamp with time zone",
            DataType::Bytea => "bytea",
            DataType::Unknown => "unknown",
            DataType::Interval => "interval",
            DataType::Uuid => "uuid",
        }
    }
    /// PostgreSQL's internal name for the type (`pg_type.typname`).
    pub fn internal_name(self) -> &'static str {
        match self {
            DataType::Bool => "bool",
            DataType::Int2 => "int2",
            DataType::Int4 => "int4",
            DataType::Int8 => "int8",
            DataType::Float4 => "float4",
            DataType::Float8 => "float8",
            DataType::Numeric(_) => "numeric",
            DataType::Text(None) => "text",
            DataType::Text(Some(_)) => "varchar",
            DataType::Date => "date",
            DataType::Timestamp => "timestamp",
            DataType::TimestampTz => "timestamptz",
            DataType::Bytea => "bytea",
            DataType::Unknown => "unknown",
            DataType::Interval => "interval",
            DataType::Uuid => "uuid",
        }
    }
    /// PostgreSQL type OID, for the wire protocol.
    pub fn oid(self) -> u32 {
        match self {
            DataType::Bool => 16,
            DataType::Int2 => 21,
            DataType::Int4 => 23,
            DataType::Int8 => 20,
            DataType::Float4 => 700,
            DataType::Float8 => 701,
            DataType::Numeric(_) => 1700,
            DataType::Text(None) | DataType::Unknown => 25,
            DataType::Text(Some(_)) => 1043,
            DataType::Date => 1082,
            DataType::Timestamp => 1114,
            DataType::TimestampTz => 1184,
            DataType::Bytea => 17,
            DataType::Interval => 1186,
            DataType::Uuid => 2950,
        }
    }
    /// The common type of two operands (for arithmetic, CASE, UNION, ...).
    pub fn common(a: DataType, b: DataType) -> DataType {
        use DataType::*;
        match (a, b) {
            (Unknown, x) | (x, Unknown) => x,
            (x, y) if x == y => x,
            (x, y) if x.is_float() || y.is_float() => {
                if x.is_numeric() && y.is_numeric() {
                    Float8
                } else {
                    x
                }
            }
            (Numeric(_), y) | (y, Numeric(_)) if y.is_numeric() => Numeric(None),
            (x, y) if x.is_integer() && y.is_integer() => {
                if x == Int8 || y == Int8 {
                    Int8
                } else if x == Int4 || y == Int4 {
                    Int4
                } else {
                    Int2
                }
            }
            (Text(_), Text(_)) => Text(None),
            (Date, Timestamp) | (Timestamp, Date) => Timestamp,
            (Text(_), x) | (x, Text(_)) => x,
            (x, _) => x,
        }
    }
}

/// A runtime value.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01 00:00:00.
    Timestamp(i64),
    Bytes(Vec<u8>),
    Numeric(Decimal),
    /// After the kinds above, so stored rows of those decode unchanged.
    Interval(crate::interval::Interval),
    /// A UUID's 16 bytes. Last, for the same reason.
    Uuid([u8; 16]),
}

pub type Row = Vec<Value>;

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The natural type of a value (for literals).
    pub fn data_type(&self) -> DataType {
        match self {
            Value::Null => DataType::Unknown,
            Value::Bool(_) => DataType::Bool,
            Value::Int(i) if i32::try_from(*i).is_ok() => DataType::Int4,
            Value::Int(_) => DataType::Int8,
            Value::Float(_) => DataType::Float8,
            Value::Text(_) => DataType::Text(None),
            Value::Date(_) => DataType::Date,
            Value::Timestamp(_) => DataType::Timestamp,
            Value::Bytes(_) => DataType::Bytea,
            Value::Numeric(_) => DataType::Numeric(None),
            Value::Interval(_) => DataType::Interval,
            Value::Uuid(_) => DataType::Uuid,
        }
    }

    /// SQL comparison; `None` when either side is NULL. Numbers compare
    /// across int/float; text compares bytewise (the C collation).
    pub fn sql_cmp(&self, other: &Value) -> Result<Option<Ordering>> {
        use Value::*;
        Ok(Some(match (self, other) {
            (Null, _) | (_, Null) => return Ok(None),
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Int(a), Float(b)) => cmp_f64(*a as f64, *b),
            (Float(a), Int(b)) => cmp_f64(*a, *b as f64),
            (Float(a), Float(b)) => cmp_f64(*a, *b),
            (Text(a), Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Date(a), Date(b)) => a.cmp(b),
            (Timestamp(a), Timestamp(b)) => a.cmp(b),
            (Date(a), Timestamp(b)) => crate::datetime::date_to_timestamp(*a).cmp(b),
            (Timestamp(a), Date(b)) => a.cmp(&crate::datetime::date_to_timestamp(*b)),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            (Numeric(a), Numeric(b)) => a.cmp(b),
            (Interval(a), Interval(b)) => a.span().cmp(&b.span()),
            (Uuid(a), Uuid(b)) => a.cmp(b),
            (Numeric(a), Int(b)) => a.cmp(&Decimal::from_i64(*b)),
            (Int(a), Numeric(b)) => Decimal::from_i64(*a).cmp(b),
            (Numeric(a), Float(b)) => cmp_f64(a.to_f64(), *b),
            (Float(a), Numeric(b)) => cmp_f64(*a, b.to_f64()),
            (Text(_), Numeric(_)) => return self.cast(DataType::Numeric(None))?.sql_cmp(other),
            (Numeric(_), Text(_)) => return self.sql_cmp(&other.cast(DataType::Numeric(None))?),
            (Text(_), Date(_) | Timestamp(_) | Bytes(_) | Interval(_) | Uuid(_)) => {
                return self.cast(other.data_type())?.sql_cmp(other);
            }
            (Date(_) | Timestamp(_) | Bytes(_) | Interval(_) | Uuid(_), Text(_)) => {
                return self.sql_cmp(&other.cast(self.data_type())?);
            }
            // Literal coercion: compare text to a number by parsing the text.
            (Text(_), Int(_) | Float(_)) => {
                return self.cast(DataType::Float8)?.sql_cmp(other);
            }
            (Int(_) | Float(_), Text(_)) => {
                return self.sql_cmp(&other.cast(DataType::Float8)?);
            }
            (Text(_), Bool(_)) => return self.cast(DataType::Bool)?.sql_cmp(other),
            (Bool(_), Text(_)) => return self.sql_cmp(&other.cast(DataType::Bool)?),
            (a, b) => {
                return Err(SqlError::new(
                    codes::UNDEFINED_FUNCTION,
                    format!(
                        "operator does not exist: {} = {}",
                        a.data_type().name(),
                        b.data_type().name()
                    ),
                ));
            }
        }))
    }

    /// Total order for sorting: NULLs compare greater than everything
    /// (PostgreSQL's default `NULLS LAST` for ascending order).
    pub fn sort_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Greater,
            (_, Value::Null) => Ordering::Less,
            _ => match self.sql_cmp(other) {
                Ok(Some(o)) => o,
                _ => self.kind_rank().cmp(&other.kind_rank()),
            },
        }
    }

    fn kind_rank(&self) -> u8 {
        match self {
            Value::Bool(_) => 0,
            Value::Int(_) | Value::Float(_) | Value::Numeric(_) => 1,
            Value::Text(_) => 2,
            Value::Date(_) | Value::Timestamp(_) => 3,
            Value::Bytes(_) => 4,
            Value::Interval(_) => 6,
            Value::Uuid(_) => 7,
            Value::Null => 5,
        }
    }

    /// Converts to `ty` following PostgreSQL's cast rules (a subset).
    pub fn cast(&self, ty: DataType) -> Result<Value> {
        use Value::*;
        let v = match (self, ty) {
            (Null, _) | (_, DataType::Unknown) => self.clone(),
            (Bool(_), DataType::Bool) => self.clone(),
            (Bool(b), t) if t.is_integer() => Int(i64::from(*b)),
            (Bool(b), DataType::Text(_)) => Text(if *b { "true" } else { "false" }.into()),
            (Int(i), t) if t.is_integer() => Int(check_int(*i, t)?),
            (Int(i), t) if t.is_float() => Float(*i as f64),
            (Int(i), DataType::Bool) => Bool(*i != 0),
            (Int(i), DataType::Text(n)) => truncate_text(i.to_string(), n),
            (Float(f), t) if t.is_integer() => {
                let r = f.round_ties_even();
                if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
                    return Err(SqlError::overflow(t.name()));
                }
                Int(check_int(r as i64, t)?)
            }
            (Float(f), DataType::Float4) => Float(f64::from(*f as f32)),
            (Float(_), DataType::Float8) => self.clone(),
            (Float(f), DataType::Text(n)) => truncate_text(format_float(*f), n),
            (Text(s), DataType::Text(n)) => truncate_text(s.clone(), n),
            (Text(s), t) if t.is_integer() => {
                let i: i64 = s.trim().parse().map_err(|_| invalid_text(s, t))?;
                Int(check_int(i, t)?)
            }
            (Text(s), t) if t.is_float() => {
                let f: f64 = match s.trim().to_ascii_lowercase().as_str() {
                    "nan" => f64::NAN,
                    "infinity" | "inf" => f64::INFINITY,
                    "-infinity" | "-inf" => f64::NEG_INFINITY,
                    x => x.parse().map_err(|_| invalid_text(s, t))?,
                };
                Float(f)
            }
            (Numeric(d), t) if t.is_integer() => Int(check_int(
                d.to_i64().map_err(|_| SqlError::overflow(t.name()))?,
                t,
            )?),
            (Numeric(d), t) if t.is_float() => Float(d.to_f64()).cast(t)?,
            (Numeric(d), DataType::Numeric(ps)) => Numeric(fit_numeric(*d, ps)?),
            (Numeric(d), DataType::Text(n)) => truncate_text(d.to_string(), n),
            (Int(i), DataType::Numeric(ps)) => Numeric(fit_numeric(Decimal::from_i64(*i), ps)?),
            (Float(f), DataType::Numeric(ps)) => Numeric(fit_numeric(Decimal::from_f64(*f)?, ps)?),
            (Text(s), DataType::Numeric(ps)) => Numeric(fit_numeric(Decimal::parse(s)?, ps)?),
            (Text(s), DataType::Date) => Date(crate::datetime::parse_date(s)?),
            (Text(s), DataType::Timestamp) => Timestamp(crate::datetime::parse_timestamp(s)?),
            (Text(s), DataType::TimestampTz) => Timestamp(crate::datetime::parse_timestamptz(s)?),
            // The session time zone is UTC: both read the same instant.
            (Timestamp(_), DataType::TimestampTz) => self.clone(),
            (Date(d), DataType::TimestampTz) => Timestamp(crate::datetime::date_to_timestamp(*d)),
            (Text(s), DataType::Bytea) => Bytes(parse_bytea(s)?),
            (Text(s), DataType::Interval) => Interval(crate::interval::parse(s)?),
            (Interval(_), DataType::Interval) => self.clone(),
            (Text(s), DataType::Uuid) => Uuid(crate::uuid::parse(s)?),
            (Uuid(_), DataType::Uuid) => self.clone(),
            (Date(_), DataType::Date) | (Timestamp(_), DataType::Timestamp) | (Bytes(_), DataType::Bytea) => {
                self.clone()
            }
            (Date(d), DataType::Timestamp) => Timestamp(crate::datetime::date_to_timestamp(*d)),
            (Timestamp(t), DataType::Date) => Date(crate::datetime::timestamp_to_date(*t)),
            (Date(_) | Timestamp(_) | Bytes(_) | Interval(_) | Uuid(_), DataType::Text(n)) => {
                truncate_text(self.to_text().unwrap_or_default(), n)
            }
            (Text(s), DataType::Bool) => match s.trim().to_ascii_lowercase().as_str() {
                "t" | "true" | "yes" | "y" | "on" | "1" => Bool(true),
                "f" | "false" | "no" | "n" | "off" | "0" => Bool(false),
                _ => return Err(invalid_text(s, ty)),
            },
            (v, t) => {
                return Err(SqlError::new(
                    codes::DATATYPE_MISMATCH,
                    format!("cannot cast type {} to {}", v.data_type().name(), t.name()),
                ));
            }
        };
        Ok(v)
    }

    /// PostgreSQL's text output of the value (`None` for NULL).
    pub fn to_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Bool(b) => Some(if *b { "t" } else { "f" }.into()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(format_float(*f)),
            Value::Text(s) => Some(s.clone()),
            Value::Numeric(d) => Some(d.to_string()),
            Value::Date(d) => Some(crate::datetime::format_date(*d)),
            Value::Timestamp(t) => Some(crate::datetime::format_timestamp(*t)),
            Value::Interval(iv) => Some(crate::interval::format(iv)),
            Value::Uuid(u) => Some(crate::uuid::format(u)),
            Value::Bytes(b) => {
                let mut s = String::with_capacity(2 + 2 * b.len());
                s.push_str("\\x");
                for byte in b {
                    s.push_str(&format!("{byte:02x}"));
                }
                Some(s)
            }
        }
    }

    /// Truthiness for WHERE/HAVING/ON: only TRUE passes.
    pub fn is_true(&self) -> bool {
        matches!(self, Value::Bool(true))
    }
}

/// Parses bytea input: `\\x` followed by hex digits, else the raw bytes.
pub fn parse_bytea(s: &str) -> Result<Vec<u8>> {
    let Some(hex) = s.strip_prefix("\\x") else {
        return Ok(s.as_bytes().to_vec());
    };
    parse_hex(hex).ok_or_else(|| invalid_text(s, DataType::Bytea))
}

/// Decodes an even-length hex string.
pub fn parse_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// Rounds to the declared scale and checks the declared precision.
fn fit_numeric(d: Decimal, ps: Option<(u16, u16)>) -> Result<Decimal> {
    let Some((p, sc)) = ps else { return Ok(d) };
    let r = d.rescale(u32::from(sc))?;
    let int_digits = r
        .floor_ceil(false)?
        .abs()
        .to_string()
        .trim_start_matches('0')
        .len();
    if int_digits + usize::from(sc) > usize::from(p) {
        return Err(SqlError::new(
            codes::NUMERIC_OUT_OF_RANGE,
            "numeric field overflow",
        ));
    }
    Ok(r)
}

fn invalid_text(s: &str, t: DataType) -> SqlError {
    SqlError::new(
        codes::INVALID_TEXT_REPRESENTATION,
        format!("invalid input syntax for type {}: \"{s}\"", t.name()),
    )
}

fn truncate_text(s: String, n: Option<u32>) -> Value {
    match n {
        Some(n) if s.chars().count() > n as usize => Value::Text(s.chars().take(n as usize).collect()),
        _ => Value::Text(s),
    }
}

/// Checks that `i` fits the integer type `t` (22003 otherwise).
pub fn check_int(i: i64, t: DataType) -> Result<i64> {
    let ok = match t {
        DataType::Int2 => i16::try_from(i).is_ok(),
        DataType::Int4 => i32::try_from(i).is_ok(),
        _ => true,
    };
    if ok {
        Ok(i)
    } else {
        Err(SqlError::overflow(t.name()))
    }
}

fn cmp_f64(a: f64, b: f64) -> Ordering {
    // PostgreSQL: NaN equals NaN and sorts above everything.
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Float text form as PostgreSQL prints float8: the shortest digits that
/// read back as the same double, positional when the decimal exponent is
/// in -4..15 and otherwise as `1.5e+20` / `1e-05` (at least two exponent
/// digits).
///
/// Rust's shortest digits differ from PostgreSQL's Ryu in two corner
/// cases, corrected here: when the double's exact value lies halfway
/// between two shortest candidates, Ryu takes the even one
/// (`0.5343704223632812`, not `...813`); and Ryu never prints a decimal
/// lying exactly halfway to a neighbouring double, which reads back right
/// only under round-half-even (`8.67::float8 ^ 18` is
/// `7.662028350072461e+16`, not `7.66202835007246e+16`).
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0");
    }
    let (digits, exp) = shortest_digits(f.abs());
    layout_float(sign, &digits, exp, 15)
}

/// real (float4) text as PostgreSQL prints it: the shortest digits that
/// read back as the same 32-bit float, positional when the decimal
/// exponent is in -4..6, else `1.5e+20`.
pub fn format_float4(f: f32) -> String {
    if !f.is_finite() {
        return format_float(f64::from(f));
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0");
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    layout_float(sign, digits, exp.parse().unwrap_or(0), 6)
}

/// `sign`, then the significant `digits` (no trailing zeros) whose first
/// digit has decimal exponent `exp`: positional when `exp` is in
/// -4..`positional_below`, else `d.ddde±XX` (two exponent digits at least).
fn layout_float(sign: &str, digits: &str, exp: i32, positional_below: i32) -> String {
    let body = if (-4..positional_below).contains(&exp) {
        if exp < 0 {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                format!("{digits}{}", "0".repeat(int_len - digits.len()))
            } else {
                format!("{}.{}", &digits[..int_len], &digits[int_len..])
            }
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{first}{dot}{rest}e{esign}{:02}", exp.unsigned_abs())
    };
    format!("{sign}{body}")
}

/// The digits (no trailing zeros) and decimal exponent of the first digit
/// of the shortest representation PostgreSQL prints for `a` > 0.
fn shortest_digits(a: f64) -> (String, i32) {
    let parse = |sci: &str| -> (String, i32) {
        let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        let digits = digits.trim_end_matches('0');
        let digits = if digits.is_empty() { "0" } else { digits };
        (digits.to_string(), exp.parse().unwrap_or(0))
    };
    let (mut digits, mut exp) = parse(&format!("{a:e}"));
    let (m, e) = binary_parts(a);
    // An exact tie between two candidates one digit shorter than the
    // exact value: PostgreSQL takes the even one, Rust the upper one.
    if let Some((x, k)) = exact_decimal(m, e)
        && x.to_string().len() == digits.len() + 1
        && x % 10 == 5
    {
        let down = x / 10;
        // Below a power of two the gap to the next double is halved, so
        // the lower candidate may not read back.
        let power_of_two = m == 1 << 52 && e > -1074;
        let down_reads_back = !power_of_two || ((k + 1) as f64 * 5f64.log2() + (k - e + 2) as f64) < 0.0;
        let pick = if down % 2 == 0 && down_reads_back {
            down
        } else {
            down + 1
        };
        let s = pick.to_string();
        exp = (k + 1 + s.len() as i64 - 1) as i32;
        digits = s.trim_end_matches('0').to_string();
    }
    // Only a double >= 2^52 has a halfway point that a decimal of at most
    // 17 significant digits can equal.
    if a >= 4_503_599_627_370_496.0 && on_rounding_boundary(m, e, &digits, exp) {
        for n in digits.len() + 1..=17 {
            let (d, x) = parse(&format!("{a:.*e}", n - 1));
            if !on_rounding_boundary(m, e, &d, x) {
                (digits, exp) = (d, x);
                break;
            }
        }
    }
    (digits, exp)
}

/// `a` > 0 as `m * 2^e` with an integer `m`.
fn binary_parts(a: f64) -> (u64, i64) {
    let bits = a.to_bits();
    let (biased, fraction) = ((bits >> 52) as i64, bits & ((1 << 52) - 1));
    if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    }
}

/// `m * 2^e` as `x * 10^k` with `x` not ending in 0, when `x` < 10^19.
fn exact_decimal(m: u64, e: i64) -> Option<(u128, i64)> {
    let tz = m.trailing_zeros();
    let (m, e) = (u128::from(m >> tz), e + i64::from(tz));
    let (mut x, mut k) = if e >= 0 {
        (m.checked_mul(1u128.checked_shl(u32::try_from(e).ok()?)?)?, 0)
    } else {
        (m.checked_mul(5u128.checked_pow(u32::try_from(-e).ok()?)?)?, e)
    };
    while x % 10 == 0 {
        x /= 10;
        k += 1;
    }
    (x < 10u128.pow(19)).then_some((x, k))
}

/// Whether the decimal `0.digits * 10^(exp + 1)` is exactly halfway
/// between `m * 2^e` and a neighbouring double.
fn on_rounding_boundary(m: u64, e: i64, digits: &str, exp: i32) -> bool {
    use crate::bigint::BigUint;
    let Ok(d) = digits.parse::<u64>() else {
        return false;
    };
    // The decimal is d * 10^k.
    let k = i64::from(exp) - (digits.len() as i64 - 1);
    // Equality below needs 5^|k| to divide b (< 2^55 < 5^24) or d (< 10^17
    // < 5^25): never for larger |k|. Answering at once keeps the cost of
    // printing a huge or tiny double (1e300) to a few word operations.
    if !(-24..24).contains(&k) {
        return false;
    }
    let pow = |x: BigUint, base: u32, n: i64| (0..n).fold(x, |acc, _| acc.mul_small(base));
    // d * 2^k * 5^k == b * 2^be ?
    let equals = |b: u64, be: i64| {
        let (mut lhs, mut rhs) = (BigUint::from_u64(d), BigUint::from_u64(b));
        if k >= be {
            lhs = pow(lhs, 2, k - be);
        } else {
            rhs = pow(rhs, 2, be - k);
        }
        if k >= 0 {
            lhs = pow(lhs, 5, k);
        } else {
            rhs = pow(rhs, 5, -k);
        }
        lhs == rhs
    };
    // The gap below a power of two is half the gap above it.
    let below = if m == 1 << 52 && e > -1074 {
        (4 * m - 1, e - 2)
    } else {
        (2 * m - 1, e - 1)
    };
    equals(2 * m + 1, e - 1) || equals(below.0, below.1)
}

/// Grouping equality: NULL equals NULL, 1 equals 1.0 (used by GROUP BY,
/// DISTINCT, set operations and hash joins; hash joins skip NULL keys).
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Null, _) | (_, Value::Null) => false,
            _ => matches!(self.sql_cmp(other), Ok(Some(Ordering::Equal))),
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Value::Null => 0u8.hash(state),
            Value::Bool(b) => b.hash(state),
            // Integral floats hash like the integer so 1 = 1.0 hash alike.
            Value::Int(i) => (*i as f64).to_bits().hash(state),
            Value::Float(f) => {
                let f = if *f == 0.0 { 0.0 } else { *f };
                if f.is_nan() {
                    u64::MAX.hash(state)
                } else {
                    f.to_bits().hash(state)
                }
            }
            Value::Text(s) => s.hash(state),
            Value::Date(d) => crate::datetime::date_to_timestamp(*d).hash(state),
            Value::Timestamp(t) => t.hash(state),
            Value::Bytes(b) => b.hash(state),
            Value::Uuid(u) => u.hash(state),
            // Equal spans are equal intervals (`1 mon` = `30 days`).
            Value::Interval(iv) => iv.span().hash(state),
            // Hashes like the equal float (and so like an equal integer).
            Value::Numeric(d) => {
                let f = d.to_f64();
                if f == 0.0 {
                    0f64.to_bits().hash(state)
                } else {
                    f.to_bits().hash(state)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_check_ranges() {
        assert_eq!(Value::Int(70000).cast(DataType::Int2).unwrap_err().code, "22003");
        assert_eq!(Value::Float(2.5).cast(DataType::Int4).unwrap(), Value::Int(2));
        assert_eq!(
            Value::Text(" 12 ".into()).cast(DataType::Int8).unwrap(),
            Value::Int(12)
        );
        assert_eq!(
            Value::Text("x".into()).cast(DataType::Int8).unwrap_err().code,
            "22P02"
        );
    }

    #[test]
    fn floats_print_as_postgres() {
        let cases = [
            (1024.0, "1024"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e15, "1e+15"),
            (123456789012345.0, "123456789012345"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (1e100, "1e+100"),
            (1234567890123456789.0, "1.2345678901234568e+18"),
            (-1e-300, "-1e-300"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (-0.0, "-0"),
            (f64::NEG_INFINITY, "-Infinity"),
            // 7.66202835007246e16 is exactly halfway to the next double.
            (76620283500724608.0, "7.662028350072461e+16"),
            // Exactly halfway between two 17-digit candidates: the even one.
            (0.5343704223632812, "0.5343704223632812"),
            (2f64.powi(-25), "2.9802322387695312e-08"),
            (270384394034200.12, "270384394034200.12"),
            (2f64.powi(60), "1.152921504606847e+18"),
            (2f64.powi(53), "9.007199254740992e+15"),
            (2f64.powi(54), "1.8014398509481984e+16"),
            (2f64.powi(100), "1.2676506002282294e+30"),
        ];
        for (f, text) in cases {
            assert_eq!(format_float(f), text);
        }
    }

    #[test]
    fn reals_print_as_postgres() {
        // PostgreSQL 15: SELECT 1e6::real, 100000::real, ...
        let cases = [
            (1e6f32, "1e+06"),
            (100000.0, "100000"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e20, "1.5e+20"),
            (3.4e38, "3.4e+38"),
            (1e-40, "1e-40"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (-0.0, "-0"),
            (f32::INFINITY, "Infinity"),
        ];
        for (f, text) in cases {
            assert_eq!(format_float4(f), text, "{f}");
        }
    }

    #[test]
    fn nulls_sort_last_and_group_together() {
        assert_eq!(Value::Null.sort_cmp(&Value::Int(1)), Ordering::Greater);
        assert_eq!(Value::Null, Value::Null);
        assert_eq!(Value::Int(1), Value::Float(1.0));
        assert_eq!(Value::Null.sql_cmp(&Value::Null).unwrap(), None);
    }
}
