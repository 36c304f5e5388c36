//! DATE, TIMESTAMP and TIMESTAMPTZ: parsing, formatting, arithmetic.
//!
//! A date is days since 1970-01-01 (`i32`), a timestamp microseconds since
//! 1970-01-01 00:00:00 (`i64`), both in the proleptic Gregorian calendar, as
//! PostgreSQL stores them (it uses 2000-01-01 as the epoch; the difference
//! is invisible). A TIMESTAMPTZ is the same number read as UTC. Accepted
//! input: `YYYY-MM-DD` and `YYYY-MM-DD HH:MM[:SS[.f]]` (or `T` between date
//! and time), optionally followed by a UTC offset: `Z`, `UTC`, `GMT`,
//! `±HH`, `±HHMM`, `±HH:MM`, `±HH:MM:SS` ([`split_offset`]). As in
//! PostgreSQL, TIMESTAMP ignores the offset and TIMESTAMPTZ converts the
//! value to UTC ([`parse_timestamptz`]); without an offset a TIMESTAMPTZ is
//! in the session's time zone, which is always UTC here. Output matches
//! PostgreSQL's ISO style.
//! `date_trunc`, `date_part` and `EXTRACT` ([`call`]) take PostgreSQL's
//! field names; EXTRACT is NUMERIC (seconds with 6 places, as PostgreSQL
//! 14+), date_part double precision.
//! Intervals are in [`crate::interval`].
//! Limits: years 1..=9999; no named time zones (`Europe/Paris`)
//! or BC dates yet.

use crate::error::{Result, SqlError, codes};
use crate::expr::Func;
use crate::types::{DataType, Value};

use crate::interval::MICROS_PER_DAY;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn invalid(kind: &str, s: &str) -> SqlError {
    SqlError::new(
        codes::INVALID_DATETIME_FORMAT,
        format!("invalid input syntax for type {kind}: \"{s}\""),
    )
}

fn parse_date_part(s: &str, kind: &str, orig: &str) -> Result<i64> {
    let mut it = s.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (it.next(), it.next(), it.next()) else {
        return Err(invalid(kind, orig));
    };
    let y: i64 = y.parse().map_err(|_| invalid(kind, orig))?;
    let m: u32 = m.parse().map_err(|_| invalid(kind, orig))?;
    let d: u32 = d.parse().map_err(|_| invalid(kind, orig))?;
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(SqlError::new(
            codes::DATETIME_FIELD_OVERFLOW,
            format!("date/time field value out of range: \"{orig}\""),
        ));
    }
    Ok(days_from_civil(y, m, d))
}

pub fn parse_date(s: &str) -> Result<i32> {
    let t = strip_era(s.trim(), "date", s)?;
    let date = t.split([' ', 'T']).next().unwrap_or(t);
    let days = parse_date_part(date, "date", s)?;
    // A time of day after the date is allowed and dropped, as in
    // PostgreSQL; anything else there is not a date. It is checked after a
    // date of its own, so that one which runs into the next day (24:00:00,
    // a rounded-up fraction) still leaves the date it follows, also on the
    // last day there is (9999-12-31).
    if date.len() < t.len() {
        parse_timestamp(&format!("2000-01-01{}", &t[date.len()..])).map_err(|e| {
            if e.code == codes::DATETIME_FIELD_OVERFLOW {
                SqlError::new(
                    codes::DATETIME_FIELD_OVERFLOW,
                    format!("date/time field value out of range: \"{s}\""),
                )
            } else {
                invalid("date", s)
            }
        })?;
    }
    i32::try_from(days).map_err(|_| invalid("date", s))
}

/// `t` without a trailing ` AD`; a ` BC` date is before year 1, outside
/// the years QuorumDB holds (22008).
fn strip_era<'a>(t: &'a str, what: &str, s: &str) -> Result<&'a str> {
    let upper = t
        .len()
        .checked_sub(3)
        .and_then(|i| t.get(i..))
        .map(str::to_ascii_uppercase);
    match upper.as_deref() {
        Some(" BC") => Err(SqlError::new(
            codes::DATETIME_FIELD_OVERFLOW,
            format!("{what} out of range: \"{s}\" (years before 1 are not supported)"),
        )),
        Some(" AD") => Ok(t[..t.len() - 3].trim_end()),
        _ => Ok(t),
    }
}

/// Splits a trailing UTC offset off a timestamp: the text before it and
/// the offset in seconds east of UTC (`None`: no offset). An offset needs a
/// time of day before it; one beyond ±15:59:59 is 22008.
pub fn split_offset(s: &str) -> Result<(&str, Option<i64>)> {
    let t = s.trim_end();
    let Some(time_at) = t.find([' ', 'T']).map(|i| i + 1) else {
        return Ok((t, None));
    };
    let time = &t[time_at..];
    for zone in ["Z", "z", "UTC", "utc", "GMT", "gmt"] {
        if let Some(local) = time.strip_suffix(zone)
            && local.contains(':')
        {
            return Ok((t[..time_at + local.len()].trim_end(), Some(0)));
        }
    }
    let Some(sign_at) = time.rfind(['+', '-']) else {
        return Ok((t, None));
    };
    let (local, zone) = (&time[..sign_at], &time[sign_at..]);
    if !local.contains(':') {
        return Ok((t, None));
    }
    let digits = &zone[1..];
    let fields: Vec<&str> = if digits.contains(':') {
        digits.split(':').collect()
    } else if digits.len() == 4 && digits.is_ascii() {
        vec![&digits[..2], &digits[2..]]
    } else {
        vec![digits]
    };
    let valid = (1..=3).contains(&fields.len())
        && fields
            .iter()
            .all(|f| (1..=2).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return Err(invalid("timestamp with time zone", s));
    }
    let mut secs = 0i64;
    for (f, unit) in fields.iter().zip([3600, 60, 1]) {
        let n: i64 = f.parse().map_err(|_| invalid("timestamp with time zone", s))?;
        if unit != 3600 && n > 59 {
            return Err(invalid("timestamp with time zone", s));
        }
        secs += n * unit;
    }
    if secs >= 16 * 3600 {
        return Err(SqlError::new(
            codes::DATETIME_FIELD_OVERFLOW,
            format!("time zone displacement out of range: \"{s}\""),
        ));
    }
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    Ok((t[..time_at + local.len()].trim_end(), Some(sign * secs)))
}

/// A TIMESTAMPTZ: microseconds since 1970-01-01 00:00:00 UTC.
pub fn parse_timestamptz(s: &str) -> Result<i64> {
    let (local, offset) = split_offset(strip_era(s.trim(), "timestamp with time zone", s)?)?;
    let micros = parse_local_timestamp(local, s)?;
    let utc = micros
        .checked_sub(offset.unwrap_or(0) * 1_000_000)
        .ok_or_else(|| SqlError::overflow("timestamp with time zone"))?;
    within_years(utc, "timestamp with time zone", s)
}

/// A TIMESTAMP (without time zone); a UTC offset is ignored, as in
/// PostgreSQL.
pub fn parse_timestamp(s: &str) -> Result<i64> {
    let (local, _) = split_offset(strip_era(s.trim(), "timestamp", s)?)?;
    parse_local_timestamp(local, s)
}

/// Microseconds from the digits after a decimal point, rounded as
/// PostgreSQL rounds them: `rint(0.digits * 1e6)` in floating point (a
/// carry makes 1,000,000: a whole second).
fn round_micros(digits: &str) -> i64 {
    let fraction: f64 = format!("0.{digits}").parse().unwrap_or(0.0);
    (fraction * 1e6).round_ties_even() as i64
}

fn parse_local_timestamp(t: &str, s: &str) -> Result<i64> {
    let t = t.trim();
    let (date, time) = match t.find([' ', 'T']) {
        Some(i) => (&t[..i], t[i + 1..].trim()),
        None => (t, ""),
    };
    let days = parse_date_part(date, "timestamp", s)?;
    let mut micros = 0i64;
    if !time.is_empty() {
        let mut parts = time.splitn(3, ':');
        let h: i64 = parts
            .next()
            .and_then(|x| x.parse().ok())
            .ok_or_else(|| invalid("timestamp", s))?;
        let mi: i64 = parts
            .next()
            .and_then(|x| x.parse().ok())
            .ok_or_else(|| invalid("timestamp", s))?;
        let (sec, frac) = match parts.next() {
            None => (0, 0),
            Some(x) => {
                let (whole, frac) = x.split_once('.').unwrap_or((x, ""));
                let sec: i64 = whole.parse().map_err(|_| invalid("timestamp", s))?;
                if !frac.chars().all(|c| c.is_ascii_digit()) {
                    return Err(invalid("timestamp", s));
                }
                (sec, round_micros(frac))
            }
        };
        // As in PostgreSQL: a leap second (:60) runs into the next minute,
        // and 24:00:00 is the end of the day (the next one's midnight),
        // but no time of day is later than that.
        let out_of_range = || {
            SqlError::new(
                codes::DATETIME_FIELD_OVERFLOW,
                format!("date/time field value out of range: \"{s}\""),
            )
        };
        if !(0..=24).contains(&h) || !(0..60).contains(&mi) || !(0..=60).contains(&sec) {
            return Err(out_of_range());
        }
        micros = ((h * 60 + mi) * 60 + sec) * 1_000_000 + frac;
        if micros > MICROS_PER_DAY {
            return Err(out_of_range());
        }
    }
    within_years(days * MICROS_PER_DAY + micros, "timestamp", s)
}

/// Whether a timestamp (microseconds since 1970) falls in the years 1
/// to 9999 that timestamps here are read and printed in.
pub fn in_years(micros: i64) -> bool {
    (1..=9999).contains(&civil_from_days(micros.div_euclid(MICROS_PER_DAY)).0)
}

/// `micros` if it is [`in_years`] (24:00:00 or a leap second on
/// 9999-12-31 would not be), else 22008.
fn within_years(micros: i64, what: &str, s: &str) -> Result<i64> {
    if in_years(micros) {
        Ok(micros)
    } else {
        Err(SqlError::new(
            codes::DATETIME_FIELD_OVERFLOW,
            format!("{what} out of range: \"{s}\""),
        ))
    }
}

pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(i64::from(days));
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn format_timestamp(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let rem = micros.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    let mut s = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        let f = format!("{frac:06}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s
}

pub fn date_to_timestamp(days: i32) -> i64 {
    i64::from(days) * MICROS_PER_DAY
}

pub fn timestamp_to_date(micros: i64) -> i32 {
    i32::try_from(micros.div_euclid(MICROS_PER_DAY)).unwrap_or(i32::MAX)
}

/// A date/time field named in `date_trunc`, `date_part` or `EXTRACT`.
fn field_name(v: &Value) -> String {
    v.to_text()
        .unwrap_or_default()
        .trim()
        .trim_matches('"')
        .to_ascii_lowercase()
}

/// The one name of a date/time unit among PostgreSQL's spellings of it
/// (`hours` is `hour`, `millennia` is `millennium`): what `date_trunc`,
/// `EXTRACT` and interval fields match on. `None` for no unit at all.
pub fn unit(name: &str) -> Option<&'static str> {
    Some(match name {
        "microseconds" | "microsecond" => "microseconds",
        "milliseconds" | "millisecond" => "milliseconds",
        "second" | "seconds" => "second",
        "minute" | "minutes" => "minute",
        "hour" | "hours" => "hour",
        "day" | "days" => "day",
        "week" | "weeks" => "week",
        "month" | "months" => "month",
        "quarter" => "quarter",
        "year" | "years" => "year",
        "decade" | "decades" => "decade",
        "century" | "centuries" => "century",
        "millennium" | "millennia" => "millennium",
        "dow" => "dow",
        "isodow" => "isodow",
        "doy" => "doy",
        "isoyear" => "isoyear",
        "epoch" => "epoch",
        "julian" => "julian",
        _ => return None,
    })
}

/// An extracted field, (mantissa, scale), as `f` returns it: NUMERIC for
/// EXTRACT, double precision for date_part.
fn extracted(f: Func, (mantissa, scale): (i128, u32)) -> Value {
    let d = crate::numeric::Decimal::new(mantissa, scale);
    if f == Func::Extract {
        Value::Numeric(d)
    } else {
        Value::Float(d.to_f64())
    }
}

/// The timestamp (and whether it was a DATE) a date function reads.
fn time_arg(v: &Value) -> Result<(i64, bool)> {
    match v {
        Value::Timestamp(t) => Ok((*t, false)),
        Value::Date(d) => Ok((date_to_timestamp(*d), true)),
        Value::Text(s) => Ok((parse_timestamp(s)?, false)),
        other => Err(SqlError::new(
            codes::UNDEFINED_FUNCTION,
            format!(
                "function date_part(unknown, {}) does not exist",
                other.data_type().name()
            ),
        )),
    }
}

/// ISO 8601 year and week of a day number (weeks start on Monday; week 1
/// holds the year's first Thursday).
pub(crate) fn iso_week(days: i64) -> (i64, i64) {
    let isodow = (days + 3).rem_euclid(7) + 1; // 1970-01-01 was a Thursday
    let thursday = days - isodow + 4;
    let (y, _, _) = civil_from_days(thursday);
    let doy = thursday - days_from_civil(y, 1, 1);
    (y, doy / 7 + 1)
}

/// `date_trunc`, `date_part` and `EXTRACT` on non-NULL arguments: the
/// field's name and a timestamp or date.
pub fn call(f: Func, args: &[Value]) -> Result<Value> {
    let (Some(field), Some(v)) = (args.first(), args.get(1)) else {
        return Err(SqlError::internal(format!("{f:?} needs two arguments")));
    };
    let field = field_name(field);
    let canonical = unit(&field);
    if let Value::Interval(iv) = v {
        if f == Func::DateTrunc {
            return Err(SqlError::unsupported("date_trunc of an interval"));
        }
        let value = canonical.and_then(|u| iv.field(u)).ok_or_else(|| {
            // Fields of a point in time only (week, dow, ...) are 0A000,
            // as in PostgreSQL; anything else is not a field at all.
            let known = canonical.is_some();
            SqlError::new(
                if known {
                    codes::FEATURE_NOT_SUPPORTED
                } else {
                    codes::INVALID_PARAMETER_VALUE
                },
                format!(
                    "unit \"{field}\" {} for type interval",
                    if known { "not supported" } else { "not recognized" }
                ),
            )
        })?;
        return Ok(extracted(f, value));
    }
    let (t, is_date) = time_arg(v)?;
    let type_name = if is_date {
        "date"
    } else {
        "timestamp without time zone"
    };
    let unknown = || {
        SqlError::new(
            codes::INVALID_PARAMETER_VALUE,
            format!("unit \"{field}\" not recognized for type {type_name}"),
        )
    };
    let days = t.div_euclid(MICROS_PER_DAY);
    let micros_of_day = t.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    if f == Func::DateTrunc {
        let day_start = |days: i64| days * MICROS_PER_DAY;
        let to_multiple = |u: i64| t - t.rem_euclid(u);
        let truncated = match canonical.unwrap_or_default() {
            "microseconds" => t,
            "milliseconds" => to_multiple(1_000),
            "second" => to_multiple(1_000_000),
            "minute" => to_multiple(60_000_000),
            "hour" => to_multiple(3_600_000_000),
            "day" => day_start(days),
            "week" => day_start(days - (days + 3).rem_euclid(7)),
            "month" => day_start(days_from_civil(y, m, 1)),
            "quarter" => day_start(days_from_civil(y, (m - 1) / 3 * 3 + 1, 1)),
            "year" => day_start(days_from_civil(y, 1, 1)),
            // The decade of the years 1-9 starts in 1 BC, which no
            // timestamp here can hold.
            "decade" if y < 10 => {
                return Err(SqlError::new(
                    codes::DATETIME_FIELD_OVERFLOW,
                    "timestamp out of range",
                ));
            }
            "decade" => day_start(days_from_civil(y - y.rem_euclid(10), 1, 1)),
            "century" => day_start(days_from_civil((y - 1) / 100 * 100 + 1, 1, 1)),
            "millennium" => day_start(days_from_civil((y - 1) / 1000 * 1000 + 1, 1, 1)),
            _ => return Err(unknown()),
        };
        return Ok(Value::Timestamp(truncated));
    }
    // The value as (mantissa, scale): EXTRACT returns it as NUMERIC,
    // date_part as double precision.
    let secs_micros = micros_of_day % 60_000_000;
    let (iso_year, week) = iso_week(days);
    let dow = (days + 4).rem_euclid(7);
    let time_field = matches!(
        canonical,
        Some("microseconds" | "milliseconds" | "second" | "minute" | "hour")
    );
    if is_date && time_field {
        return Err(SqlError::new(
            codes::FEATURE_NOT_SUPPORTED,
            format!("unit \"{field}\" not supported for type date"),
        ));
    }
    let value: (i128, u32) = match canonical.unwrap_or_default() {
        "microseconds" => (secs_micros.into(), 0),
        "milliseconds" => (secs_micros.into(), 3),
        "second" => (secs_micros.into(), 6),
        "minute" => ((micros_of_day / 60_000_000 % 60).into(), 0),
        "hour" => ((micros_of_day / 3_600_000_000).into(), 0),
        "day" => (d.into(), 0),
        "month" => (m.into(), 0),
        "quarter" => (((m - 1) / 3 + 1).into(), 0),
        "year" => (y.into(), 0),
        "decade" => (y.div_euclid(10).into(), 0),
        "century" => (((y + 99) / 100).into(), 0),
        "millennium" => (((y + 999) / 1000).into(), 0),
        "week" => (week.into(), 0),
        "isoyear" => (iso_year.into(), 0),
        "dow" => (dow.into(), 0),
        "isodow" => ((if dow == 0 { 7 } else { dow }).into(), 0),
        "doy" => ((days - days_from_civil(y, 1, 1) + 1).into(), 0),
        "epoch" if is_date => ((t / 1_000_000).into(), 0),
        "epoch" => (t.into(), 6),
        _ => return Err(unknown()),
    };
    Ok(extracted(f, value))
}

/// `make_date(y, m, d)`, `make_timestamp(y, mo, d, h, mi, sec)` and
/// `to_timestamp(seconds since 1970)` on non-NULL arguments, with
/// PostgreSQL's checks and messages (22008). Years stay within 1 to 9999,
/// as everywhere here.
pub fn construct(f: Func, args: &[Value]) -> Result<Value> {
    let int = |i: usize| -> Result<i64> {
        match args.get(i).map(|v| v.cast(DataType::Int8)).transpose()? {
            Some(Value::Int(n)) => Ok(n),
            _ => Err(SqlError::internal(format!("{f:?}: argument {i}"))),
        }
    };
    let float = |i: usize| -> Result<f64> {
        match args.get(i).map(|v| v.cast(DataType::Float8)).transpose()? {
            Some(Value::Float(x)) => Ok(x),
            _ => Err(SqlError::internal(format!("{f:?}: argument {i}"))),
        }
    };
    let out_of_range = |what: String| SqlError::new(codes::DATETIME_FIELD_OVERFLOW, what);
    let date = |y: i64, m: i64, d: i64| -> Result<i64> {
        let ok = (1..=9999).contains(&y)
            && (1..=12).contains(&m)
            && d >= 1
            && d <= i64::from(days_in_month(y, m as u32));
        if !ok {
            return Err(out_of_range(format!(
                "date field value out of range: {y}-{m:02}-{d:02}"
            )));
        }
        Ok(days_from_civil(y, m as u32, d as u32))
    };
    Ok(match f {
        Func::MakeDate => {
            let days = date(int(0)?, int(1)?, int(2)?)?;
            Value::Date(i32::try_from(days).map_err(|_| SqlError::overflow("date"))?)
        }
        Func::MakeTimestamp => {
            let days = date(int(0)?, int(1)?, int(2)?)?;
            let (h, mi, sec) = (int(3)?, int(4)?, float(5)?);
            // Seconds may be 60 (a leap second carries), and 24:00:00 is
            // the next midnight, as in PostgreSQL.
            let ok = (0..=24).contains(&h)
                && (0..=59).contains(&mi)
                && (0.0..=60.0).contains(&sec)
                && (h < 24 || (mi == 0 && sec == 0.0));
            if !ok {
                let sec_text = crate::types::format_float(sec);
                let sec_text = if (0.0..10.0).contains(&sec) && sec.fract() == 0.0 {
                    format!("0{sec_text}")
                } else {
                    sec_text
                };
                return Err(out_of_range(format!(
                    "time field value out of range: {h:02}:{mi:02}:{sec_text}"
                )));
            }
            let micros = (h * 3_600 + mi * 60) * 1_000_000 + (sec * 1e6).round() as i64;
            let t = days * MICROS_PER_DAY + micros;
            if !in_years(t) {
                return Err(out_of_range("timestamp out of range".into()));
            }
            Value::Timestamp(t)
        }
        Func::ToTimestamp => {
            if args.len() > 1 {
                return Err(SqlError::unsupported("to_timestamp(text, format)"));
            }
            let secs = float(0)?;
            if secs.is_nan() {
                return Err(out_of_range("timestamp cannot be NaN".into()));
            }
            let micros = (secs * 1e6).round();
            let range = || {
                out_of_range(format!(
                    "timestamp out of range: \"{}\"",
                    crate::types::format_float(secs)
                ))
            };
            // Within i64 first, then within the years this engine holds.
            if micros.abs() >= 9.2e18 || !in_years(micros as i64) {
                return Err(range());
            }
            Value::Timestamp(micros as i64)
        }
        other => return Err(SqlError::internal(format!("{other:?} is not a constructor"))),
    })
}

/// The current time as a timestamp (UTC).
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// The times SQL's clock functions answer while a statement runs, as in
/// PostgreSQL: `now()`, `current_timestamp`, `transaction_timestamp()` and
/// `current_date` give the start of the current transaction (the same value
/// in every statement of a `BEGIN ... COMMIT` block), `statement_timestamp()`
/// the arrival of the current statement. Set by the session around each
/// statement ([`with_clock`]); read by the binder ([`clock`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    pub transaction: i64,
    pub statement: i64,
}

thread_local! {
    static CLOCK: std::cell::Cell<Option<Clock>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with `clock` as this thread's SQL clock (the previous one is
/// restored afterwards, even if `f` panics).
pub fn with_clock<T>(clock: Clock, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Clock>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CLOCK.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CLOCK.with(|c| c.replace(Some(clock))));
    f()
}

/// The running statement's clock; outside [`with_clock`] (a bare binder in
/// a test, say), both times are now.
pub fn clock() -> Clock {
    CLOCK.with(std::cell::Cell::get).unwrap_or_else(|| {
        let now = now_micros();
        Clock {
            transaction: now,
            statement: now,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-719_162i64, -1, 0, 1, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_date(parse_date("2024-02-29").unwrap()), "2024-02-29");
        assert_eq!(parse_date("2023-02-29").unwrap_err().code, "22008");
        assert_eq!(parse_date("nope").unwrap_err().code, "22007");
    }

    #[test]
    fn timestamps() {
        let t = parse_timestamp("2001-02-03 04:05:06.25").unwrap();
        assert_eq!(format_timestamp(t), "2001-02-03 04:05:06.25");
        assert_eq!(
            format_timestamp(parse_timestamp("1969-12-31T23:59:59").unwrap()),
            "1969-12-31 23:59:59"
        );
        assert_eq!(timestamp_to_date(t), parse_date("2001-02-03").unwrap());
    }

    #[test]
    fn utc_offsets() {
        let local = parse_timestamp("2024-01-01 12:00:00").unwrap();
        let hour = 3_600_000_000i64;
        for (text, shift) in [
            ("2024-01-01 12:00:00+02", 2 * hour),
            ("2024-01-01T12:00:00Z", 0),
            ("2024-01-01 12:00:00 UTC", 0),
            ("2024-01-01 12:00:00-05:30", -(5 * hour + hour / 2)),
            ("2024-01-01 12:00:00+0530", 5 * hour + hour / 2),
            ("2024-01-01 12:00+01:00:30", hour + 30_000_000),
            ("2024-01-01 12:00:00.000-00", 0),
        ] {
            assert_eq!(parse_timestamptz(text).unwrap(), local - shift, "{text}");
            // TIMESTAMP ignores the offset.
            assert_eq!(parse_timestamp(text).unwrap(), local, "{text}");
        }
        // No offset: UTC (the session time zone).
        assert_eq!(parse_timestamptz("2024-01-01 12:00:00").unwrap(), local);
        // A date alone, and dates' own hyphens, are not offsets.
        assert_eq!(
            parse_timestamptz("2024-01-01").unwrap(),
            date_to_timestamp(parse_date("2024-01-01").unwrap())
        );
        assert_eq!(
            parse_timestamptz("2024-01-01 12:00:00+16").unwrap_err().code,
            "22008"
        );
        assert_eq!(
            parse_timestamptz("2024-01-01 12:00:00+1:2:3:4").unwrap_err().code,
            "22007"
        );
        assert_eq!(
            parse_timestamptz("2024-01-01 12:00:00+ab").unwrap_err().code,
            "22007"
        );
    }
}
