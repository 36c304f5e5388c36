//! `quorumdb sql`: the SQL shell.
//!
//! It speaks the PostgreSQL wire protocol (tokio-postgres, simple query
//! protocol), so it works against any PostgreSQL-compatible server. Input
//! is split into statements at semicolons outside quotes, dollar quotes and
//! comments; a statement may span lines. `-e` and `-f` run scripts and stop
//! with a non-zero exit at the first failing statement; errors show their
//! SQLSTATE.
//!
//! Meta-commands, on a line of their own, interactive or in a script: `\q`
//! quit, `\?` help, `\timing` toggle timing, `\x` toggle expanded output,
//! `\dt` (or `\d`) list tables, `\d TABLE` describe a table (both via
//! `information_schema`). In a script, a meta-command that fails (unknown,
//! or no such table) stops it like a failing statement.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::BoxError;
use crate::table::{self, Cell};

#[derive(Args, Clone, Debug)]
pub struct SqlArgs {
    /// Connection URL.
    #[arg(
        long,
        env = "QUORUMDB_URL",
        default_value = "postgres://root@127.0.0.1:5433/quorumdb"
    )]
    pub url: String,
    /// Run these statements and exit (non-zero at the first error).
    #[arg(short = 'e', long = "execute")]
    pub execute: Option<String>,
    /// Run the statements in this file and exit (non-zero at the first error).
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
}

pub fn run(args: SqlArgs) -> Result<ExitCode, BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(args))
}

async fn connect(url: &str) -> Result<Client, BoxError> {
    let connecting = tokio_postgres::connect(url, NoTls);
    let (client, connection) = match tokio::time::timeout(Duration::from_secs(10), connecting).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => return Err(format!("cannot connect to {url}: {}", describe(&e)).into()),
        Err(_) => return Err(format!("cannot connect to {url}: no answer within 10 s").into()),
    };
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("connection lost: {}", describe(&e));
        }
    });
    Ok(client)
}

/// One line for an error, with the SQLSTATE when the server sent one.
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("ERROR {}: {}", db.code().code(), db.message());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

struct Shell {
    client: Client,
    timing: bool,
    expanded: bool,
}

/// A table name as SQL reads it: folded to lower case unless quoted
/// (`"Foo"` is `Foo`, with `""` inside standing for `"`).
fn identifier(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) if name.len() >= 2 => quoted.replace("\"\"", "\""),
        _ => name.to_lowercase(),
    }
}

/// What a meta-command asks of the shell.
enum Meta {
    /// Carry on; false if the command failed.
    Done(bool),
    Quit,
}

pub async fn run_async(args: SqlArgs) -> Result<ExitCode, BoxError> {
    let client = connect(&args.url).await?;
    let mut shell = Shell {
        client,
        timing: false,
        expanded: false,
    };
    let script = match (&args.execute, &args.file) {
        (Some(sql), _) => Some(sql.clone()),
        (None, Some(path)) => {
            Some(std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?)
        }
        (None, None) => None,
    };
    if let Some(script) = script {
        let mut splitter = Splitter::default();
        for line in script.lines() {
            if splitter.is_empty() && line.trim_start().starts_with('\\') {
                match shell.meta(line.trim()).await {
                    Meta::Quit => return Ok(ExitCode::SUCCESS),
                    Meta::Done(false) => return Ok(ExitCode::FAILURE),
                    Meta::Done(true) => continue,
                }
            }
            for statement in splitter.push_line(line) {
                if !shell.run_input(&statement).await {
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        if let Some(rest) = splitter.finish()
            && !shell.run_input(&rest).await
        {
            return Ok(ExitCode::FAILURE);
        }
        return Ok(ExitCode::SUCCESS);
    }
    shell.repl(&args.url).await
}

impl Shell {
    async fn repl(&mut self, url: &str) -> Result<ExitCode, BoxError> {
        println!("Connected to {url}. Type \\? for help, \\q to quit.");
        let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".quorumdb_history"));
        let mut editor = rustyline::DefaultEditor::new()?;
        if let Some(h) = &history {
            let _ = editor.load_history(h);
        }
        let mut splitter = Splitter::default();
        loop {
            let prompt = if splitter.is_empty() {
                "quorumdb> "
            } else {
                "quorumdb-> "
            };
            let line = match editor.readline(prompt) {
                Ok(line) => line,
                Err(rustyline::error::ReadlineError::Interrupted) => {
                    splitter = Splitter::default();
                    continue;
                }
                Err(rustyline::error::ReadlineError::Eof) => break,
                Err(e) => return Err(e.into()),
            };
            if splitter.is_empty() && line.trim_start().starts_with('\\') {
                let _ = editor.add_history_entry(line.as_str());
                if let Meta::Quit = self.meta(line.trim()).await {
                    break;
                }
                continue;
            }
            for statement in splitter.push_line(&line) {
                let _ = editor.add_history_entry(statement.as_str());
                self.run_input(&statement).await;
            }
        }
        if let Some(h) = &history {
            let _ = editor.save_history(h);
        }
        Ok(ExitCode::SUCCESS)
    }

    /// Runs a meta-command.
    async fn meta(&mut self, command: &str) -> Meta {
        let mut parts = command.split_whitespace();
        let ok = match (parts.next(), parts.next()) {
            (Some("\\q"), _) => return Meta::Quit,
            (Some("\\?"), _) => {
                println!(
                    "\\q          quit\n\\timing     toggle timing of statements\n\\x          toggle expanded output\n\\dt, \\d     list tables\n\\dv         list views\n\\d TABLE    describe a table\nStatements end with ';' and may span lines."
                );
                true
            }
            (Some("\\timing"), _) => {
                self.timing = !self.timing;
                println!("Timing is {}.", if self.timing { "on" } else { "off" });
                true
            }
            (Some("\\x"), _) => {
                self.expanded = !self.expanded;
                println!(
                    "Expanded display is {}.",
                    if self.expanded { "on" } else { "off" }
                );
                true
            }
            (Some("\\dt" | "\\d"), None) => {
                self.run_input(
                    "SELECT table_name AS \"table\" FROM information_schema.tables \
                     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
                )
                .await
            }
            (Some("\\dv"), None) => {
                self.run_input(
                    "SELECT table_name AS \"view\" FROM information_schema.tables \
                     WHERE table_schema = 'public' AND table_type = 'VIEW' ORDER BY table_name",
                )
                .await
            }
            (Some("\\d"), Some(name)) => self.describe_table(&identifier(name.trim_end_matches(';'))).await,
            _ => {
                eprintln!("unknown command {command}; try \\?");
                false
            }
        };
        Meta::Done(ok)
    }

    /// `\d TABLE`: its columns, or psql's message when there is no such table.
    async fn describe_table(&mut self, name: &str) -> bool {
        let quoted = name.replace('\'', "''");
        let exists = self
            .client
            .simple_query(&format!(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = '{quoted}'"
            ))
            .await
            .map(|messages| messages.iter().any(|m| matches!(m, SimpleQueryMessage::Row(_))));
        match exists {
            Ok(true) => {}
            Ok(false) => {
                eprintln!("Did not find any relation named \"{name}\".");
                return false;
            }
            Err(e) => {
                eprintln!("{}", describe(&e));
                return false;
            }
        }
        self.run_input(&format!(
            "SELECT column_name AS \"column\", data_type AS \"type\", is_nullable AS \"nullable\", \
             column_default AS \"default\" FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = '{quoted}' ORDER BY ordinal_position"
        ))
        .await
    }

    /// Runs one statement and prints its result; false if it failed.
    async fn run_input(&mut self, sql: &str) -> bool {
        let started = Instant::now();
        let result = self.client.simple_query(sql).await;
        let elapsed = started.elapsed();
        let ok = match result {
            Ok(messages) => {
                self.print(sql, &messages);
                true
            }
            Err(e) => {
                eprintln!("{}", describe(&e));
                false
            }
        };
        if self.timing {
            println!("Time: {:.3} ms", elapsed.as_secs_f64() * 1000.0);
        }
        ok
    }

    fn print(&self, sql: &str, messages: &[SimpleQueryMessage]) {
        let mut columns: Vec<String> = Vec::new();
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        let mut described = false;
        for message in messages {
            match message {
                SimpleQueryMessage::RowDescription(cols) => {
                    columns = cols.iter().map(|c| c.name().to_string()).collect();
                    described = true;
                }
                SimpleQueryMessage::Row(row) => {
                    if !described {
                        columns = row.columns().iter().map(|c| c.name().to_string()).collect();
                        described = true;
                    }
                    rows.push((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect());
                }
                SimpleQueryMessage::CommandComplete(n) => {
                    if described {
                        print!("{}", table::render(&columns, &rows, self.expanded));
                    } else {
                        println!("{}", command_tag(sql, *n));
                    }
                    columns.clear();
                    rows.clear();
                    described = false;
                }
                _ => {}
            }
        }
    }
}

/// A PostgreSQL-style tag from the statement's first words and the count.
fn command_tag(sql: &str, n: u64) -> String {
    let words: Vec<String> = sql.split_whitespace().take(2).map(str::to_uppercase).collect();
    match words.first().map(String::as_str) {
        Some("INSERT") => format!("INSERT 0 {n}"),
        Some(w @ ("UPDATE" | "DELETE" | "COPY" | "MOVE" | "FETCH")) => format!("{w} {n}"),
        Some(w @ ("CREATE" | "DROP" | "ALTER")) => {
            format!("{w} {}", words.get(1).cloned().unwrap_or_default())
        }
        Some(w) => w.to_string(),
        None => String::new(),
    }
}

/// Splits input into statements at `;` outside quotes and comments.
#[derive(Default)]
pub struct Splitter {
    buffer: String,
    quote: Option<Quote>,
}

#[derive(Clone, PartialEq, Debug)]
enum Quote {
    Single,
    Double,
    Dollar(String),
    Block,
}

impl Splitter {
    pub fn is_empty(&self) -> bool {
        self.buffer.trim().is_empty()
    }

    /// Adds a line; returns the statements it completed.
    pub fn push_line(&mut self, line: &str) -> Vec<String> {
        let mut done = Vec::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            match &self.quote {
                Some(Quote::Single) if c == '\'' => self.quote = None,
                Some(Quote::Double) if c == '"' => self.quote = None,
                Some(Quote::Block) if c == '*' && next == Some('/') => {
                    self.buffer.push_str("*/");
                    self.quote = None;
                    i += 2;
                    continue;
                }
                Some(Quote::Dollar(tag)) => {
                    let rest: String = chars[i..].iter().collect();
                    if rest.starts_with(tag.as_str()) {
                        self.buffer.push_str(tag);
                        i += tag.chars().count();
                        self.quote = None;
                        continue;
                    }
                }
                Some(_) => {}
                None => match c {
                    '\'' => self.quote = Some(Quote::Single),
                    '"' => self.quote = Some(Quote::Double),
                    '-' if next == Some('-') => break, // comment to end of line
                    '/' if next == Some('*') => {
                        self.buffer.push_str("/*");
                        self.quote = Some(Quote::Block);
                        i += 2;
                        continue;
                    }
                    '$' => {
                        let rest: String = chars[i + 1..].iter().collect();
                        if let Some(end) = rest.find('$') {
                            let tag = &rest[..end];
                            if tag.chars().all(|c| c.is_alphanumeric() || c == '_') {
                                let tag = format!("${tag}$");
                                self.buffer.push_str(&tag);
                                i += tag.chars().count();
                                self.quote = Some(Quote::Dollar(tag));
                                continue;
                            }
                        }
                    }
                    ';' => {
                        let statement = std::mem::take(&mut self.buffer);
                        if !statement.trim().is_empty() {
                            done.push(statement.trim().to_string());
                        }
                        i += 1;
                        continue;
                    }
                    _ => {}
                },
            }
            self.buffer.push(c);
            i += 1;
        }
        self.buffer.push('\n');
        done
    }

    /// What is left at the end of a script (a last statement without `;`).
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buffer);
        let rest = rest.trim();
        (!rest.is_empty()).then(|| rest.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_fold_unless_quoted() {
        assert_eq!(identifier("Orders"), "orders");
        assert_eq!(identifier("\"Orders\""), "Orders");
        assert_eq!(identifier("\"a\"\"b\""), "a\"b");
        assert_eq!(identifier("\""), "\"");
    }

    fn split(input: &str) -> Vec<String> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        for line in input.lines() {
            out.extend(s.push_line(line));
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn splits_at_semicolons_outside_quotes_and_comments() {
        assert_eq!(split("select 1; select 2;"), vec!["select 1", "select 2"]);
        assert_eq!(
            split("select ';' ;\nselect \"a;b\";"),
            vec!["select ';'", "select \"a;b\""]
        );
        assert_eq!(split("select 1 -- a; comment\n;"), vec!["select 1"]);
        assert_eq!(split("select /* ; */ 1;"), vec!["select /* ; */ 1"]);
        assert_eq!(split("select $$a;b$$, $t$;$t$;"), vec!["select $$a;b$$, $t$;$t$"]);
        assert_eq!(split("select\n  1\n;"), vec!["select\n  1"]);
        assert_eq!(split("select 'it''s';"), vec!["select 'it''s'"]);
        assert_eq!(split("select 1"), vec!["select 1"]);
    }

    #[test]
    fn tags_read_like_postgres() {
        assert_eq!(command_tag("insert into t values (1)", 3), "INSERT 0 3");
        assert_eq!(command_tag("update t set a = 1", 2), "UPDATE 2");
        assert_eq!(command_tag("create table t (a int)", 0), "CREATE TABLE");
        assert_eq!(command_tag("begin", 0), "BEGIN");
    }
}
