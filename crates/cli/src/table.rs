//! Aligned table output for the shell, psql-style; `NULL` is printed as
//! `NULL` so it is never confused with an empty string. Expanded mode (`\x`)
//! prints one `column | value` block per row.

/// A cell: `None` is SQL NULL.
pub type Cell = Option<String>;

const NULL: &str = "NULL";

fn width(s: &str) -> usize {
    s.chars().count()
}

pub fn render(columns: &[String], rows: &[Vec<Cell>], expanded: bool) -> String {
    let mut out = String::new();
    let text = |c: &Cell| c.as_deref().unwrap_or(NULL).to_string();
    if expanded {
        let name_width = columns.iter().map(|c| width(c)).max().unwrap_or(0);
        for (i, row) in rows.iter().enumerate() {
            out.push_str(&format!(
                "-[ RECORD {} ]{}\n",
                i + 1,
                "-".repeat(name_width.saturating_sub(2))
            ));
            for (name, cell) in columns.iter().zip(row) {
                out.push_str(&format!("{name:<name_width$} | {}\n", text(cell)));
            }
        }
    } else {
        let mut widths: Vec<usize> = columns.iter().map(|c| width(c)).collect();
        for row in rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(&text(cell)));
            }
        }
        let line = |cells: Vec<String>| -> String {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!(" {c}{} ", " ".repeat(w - width(c))))
                .collect();
            padded.join("|").trim_end().to_string() + "\n"
        };
        out.push_str(&line(columns.to_vec()));
        out.push_str(
            &widths
                .iter()
                .map(|w| "-".repeat(w + 2))
                .collect::<Vec<_>>()
                .join("+"),
        );
        out.push('\n');
        for row in rows {
            out.push_str(&line(row.iter().map(text).collect()));
        }
    }
    let n = rows.len();
    out.push_str(&format!("({n} row{})\n", if n == 1 { "" } else { "s" }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_and_marks_null() {
        let cols = vec!["id".to_string(), "name".to_string()];
        let rows = vec![
            vec![Some("1".into()), Some("alice".into())],
            vec![Some("22".into()), None],
        ];
        assert_eq!(
            render(&cols, &rows, false),
            " id | name\n----+-------\n 1  | alice\n 22 | NULL\n(2 rows)\n"
        );
        let expanded = render(&cols, &rows[..1], true);
        assert!(expanded.contains("id   | 1\nname | alice\n"), "{expanded}");
    }
}
