//! Plans for people, in the shape of `terraform plan`: one block per change with its reason and
//! a line diff of the document, conflicts, and a summary line.

use std::fmt::Write;

use serde_json::Value;

use crate::plan::{Action, AnyChange, Plan};

/// Renders `plan` as text. Deterministic: the same plan always gives the same text.
pub fn render_plan(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.has_changes() {
        out.push_str("crossrep will perform the following actions:\n\n");
        for c in &plan.changes {
            render_change(&mut out, c);
            out.push('\n');
        }
    }
    // One line each (SPEC §3): `conflict: <bucket> (<account>) -> <destination>: <reason>`; the
    // bucket is left exactly as it is. A hint, when there is one, follows on its own line.
    for c in &plan.conflicts {
        let target = match &c.destination {
            Some(d) => format!("{} ({}) -> {d}", c.bucket, c.account),
            None => format!("{} ({})", c.bucket, c.account),
        };
        let _ = writeln!(out, "conflict: {target}: {}", c.message);
        if let Some(hint) = &c.hint {
            let _ = writeln!(out, "  hint: {hint}");
        }
    }
    if !plan.conflicts.is_empty() {
        out.push('\n');
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "{w}");
    }
    if !plan.warnings.is_empty() {
        out.push('\n');
    }
    let shortened: Vec<_> = plan
        .pairs
        .iter()
        .filter(|p| p.shortened_from.is_some())
        .collect();
    if !shortened.is_empty() && plan.has_changes() {
        out.push_str("Shortened destination names:\n");
        for p in shortened {
            let _ = writeln!(
                out,
                "  {} -> {} (from `{}`)",
                p.source.bucket,
                p.destination.bucket,
                p.shortened_from.as_deref().unwrap_or_default()
            );
        }
        out.push('\n');
    }
    out.push_str(&summary(plan));
    out.push('\n');
    out
}

/// The last line: `Plan: 1 to add, 2 to change, 0 to destroy.` or `No changes.`
pub fn summary(plan: &Plan) -> String {
    let conflicts = match plan.not_replicated() {
        0 => String::new(),
        n => format!(
            " {n} selected bucket(s) will not be replicated: in conflict, left untouched (fix them, or exclude them to accept it)."
        ),
    };
    let pairs = match plan.pairs.len() {
        0 => String::new(),
        n => format!(", for {n} bucket pair(s)"),
    };
    if plan.has_changes() {
        let (add, change, destroy) = plan.counts();
        format!("Plan: {add} to add, {change} to change, {destroy} to destroy{pairs}.{conflicts}")
    } else if plan.pairs.is_empty() {
        format!("No changes.{conflicts}")
    } else {
        format!(
            "No changes. Replication of {} bucket pair(s) matches the configuration.{conflicts}",
            plan.pairs.len()
        )
    }
}

/// The diff lines of one change (marked `+`/`-`, unchanged context around them).
pub fn change_lines(c: &AnyChange) -> Vec<String> {
    let (before, after) = c.shown();
    let before = before.as_ref().map(pretty).unwrap_or_default();
    let after = after.as_ref().map(pretty).unwrap_or_default();
    diff_lines(&before, &after)
}

fn render_change(out: &mut String, c: &AnyChange) {
    let verb = match c.action() {
        Action::Create => "will be created",
        Action::Update => "will be updated in-place",
        Action::Delete => "will be destroyed",
    };
    let _ = writeln!(out, "  # {} {verb}", c.addr());
    let _ = writeln!(out, "  # ({}: {})", c.describe(), c.reason());
    for line in change_lines(c) {
        let _ = writeln!(out, "{line}");
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Context lines kept around each changed run; longer unchanged runs are elided.
const CONTEXT: usize = 3;

/// A line diff (longest common subsequence) of two texts, `+`/`-` marked and indented.
fn diff_lines(before: &str, after: &str) -> Vec<String> {
    let a: Vec<&str> = if before.is_empty() {
        vec![]
    } else {
        before.lines().collect()
    };
    let b: Vec<&str> = after.lines().collect();
    // Trim the common head and tail first: documents usually differ in a few lines, which keeps
    // the quadratic table small even for large policies.
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut lcs = vec![vec![0u32; bm.len() + 1]; am.len() + 1];
    for i in (0..am.len()).rev() {
        for j in (0..bm.len()).rev() {
            lcs[i][j] = if am[i] == bm[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut marked: Vec<(char, &str)> = a[..head].iter().map(|l| (' ', *l)).collect();
    let (mut i, mut j) = (0, 0);
    while i < am.len() || j < bm.len() {
        if i < am.len() && j < bm.len() && am[i] == bm[j] {
            marked.push((' ', am[i]));
            i += 1;
            j += 1;
        } else if i < am.len() && (j == bm.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            marked.push(('-', am[i]));
            i += 1;
        } else {
            marked.push(('+', bm[j]));
            j += 1;
        }
    }
    marked.extend(a[a.len() - tail..].iter().map(|l| (' ', *l)));

    let changed: Vec<usize> = marked
        .iter()
        .enumerate()
        .filter(|(_, (m, _))| *m != ' ')
        .map(|(i, _)| i)
        .collect();
    let near = |i: usize| changed.iter().any(|&c| c.abs_diff(i) <= CONTEXT);
    let mut out = Vec::new();
    let mut skipped = 0;
    for (i, (m, line)) in marked.iter().enumerate() {
        if *m == ' ' && !near(i) {
            skipped += 1;
            continue;
        }
        if skipped > 0 {
            out.push(format!("      # ({skipped} unchanged lines hidden)"));
            skipped = 0;
        }
        out.push(format!("    {m} {line}"));
    }
    if skipped > 0 {
        out.push(format!("      # ({skipped} unchanged lines hidden)"));
    }
    out
}

/// `crossrep status` for people: one block per pair.
pub fn render_status(rows: &[crate::backfill::PairStatus]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("No bucket pairs: no source bucket matches the configuration.\n");
        return out;
    }
    for r in rows {
        let _ = writeln!(
            out,
            "{} ({}, {}) -> {} ({}, {})",
            r.source.bucket,
            r.source.account,
            r.source.region,
            r.destination.bucket,
            r.destination.account,
            r.destination.region
        );
        let hint = match r.rule {
            "missing" => "  (run `crossrep apply`)",
            "disabled" => "  (someone disabled it; `crossrep plan` shows the drift)",
            _ => "",
        };
        let _ = writeln!(out, "  rule      {}{hint}", r.rule);
        match (&r.job, r.backfill) {
            (_, crate::config::Backfill::None) => {
                let _ = writeln!(out, "  backfill  off (`backfill = \"none\"`)");
            }
            (None, _) => {
                let _ = writeln!(out, "  backfill  no job yet (run `crossrep backfill`)");
            }
            (Some(j), _) => {
                let status = if j.status == "Suspended" {
                    "Suspended, awaiting confirmation in S3 Batch Operations".to_string()
                } else {
                    j.status.clone()
                };
                let _ = writeln!(
                    out,
                    "  backfill  job {} {status}: {}/{} tasks, {} succeeded, {} failed{}",
                    j.id,
                    j.succeeded + j.failed,
                    j.total,
                    j.succeeded,
                    j.failed,
                    j.filter
                        .map(|f| format!(" ({} versions)", f.tag()))
                        .unwrap_or_default()
                );
                let started = j.created.as_deref().unwrap_or("?");
                match &j.finished {
                    Some(f) => {
                        let _ = writeln!(out, "            started {started}, finished {f}");
                    }
                    None => {
                        let _ = writeln!(out, "            started {started}");
                    }
                }
                for reason in &j.failure_reasons {
                    let _ = writeln!(out, "            job failed: {reason}");
                }
            }
        }
        if let Some(e) = &r.report_error {
            let _ = writeln!(out, "  report    could not be read: {e}");
        }
        if let Some(f) = r.failures.as_ref().filter(|f| f.failed > 0) {
            let _ = writeln!(
                out,
                "  failures  {} of {} tasks",
                f.failed,
                f.failed + f.succeeded
            );
            for (code, c) in &f.by_code {
                let _ = writeln!(out, "    {code}: {}", c.count);
                let _ = writeln!(out, "      {}", crate::report::explain(code));
                let _ = writeln!(out, "      e.g. {}", c.examples.join(", "));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_changed_lines_only() {
        let a = "{\n  \"a\": 1,\n  \"b\": 2\n}";
        let b = "{\n  \"a\": 1,\n  \"b\": 3\n}";
        let d = diff_lines(a, b);
        assert_eq!(
            d,
            [
                "      {",
                "        \"a\": 1,",
                "    -   \"b\": 2",
                "    +   \"b\": 3",
                "      }"
            ]
        );
    }

    #[test]
    fn creation_is_all_additions() {
        let d = diff_lines("", "{\n}");
        assert_eq!(d, ["    + {", "    + }"]);
    }

    #[test]
    fn long_unchanged_runs_are_hidden() {
        let a: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        let mut b = a.clone();
        b[10] = "x".into();
        let d = diff_lines(&a.join("\n"), &b.join("\n"));
        assert!(d.iter().any(|l| l.contains("unchanged lines hidden")));
        assert!(d.iter().any(|l| l == "    - 10"));
        assert!(d.iter().any(|l| l == "    + x"));
        assert!(d.len() < 12, "{d:#?}");
    }
}
