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

    /// `interval * factor`, as PostgreSQL's `interval_mul` computes it:
    /// months and days are scaled and truncated separately, and their
    /// fractions cascade down (30 days to a month, 24 hours to a day),
    /// never up.
    pub fn mul(&self, factor: f64) -> Result<Interval> {
        self.scale(|x| x * factor)
    }

    /// `interval / divisor`, as PostgreSQL's `interval_div`.
    pub fn div(&self, divisor: f64) -> Result<Interval> {
        if divisor == 0.0 {
            return Err(SqlError::division_by_zero());
        }
        self.scale(|x| x / divisor)
    }

    /// The shared body of `interval_mul` and `interval_div`, `f` being the
    /// multiplication or the division.
    fn scale(&self, f: impl Fn(f64) -> f64) -> Result<Interval> {
        // PostgreSQL's TSROUND: to microsecond precision.
        let tsround = |x: f64| (x * 1e6).round_ties_even() / 1e6;
        let to_i32 = |x: f64| {
            (x.is_finite() && x >= f64::from(i32::MIN) && x <= f64::from(i32::MAX))
                .then_some(x as i32)
                .ok_or_else(overflow)
        };
        let months_f = f(f64::from(self.months));
        let days_f = f(f64::from(self.days));
        let months = to_i32(months_f)?;
        let mut days = to_i32(days_f)?;
        let month_remainder_days = tsround((months_f - f64::from(months)) * DAYS_PER_MONTH as f64);
        let secs_per_day = (MICROS_PER_DAY / MICROS_PER_SECOND) as f64;
        let mut sec_remainder = tsround(
            (days_f - f64::from(days) + month_remainder_days - month_remainder_days.trunc()) * secs_per_day,
        );
        if sec_remainder.abs() >= secs_per_day {
            let whole = (sec_remainder / secs_per_day).trunc();
            days = days.checked_add(to_i32(whole)?).ok_or_else(overflow)?;
            sec_remainder -= whole * secs_per_day;
        }
        days = days
            .checked_add(to_i32(month_remainder_days.trunc())?)
            .ok_or_else(overflow)?;
        let micros = (f(self.micros as f64) + sec_remainder * MICROS_PER_SECOND as f64).round_ties_even();
        // i64::MAX as f64 rounds up to 2^63, which does not fit.
        if !micros.is_finite() || micros < i64::MIN as f64 || micros >= i64::MAX as f64 {
            return Err(overflow());
        }
        Ok(Interval {
            months,
            days,
            micros: micros as i64,
        })
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
            // Only the result must be in years 1 to 9999: a month step
            // past year 9999 may come back with negative days. Within
            // ±200,000 years the microseconds cannot overflow.
            if !(-200_000..=200_000).contains(&y) {
                return Err(SqlError::new(
                    codes::DATETIME_FIELD_OVERFLOW,
                    "timestamp out of range",
                ));
            }
            let d = d.min(crate::datetime::days_in_month(y, m));
            ts = days_from_civil(y, m, d) * MICROS_PER_DAY + time;
        }
        let out_of_range = || SqlError::new(codes::DATETIME_FIELD_OVERFLOW, "timestamp out of range");
        let ts = ts
            .checked_add(
                i64::from(self.days)
                    .checked_mul(MICROS_PER_DAY)
                    .ok_or_else(out_of_range)?,
            )
            .and_then(|t| t.checked_add(self.micros))
            .ok_or_else(out_of_range)?;
        if !crate::datetime::in_years(ts) {
            return Err(out_of_range());
        }
        Ok(ts)
    }

    /// A field of the interval (`EXTRACT(field FROM interval)`; `field` as
    /// [`crate::datetime::unit`] names it), as
    /// (mantissa, scale): `epoch` counts a year as 365.25 days and a month
    /// as 30 days, as PostgreSQL does.
    pub fn field(&self, field: &str) -> Option<(i128, u32)> {
        let years = i128::from(self.months / 12);
        let time = i128::from(self.micros);
        Some(match field {
            "microseconds" => (time % 60_000_000, 0),
            "milliseconds" => (time % 60_000_000, 3),
            "second" => (time % 60_000_000, 6),
            "minute" => (time / 60_000_000 % 60, 0),
            "hour" => (time / i128::from(MICROS_PER_HOUR), 0),
            "day" => (i128::from(self.days), 0),
            "month" => (i128::from(self.months % 12), 0),
            "quarter" => (i128::from(self.months % 12 / 3 + 1), 0),
            "year" => (years, 0),
            "decade" => (years / 10, 0),
            "century" => (years / 100, 0),
            "millennium" => (years / 1000, 0),
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

/// An interval being read: exact integer parts, the fractional part of
/// the time (micros) and the fields already given (each may appear once).
#[derive(Default)]
struct Acc {
    months: i128,
    days: i128,
    micros: i128,
    frac_micros: f64,
    seen: u16,
}

impl Acc {
    /// Adds `int + frac` of `unit` (both with the number's sign), spilling
    /// fractions down as PostgreSQL does: a fraction of a year becomes
    /// whole months (rounded half to even), of a month days (30 to a
    /// month) and then time, of a week or day time. `None`: an unknown
    /// unit, or a field given twice.
    fn add(&mut self, int: i64, frac: f64, unit: &str) -> Option<()> {
        const MICRO: u16 = 1;
        const MILLI: u16 = 2;
        const SECOND: u16 = 4;
        const MINUTE: u16 = 8;
        const HOUR: u16 = 16;
        const DAY: u16 = 32;
        const WEEK: u16 = 64;
        const MONTH: u16 = 128;
        const YEAR: u16 = 256;
        const DECADE: u16 = 512;
        const CENTURY: u16 = 1024;
        const MILLENNIUM: u16 = 2048;
        let int = i128::from(int);
        let (bit, scale) = match unit {
            "microsecond" | "microseconds" | "usec" | "usecs" | "us" => (MICRO, 1),
            "millisecond" | "milliseconds" | "msec" | "msecs" | "ms" => (MILLI, 1_000),
            "second" | "seconds" | "sec" | "secs" | "s" => (SECOND, MICROS_PER_SECOND),
            "minute" | "minutes" | "min" | "mins" | "m" => (MINUTE, 60 * MICROS_PER_SECOND),
            "hour" | "hours" | "hr" | "hrs" | "h" => (HOUR, MICROS_PER_HOUR),
            "day" | "days" | "d" => (DAY, 0),
            "week" | "weeks" | "w" => (WEEK, 0),
            "month" | "months" | "mon" | "mons" => (MONTH, 0),
            "year" | "years" | "yr" | "yrs" | "y" => (YEAR, 12),
            "decade" | "decades" => (DECADE, 120),
            "century" | "centuries" => (CENTURY, 1_200),
            "millennium" | "millennia" | "millenniums" => (MILLENNIUM, 12_000),
            _ => return None,
        };
        if self.seen & bit != 0 {
            return None;
        }
        self.seen |= bit;
        match bit {
            DAY | WEEK => {
                let per = if bit == WEEK { 7 } else { 1 };
                self.add_days(int * per, frac * per as f64);
            }
            MONTH => {
                self.months += int;
                self.add_days(0, frac * DAYS_PER_MONTH as f64);
            }
            YEAR | DECADE | CENTURY | MILLENNIUM => {
                self.months += int * i128::from(scale) + (frac * scale as f64).round_ties_even() as i128;
            }
            _ => {
                self.micros += int * i128::from(scale);
                self.frac_micros += frac * scale as f64;
            }
        }
        Some(())
    }

    /// Whole days, and a fraction of a day that becomes time.
    fn add_days(&mut self, whole: i128, frac: f64) {
        self.days += whole + frac.trunc() as i128;
        self.frac_micros += frac.fract() * MICROS_PER_DAY as f64;
    }

    /// `hh:mm[:ss[.f]]`, or `mm:ss.f` (two parts, a fraction in the
    /// second), optionally signed: the hour, minute and second fields.
    fn add_time(&mut self, s: &str) -> Option<()> {
        let (neg, body) = match s.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let parts: Vec<&str> = body.split(':').collect();
        let whole = |p: &str| -> Option<i128> {
            (!p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        };
        let seconds = |p: &str| -> Option<(i128, f64)> {
            let (w, f) = p.split_once('.').unwrap_or((p, ""));
            let frac = if f.is_empty() {
                0.0
            } else {
                format!("0.{f}")
                    .parse::<f64>()
                    .ok()
                    .filter(|_| f.chars().all(|c| c.is_ascii_digit()))?
            };
            Some((whole(w)?, frac))
        };
        let (h, m, (sec, frac)) = match parts.as_slice() {
            [m, s] if s.contains('.') => (0, whole(m)?, seconds(s)?),
            [h, m] => (whole(h)?, whole(m)?, (0, 0.0)),
            [h, m, s] => (whole(h)?, whole(m)?, seconds(s)?),
            _ => return None,
        };
        if m >= 60 || sec >= 60 {
            return None;
        }
        let time_bits = 4 | 8 | 16;
        if self.seen & time_bits != 0 {
            return None;
        }
        self.seen |= time_bits;
        let sign = if neg { -1 } else { 1 };
        self.micros += sign
            * (h * i128::from(MICROS_PER_HOUR)
                + m * 60 * i128::from(MICROS_PER_SECOND)
                + sec * i128::from(MICROS_PER_SECOND));
        self.frac_micros += f64::from(sign as i32) * frac * MICROS_PER_SECOND as f64;
        Some(())
    }

    fn negate(&mut self) {
        self.months = -self.months;
        self.days = -self.days;
        self.micros = -self.micros;
        self.frac_micros = -self.frac_micros;
    }

    fn finish(self, text: &str) -> Result<Interval> {
        let micros = self.micros + self.frac_micros.round() as i128;
        let out = || {
            SqlError::new(
                codes::INTERVAL_FIELD_OVERFLOW,
                format!("interval field value out of range: \"{text}\""),
            )
        };
        Ok(Interval {
            months: i32::try_from(self.months).map_err(|_| out())?,
            days: i32::try_from(self.days).map_err(|_| out())?,
            micros: i64::try_from(micros).map_err(|_| out())?,
        })
    }
}

/// A signed decimal number as (integer part, fraction), both signed.
fn number(s: &str) -> Option<(i64, f64)> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (w, f) = body.split_once('.').unwrap_or((body, ""));
    if (w.is_empty() && f.is_empty()) || !w.chars().chain(f.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let int: i64 = if w.is_empty() { 0 } else { w.parse().ok()? };
    let frac: f64 = if f.is_empty() {
        0.0
    } else {
        format!("0.{f}").parse().ok()?
    };
    Some(if neg { (-int, -frac) } else { (int, frac) })
}

/// ISO 8601 `P[nY][nM][nW][nD][T[nH][nM][nS]]`.
fn parse_iso(s: &str, acc: &mut Acc) -> Option<()> {
    let body = s.strip_prefix('P')?;
    let mut in_time = false;
    let mut num = String::new();
    let mut any = false;
    for c in body.chars() {
        match c {
            'T' if !in_time && num.is_empty() => in_time = true,
            '0'..='9' | '.' | '-' | '+' => num.push(c),
            _ => {
                let (int, frac) = number(&num)?;
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
                acc.add(int, frac, unit)?;
                any = true;
            }
        }
    }
    (num.is_empty() && any).then_some(())
}

/// Reads PostgreSQL's interval input (see the module docs).
pub fn parse(text: &str) -> Result<Interval> {
    let s = text.trim();
    let mut acc = Acc::default();
    if s.starts_with('P') {
        parse_iso(s, &mut acc).ok_or_else(|| bad(text))?;
        return acc.finish(text);
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
            acc.add_time(tok).ok_or_else(|| bad(text))?;
            continue;
        }
        // A number, its unit attached ("10min") or in the next token; a
        // number alone is seconds, and only as the last token.
        let split = tok
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
            .unwrap_or(tok.len());
        let (num, unit) = tok.split_at(split);
        let (int, frac) = number(num).ok_or_else(|| bad(text))?;
        let unit = if !unit.is_empty() {
            unit
        } else if let Some(next) = tokens
            .get(i)
            .filter(|n| n.starts_with(|c: char| c.is_ascii_alphabetic()))
        {
            i += 1;
            next
        } else if i == tokens.len() {
            "second"
        } else {
            return Err(bad(text));
        };
        acc.add(int, frac, unit).ok_or_else(|| bad(text))?;
    }
    if ago {
        acc.negate();
    }
    acc.finish(text)
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
        assert_eq!(round_trip("1 day 5"), "1 day 00:00:05");
        assert_eq!(round_trip("1:30.5"), "00:01:30.5");
        assert_eq!(round_trip("0.375 years"), "4 mons");
        assert_eq!(round_trip("-1:30"), "-01:30:00");
        assert_eq!(
            round_trip("9007199254740993 microseconds"),
            "2501999:47:34.740993"
        );
        for bad in [
            "1 fortnight",
            "",
            "1:99",
            "1 2",
            "5 1 day",
            "1 day 1 day",
            "1 mon 2 mon",
            "1 day 01:00 02:00",
        ] {
            assert_eq!(
                parse(bad).unwrap_err().code,
                codes::INVALID_DATETIME_FORMAT,
                "{bad}"
            );
        }
        assert_eq!(
            parse("2147483648 days").unwrap_err().code,
            codes::INTERVAL_FIELD_OVERFLOW
        );
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
        // PostgreSQL 15's answers for the same products and quotients.
        for (iv, f, want) in [
            ("1 month", 1.5, "1 mon 15 days"),
            ("1 mon -1 day", 0.5, "15 days -12:00:00"),
            ("-1 mon 1 day", 0.5, "-15 days +12:00:00"),
            ("1 day", 1.5, "1 day 12:00:00"),
            ("1 mon 1 day 1 hour", 2.7, "2 mons 23 days 19:30:00"),
            ("1 mon", -0.5, "-15 days"),
        ] {
            assert_eq!(format(&p(iv).mul(f).unwrap()), want, "{iv} * {f}");
        }
        for (iv, d, want) in [
            ("1 mon", 7.0, "4 days 06:51:25.6896"),
            ("1 year", 7.0, "1 mon 21 days 10:17:08.5344"),
            ("10 days", 3.0, "3 days 08:00:00"),
            ("1 day", 4.0, "06:00:00"),
        ] {
            assert_eq!(format(&p(iv).div(d).unwrap()), want, "{iv} / {d}");
        }
        assert!(p("1 day").div(0.0).is_err());
        let a = crate::datetime::parse_timestamp("2024-05-17 13:00").unwrap();
        let b = crate::datetime::parse_timestamp("2024-05-15 12:00").unwrap();
        assert_eq!(format(&Interval::between(a, b).unwrap()), "2 days 01:00:00");
        assert_eq!(format(&Interval::between(b, a).unwrap()), "-2 days -01:00:00");
    }
}
