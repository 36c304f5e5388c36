//! INTERVAL: a span of months, days and microseconds, as PostgreSQL keeps
//! it.
//!
//! The three parts stay apart because they are not fixed lengths: a month
//! has 28 to 31 days, so `timestamp + interval` adds the months on the
//! calendar (clamping the day to the month's end, as PostgreSQL does), then
//! the days, then the time. Comparison, hashing and index keys use
//! PostgreSQL's *span* (a month counts 30 days, a day 24 hours), so
//! `INTERVAL '1 month' = INTERVAL '30 days'` is true, as there.
//!
//! Input ([`parse`]) takes PostgreSQL's forms: `1 year 2 months 3 days
//! 04:05:06.7`, abbreviations (`1y 2mon 3d 4h 5m 6s`, `min`, `hr`, `ms`,
//! `us`, `w`, decades, centuries, millennia), signs on any part, `@` and
//! `ago`, fractions that spill into the smaller parts (`1.5 days` is `1 day
//! 12:00:00`), a bare number (seconds) and ISO 8601 `P1Y2M3DT4H5M6S`.
//! Output ([`format`]) is PostgreSQL's default `postgres` style.
//!
//! Not here: the `sql_standard`, `iso_8601` and `postgres_verbose` output
//! styles, `justify_*` functions, field restrictions such as `INTERVAL '1'
//! DAY TO HOUR` beyond a single leading field.

use serde::{Deserialize, Serialize};

use crate::error::{Result, SqlError, codes};

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_HOUR: i64 = 3_600 * MICROS_PER_SECOND;
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;
const DAYS_PER_MONTH: i64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

fn overflow() -> SqlError {
    SqlError::new(codes::DATETIME_FIELD_OVERFLOW, "interval out of range")
}

fn bad(s: &str) -> SqlError {
    SqlError::new(
        codes::INVALID_DATETIME_FORMAT,
        format!("invalid input syntax for type interval: \"{s}\""),
    )
}

impl Interval {
    pub const ZERO: Interval = Interval {
        months: 0,
        days: 0,
        micros: 0,
    };

    /// PostgreSQL's span: months of 30 days, days of 24 hours. Orders and
    /// identifies intervals.
    pub fn span(&self) -> i128 {
        (i128::from(self.months) * i128::from(DAYS_PER_MONTH) + i128::from(self.days))
            * i128::from(MICROS_PER_DAY)
            + i128::from(self.micros)
    }

    /// Sixteen bytes that sort as the span does (the index key).
    pub fn key_bytes(&self) -> Vec<u8> {
        ((self.span() as u128) ^ (1u128 << 127)).to_be_bytes().to_vec()
    }

    pub fn checked_add(&self, o: &Interval) -> Result<Interval> {
        Ok(Interval {
            months: self.months.checked_add(o.months).ok_or_else(overflow)?,
            days: self.days.checked_add(o.days).ok_or_else(overflow)?,
            micros: self.micros.checked_add(o.micros).ok_or_else(overflow)?,
        })
    }

    pub fn checked_neg(&self) -> Result<Interval> {
        Ok(Interval {
            months: self.months.checked_neg().ok_or_else(overflow)?,
            days: self.days.checked_neg().ok_or_else(overflow)?,
            micros: self.micros.checked_neg().ok_or_else(overflow)?,
        })
    }

    /// `interval * factor` as PostgreSQL computes it: the fraction of the
    /// months spills into days (30 to a month), the fraction of the days
    /// into the time.
    pub fn mul(&self, factor: f64) -> Result<Interval> {
        if !factor.is_finite() {
            return Err(overflow());
        }
        let months = f64::from(self.months) * factor;
        let whole_months = months.trunc();
        let days = f64::from(self.days) * factor + (months - whole_months) * DAYS_PER_MONTH as f64;
        let whole_days = days.trunc();
        let micros = (self.micros as f64 * factor + (days - whole_days) * MICROS_PER_DAY as f64).round();
        let fits = |v: f64, lo: f64, hi: f64| (lo..=hi).contains(&v);
        if !fits(whole_months, f64::from(i32::MIN), f64::from(i32::MAX))
            || !fits(whole_days, f64::from(i32::MIN), f64::from(i32::MAX))
            || !fits(micros, i64::MIN as f64, i64::MAX as f64)
        {
            return Err(overflow());
        }
        Ok(Interval {
            months: whole_months as i32,
            days: whole_days as i32,
            micros: micros as i64,
        })
    }

    pub fn div(&self, divisor: f64) -> Result<Interval> {
        if divisor == 0.0 {
            return Err(SqlError::division_by_zero());
        }
        self.mul(1.0 / divisor)
    }

    /// The interval between two timestamps (`a - b`): days and time, with
    /// whole days of 24 hours moved out of the time, as PostgreSQL's
    /// `timestamp - timestamp` does.
    pub fn between(a: i64, b: i64) -> Result<Interval> {
        let diff = a.checked_sub(b).ok_or_else(overflow)?;
        Ok(Interval {
            months: 0,
            days: i32::try_from(diff / MICROS_PER_DAY).map_err(|_| overflow())?,
            micros: diff % MICROS_PER_DAY,
        })
    }

    /// `timestamp + self` (microseconds since the epoch): months on the
    /// calendar (the day clamped to the month's length), then days, then
    /// time.
    pub fn add_to(&self, ts: i64) -> Result<i64> {
        use crate::datetime::{civil_from_days, days_from_civil};
        let mut ts = ts;
        if self.months != 0 {
            let days = ts.div_euclid(MICROS_PER_DAY);
            let time = ts.rem_euclid(MICROS_PER_DAY);
            let (y, m, d) = civil_from_days(days);
            let total = y * 12 + i64::from(m) - 1 + i64::from(self.months);
            let (y, m) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
            if !(1..=9999).contains(&y) {
                return Err(SqlError::new(
                    codes::DATETIME_FIELD_OVERFLOW,
                    "timestamp out of range",
                ));
            }
            let d = d.min(crate::datetime::days_in_month(y, m));
            ts = days_from_civil(y, m, d) * MICROS_PER_DAY + time;
        }
        let out_of_range = || SqlError::new(codes::DATETIME_FIELD_OVERFLOW, "timestamp out of range");
        ts.checked_add(
            i64::from(self.days)
                .checked_mul(MICROS_PER_DAY)
                .ok_or_else(out_of_range)?,
        )
        .and_then(|t| t.checked_add(self.micros))
        .ok_or_else(out_of_range)
    }

    /// A field of the interval (`EXTRACT(field FROM interval)`), as
    /// (mantissa, scale): `epoch` counts a year as 365.25 days and a month
    /// as 30 days, as PostgreSQL does.
    pub fn field(&self, field: &str) -> Option<(i128, u32)> {
        let years = i128::from(self.months / 12);
        let time = i128::from(self.micros);
        Some(match field {
            "microseconds" | "microsecond" => (time % 60_000_000, 0),
            "milliseconds" | "millisecond" => (time % 60_000_000, 3),
            "second" | "seconds" => (time % 60_000_000, 6),
            "minute" | "minutes" => (time / 60_000_000 % 60, 0),
            "hour" | "hours" => (time / i128::from(MICROS_PER_HOUR), 0),
            "day" | "days" => (i128::from(self.days), 0),
            "month" | "months" => (i128::from(self.months % 12), 0),
            "quarter" => (i128::from(self.months % 12 / 3 + 1), 0),
            "year" | "years" => (years, 0),
            "decade" | "decades" => (years / 10, 0),
            "century" | "centuries" => (years / 100, 0),
            "millennium" | "millennia" => (years / 1000, 0),
            "epoch" => {
                // Years of 365.25 days: a quarter-day per year, in micros.
                let months = i128::from(self.months);
                let micros = years * 36_525 * i128::from(MICROS_PER_DAY) / 100
                    + (months % 12) * 30 * i128::from(MICROS_PER_DAY)
                    + i128::from(self.days) * i128::from(MICROS_PER_DAY)
                    + time;
                (micros, 6)
            }
            _ => return None,
        })
    }
}

/// PostgreSQL's `postgres` output style: `1 year 2 mons 3 days 04:05:06.7`,
/// `-1 days +02:00:00`, `00:00:00` for zero.
pub fn format(iv: &Interval) -> String {
    let mut out = String::new();
    let mut is_before = false;
    for (value, unit) in [
        (i64::from(iv.months / 12), "year"),
        (i64::from(iv.months % 12), "mon"),
        (i64::from(iv.days), "day"),
    ] {
        if value == 0 {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        if is_before && value > 0 {
            out.push('+');
        }
        out.push_str(&format!("{value} {unit}{}", if value == 1 { "" } else { "s" }));
        is_before = value < 0;
    }
    if out.is_empty() || iv.micros != 0 {
        let minus = iv.micros < 0;
        let t = iv.micros.unsigned_abs();
        let (h, m, s, f) = (
            t / MICROS_PER_HOUR as u64,
            t / 60_000_000 % 60,
            t / 1_000_000 % 60,
            t % 1_000_000,
        );
        if !out.is_empty() {
            out.push(' ');
        }
        if minus {
            out.push('-');
        } else if is_before {
            out.push('+');
        }
        out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
        if f != 0 {
            let frac = format!("{f:06}");
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
    }
    out
}

/// Adds `amount` of `unit` to `acc`, spilling fractions into the smaller
/// parts as PostgreSQL does.
fn add_unit(acc: &mut (f64, f64, f64), amount: f64, unit: &str) -> Option<()> {
    let (months, days, micros) = acc;
    let day = MICROS_PER_DAY as f64;
    match unit {
        "microsecond" | "microseconds" | "usec" | "usecs" | "us" => *micros += amount,
        "millisecond" | "milliseconds" | "msec" | "msecs" | "ms" => *micros += amount * 1e3,
        "second" | "seconds" | "sec" | "secs" | "s" => *micros += amount * 1e6,
        "minute" | "minutes" | "min" | "mins" | "m" => *micros += amount * 6e7,
        "hour" | "hours" | "hr" | "hrs" | "h" => *micros += amount * MICROS_PER_HOUR as f64,
        "day" | "days" | "d" => {
            *days += amount.trunc();
            *micros += amount.fract() * day;
        }
        "week" | "weeks" | "w" => {
            let d = amount * 7.0;
            *days += d.trunc();
            *micros += d.fract() * day;
        }
        "month" | "months" | "mon" | "mons" => {
            *months += amount.trunc();
            let d = amount.fract() * DAYS_PER_MONTH as f64;
            *days += d.trunc();
            *micros += d.fract() * day;
        }
        "year" | "years" | "yr" | "yrs" | "y" => add_years(acc, amount),
        "decade" | "decades" => add_years(acc, amount * 10.0),
        "century" | "centuries" => add_years(acc, amount * 100.0),
        "millennium" | "millennia" | "millenniums" => add_years(acc, amount * 1000.0),
        _ => return None,
    }
    Some(())
}

/// Years become whole months (a fraction of a year is rounded to months,
/// as PostgreSQL does).
fn add_years(acc: &mut (f64, f64, f64), years: f64) {
    acc.0 += (years * 12.0).round();
}

/// `hh:mm[:ss[.f]]`, optionally signed, as microseconds.
fn parse_time(s: &str) -> Option<f64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let parts: Vec<&str> = body.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return None;
    }
    let h: f64 = parts[0].parse::<u64>().ok()? as f64;
    let m: f64 = parts[1].parse::<u64>().ok()? as f64;
    let sec: f64 = match parts.get(2) {
        Some(p) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit() || c == '.') => p.parse().ok()?,
        Some(_) => return None,
        None => 0.0,
    };
    if m >= 60.0 || sec >= 60.0 {
        return None;
    }
    let v = h * MICROS_PER_HOUR as f64 + m * 6e7 + sec * 1e6;
    Some(if neg { -v } else { v })
}

/// ISO 8601 `P[nY][nM][nW][nD][T[nH][nM][nS]]`.
fn parse_iso(s: &str, acc: &mut (f64, f64, f64)) -> Option<()> {
    let body = s.strip_prefix('P')?;
    let mut in_time = false;
    let mut num = String::new();
    let mut any = false;
    for c in body.chars() {
        match c {
            'T' if !in_time && num.is_empty() => in_time = true,
            '0'..='9' | '.' | '-' | '+' => num.push(c),
            _ => {
                let amount: f64 = num.parse().ok()?;
                num.clear();
                let unit = match (c, in_time) {
                    ('Y', false) => "year",
                    ('M', false) => "month",
                    ('W', false) => "week",
                    ('D', false) => "day",
                    ('H', true) => "hour",
                    ('M', true) => "minute",
                    ('S', true) => "second",
                    _ => return None,
                };
                add_unit(acc, amount, unit)?;
                any = true;
            }
        }
    }
    (num.is_empty() && any).then_some(())
}

/// Reads PostgreSQL's interval input (see the module docs).
pub fn parse(text: &str) -> Result<Interval> {
    let s = text.trim();
    let mut acc = (0.0, 0.0, 0.0);
    if s.starts_with('P') {
        parse_iso(s, &mut acc).ok_or_else(|| bad(text))?;
        return finish(acc, text);
    }
    let lower = s.to_ascii_lowercase();
    let mut tokens: Vec<&str> = lower.split_whitespace().collect();
    if tokens.first() == Some(&"@") {
        tokens.remove(0);
    }
    let ago = tokens.last() == Some(&"ago");
    if ago {
        tokens.pop();
    }
    if tokens.is_empty() {
        return Err(bad(text));
    }
    let mut i = 0;
    while let Some(tok) = tokens.get(i) {
        i += 1;
        if tok.contains(':') {
            acc.2 += parse_time(tok).ok_or_else(|| bad(text))?;
            continue;
        }
        // A number, its unit attached ("10min") or in the next token.
        let split = tok
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
            .unwrap_or(tok.len());
        let (num, unit) = tok.split_at(split);
        let amount: f64 = num.parse().map_err(|_| bad(text))?;
        let unit = if !unit.is_empty() {
            unit
        } else if let Some(next) = tokens
            .get(i)
            .filter(|n| n.starts_with(|c: char| c.is_ascii_alphabetic()))
        {
            i += 1;
            next
        } else {
            "second" // a bare number is seconds
        };
        add_unit(&mut acc, amount, unit).ok_or_else(|| bad(text))?;
    }
    if ago {
        acc = (-acc.0, -acc.1, -acc.2);
    }
    finish(acc, text)
}

fn finish((months, days, micros): (f64, f64, f64), text: &str) -> Result<Interval> {
    // Whole days in the fractional parts go to days only through explicit
    // units, as in PostgreSQL: `36 hours` stays `36:00:00`.
    let (months, days, micros) = (months.round(), days.round(), micros.round());
    let fits = |v: f64, lo: f64, hi: f64| v.is_finite() && (lo..=hi).contains(&v);
    if !fits(months, f64::from(i32::MIN), f64::from(i32::MAX))
        || !fits(days, f64::from(i32::MIN), f64::from(i32::MAX))
        || !fits(micros, i64::MIN as f64, i64::MAX as f64)
    {
        return Err(SqlError::new(
            codes::DATETIME_FIELD_OVERFLOW,
            format!("interval field value out of range: \"{text}\""),
        ));
    }
    Ok(Interval {
        months: months as i32,
        days: days as i32,
        micros: micros as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(input: &str) -> String {
        format(&parse(input).unwrap())
    }

    #[test]
    fn parses_and_prints_as_postgres() {
        assert_eq!(
            round_trip("1 year 2 months 3 days 04:05:06.7"),
            "1 year 2 mons 3 days 04:05:06.7"
        );
        assert_eq!(round_trip("1 day"), "1 day");
        assert_eq!(round_trip("-1 day"), "-1 days");
        assert_eq!(round_trip("1 day -1 hour"), "1 day -01:00:00");
        assert_eq!(round_trip("-1 day 1 hour"), "-1 days +01:00:00");
        assert_eq!(round_trip("0 seconds"), "00:00:00");
        assert_eq!(round_trip("1.5 days"), "1 day 12:00:00");
        assert_eq!(round_trip("1.5 months"), "1 mon 15 days");
        assert_eq!(round_trip("36 hours"), "36:00:00");
        assert_eq!(round_trip("10min"), "00:10:00");
        assert_eq!(round_trip("2 weeks"), "14 days");
        assert_eq!(round_trip("@ 3 days ago"), "-3 days");
        assert_eq!(round_trip("90"), "00:01:30");
        assert_eq!(round_trip("P1Y2M3DT4H5M6S"), "1 year 2 mons 3 days 04:05:06");
        assert_eq!(round_trip("01:30"), "01:30:00");
        assert!(parse("1 fortnight").is_err());
        assert!(parse("").is_err());
        assert!(parse("1:99").is_err());
    }

    #[test]
    fn months_are_added_on_the_calendar() {
        use crate::datetime::{format_timestamp, parse_timestamp};
        let jan31 = parse_timestamp("2024-01-31 10:00").unwrap();
        let plus = |s: &str| format_timestamp(parse(s).unwrap().add_to(jan31).unwrap());
        assert_eq!(plus("1 month"), "2024-02-29 10:00:00");
        assert_eq!(plus("1 month 1 day"), "2024-03-01 10:00:00");
        assert_eq!(plus("-2 months"), "2023-11-30 10:00:00");
        assert_eq!(plus("25 hours"), "2024-02-01 11:00:00");
    }

    #[test]
    fn spans_order_and_multiply_as_postgres() {
        let p = |s: &str| parse(s).unwrap();
        assert_eq!(p("1 month").span(), p("30 days").span());
        assert!(p("1 day").span() > p("23 hours").span());
        assert!(p("-1 day").key_bytes() < p("1 hour").key_bytes());
        assert_eq!(format(&p("1 month").mul(1.5).unwrap()), "1 mon 15 days");
        assert_eq!(format(&p("1 day").div(4.0).unwrap()), "06:00:00");
        assert!(p("1 day").div(0.0).is_err());
        let a = crate::datetime::parse_timestamp("2024-05-17 13:00").unwrap();
        let b = crate::datetime::parse_timestamp("2024-05-15 12:00").unwrap();
        assert_eq!(format(&Interval::between(a, b).unwrap()), "2 days 01:00:00");
        assert_eq!(format(&Interval::between(b, a).unwrap()), "-2 days -01:00:00");
    }
}
