//! Checks `docs/conformance.md`, the map from UTS Test IDs to tests.
//!
//! Fails when a row is malformed, an ID repeats, a covered test does not
//! exist, is `#[ignore]`d, or does not cite its Test ID, or an excuse or a
//! pending row gives no reason. Pending rows are listed on every run.

use std::collections::BTreeSet;
use std::path::PathBuf;

struct Row {
    id: String,
    status: String,
    detail: String,
}

fn rows() -> Vec<Row> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text =
        std::fs::read_to_string(root.join("docs/conformance.md")).expect("docs/conformance.md");
    text.lines()
        .filter(|l| l.starts_with("| realtime/") || l.starts_with("| rest/"))
        .map(|l| {
            let cells: Vec<&str> = l
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            assert!(cells.len() >= 3, "malformed row: {l}");
            Row {
                id: cells[0].to_owned(),
                status: cells[1].to_owned(),
                detail: cells[2..].join("|").trim().to_owned(),
            }
        })
        .collect()
}

/// The source of a test module: under `tests/rest/` for `rest/` Test IDs,
/// under `tests/client/` for `realtime/` ones.
fn module_source(id: &str, module: &str) -> String {
    let dir = if id.starts_with("rest/") {
        "rest"
    } else {
        "client"
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/{dir}/{module}.rs"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("test module {} is missing", path.display()))
}

#[test]
fn every_test_id_is_covered_excused_or_pending() {
    let rows = rows();
    for suite in ["realtime/unit/", "rest/unit/"] {
        let n = rows.iter().filter(|r| r.id.starts_with(suite)).count();
        assert!(n >= 400, "the table lost {suite} rows: {n}");
    }
    let mut seen = BTreeSet::new();
    let mut pending = Vec::new();
    for row in &rows {
        assert!(seen.insert(row.id.clone()), "{} appears twice", row.id);
        let id_shape = row.id.split('/').count() == 4;
        assert!(id_shape, "{} is not a Test ID", row.id);
        match row.status.as_str() {
            "covered" => {
                let (module, name) = row.detail.split_once("::").unwrap_or_else(|| {
                    panic!("{}: expected module::test, got {}", row.id, row.detail)
                });
                let src = module_source(&row.id, module);
                let at = src
                    .find(&format!("fn {name}("))
                    .unwrap_or_else(|| panic!("{}: no test fn {name} in {module}.rs", row.id));
                // The attributes and doc comment above the fn.
                let head_start = src[..at].rfind("\n\n").map_or(0, |i| i + 2);
                let head = &src[head_start..at];
                assert!(
                    head.contains("#[test]"),
                    "{}: {name} is not a #[test]",
                    row.id
                );
                assert!(!head.contains("#[ignore"), "{}: {name} is ignored", row.id);
                assert!(
                    head.contains(&row.id),
                    "{}: {name} does not cite its Test ID",
                    row.id
                );
            }
            "excused" | "pending" => {
                assert!(row.detail.len() >= 20, "{}: give a specific reason", row.id);
                if row.status == "pending" {
                    pending.push(format!("{} ({})", row.id, row.detail));
                }
            }
            other => panic!("{}: unknown status {other}", row.id),
        }
    }
    if !pending.is_empty() {
        println!(
            "{} Test IDs pending:\n  {}",
            pending.len(),
            pending.join("\n  ")
        );
    }
}
