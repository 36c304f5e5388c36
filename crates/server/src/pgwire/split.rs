//! Splitting a simple-query string into statements, and error positions.
//!
//! [`split_statements`] cuts a `Q` message at top-level semicolons, the way
//! PostgreSQL's lexer sees them: semicolons inside '...' (with '' and, for
//! E'...', backslash escapes), "...", $tag$...$tag$, -- comments and
//! (nested) /* */ comments do not split. Each piece keeps its character
//! offset in the original string so an error position inside a piece can
//! be reported against the whole query, as PostgreSQL does.
//!
//! Invariants: never panics and never loses text — concatenating the
//! pieces with the separators gives the input back; pieces that are only
//! whitespace/comments are dropped.
//!
//! Not done: full lexing (we only need statement boundaries).

/// One statement of a query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece<'a> {
    pub text: &'a str,
    /// Characters before `text` in the whole query string.
    pub char_offset: usize,
}

/// Splits `sql` into statements.
pub fn split_statements(sql: &str) -> Vec<Piece<'_>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' => {
                let escapes = i > 0
                    && matches!(b[i - 1], b'e' | b'E')
                    && !is_ident_byte(b.get(i.wrapping_sub(2)).copied());
                i = skip_quoted(b, i + 1, b'\'', escapes);
            }
            b'"' => i = skip_quoted(b, i + 1, b'"', false),
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth = depth.saturating_sub(1);
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'$' if i == 0 || !is_ident_byte(Some(b[i - 1])) => match dollar_tag(b, i) {
                Some(tag_len) => {
                    let tag = &b[i..i + tag_len];
                    let mut j = i + tag_len;
                    i = b.len();
                    while j + tag_len <= b.len() {
                        if &b[j..j + tag_len] == tag {
                            i = j + tag_len;
                            break;
                        }
                        j += 1;
                    }
                }
                None => i += 1,
            },
            b';' => {
                push_piece(sql, start, i, &mut out);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    push_piece(sql, start, b.len().min(sql.len()), &mut out);
    out
}

fn is_ident_byte(c: Option<u8>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80)
}

/// Index just past the closing quote (a doubled quote is an escaped one).
fn skip_quoted(b: &[u8], mut i: usize, q: u8, backslash: bool) -> usize {
    while i < b.len() {
        if backslash && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// Length of a `$tag$` opener at `i`, if there is one.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
        if j == i + 1 && b[j].is_ascii_digit() {
            return None; // $1 is a parameter
        }
        j += 1;
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1 - i)
}

fn push_piece<'a>(sql: &'a str, start: usize, end: usize, out: &mut Vec<Piece<'a>>) {
    // Byte indexes are at ASCII boundaries (quotes, ';'), so slicing is safe;
    // `get` keeps it panic-free regardless.
    let Some(text) = sql.get(start..end) else { return };
    if is_blank(text) {
        return;
    }
    let char_offset = sql.get(..start).map(|s| s.chars().count()).unwrap_or(0);
    out.push(Piece { text, char_offset });
}

/// True when `text` has nothing but whitespace and comments.
pub fn is_blank(text: &str) -> bool {
    let mut rest = text.trim_start();
    loop {
        if rest.is_empty() {
            return true;
        }
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map(|(_, r)| r).unwrap_or("").trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            match r.split_once("*/") {
                Some((_, r)) => rest = r.trim_start(),
                None => return true,
            }
        } else {
            return false;
        }
    }
}

/// The 1-based character position in `text` of a sqlparser error message's
/// `Line: L, Column: C`, if it has one.
pub fn parser_error_position(message: &str, text: &str) -> Option<usize> {
    let at = message.rfind("Line: ")?;
    let rest = &message[at + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let line: usize = line.trim().parse().ok()?;
    let col: usize = rest
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .ok()?;
    let mut pos = 0;
    for (n, l) in text.split('\n').enumerate() {
        if n + 1 == line {
            return Some(pos + col.max(1));
        }
        pos += l.chars().count() + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split_statements(sql).into_iter().map(|p| p.text.trim()).collect()
    }

    #[test]
    fn splits_at_top_level_semicolons_only() {
        assert_eq!(texts("select 1; select 2"), ["select 1", "select 2"]);
        assert_eq!(
            texts("select ';' ; select \"a;b\""),
            ["select ';'", "select \"a;b\""]
        );
        assert_eq!(
            texts("select $$a;b$$; select $x$;$x$"),
            ["select $$a;b$$", "select $x$;$x$"]
        );
        assert_eq!(
            texts("select 1 -- ;\n; /* ; /* ; */ */ select 2;"),
            ["select 1 -- ;", "/* ; /* ; */ */ select 2"]
        );
        assert_eq!(
            texts("select E'\\';'; select 'it''s;'"),
            ["select E'\\';'", "select 'it''s;'"]
        );
        assert_eq!(texts(";; ;"), Vec::<&str>::new());
        assert_eq!(texts("select $1; select 2"), ["select $1", "select 2"]);
        assert_eq!(texts("select 'unterminated; x"), ["select 'unterminated; x"]);
    }

    #[test]
    fn offsets_and_positions() {
        let p = split_statements("select 1; selec 2");
        assert_eq!(p[1].char_offset, 9);
        assert_eq!(
            parser_error_position("Expected x at Line: 2, Column: 3", "ab\ncdef"),
            Some(6)
        );
    }
}
