//! String functions with PostgreSQL's semantics: `replace`, `strpos` (and
//! `POSITION(a IN b)`), `left`, `right`, `lpad`, `rpad`, `ltrim`, `rtrim`,
//! `btrim`/`trim` (and `TRIM([LEADING|TRAILING|BOTH] [chars] FROM s)`),
//! `split_part`, `starts_with`, `repeat`, `reverse`, `initcap`, `chr`,
//! `ascii`, `octet_length`, `md5` and `translate`; plus `greatest` and
//! `least`, which compare values of any one type.
//!
//! Positions and lengths count characters, not bytes (the database
//! encoding is UTF-8), except `octet_length`. Arguments arrive non-NULL
//! (the caller answers NULL for a NULL argument, as these functions are
//! strict in PostgreSQL; `greatest`/`least` instead skip NULLs) and are
//! read as text the way the rest of the engine reads them.
//!
//! Invariant: a result never grows without bound from a small input:
//! `repeat`, `lpad`, `rpad` and `replace` (and `regexp_replace`, in
//! [`crate::regexp`]) refuse results above [`MAX_RESULT_BYTES`]
//! with 54000, as PostgreSQL refuses results above its 1 GB allocation
//! limit (a smaller limit here, so one statement cannot exhaust a node).
//!
//! Not here: `format`, `to_char`, `overlay`, collations
//! (comparisons are by code point); regular expressions are in
//! [`crate::regexp`].

use std::cmp::Ordering;

use crate::error::{Result, SqlError, codes};
use crate::expr::Func;
use crate::types::{DataType, Value};

/// The largest string `repeat`, `lpad` or `rpad` may build.
pub const MAX_RESULT_BYTES: usize = 64 << 20;

/// The static result type of a string function.
pub fn result_type(f: Func) -> DataType {
    match f {
        Func::StrPos | Func::Ascii | Func::OctetLength => DataType::Int4,
        Func::StartsWith => DataType::Bool,
        _ => DataType::Text(None),
    }
}

/// Evaluates a string function on non-NULL arguments (arity checked by
/// the binder).
pub fn call(f: Func, args: &[Value]) -> Result<Value> {
    let text = |i: usize| args.get(i).and_then(Value::to_text).unwrap_or_default();
    let int = |i: usize| -> Result<i64> {
        match args.get(i) {
            Some(Value::Int(n)) => Ok(*n),
            Some(v) => v.cast(DataType::Int8).and_then(|v| match v {
                Value::Int(n) => Ok(n),
                _ => Err(SqlError::internal("integer cast")),
            }),
            None => Err(SqlError::internal(format!("{f:?}: missing argument {i}"))),
        }
    };
    Ok(match f {
        Func::Replace => {
            let (s, from, to) = (text(0), text(1), text(2));
            if from.is_empty() {
                Value::Text(s)
            } else {
                // The result's size is known before it is built.
                let hits = s.matches(&from).count();
                let size = (s.len() - hits * from.len()).saturating_add(hits.saturating_mul(to.len()));
                if size > MAX_RESULT_BYTES {
                    return Err(too_large());
                }
                Value::Text(s.replace(&from, &to))
            }
        }
        Func::StrPos => {
            let (s, sub) = (text(0), text(1));
            let pos = s.find(&sub).map_or(0, |byte| s[..byte].chars().count() + 1);
            Value::Int(pos as i64)
        }
        Func::Left | Func::Right => {
            let s: Vec<char> = text(0).chars().collect();
            let n = int(1)?;
            let len = s.len() as i64;
            // A negative n counts what to leave out.
            let keep = if n >= 0 { n.min(len) } else { (len + n).max(0) } as usize;
            let out: String = if f == Func::Left {
                s[..keep].iter().collect()
            } else {
                s[s.len() - keep..].iter().collect()
            };
            Value::Text(out)
        }
        Func::Lpad | Func::Rpad => {
            let s: Vec<char> = text(0).chars().collect();
            let len = int(1)?.max(0);
            let fill: Vec<char> = if args.len() > 2 {
                text(2).chars().collect()
            } else {
                vec![' ']
            };
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if len.saturating_mul(4) > MAX_RESULT_BYTES {
                return Err(too_large());
            }
            if len <= s.len() || fill.is_empty() {
                return Ok(Value::Text(s[..len.min(s.len())].iter().collect()));
            }
            let pad: String = fill.iter().cycle().take(len - s.len()).collect();
            let s: String = s.into_iter().collect();
            Value::Text(if f == Func::Lpad { pad + &s } else { s + &pad })
        }
        Func::Trim | Func::Ltrim | Func::Rtrim => {
            let s = text(0);
            let set: Vec<char> = if args.len() > 1 {
                text(1).chars().collect()
            } else {
                vec![' ']
            };
            let strip = |c: char| set.contains(&c);
            Value::Text(
                match f {
                    Func::Ltrim => s.trim_start_matches(strip),
                    Func::Rtrim => s.trim_end_matches(strip),
                    _ => s.trim_matches(strip),
                }
                .to_owned(),
            )
        }
        Func::SplitPart => {
            let (s, delim, n) = (text(0), text(1), int(2)?);
            if n == 0 {
                return Err(SqlError::new(
                    codes::INVALID_PARAMETER_VALUE,
                    "field position must not be zero",
                ));
            }
            let fields: Vec<&str> = if delim.is_empty() {
                vec![s.as_str()]
            } else {
                s.split(delim.as_str()).collect()
            };
            let i = if n > 0 {
                usize::try_from(n - 1).ok()
            } else {
                usize::try_from(n.unsigned_abs())
                    .ok()
                    .and_then(|back| fields.len().checked_sub(back))
            };
            Value::Text(
                i.and_then(|i| fields.get(i))
                    .map_or_else(String::new, |p| (*p).to_owned()),
            )
        }
        Func::StartsWith => Value::Bool(text(0).starts_with(&text(1))),
        Func::Repeat => {
            let s = text(0);
            let n = usize::try_from(int(1)?.max(0)).unwrap_or(usize::MAX);
            if s.len().saturating_mul(n) > MAX_RESULT_BYTES {
                return Err(too_large());
            }
            Value::Text(s.repeat(n))
        }
        Func::Reverse => Value::Text(text(0).chars().rev().collect()),
        Func::Initcap => {
            let mut out = String::new();
            let mut in_word = false;
            for c in text(0).chars() {
                if c.is_alphanumeric() {
                    if in_word {
                        out.extend(c.to_lowercase());
                    } else {
                        out.extend(c.to_uppercase());
                    }
                    in_word = true;
                } else {
                    out.push(c);
                    in_word = false;
                }
            }
            Value::Text(out)
        }
        Func::Chr => {
            let n = int(0)?;
            if n < 0 {
                return Err(SqlError::new(
                    codes::INVALID_PARAMETER_VALUE,
                    "character number must be positive",
                ));
            }
            let c = match u32::try_from(n).ok().and_then(char::from_u32) {
                Some('\0') => {
                    return Err(SqlError::new(
                        codes::PROGRAM_LIMIT_EXCEEDED,
                        "null character not permitted",
                    ));
                }
                Some(c) => c,
                None => {
                    return Err(SqlError::new(
                        codes::PROGRAM_LIMIT_EXCEEDED,
                        format!("requested character too large for encoding: {n}"),
                    ));
                }
            };
            Value::Text(c.to_string())
        }
        Func::Ascii => Value::Int(text(0).chars().next().map_or(0, |c| c as i64)),
        Func::OctetLength => Value::Int(match args.first() {
            Some(Value::Bytes(b)) => b.len() as i64,
            _ => text(0).len() as i64,
        }),
        // The hex MD5 of a text's UTF-8 bytes, or of a bytea's bytes.
        Func::Translate => {
            // Each character of `from` becomes the one at its position in
            // `to`, or goes when `to` is shorter; the first occurrence in
            // `from` decides.
            let from: Vec<char> = text(1).chars().collect();
            let to: Vec<char> = text(2).chars().collect();
            let out: String = text(0)
                .chars()
                .filter_map(|c| match from.iter().position(|&f| f == c) {
                    Some(i) => to.get(i).copied(),
                    None => Some(c),
                })
                .collect();
            Value::Text(out)
        }
        Func::Md5 => Value::Text(format!(
            "{:x}",
            match args.first() {
                Some(Value::Bytes(b)) => md5::compute(b),
                _ => md5::compute(text(0).as_bytes()),
            }
        )),
        _ => return Err(SqlError::internal(format!("{f:?} is not a string function"))),
    })
}

/// `greatest(...)` (`want` Greater) or `least(...)` (Less): the extreme of
/// the non-NULL arguments, NULL if all are NULL. The binder has cast the
/// arguments to one type.
pub fn extreme(args: Vec<Value>, want: Ordering) -> Result<Value> {
    let mut best: Option<Value> = None;
    for v in args.into_iter().filter(|v| !v.is_null()) {
        best = Some(match best {
            Some(b) if v.sql_cmp(&b)? != Some(want) => b,
            _ => v,
        });
    }
    Ok(best.unwrap_or(Value::Null))
}

pub(crate) fn too_large() -> SqlError {
    SqlError::new(
        codes::PROGRAM_LIMIT_EXCEEDED,
        format!("requested length too large (a result may have at most {MAX_RESULT_BYTES} bytes)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn call_text(f: Func, args: &[Value]) -> String {
        match call(f, args).unwrap() {
            Value::Text(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn positions_count_characters() {
        assert_eq!(
            call(Func::StrPos, &[t("héllo"), t("llo")]).unwrap(),
            Value::Int(3)
        );
        assert_eq!(call(Func::StrPos, &[t("abc"), t("")]).unwrap(), Value::Int(1));
        assert_eq!(call(Func::StrPos, &[t("abc"), t("x")]).unwrap(), Value::Int(0));
        assert_eq!(call_text(Func::Left, &[t("héllo"), Value::Int(2)]), "hé");
        assert_eq!(call_text(Func::Left, &[t("hello"), Value::Int(-2)]), "hel");
        assert_eq!(call_text(Func::Right, &[t("hello"), Value::Int(-4)]), "o");
        assert_eq!(call_text(Func::Right, &[t("hi"), Value::Int(9)]), "hi");
    }

    #[test]
    fn padding_truncates_and_cycles_the_fill() {
        assert_eq!(call_text(Func::Lpad, &[t("hi"), Value::Int(5), t("xy")]), "xyxhi");
        assert_eq!(call_text(Func::Rpad, &[t("hi"), Value::Int(5)]), "hi   ");
        assert_eq!(call_text(Func::Lpad, &[t("hello"), Value::Int(2)]), "he");
        assert_eq!(call_text(Func::Rpad, &[t("hi"), Value::Int(5), t("")]), "hi");
        assert_eq!(call_text(Func::Lpad, &[t("hi"), Value::Int(-1)]), "");
        let e = call(Func::Lpad, &[t("hi"), Value::Int(i64::MAX)]).unwrap_err();
        assert_eq!(e.code, codes::PROGRAM_LIMIT_EXCEEDED);
        let e = call(Func::Repeat, &[t("ab"), Value::Int(1 << 40)]).unwrap_err();
        assert_eq!(e.code, codes::PROGRAM_LIMIT_EXCEEDED);
    }

    #[test]
    fn split_part_counts_from_either_end() {
        let s = t("a,b,c");
        assert_eq!(
            call_text(Func::SplitPart, &[s.clone(), t(","), Value::Int(2)]),
            "b"
        );
        assert_eq!(
            call_text(Func::SplitPart, &[s.clone(), t(","), Value::Int(-1)]),
            "c"
        );
        assert_eq!(
            call_text(Func::SplitPart, &[s.clone(), t(","), Value::Int(4)]),
            ""
        );
        assert_eq!(
            call_text(Func::SplitPart, &[s.clone(), t(","), Value::Int(-4)]),
            ""
        );
        assert_eq!(
            call_text(Func::SplitPart, &[s.clone(), t(""), Value::Int(1)]),
            "a,b,c"
        );
        let e = call(Func::SplitPart, &[s, t(","), Value::Int(0)]).unwrap_err();
        assert_eq!(e.code, codes::INVALID_PARAMETER_VALUE);
    }

    #[test]
    fn trims_strip_only_the_given_characters() {
        assert_eq!(call_text(Func::Trim, &[t(" \tx ")]), "\tx");
        assert_eq!(call_text(Func::Ltrim, &[t("xxyax"), t("xy")]), "ax");
        assert_eq!(call_text(Func::Rtrim, &[t("xxyax"), t("x")]), "xxya");
        assert_eq!(
            call_text(Func::Initcap, &[t("hELLO wORLD-x1y")]),
            "Hello World-X1y"
        );
    }

    #[test]
    fn greatest_and_least_skip_nulls() {
        let vals = vec![Value::Int(3), Value::Null, Value::Int(7), Value::Int(-1)];
        assert_eq!(extreme(vals.clone(), Ordering::Greater).unwrap(), Value::Int(7));
        assert_eq!(extreme(vals, Ordering::Less).unwrap(), Value::Int(-1));
        assert_eq!(extreme(vec![Value::Null], Ordering::Less).unwrap(), Value::Null);
    }
}
