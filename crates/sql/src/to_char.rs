//! `to_char(timestamp | timestamptz | date, format)`: PostgreSQL's
//! date/time template patterns.
//!
//! The format is read left to right. At each point the longest template
//! pattern that matches (case-sensitively: `Month`, `MONTH` and `month`
//! differ; numeric patterns come in upper and lower case, so `yyyy` is the
//! year too) is replaced by its field, optionally after the prefixes `FM`
//! (no padding: `FMDD` is `5`, `FMMonth` is `May`), `TM` (names without
//! trailing blanks; they are not translated) and `FX` (no effect here),
//! and followed by `TH`/`th` (an ordinal suffix) or `SP` (spell mode,
//! accepted and ignored, as in PostgreSQL). Text in double quotes is
//! copied without its quotes (a backslash in it takes the next character
//! as it is: `\"`, `\\`), `\"` outside quotes is a quote, and any other
//! character is copied as it is. An empty format gives NULL, as in
//! PostgreSQL.
//!
//! A DATE reads as midnight; a DATE or TIMESTAMPTZ is in the session's
//! time zone, always UTC here (`TZ` is `UTC`, `OF` is `+00`); for a
//! TIMESTAMP without time zone `TZ` is empty, as in PostgreSQL.
//!
//! Not here: `to_char` of numbers and intervals (0A000), localized names
//! (`TM` is accepted and ignored: names are English), years before 1 AD
//! (which no value here can hold).

use crate::datetime::{civil_from_days, days_from_civil, iso_week};
use crate::error::{Result, SqlError};
use crate::interval::MICROS_PER_DAY;
use crate::types::Value;

/// The fields a pattern can print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Hour12,
    Hour24,
    Minute,
    Second,
    Millis,
    Micros,
    /// `FF1`..`FF6`: that many digits of the fraction.
    Fraction(u32),
    SecondsOfDay,
    Meridiem {
        dots: bool,
    },
    YearComma,
    Year(u32),
    IsoYear(u32),
    MonthName,
    MonthAbbrev,
    Month,
    DayName,
    DayAbbrev,
    DayOfYear,
    IsoDayOfYear,
    DayOfMonth,
    DayOfWeek,
    IsoDayOfWeek,
    WeekOfMonth,
    WeekOfYear,
    IsoWeek,
    Century,
    Julian,
    Quarter,
    RomanMonth,
    Era {
        dots: bool,
    },
    TimeZone,
    Offset,
    OffsetHours,
    OffsetMinutes,
}

/// How a name pattern capitalizes its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Upper,
    Title,
    Lower,
}

/// The patterns, longest first where one is a prefix of another.
const PATTERNS: &[(&str, Field, Case)] = {
    use Case::*;
    use Field::*;
    &[
        ("A.D.", Era { dots: true }, Upper),
        ("a.d.", Era { dots: true }, Lower),
        ("B.C.", Era { dots: true }, Upper),
        ("b.c.", Era { dots: true }, Lower),
        ("A.M.", Meridiem { dots: true }, Upper),
        ("a.m.", Meridiem { dots: true }, Lower),
        ("P.M.", Meridiem { dots: true }, Upper),
        ("p.m.", Meridiem { dots: true }, Lower),
        ("Y,YYY", YearComma, Upper),
        ("y,yyy", YearComma, Lower),
        ("MONTH", MonthName, Upper),
        ("Month", MonthName, Title),
        ("month", MonthName, Lower),
        ("SSSSS", SecondsOfDay, Upper),
        ("sssss", SecondsOfDay, Lower),
        ("HH24", Hour24, Upper),
        ("hh24", Hour24, Lower),
        ("HH12", Hour12, Upper),
        ("hh12", Hour12, Lower),
        ("YYYY", Year(4), Upper),
        ("yyyy", Year(4), Lower),
        ("IYYY", IsoYear(4), Upper),
        ("iyyy", IsoYear(4), Lower),
        ("IDDD", IsoDayOfYear, Upper),
        ("iddd", IsoDayOfYear, Lower),
        ("SSSS", SecondsOfDay, Upper),
        ("ssss", SecondsOfDay, Lower),
        ("YYY", Year(3), Upper),
        ("yyy", Year(3), Lower),
        ("IYY", IsoYear(3), Upper),
        ("iyy", IsoYear(3), Lower),
        ("MON", MonthAbbrev, Upper),
        ("Mon", MonthAbbrev, Title),
        ("mon", MonthAbbrev, Lower),
        ("DAY", DayName, Upper),
        ("Day", DayName, Title),
        ("day", DayName, Lower),
        ("DDD", DayOfYear, Upper),
        ("ddd", DayOfYear, Lower),
        ("FF1", Fraction(1), Upper),
        ("FF2", Fraction(2), Upper),
        ("FF3", Fraction(3), Upper),
        ("FF4", Fraction(4), Upper),
        ("FF5", Fraction(5), Upper),
        ("FF6", Fraction(6), Upper),
        ("ff1", Fraction(1), Lower),
        ("ff2", Fraction(2), Lower),
        ("ff3", Fraction(3), Lower),
        ("ff4", Fraction(4), Lower),
        ("ff5", Fraction(5), Lower),
        ("ff6", Fraction(6), Lower),
        ("TZH", OffsetHours, Upper),
        ("tzh", OffsetHours, Lower),
        ("TZM", OffsetMinutes, Upper),
        ("tzm", OffsetMinutes, Lower),
        ("HH", Hour12, Upper),
        ("hh", Hour12, Lower),
        ("MI", Minute, Upper),
        ("mi", Minute, Lower),
        ("SS", Second, Upper),
        ("ss", Second, Lower),
        ("MS", Millis, Upper),
        ("ms", Millis, Lower),
        ("US", Micros, Upper),
        ("us", Micros, Lower),
        ("AM", Meridiem { dots: false }, Upper),
        ("am", Meridiem { dots: false }, Lower),
        ("PM", Meridiem { dots: false }, Upper),
        ("pm", Meridiem { dots: false }, Lower),
        ("AD", Era { dots: false }, Upper),
        ("ad", Era { dots: false }, Lower),
        ("BC", Era { dots: false }, Upper),
        ("bc", Era { dots: false }, Lower),
        ("YY", Year(2), Upper),
        ("yy", Year(2), Lower),
        ("IY", IsoYear(2), Upper),
        ("iy", IsoYear(2), Lower),
        ("MM", Month, Upper),
        ("mm", Month, Lower),
        ("DY", DayAbbrev, Upper),
        ("Dy", DayAbbrev, Title),
        ("dy", DayAbbrev, Lower),
        ("DD", DayOfMonth, Upper),
        ("dd", DayOfMonth, Lower),
        ("ID", IsoDayOfWeek, Upper),
        ("id", IsoDayOfWeek, Lower),
        ("WW", WeekOfYear, Upper),
        ("ww", WeekOfYear, Lower),
        ("IW", IsoWeek, Upper),
        ("iw", IsoWeek, Lower),
        ("CC", Century, Upper),
        ("cc", Century, Lower),
        ("RM", RomanMonth, Upper),
        ("rm", RomanMonth, Lower),
        ("TZ", TimeZone, Upper),
        ("tz", TimeZone, Lower),
        ("OF", Offset, Upper),
        ("of", Offset, Lower),
        ("Y", Year(1), Upper),
        ("y", Year(1), Lower),
        ("I", IsoYear(1), Upper),
        ("i", IsoYear(1), Lower),
        ("D", DayOfWeek, Upper),
        ("d", DayOfWeek, Lower),
        ("W", WeekOfMonth, Upper),
        ("w", WeekOfMonth, Lower),
        ("J", Julian, Upper),
        ("j", Julian, Lower),
        ("Q", Quarter, Upper),
        ("q", Quarter, Lower),
    ]
};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const ROMAN: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];
/// The Julian day number of 1970-01-01.
const JULIAN_EPOCH: i64 = 2_440_588;

/// `to_char(v, format)`; `with_zone` when `v` is a TIMESTAMPTZ (or a
/// DATE, which PostgreSQL reads as one).
pub fn to_char(v: &Value, format: &str, with_zone: bool) -> Result<Value> {
    let (micros, with_zone) = match v {
        Value::Timestamp(t) => (*t, with_zone),
        Value::Date(d) => (crate::datetime::date_to_timestamp(*d), true),
        Value::Text(s) => (crate::datetime::parse_timestamp(s)?, with_zone),
        Value::Null => return Ok(Value::Null),
        other => {
            return Err(SqlError::unsupported(format!(
                "to_char of type {}",
                other.data_type().name()
            )));
        }
    };
    if format.is_empty() {
        return Ok(Value::Null);
    }
    let t = Parts::of(micros, with_zone);
    let mut out = String::with_capacity(format.len() + 16);
    let mut rest = format;
    while !rest.is_empty() {
        // Prefix modifiers.
        let (mut fill, mut translate) = (false, false);
        loop {
            if let Some(r) = rest.strip_prefix("FM").or_else(|| rest.strip_prefix("fm")) {
                fill = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("TM").or_else(|| rest.strip_prefix("tm")) {
                translate = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("FX").or_else(|| rest.strip_prefix("fx")) {
                rest = r;
            } else {
                break;
            }
        }
        if let Some((pattern, field, case)) = PATTERNS.iter().find(|(p, ..)| rest.starts_with(p)) {
            rest = &rest[pattern.len()..];
            // `TM` names come without trailing blanks.
            let number = t.write(*field, *case, fill, fill || translate, &mut out);
            match number {
                Some(n) if rest.starts_with("TH") => {
                    out.push_str(&ordinal(n).to_uppercase());
                    rest = &rest[2..];
                }
                Some(n) if rest.starts_with("th") => {
                    out.push_str(ordinal(n));
                    rest = &rest[2..];
                }
                // Spell mode: accepted and ignored, as in PostgreSQL.
                _ if rest.starts_with("SP") => rest = &rest[2..],
                _ => {}
            }
            continue;
        }
        let mut chars = rest.chars();
        match chars.next() {
            Some('"') => {
                // Quoted text, up to the closing quote; inside it a
                // backslash takes the next character as it is (`\"`, `\\`).
                let mut escaped = false;
                let mut end = rest.len();
                for (i, c) in rest.char_indices().skip(1) {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => {
                            end = i + 1;
                            break;
                        }
                        c => {
                            out.push(c);
                            escaped = false;
                        }
                    }
                }
                rest = &rest[end..];
            }
            Some('\\') if chars.as_str().starts_with('"') => {
                out.push('"');
                rest = &rest[2..];
            }
            Some(c) => {
                out.push(c);
                rest = chars.as_str();
            }
            None => break,
        }
    }
    Ok(Value::Text(out))
}

/// English ordinal suffix of `n`.
fn ordinal(n: i64) -> &'static str {
    match (n % 100, n % 10) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    }
}

/// A point in time broken into the fields the patterns print.
struct Parts {
    days: i64,
    year: i64,
    month: u32,
    day: u32,
    micros_of_day: i64,
    /// 0 = Sunday.
    dow: i64,
    /// 1 = January 1st.
    doy: i64,
    iso_year: i64,
    iso_week: i64,
    with_zone: bool,
}

impl Parts {
    fn of(micros: i64, with_zone: bool) -> Parts {
        let days = micros.div_euclid(MICROS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let (iso_year, iso_week) = iso_week(days);
        Parts {
            days,
            year,
            month,
            day,
            micros_of_day: micros.rem_euclid(MICROS_PER_DAY),
            dow: (days + 4).rem_euclid(7),
            doy: days - days_from_civil(year, 1, 1) + 1,
            iso_year,
            iso_week,
            with_zone,
        }
    }

    /// Appends `field`; returns the number printed, for a `TH` suffix.
    /// `fill`: no zero padding of numbers; `trim`: no blank padding of
    /// names.
    fn write(&self, field: Field, case: Case, fill: bool, trim: bool, out: &mut String) -> Option<i64> {
        use Field::*;
        let hour = self.micros_of_day / 3_600_000_000;
        let (dow, doy, iso_year, iso_week) = (self.dow, self.doy, self.iso_year, self.iso_week);
        let num = |n: i64, width: usize, out: &mut String| {
            if fill {
                out.push_str(&n.to_string());
            } else {
                out.push_str(&format!("{n:0width$}"));
            }
            Some(n)
        };
        let name = |s: &str, pad: usize, out: &mut String| {
            let s = match case {
                Case::Upper => s.to_uppercase(),
                Case::Title => s.to_owned(),
                Case::Lower => s.to_lowercase(),
            };
            if trim {
                out.push_str(&s);
            } else {
                out.push_str(&format!("{s:<pad$}"));
            }
            None
        };
        let last_digits = |y: i64, digits: u32, out: &mut String| {
            let n = y % 10i64.pow(digits);
            num(n, digits as usize, out)
        };
        match field {
            Hour12 => num(if hour % 12 == 0 { 12 } else { hour % 12 }, 2, out),
            Hour24 => num(hour, 2, out),
            Minute => num(self.micros_of_day / 60_000_000 % 60, 2, out),
            Second => num(self.micros_of_day / 1_000_000 % 60, 2, out),
            Millis => num(self.micros_of_day / 1_000 % 1_000, 3, out),
            Micros => num(self.micros_of_day % 1_000_000, 6, out),
            Fraction(n) => {
                let scaled = self.micros_of_day % 1_000_000 / 10i64.pow(6 - n);
                out.push_str(&format!("{scaled:0width$}", width = n as usize));
                Some(scaled)
            }
            SecondsOfDay => {
                let n = self.micros_of_day / 1_000_000;
                out.push_str(&n.to_string());
                Some(n)
            }
            Meridiem { dots } => {
                let text = match (hour >= 12, dots) {
                    (false, false) => "AM",
                    (true, false) => "PM",
                    (false, true) => "A.M.",
                    (true, true) => "P.M.",
                };
                push_cased(text, case, out);
                None
            }
            Era { dots } => {
                push_cased(if dots { "A.D." } else { "AD" }, case, out);
                None
            }
            YearComma => {
                out.push_str(&format!("{},{:03}", self.year / 1000, self.year % 1000));
                Some(self.year)
            }
            Year(4) => num(self.year, 4, out),
            Year(d) => last_digits(self.year, d, out),
            IsoYear(4) => num(iso_year, 4, out),
            IsoYear(d) => last_digits(iso_year, d, out),
            MonthName => name(MONTHS[self.month as usize - 1], 9, out),
            MonthAbbrev => name(&MONTHS[self.month as usize - 1][..3], 0, out),
            Month => num(i64::from(self.month), 2, out),
            DayName => name(DAYS[dow as usize], 9, out),
            DayAbbrev => name(&DAYS[dow as usize][..3], 0, out),
            DayOfYear => num(doy, 3, out),
            IsoDayOfYear => {
                let week1_monday = {
                    // The Monday of ISO week 1 of `iso_year`: the week
                    // holding January 4th.
                    let jan4 = days_from_civil(iso_year, 1, 4);
                    jan4 - (jan4 + 3).rem_euclid(7)
                };
                num(self.days - week1_monday + 1, 3, out)
            }
            DayOfMonth => num(i64::from(self.day), 2, out),
            DayOfWeek => num(dow + 1, 1, out),
            IsoDayOfWeek => num(if dow == 0 { 7 } else { dow }, 1, out),
            WeekOfMonth => num((i64::from(self.day) - 1) / 7 + 1, 1, out),
            WeekOfYear => num((doy - 1) / 7 + 1, 2, out),
            IsoWeek => num(iso_week, 2, out),
            Century => num((self.year + 99) / 100, 2, out),
            Julian => num(self.days + JULIAN_EPOCH, 1, out),
            Quarter => num(i64::from((self.month - 1) / 3 + 1), 1, out),
            RomanMonth => {
                let r = ROMAN[self.month as usize - 1];
                let r = if case == Case::Lower {
                    r.to_lowercase()
                } else {
                    r.to_owned()
                };
                if fill {
                    out.push_str(&r);
                } else {
                    out.push_str(&format!("{r:<4}"));
                }
                None
            }
            TimeZone => {
                if self.with_zone {
                    push_cased("UTC", case, out);
                }
                None
            }
            Offset | OffsetHours => {
                out.push_str("+00");
                None
            }
            OffsetMinutes => {
                out.push_str("00");
                None
            }
        }
    }
}

fn push_cased(text: &str, case: Case, out: &mut String) {
    match case {
        Case::Lower => out.push_str(&text.to_lowercase()),
        _ => out.push_str(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Value {
        Value::Timestamp(crate::datetime::parse_timestamp(s).expect("timestamp"))
    }

    fn fmt(v: &Value, f: &str) -> String {
        match to_char(v, f, false).expect("to_char") {
            Value::Text(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn patterns_match_postgresql() {
        // Each expected string is PostgreSQL 15's answer.
        let t = ts("2024-01-05 13:04:05.123456");
        assert_eq!(
            fmt(
                &t,
                "HH HH12 hh24 MI SS MS US FF1 FF3 FF6 SSSS SSSSS AM am P.M. p.m."
            ),
            "01 01 13 04 05 123 123456 1 123 123456 47045 47045 PM pm P.M. p.m."
        );
        let t = ts("2024-03-05 00:04:05");
        assert_eq!(
            fmt(&t, "Y,YYY YYYY YYY YY Y IYYY IYY IY I|yyyy|Yyyy"),
            "2,024 2024 024 24 4 2024 024 24 4|2024|4024"
        );
        let t = ts("2024-09-05 00:04:05");
        assert_eq!(
            fmt(&t, "MONTH|Month|month|MON|Mon|mon|MM|FMMonth|FMMONTH|"),
            "SEPTEMBER|September|september|SEP|Sep|sep|09|September|SEPTEMBER|"
        );
        assert_eq!(
            fmt(
                &t,
                "DAY|Day|day|DY|Dy|dy|DDD|IDDD|DD|D|ID|W|WW|IW|CC|J|Q|RM|rm|FMRM|"
            ),
            "THURSDAY |Thursday |thursday |THU|Thu|thu|249|249|05|5|4|1|36|36|21|2460559|3|IX  |ix  |IX|"
        );
        let t = ts("2024-09-01 00:04:05");
        assert_eq!(
            fmt(
                &t,
                r#"DDth DDTH FMDDth Dth|"YYYY quoted" \"x|AD ad BC b.c.|FMDD FMMM FMHH24 FMYYYY|"#
            ),
            r#"01st 01ST 1st 1st|YYYY quoted "x|AD ad AD a.d.|1 9 0 2024|"#
        );
        assert_eq!(fmt(&ts("0005-01-01"), "YYYY FMYYYY YY CC|"), "0005 5 05 01|");
        assert_eq!(fmt(&ts("2011-01-01"), "DDD IW IYYY WW"), "001 52 2010 01");
        assert_eq!(
            fmt(&ts("2024-01-05 13:04:05"), r"FXYYYY TMMonth SPDD xyz HH24\MI"),
            r"2024 January SP05 x4z 13\04"
        );
        assert_eq!(
            fmt(
                &ts("2024-01-05"),
                r#""a\d\\e\"f"|DDSP|DDth|fxYYYY|FXYYYY|DDTHSP|ddsp|tmMonth"#
            ),
            r#"ad\e"f|05|05th|2024|2024|05THSP|05sp|January"#
        );
        for (s, want) in [
            ("2024-01-11", "11th"),
            ("2024-01-12", "12th"),
            ("2024-01-22", "22nd"),
            ("2024-01-23", "23rd"),
        ] {
            assert_eq!(fmt(&ts(s), "DDth"), want);
        }
    }

    #[test]
    fn zones_dates_and_edges() {
        let t = ts("2024-01-05 13:04:05");
        assert_eq!(fmt(&t, "TZ| OF| TZH:TZM|"), "| +00| +00:00|");
        let tz = to_char(&t, "TZ| tz| OF|", true).expect("tz");
        assert_eq!(tz, Value::Text("UTC| utc| +00|".into()));
        let d = Value::Date(crate::datetime::parse_date("2024-01-05").expect("date"));
        let d = to_char(&d, "YYYY-MM-DD HH24:MI:SS TZ", false).expect("date");
        assert_eq!(d, Value::Text("2024-01-05 00:00:00 UTC".into()));
        assert_eq!(to_char(&t, "", false).expect("empty"), Value::Null);
        let err = to_char(&Value::Int(12), "99", false).expect_err("number");
        assert_eq!(err.code, crate::error::codes::FEATURE_NOT_SUPPORTED);
        // An unclosed quote copies the rest.
        assert_eq!(fmt(&t, "YYYY \"open"), "2024 open");
    }
}
