//! Running SQLite's sqllogictest corpus (or a sample of it) through the
//! [`slt`](crate::slt) runner, on any database, with one line of numbers
//! per file and a total.
//!
//! - Corpus: `$QUORUMDB_SLT_DIR`, default `../shared/slt` next to the
//!   workspace. When it is absent, [`corpus_dir`] is `None` and the caller
//!   says the test was skipped.
//! - Sample: the fixed [`SAMPLE`] of files, each cut to its first N records.
//! - Full: every `.test` file, whole.
//! - `QUORUMDB_SLT_FILTER=substr`: only files whose path contains `substr`.
//! - `QUORUMDB_SLT_VERBOSE=1`: print the first failures of each file.

use std::path::{Path, PathBuf};

use crate::slt::FileReport;

/// Files of the default sample (relative to the corpus directory).
pub const SAMPLE: &[&str] = &[
    "test/evidence/in1.test",
    "test/evidence/in2.test",
    "test/evidence/slt_lang_aggfunc.test",
    "test/evidence/slt_lang_dropindex.test",
    "test/evidence/slt_lang_droptable.test",
    "test/evidence/slt_lang_update.test",
    "test/select1.test",
    "test/select2.test",
    "test/select3.test",
    "test/select4.test",
    "test/select5.test",
    "test/index/between/1000/slt_good_0.test",
    "test/index/commute/10/slt_good_0.test",
    "test/index/delete/10/slt_good_0.test",
    "test/index/in/10/slt_good_3.test",
    "test/index/orderby/10/slt_good_0.test",
    "test/index/orderby_nosort/10/slt_good_0.test",
    "test/index/random/10/slt_good_0.test",
    "test/random/aggregates/slt_good_0.test",
    "test/random/expr/slt_good_0.test",
    "test/random/groupby/slt_good_0.test",
    "test/random/select/slt_good_0.test",
];

/// The corpus directory, if it exists.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("QUORUMDB_SLT_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/slt"),
    };
    dir.is_dir().then_some(dir)
}

/// Where the corpus was looked for (for the "skipped" message).
pub fn corpus_hint() -> String {
    match std::env::var_os("QUORUMDB_SLT_DIR") {
        Some(d) => PathBuf::from(d).display().to_string(),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/slt")
            .display()
            .to_string(),
    }
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            all_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "test") {
            out.push(p);
        }
    }
}

/// The first `n` blank-line-separated records of a script.
pub fn head_records(text: &str, n: usize) -> String {
    let mut out = String::new();
    let mut records = 0;
    let mut in_record = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            if in_record {
                records += 1;
                in_record = false;
                if records >= n {
                    break;
                }
            }
        } else {
            in_record = true;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// What to run.
#[derive(Clone, Debug)]
pub enum Selection {
    /// [`SAMPLE`], each file cut to its first `records` records.
    Sample { records: usize },
    /// Every `.test` file, whole.
    Full,
}

/// Runs the selected files through `run_file(text, name)`, printing one
/// line per file and the total; returns the total.
pub fn run_corpus(
    dir: &Path,
    selection: &Selection,
    label: &str,
    mut run_file: impl FnMut(&str, &str) -> FileReport,
) -> FileReport {
    let filter = std::env::var("QUORUMDB_SLT_FILTER").ok();
    let verbose = std::env::var("QUORUMDB_SLT_VERBOSE").is_ok_and(|v| v == "1");
    let files: Vec<PathBuf> = match selection {
        Selection::Full => {
            let mut v = Vec::new();
            all_files(dir, &mut v);
            v
        }
        Selection::Sample { .. } => SAMPLE.iter().map(|f| dir.join(f)).collect(),
    };
    let mut total = FileReport::default();
    for path in files {
        let rel = path.strip_prefix(dir).unwrap_or(&path).display().to_string();
        if filter.as_ref().is_some_and(|f| !rel.contains(f.as_str())) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            println!("{rel}: cannot read, skipped");
            continue;
        };
        let text = match selection {
            Selection::Full => text,
            Selection::Sample { records } => head_records(&text, *records),
        };
        let r = run_file(&text, &rel);
        let ran = r.passed + r.failed;
        println!(
            "{rel}: {}/{} passed ({:.2}%), {} skipped, {:.1}s",
            r.passed,
            ran,
            100.0 * r.passed as f64 / ran.max(1) as f64,
            r.skipped,
            r.elapsed.as_secs_f64()
        );
        if verbose {
            for f in r.failures.iter().take(8) {
                println!("    {f}");
            }
        }
        total.passed += r.passed;
        total.failed += r.failed;
        total.skipped += r.skipped;
        total.elapsed += r.elapsed;
        total.failures.extend(r.failures.into_iter().take(2));
    }
    let ran = total.passed + total.failed;
    let what = match selection {
        Selection::Full => "full corpus".to_string(),
        Selection::Sample { records } => format!("sample, first {records} records per file"),
    };
    println!(
        "sqllogictest total {label} ({what}): {}/{} passed ({:.2}%), {} skipped, {:.1}s",
        total.passed,
        ran,
        100.0 * total.pass_rate(),
        total.skipped,
        total.elapsed.as_secs_f64()
    );
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_records_cuts_after_n_records() {
        let text = "statement ok\nA\n\nstatement ok\nB\n\n\nquery I\nC\n----\n1\n";
        assert_eq!(head_records(text, 1), "statement ok\nA\n");
        assert_eq!(head_records(text, 2), "statement ok\nA\n\nstatement ok\nB\n");
        assert_eq!(head_records(text, 9), text);
    }
}
