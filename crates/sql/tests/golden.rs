//! Golden tests: each `golden/<area>.sql` is run statement by statement in
//! one fresh session, and the rendered output must equal
//! `golden/<area>.out`. Statements end with `;` at the end of a line; a
//! line `\user NAME` makes the session run as NAME from there on.
//! Regenerate after an intended change with `QUORUMDB_BLESS=1 cargo test
//! -p quorumdb-sql --test golden`, then review the diff.

use std::path::Path;
use std::sync::Arc;

use quorumdb_sql::Session;
use quorumdb_storage::{Engine, KvStore, MemoryEngine};

fn render(sql: &str) -> String {
    let store = KvStore::local(Arc::new(MemoryEngine::new()) as Arc<dyn Engine>).expect("memory store");
    let mut session = Session::new(store);
    let mut out = String::new();
    let mut stmt = String::new();
    for line in sql.lines() {
        // `\user NAME`: run what follows as NAME.
        if stmt.is_empty()
            && let Some(user) = line.strip_prefix("\\user ")
        {
            session.set_user(user.trim());
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if stmt.is_empty() && (line.trim().is_empty() || line.starts_with("--")) {
            if line.starts_with("--") {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        stmt.push_str(line);
        stmt.push('\n');
        if !line.trim_end().ends_with(';') {
            continue;
        }
        let text = std::mem::take(&mut stmt);
        out.push_str(&format!("> {}\n", text.trim()));
        match session.execute(&text) {
            Ok(results) => {
                for r in results {
                    if !r.columns.is_empty() {
                        let names: Vec<String> = r
                            .columns
                            .iter()
                            .map(|c| format!("{}:{}", c.name, c.ty.name()))
                            .collect();
                        out.push_str(&format!("  [{}]\n", names.join(", ")));
                    }
                    for row in &r.rows {
                        let cells: Vec<String> = row
                            .iter()
                            .map(|v| v.to_text().unwrap_or_else(|| "NULL".into()))
                            .collect();
                        out.push_str(&format!("  {}\n", cells.join(" | ")));
                    }
                    out.push_str(&format!("  {}\n", r.tag));
                }
            }
            Err(e) => out.push_str(&format!("  ERROR {}: {}\n", e.code, e.message)),
        }
    }
    out
}

#[test]
fn golden_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var("QUORUMDB_BLESS").is_ok_and(|v| v == "1");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden files in {}", dir.display());
    let mut mismatches = Vec::new();
    for sql_path in files {
        let sql = std::fs::read_to_string(&sql_path).expect("read sql");
        let got = render(&sql);
        let out_path = sql_path.with_extension("out");
        if bless {
            std::fs::write(&out_path, &got).expect("write out");
            continue;
        }
        let want = std::fs::read_to_string(&out_path).unwrap_or_default();
        if want != got {
            mismatches.push(format!(
                "{}:\n--- want\n{want}\n--- got\n{got}",
                out_path.display()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "golden mismatches:\n{}",
        mismatches.join("\n")
    );
}
