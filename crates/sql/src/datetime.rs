//! DATE and TIMESTAMP (without time zone): parsing, formatting, arithmetic.
//!
//! A date is days since 1970-01-01 (`i32`), a timestamp microseconds since
//! 1970-01-01 00:00:00 (`i64`), both in the proleptic Gregorian calendar, as
//! PostgreSQL stores them (it uses 2000-01-01 as the epoch; the difference
//! is invisible). Accepted input: `YYYY-MM-DD` and `YYYY-MM-DD HH:MM[:SS[.f]]`
//! (or `T` between date and time). Output matches PostgreSQL's ISO style.
//! Limits: years 1..=9999; no time zones, intervals or BC dates yet.

use crate::error::{Result, SqlError, codes};

const MICROS_PER_DAY: i64 = 86_400_000_000;

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

fn days_in_month(y: i64, m: u32) -> u32 {
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
    let t = s.trim();
    let date = t.split([' ', 'T']).next().unwrap_or(t);
    let days = parse_date_part(date, "date", s)?;
    i32::try_from(days).map_err(|_| invalid("date", s))
}

pub fn parse_timestamp(s: &str) -> Result<i64> {
    let t = s.trim();
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
                if frac.len() > 9 || !frac.chars().all(|c| c.is_ascii_digit()) {
                    return Err(invalid("timestamp", s));
                }
                let digits: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
                (sec, digits.parse::<i64>().unwrap_or(0))
            }
        };
        if !(0..24).contains(&h) || !(0..60).contains(&mi) || !(0..60).contains(&sec) {
            return Err(SqlError::new(
                codes::DATETIME_FIELD_OVERFLOW,
                format!("date/time field value out of range: \"{s}\""),
            ));
        }
        micros = ((h * 60 + mi) * 60 + sec) * 1_000_000 + frac;
    }
    Ok(days * MICROS_PER_DAY + micros)
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

/// The current time as a timestamp (UTC).
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
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
}
