//! COPY ... FROM STDIN / TO STDOUT: statement parsing and the text and CSV
//! row formats (the protocol flow lives in `handler`).
//!
//! - [`parse_copy`] reads a COPY statement (sqlparser) into a [`CopySpec`]:
//!   table and columns (or a query for TO), text or CSV, delimiter, NULL
//!   string, HEADER. `FREEZE` and `ENCODING 'UTF8'` are accepted and
//!   ignored (pgbench sends `with (freeze on)`).
//! - [`RecordReader`] turns CopyData chunks into records: text format
//!   (backslash escapes, `\N`), CSV (quotes, doubled quotes, quoted
//!   newlines), and the old-style `\.` end-of-data line.
//! - [`format_row`] renders a row for COPY TO in either format.
//!
//! Invariants: never panics on client bytes; a malformed record is a
//! 22P04 error naming the line; invalid UTF-8 is 22021.
//!
//! Not done: BINARY format, FILE/PROGRAM targets (0A000), FORCE_QUOTE /
//! FORCE_NOT_NULL / FORCE_NULL, custom QUOTE/ESCAPE characters.

use quorumdb_sql::{SqlError, Value};
use sqlparser::ast::{CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget, Statement};

/// What a COPY statement asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct CopySpec {
    /// COPY FROM: target table and columns (empty: all).
    pub table: String,
    pub columns: Vec<String>,
    /// COPY TO: the query producing the rows.
    pub query: Option<String>,
    pub csv: bool,
    pub delimiter: char,
    pub null: String,
    pub header: bool,
}

fn unsupported(what: &str) -> SqlError {
    SqlError::new("0A000", format!("COPY {what} is not supported"))
}

/// `None` when `sql` is not a COPY statement.
pub fn parse_copy(sql: &str) -> Option<Result<CopySpec, SqlError>> {
    let trimmed = sql.trim_start();
    if !trimmed.get(..4).is_some_and(|h| h.eq_ignore_ascii_case("copy")) {
        return None;
    }
    let sql = boolean_options(sql);
    let stmts = match quorumdb_sql::session::parse(&sql) {
        Ok(s) => s,
        Err(e) => return Some(Err(e)),
    };
    let Some(Statement::Copy {
        source,
        to,
        target,
        options,
        legacy_options,
        ..
    }) = stmts.into_iter().next()
    else {
        return None;
    };
    Some(build(source, to, target, options, legacy_options))
}

/// `FREEZE on` / `HEADER off` (PostgreSQL accepts on/off/1/0 for boolean
/// options; sqlparser wants true/false).
fn boolean_options(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut prev = String::new();
    let mut rest = sql;
    while !rest.is_empty() {
        let ws = rest.len() - rest.trim_start().len();
        out.push_str(&rest[..ws]);
        rest = &rest[ws..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == ',' || c == ')' || c == '(')
            .map(|e| e.max(1))
            .unwrap_or(rest.len());
        let word = &rest[..end];
        let is_bool_opt = matches!(prev.as_str(), "freeze" | "header");
        let replaced = match word.to_ascii_lowercase().as_str() {
            "on" | "1" if is_bool_opt => "true",
            "off" | "0" if is_bool_opt => "false",
            _ => word,
        };
        out.push_str(replaced);
        prev = word.to_ascii_lowercase();
        rest = &rest[end..];
    }
    out
}

fn build(
    source: CopySource,
    to: bool,
    target: CopyTarget,
    options: Vec<CopyOption>,
    legacy: Vec<CopyLegacyOption>,
) -> Result<CopySpec, SqlError> {
    match (&target, to) {
        (CopyTarget::Stdin, false) | (CopyTarget::Stdout, true) => {}
        _ => return Err(unsupported("to or from a file or program (use STDIN/STDOUT)")),
    }
    let mut spec = CopySpec {
        table: String::new(),
        columns: vec![],
        query: None,
        csv: false,
        delimiter: '\t',
        null: "\\N".into(),
        header: false,
    };
    let mut delimiter = None;
    let mut null = None;
    for o in options {
        match o {
            CopyOption::Format(f) => match f.value.to_ascii_lowercase().as_str() {
                "text" => spec.csv = false,
                "csv" => spec.csv = true,
                other => return Err(unsupported(&format!("format {other}"))),
            },
            CopyOption::Freeze(_) => {}
            CopyOption::Delimiter(c) => delimiter = Some(c),
            CopyOption::Null(n) => null = Some(n),
            CopyOption::Header(h) => spec.header = h,
            CopyOption::Quote('"') | CopyOption::Escape('"') => {}
            CopyOption::Encoding(e) if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => {}
            other => return Err(unsupported(&format!("option {other}"))),
        }
    }
    for o in legacy {
        match o {
            CopyLegacyOption::Csv(csv_opts) => {
                spec.csv = true;
                for c in csv_opts {
                    match c {
                        CopyLegacyCsvOption::Header => spec.header = true,
                        CopyLegacyCsvOption::Quote('"') | CopyLegacyCsvOption::Escape('"') => {}
                        other => return Err(unsupported(&format!("option {other}"))),
                    }
                }
            }
            CopyLegacyOption::Delimiter(c) => delimiter = Some(c),
            CopyLegacyOption::Null(n) => null = Some(n),
            CopyLegacyOption::Header => spec.header = true,
            other => return Err(unsupported(&format!("option {other}"))),
        }
    }
    if spec.csv {
        spec.delimiter = ',';
        spec.null = String::new();
    }
    if let Some(d) = delimiter {
        spec.delimiter = d;
    }
    if let Some(n) = null {
        spec.null = n;
    }
    match source {
        CopySource::Table { table_name, columns } => {
            spec.table = table_name.to_string();
            spec.columns = columns.iter().map(|c| c.to_string()).collect();
            if to {
                let cols = if spec.columns.is_empty() {
                    "*".to_owned()
                } else {
                    spec.columns.join(", ")
                };
                spec.query = Some(format!("SELECT {cols} FROM {}", spec.table));
            }
        }
        CopySource::Query(q) => {
            if !to {
                return Err(SqlError::syntax("COPY FROM needs a table, not a query"));
            }
            spec.query = Some(q.to_string());
        }
    }
    Ok(spec)
}

/// Splits CopyData bytes into records and fields.
#[derive(Debug, Default)]
pub struct RecordReader {
    buf: Vec<u8>,
    /// Lines seen (for error messages).
    pub line: u64,
    /// True once the `\.` end-of-data line was read.
    pub finished: bool,
    header_pending: bool,
}

impl RecordReader {
    pub fn new(spec: &CopySpec) -> Self {
        Self {
            header_pending: spec.header,
            ..Self::default()
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        if !self.finished {
            self.buf.extend_from_slice(data);
        }
    }

    /// Complete records so far (`at_end`: the data is over, so a final
    /// record without a newline counts too).
    pub fn records(&mut self, spec: &CopySpec, at_end: bool) -> Result<Vec<Vec<Option<String>>>, SqlError> {
        let mut out = Vec::new();
        let mut start = 0;
        loop {
            if self.finished {
                self.buf.clear();
                return Ok(out);
            }
            let Some(end) = record_end(&self.buf[start..], spec.csv).map(|e| start + e) else {
                break;
            };
            let raw = self.buf[start..end].to_vec();
            start = end + 1;
            self.handle(&raw, spec, &mut out)?;
        }
        self.buf.drain(..start);
        if at_end && !self.buf.is_empty() {
            let raw = std::mem::take(&mut self.buf);
            self.handle(&raw, spec, &mut out)?;
        }
        Ok(out)
    }

    fn handle(
        &mut self,
        raw: &[u8],
        spec: &CopySpec,
        out: &mut Vec<Vec<Option<String>>>,
    ) -> Result<(), SqlError> {
        self.line += 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw == b"\\." {
            self.finished = true;
            return Ok(());
        }
        if self.header_pending {
            self.header_pending = false;
            return Ok(());
        }
        let text = std::str::from_utf8(raw).map_err(|_| {
            SqlError::new(
                "22021",
                "invalid byte sequence for encoding \"UTF8\" in COPY data",
            )
        })?;
        let fields = if spec.csv {
            csv_fields(text, spec)
        } else {
            text_fields(text, spec)
        }
        .map_err(|m| SqlError::new("22P04", format!("{m} (COPY line {})", self.line)))?;
        out.push(fields);
        Ok(())
    }
}

/// Index of the newline ending the first record in `b`, if complete.
fn record_end(b: &[u8], csv: bool) -> Option<usize> {
    if !csv {
        return b.iter().position(|c| *c == b'\n');
    }
    let mut quoted = false;
    for (i, c) in b.iter().enumerate() {
        match c {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn text_fields(line: &str, spec: &CopySpec) -> Result<Vec<Option<String>>, String> {
    let mut out = Vec::new();
    for raw in line.split(spec.delimiter) {
        if raw == spec.null {
            out.push(None);
            continue;
        }
        let mut s = String::with_capacity(raw.len());
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                s.push(c);
                continue;
            }
            match chars.next() {
                Some('b') => s.push('\u{8}'),
                Some('f') => s.push('\u{c}'),
                Some('n') => s.push('\n'),
                Some('r') => s.push('\r'),
                Some('t') => s.push('\t'),
                Some('v') => s.push('\u{b}'),
                Some('x') => {
                    let mut v = 0u32;
                    let mut n = 0;
                    while n < 2
                        && let Some(d) = chars.peek().and_then(|c| c.to_digit(16))
                    {
                        v = v * 16 + d;
                        chars.next();
                        n += 1;
                    }
                    s.push(char::from_u32(v).ok_or("invalid \\x escape")?);
                }
                Some(d @ '0'..='7') => {
                    let mut v = d.to_digit(8).unwrap_or(0);
                    let mut n = 1;
                    while n < 3
                        && let Some(d) = chars.peek().and_then(|c| c.to_digit(8))
                    {
                        v = v * 8 + d;
                        chars.next();
                        n += 1;
                    }
                    s.push(char::from_u32(v).ok_or("invalid octal escape")?);
                }
                Some(other) => s.push(other),
                None => return Err("line ends with a lone backslash".into()),
            }
        }
        out.push(Some(s));
    }
    Ok(out)
}

fn csv_fields(line: &str, spec: &CopySpec) -> Result<Vec<Option<String>>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut s = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        s.push('"');
                    }
                    Some('"') => break,
                    Some(c) => s.push(c),
                    None => return Err("unterminated CSV quoted field".into()),
                }
            }
        }
        while let Some(&c) = chars.peek() {
            if c == spec.delimiter {
                break;
            }
            s.push(c);
            chars.next();
        }
        out.push(if !quoted && s == spec.null { None } else { Some(s) });
        if chars.next().is_none() {
            return Ok(out);
        }
    }
}

/// One row of COPY TO output (with its newline). `texts[i]` is the text
/// form of column `i` (`None`: NULL).
pub fn format_row(texts: &[Option<String>], spec: &CopySpec) -> String {
    let mut line = String::new();
    for (i, t) in texts.iter().enumerate() {
        if i > 0 {
            line.push(spec.delimiter);
        }
        match t {
            None => line.push_str(&spec.null),
            Some(s) if spec.csv => {
                let needs = s.is_empty()
                    || *s == spec.null
                    || s.contains([spec.delimiter, '"', '\n', '\r'])
                    || s.starts_with(char::is_whitespace)
                    || s.ends_with(char::is_whitespace);
                if needs {
                    line.push('"');
                    line.push_str(&s.replace('"', "\"\""));
                    line.push('"');
                } else {
                    line.push_str(s);
                }
            }
            Some(s) => {
                for c in s.chars() {
                    match c {
                        '\\' => line.push_str("\\\\"),
                        '\n' => line.push_str("\\n"),
                        '\r' => line.push_str("\\r"),
                        '\t' => line.push_str("\\t"),
                        c if c == spec.delimiter => {
                            line.push('\\');
                            line.push(c);
                        }
                        c => line.push(c),
                    }
                }
            }
        }
    }
    line.push('\n');
    line
}

/// Values for an INSERT from a record's fields (text, coerced by the engine).
pub fn to_values(fields: Vec<Option<String>>) -> Vec<Value> {
    fields
        .into_iter()
        .map(|f| f.map(Value::Text).unwrap_or(Value::Null))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(sql: &str) -> CopySpec {
        parse_copy(sql).expect("copy").expect("ok")
    }

    #[test]
    fn parses_statements() {
        let s = spec("copy pgbench_accounts from stdin with (freeze on)");
        assert_eq!(s.table, "pgbench_accounts");
        assert!(!s.csv);
        let s = spec("COPY t (a, b) FROM STDIN WITH (FORMAT csv, HEADER true)");
        assert!(s.csv && s.header);
        assert_eq!(s.columns, ["a", "b"]);
        let s = spec("COPY t TO STDOUT");
        assert_eq!(s.query.as_deref(), Some("SELECT * FROM t"));
        assert!(parse_copy("select 1").is_none());
        assert!(parse_copy("COPY t FROM '/etc/passwd'").expect("copy").is_err());
    }

    #[test]
    fn text_and_csv_records() {
        let s = spec("COPY t FROM STDIN");
        let mut r = RecordReader::new(&s);
        r.push(b"1\ta\\tb\t\\N\n2\t");
        assert_eq!(
            r.records(&s, false).unwrap(),
            [vec![Some("1".into()), Some("a\tb".into()), None]]
        );
        r.push(b"x\t\n\\.\nignored\n");
        assert_eq!(
            r.records(&s, false).unwrap(),
            [vec![Some("2".into()), Some("x".into()), Some(String::new())]]
        );
        assert!(r.finished);

        let c = spec("COPY t FROM STDIN CSV HEADER");
        let mut r = RecordReader::new(&c);
        r.push(b"a,b\n1,\"x,\"\"y\"\"\nz\"\n2,\n3,\"\"");
        assert_eq!(
            r.records(&c, true).unwrap(),
            [
                vec![Some("1".into()), Some("x,\"y\"\nz".into())],
                vec![Some("2".into()), None],
                vec![Some("3".into()), Some(String::new())]
            ]
        );
    }

    #[test]
    fn formats_rows() {
        let s = spec("COPY t TO STDOUT");
        assert_eq!(format_row(&[Some("a\tb".into()), None], &s), "a\\tb\t\\N\n");
        let c = spec("COPY t TO STDOUT (FORMAT csv)");
        assert_eq!(
            format_row(&[Some("x,y".into()), Some(String::new()), None], &c),
            "\"x,y\",\"\",\n"
        );
    }
}
