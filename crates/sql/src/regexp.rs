//! Regular expressions with PostgreSQL's operators and functions: `~`,
//! `~*`, `!~`, `!~*` (the binder turns them into [`Func::RegexpLike`]),
//! `regexp_like`, `regexp_count`, `regexp_substr`, `regexp_replace` (each
//! with PostgreSQL 15's optional `start`, `N`, `flags` and `subexpr`
//! arguments) and `substring(s FROM pattern)` / `substring(s, pattern)`.
//!
//! Semantics kept from PostgreSQL: a pattern matches anywhere unless
//! anchored; `.` matches a newline unless the `n` flag is given; `start`
//! and `N` count characters and matches from 1; a search from `start`
//! does not let `^` match there; after an empty match the next search
//! starts one character further (so `regexp_replace('abc', '', 'X', 'g')`
//! is `XaXbXcX`); a replacement's `\1`..`\9` are subexpressions, `\&` the
//! whole match and `\\` a backslash; `substring` returns the first
//! parenthesized subexpression's match when there is one. Errors carry
//! PostgreSQL's codes: 2201B for a pattern that does not compile, 22023
//! for an unknown flag, a `g` where it means nothing, or an out-of-range
//! `start`, `N` or `subexpr`.
//!
//! The engine is Rust's `regex` crate, not PostgreSQL's Spencer engine.
//! For a given pattern, matching time grows linearly with the input (no
//! exponential backtracking), and cancel and `statement_timeout` are
//! checked before each search; one search of a very large pattern over a
//! very large input can still take seconds. `regexp_replace` refuses
//! results over 64 MiB (54000), like `repeat`. Some syntax differs, and
//! docs/sql.md lists it: no back references inside a pattern (`(a)\1`)
//! and no lookaround (`(?=x)`), which are refused with 2201B; an
//! alternation prefers its first matching branch (Perl), not the longest
//! (POSIX); `\b` is a word boundary (PostgreSQL's `\y`), and `\y`, `\m`,
//! `\M`, `\<` are not known; `\d`, `\w` and `\s` are Unicode classes;
//! inside brackets `&&`, `--` and `~~` are set operations and, with `x`,
//! whitespace is ignored; a negated bracket matches a newline even with
//! `n`; `a{` is an error rather than literal text. Flags `i`, `c`, `g`,
//! `n`/`m`, `p`, `w`, `s`, `x`, `t`, `q` and `e` are understood; `b`
//! (basic REs) is not supported.
//!
//! Compiled patterns are kept in a small per-thread cache, so a pattern
//! used on every row of a scan is compiled once.

use std::cell::RefCell;

use ::regex::{Captures, Regex, RegexBuilder};

use crate::error::{Result, SqlError, codes};
use crate::expr::Func;
use crate::strings::MAX_RESULT_BYTES;
use crate::types::{DataType, Value};

/// How many compiled patterns a thread keeps before starting afresh.
const CACHE_ENTRIES: usize = 4;

/// The most memory one compiled pattern may take (a larger one is 2201B;
/// `\w{1,100}`, Unicode-aware, needs most of it), and the most its lazy
/// DFA may cache (it grows only as a search needs it; with less, large
/// patterns fall back to a search many times slower): together they bound
/// what a connection's thread holds for patterns (4 × 18 MiB at the very
/// worst).
const PATTERN_BYTES: usize = 10 << 20;
const DFA_CACHE_BYTES: usize = 8 << 20;

/// The static result type of a regular-expression function.
pub fn result_type(f: Func) -> DataType {
    match f {
        Func::RegexpLike => DataType::Bool,
        Func::RegexpCount => DataType::Int4,
        _ => DataType::Text(None),
    }
}

/// Evaluates a regular-expression function on non-NULL arguments (arity
/// checked by the binder).
pub fn call(f: Func, args: &[Value]) -> Result<Value> {
    let text = |i: usize| args.get(i).and_then(Value::to_text).unwrap_or_default();
    let int = |i: usize, name: &str, min: i64| -> Result<Option<i64>> {
        let Some(v) = args.get(i) else {
            return Ok(None);
        };
        let n = match v.cast(DataType::Int8)? {
            Value::Int(n) => n,
            _ => return Err(SqlError::internal("integer cast")),
        };
        if n < min {
            return Err(SqlError::new(
                codes::INVALID_PARAMETER_VALUE,
                format!("invalid value for parameter \"{name}\": {n}"),
            ));
        }
        Ok(Some(n))
    };
    let (s, pattern) = (text(0), text(1));
    Ok(match f {
        Func::RegexpLike => {
            let flags = Flags::parse(&text(2), Some("regexp_like()"))?;
            Value::Bool(compile(&pattern, flags)?.is_match(&s))
        }
        Func::RegexpCount => {
            let start = int(2, "start", 1)?.unwrap_or(1);
            let flags = Flags::parse(&text(3), Some("regexp_count()"))?;
            let re = compile(&pattern, flags)?;
            let from = byte_offset(&s, start);
            let mut count = 0i64;
            for c in matches(&re, &s, from) {
                c?;
                count += 1;
            }
            Value::Int(count)
        }
        Func::RegexpSubstr => {
            let start = int(2, "start", 1)?.unwrap_or(1);
            let n = int(3, "n", 1)?.unwrap_or(1);
            let flags = Flags::parse(&text(4), Some("regexp_substr()"))?;
            let group = int(5, "subexpr", 0)?.unwrap_or(0);
            let re = compile(&pattern, flags)?;
            let from = byte_offset(&s, start);
            let nth = matches(&re, &s, from)
                .nth(usize::try_from(n - 1).unwrap_or(usize::MAX))
                .transpose()?;
            match nth.and_then(|c| c.get(usize::try_from(group).unwrap_or(usize::MAX))) {
                Some(m) => Value::Text(m.as_str().to_owned()),
                None => Value::Null,
            }
        }
        Func::RegexpSubstring => {
            let re = compile(&pattern, Flags::default())?;
            match re.captures(&s) {
                // The first parenthesized subexpression if there is one
                // (NULL when it took no part), else the whole match.
                Some(c) if re.captures_len() > 1 => match c.get(1) {
                    Some(m) => Value::Text(m.as_str().to_owned()),
                    None => Value::Null,
                },
                Some(c) => Value::Text(c.get(0).map_or("", |m| m.as_str()).to_owned()),
                None => Value::Null,
            }
        }
        Func::RegexpReplace => {
            // (s, p, r [, flags]) or (s, p, r, start [, N [, flags]]).
            let (start, n, flags) = match args.get(3) {
                Some(Value::Text(flags)) if args.len() == 4 => (1, None, flags.clone()),
                _ => (int(3, "start", 1)?.unwrap_or(1), int(4, "n", 0)?, text(5)),
            };
            let flags = Flags::parse(&flags, None)?;
            // Which matches to replace: all with `g` or N = 0, else the Nth
            // (the first without N).
            let which = match n {
                Some(0) => None,
                Some(n) => Some(n),
                None if flags.global => None,
                None => Some(1),
            };
            let re = compile(&pattern, flags)?;
            let template = Template::parse(&text(2));
            let from = byte_offset(&s, start);
            let mut out = String::with_capacity(s.len());
            let mut copied = 0;
            for (i, c) in matches(&re, &s, from).enumerate() {
                let c = c?;
                let index = i as i64 + 1;
                if which.is_some_and(|n| n != index) {
                    continue;
                }
                let Some(m) = c.get(0) else { continue };
                out.push_str(&s[copied..m.start()]);
                template.expand(&c, &mut out);
                if out.len() > MAX_RESULT_BYTES {
                    return Err(crate::strings::too_large());
                }
                copied = m.end();
                if which.is_some() {
                    break;
                }
            }
            if out.len() + (s.len() - copied) > MAX_RESULT_BYTES {
                return Err(crate::strings::too_large());
            }
            out.push_str(&s[copied..]);
            Value::Text(out)
        }
        other => return Err(SqlError::internal(format!("{other:?} is not a regexp function"))),
    })
}

/// The matching options a flags string asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Flags {
    case_insensitive: bool,
    global: bool,
    /// `.` does not match a newline (`n`, `p`; a negated bracket still
    /// does, unlike PostgreSQL).
    dot_stops_at_newline: bool,
    /// `^` and `$` match at line breaks too (`n`, `w`).
    multi_line: bool,
    /// Whitespace and `#` comments in the pattern are ignored (`x`).
    expanded: bool,
    /// The pattern is a literal string (`q`).
    literal: bool,
}

impl Flags {
    /// Parses PostgreSQL's flag letters; `no_global` names the function
    /// when `g` is not allowed.
    fn parse(s: &str, no_global: Option<&str>) -> Result<Flags> {
        let mut f = Flags::default();
        for c in s.chars() {
            match c {
                'i' => f.case_insensitive = true,
                'c' => f.case_insensitive = false,
                'g' => match no_global {
                    Some(func) => {
                        return Err(SqlError::new(
                            codes::INVALID_PARAMETER_VALUE,
                            format!("{func} does not support the \"global\" option"),
                        ));
                    }
                    None => f.global = true,
                },
                'n' | 'm' => (f.dot_stops_at_newline, f.multi_line) = (true, true),
                'p' => (f.dot_stops_at_newline, f.multi_line) = (true, false),
                'w' => (f.dot_stops_at_newline, f.multi_line) = (false, true),
                's' => (f.dot_stops_at_newline, f.multi_line) = (false, false),
                'x' => f.expanded = true,
                't' => f.expanded = false,
                'q' => f.literal = true,
                // Extended REs: a subset of the advanced ones this engine
                // reads the same way.
                'e' => {}
                'b' => {
                    return Err(SqlError::unsupported("basic regular expressions (flag \"b\")"));
                }
                other => {
                    return Err(SqlError::new(
                        codes::INVALID_PARAMETER_VALUE,
                        format!("invalid regular expression option: \"{other}\""),
                    ));
                }
            }
        }
        Ok(f)
    }
}

/// `pattern` compiled with `flags`, from this thread's cache when it is
/// there.
fn compile(pattern: &str, flags: Flags) -> Result<Regex> {
    // A few entries, searched in order: a hit costs no allocation (this
    // runs once per row).
    thread_local! {
        static CACHE: RefCell<Vec<(String, Flags, Regex)>> = const { RefCell::new(Vec::new()) };
    }
    let key_flags = Flags {
        global: false,
        ..flags
    };
    let hit = CACHE.with(|c| {
        c.borrow()
            .iter()
            .find(|(p, f, _)| p == pattern && *f == key_flags)
            .map(|(_, _, re)| re.clone())
    });
    if let Some(re) = hit {
        return Ok(re);
    }
    let source = if flags.literal {
        ::regex::escape(pattern)
    } else {
        pattern.to_owned()
    };
    let re = RegexBuilder::new(&source)
        .case_insensitive(flags.case_insensitive)
        .dot_matches_new_line(!flags.dot_stops_at_newline)
        .multi_line(flags.multi_line)
        .ignore_whitespace(flags.expanded && !flags.literal)
        .size_limit(PATTERN_BYTES)
        .dfa_size_limit(DFA_CACHE_BYTES)
        .build()
        .map_err(|e| {
            // The crate's message quotes the pattern with a caret under the
            // fault; its last line says what the fault is.
            let text = e.to_string();
            let what = text.lines().last().unwrap_or("").trim();
            let what = what.strip_prefix("error: ").unwrap_or(what);
            SqlError::new(
                codes::INVALID_REGULAR_EXPRESSION,
                format!("invalid regular expression: {what}"),
            )
        })?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_ENTRIES {
            c.clear();
        }
        c.push((pattern.to_owned(), key_flags, re.clone()));
    });
    Ok(re)
}

/// The byte offset of 1-based character position `start` in `s` (its
/// length when `start` is past the end).
fn byte_offset(s: &str, start: i64) -> usize {
    let skip = usize::try_from(start.saturating_sub(1)).unwrap_or(usize::MAX);
    s.char_indices().nth(skip).map_or(s.len(), |(i, _)| i)
}

/// The successive matches of `re` in `s` from byte `from`, as PostgreSQL
/// finds them: each search starts where the last match ended, or one
/// character further after an empty match; `^` does not match at `from`
/// unless it is the start of `s`. Before each search the statement's
/// interrupt (cancel, statement_timeout) is checked: an error ends the
/// iteration.
fn matches<'s>(re: &'s Regex, s: &'s str, from: usize) -> impl Iterator<Item = Result<Captures<'s>>> + 's {
    let mut pos = Some(from);
    std::iter::from_fn(move || {
        let at = pos?;
        if let Err(e) = crate::interrupt::check_current() {
            pos = None;
            return Some(Err(e));
        }
        let c = re.captures_at(s, at)?;
        let m = c.get(0)?;
        pos = if m.is_empty() {
            s[m.end()..].chars().next().map(|ch| m.end() + ch.len_utf8())
        } else {
            Some(m.end())
        };
        Some(Ok(c))
    })
}

/// A replacement string: literal text and references to subexpressions.
struct Template(Vec<Piece>);

enum Piece {
    Text(String),
    Group(usize),
}

impl Template {
    /// `\1`..`\9` and `\&` refer to the match; `\\` is one backslash; a
    /// backslash before anything else stays as it is.
    fn parse(r: &str) -> Template {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = r.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                text.push(c);
                continue;
            }
            let group = match chars.peek() {
                Some('&') => Some(0),
                Some(d @ '1'..='9') => d.to_digit(10).map(|d| d as usize),
                Some('\\') => {
                    chars.next();
                    text.push('\\');
                    continue;
                }
                _ => None,
            };
            match group {
                Some(g) => {
                    chars.next();
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                    pieces.push(Piece::Group(g));
                }
                None => text.push('\\'),
            }
        }
        pieces.push(Piece::Text(text));
        Template(pieces)
    }

    fn expand(&self, c: &Captures<'_>, out: &mut String) {
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Group(g) => out.push_str(c.get(*g).map_or("", |m| m.as_str())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn run(f: Func, args: &[Value]) -> Value {
        call(f, args).expect("call")
    }

    #[test]
    fn empty_matches_advance_one_character() {
        let r = run(Func::RegexpReplace, &[t("baaab"), t("a*"), t("X"), t("g")]);
        assert_eq!(r, t("XbXXbX"));
        assert_eq!(run(Func::RegexpCount, &[t("abc"), t("")]), Value::Int(4));
        assert_eq!(
            run(Func::RegexpReplace, &[t("héllo"), t(""), t("-"), t("g")]),
            t("-h-é-l-l-o-")
        );
    }

    #[test]
    fn start_counts_characters_and_does_not_anchor() {
        assert_eq!(
            run(Func::RegexpCount, &[t("abcabc"), t("^b"), Value::Int(2)]),
            Value::Int(0)
        );
        let r = run(
            Func::RegexpReplace,
            &[t("héllo"), t("l"), t("L"), Value::Int(4), Value::Int(0)],
        );
        assert_eq!(r, t("hélLo"));
        assert_eq!(
            run(Func::RegexpCount, &[t("x"), t("x"), Value::Int(5)]),
            Value::Int(0)
        );
        let err = call(Func::RegexpCount, &[t("x"), t("x"), Value::Int(0)]).unwrap_err();
        assert_eq!(err.code, codes::INVALID_PARAMETER_VALUE);
    }

    #[test]
    fn replacement_templates() {
        let r = run(
            Func::RegexpReplace,
            &[t("foobarbaz"), t("b(.)(.)"), t("[\\2\\1\\&\\\\$1\\z]"), t("g")],
        );
        assert_eq!(r, t("foo[rabar\\$1\\z][zabaz\\$1\\z]"));
        // A group the pattern does not have is empty.
        assert_eq!(run(Func::RegexpReplace, &[t("ab"), t("a"), t("<\\3>")]), t("<>b"));
    }

    #[test]
    fn flags_and_errors() {
        assert_eq!(
            run(Func::RegexpLike, &[t("A"), t("a"), t("i")]),
            Value::Bool(true)
        );
        assert_eq!(
            run(Func::RegexpLike, &[t("A"), t("a"), t("ic")]),
            Value::Bool(false)
        );
        assert_eq!(run(Func::RegexpLike, &[t("a\nb"), t("a.b")]), Value::Bool(true));
        assert_eq!(
            run(Func::RegexpLike, &[t("a\nb"), t("a.b"), t("n")]),
            Value::Bool(false)
        );
        assert_eq!(
            run(Func::RegexpLike, &[t("a\nb"), t("^b"), t("n")]),
            Value::Bool(true)
        );
        assert_eq!(
            run(Func::RegexpReplace, &[t("a.b"), t("."), t("-"), t("gq")]),
            t("a-b")
        );
        let code = |args: &[Value], f| call(f, args).unwrap_err().code;
        assert_eq!(
            code(&[t("a"), t("(")], Func::RegexpLike),
            codes::INVALID_REGULAR_EXPRESSION
        );
        // Ordinary patterns fit the size limit; a huge one is refused.
        let ordinary = t(r"^\w{1,100}[[:alpha:]]*\d{0,50}$");
        assert_eq!(run(Func::RegexpLike, &[t("ab"), ordinary]), Value::Bool(true));
        let huge = t(r"(\w{100}){100}");
        assert_eq!(
            code(&[t("a"), huge], Func::RegexpLike),
            codes::INVALID_REGULAR_EXPRESSION
        );
        assert_eq!(
            code(&[t("a"), t("a"), t("z")], Func::RegexpLike),
            codes::INVALID_PARAMETER_VALUE
        );
        assert_eq!(
            code(&[t("a"), t("a"), t("g")], Func::RegexpLike),
            codes::INVALID_PARAMETER_VALUE
        );
        assert_eq!(
            code(
                &[t("a"), t("a"), t("b"), Value::Int(1), Value::Int(-1)],
                Func::RegexpReplace
            ),
            codes::INVALID_PARAMETER_VALUE
        );
    }

    #[test]
    fn substr_and_substring() {
        let r = run(
            Func::RegexpSubstr,
            &[
                t("a1b2"),
                t("([a-z])(\\d)"),
                Value::Int(1),
                Value::Int(2),
                t(""),
                Value::Int(2),
            ],
        );
        assert_eq!(r, t("2"));
        let none = run(
            Func::RegexpSubstr,
            &[t("a"), t("a"), Value::Int(1), Value::Int(1), t(""), Value::Int(5)],
        );
        assert_eq!(none, Value::Null);
        assert_eq!(run(Func::RegexpSubstring, &[t("foobar"), t("o(.)b")]), t("o"));
        assert_eq!(run(Func::RegexpSubstring, &[t("foobar"), t("o.b")]), t("oob"));
        assert_eq!(run(Func::RegexpSubstring, &[t("abc"), t("(x)?b")]), Value::Null);
        assert_eq!(run(Func::RegexpSubstring, &[t("abc"), t("x")]), Value::Null);
    }
}
