//! A tiny in-memory SQL shell for manual testing: `cargo run --example sqlsh`.
use std::io::BufRead;
use std::sync::Arc;

use quorumdb_sql::Session;
use quorumdb_storage::{Engine, KvStore, MemoryEngine};

fn main() {
    let store = match KvStore::local(Arc::new(MemoryEngine::new()) as Arc<dyn Engine>) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    let mut session = Session::new(store);
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        match session.execute(&line) {
            Ok(results) => {
                for r in results {
                    for row in &r.rows {
                        let cells: Vec<String> = row
                            .iter()
                            .map(|v| v.to_text().unwrap_or_else(|| "NULL".into()))
                            .collect();
                        println!("{}", cells.join(" | "));
                    }
                    println!("{}", r.tag);
                }
            }
            Err(e) => println!("ERROR: {e}"),
        }
    }
}
