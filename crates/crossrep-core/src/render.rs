//! Plans for people, in the shape of `terraform plan`: one block per change with its reason and
//! a line diff of the document, conflicts, and a summary line.

use std::fmt::Write;

use serde_json::Value;

use crate::plan::{Action, AnyChange, Plan};
use crate::preflight::Severity;

/// Findings of one kind that could not be checked shown in the plan for people, at most.
pub const UNCHECKED_SHOWN: usize = 3;

/// Renders `plan` as text. Deterministic: the same plan always gives the same text.
/// Above this many changes, the plan for people summarises plain creations (SPEC §11, issue
/// 12: a plan of 10,000 pairs must stay readable); `--full` shows everything.
pub const SUMMARY_ABOVE: usize = 50;

/// Every change in full.
pub fn render_plan(plan: &Plan) -> String {
    render_plan_as(plan, true)
}

/// With `full = false` and more than [`SUMMARY_ABOVE`] changes, plain creations and routine
/// updates (see [`routine`]) are counted by account and kind; other updates and deletions,
/// conflicts, warnings and shortened names are shown as always. The JSON plan is always
/// complete.
pub fn render_plan_as(plan: &Plan, full: bool) -> String {
    let mut out = String::new();
    // `[organization]` (SPEC §11): the resolved accounts first.
    if !plan.accounts_selected.is_empty() || !plan.accounts_skipped.is_empty() {
        let _ = writeln!(
            out,
            "Organization: {} account(s) selected{}",
            plan.accounts_selected.len(),
            if plan.accounts_selected.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    plan.accounts_selected
                        .iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
        for s in &plan.accounts_skipped {
            let _ = writeln!(
                out,
                "  {} {} ({}): {}",
                if s.unreachable {
                    "unreachable"
                } else {
                    "skipped"
                },
                s.account,
                s.name,
                s.reason
            );
        }
        out.push('\n');
    }
    // Preflight (SPEC §12): only what is wrong or could not be checked.
    if !plan.preflight.is_empty() {
        out.push_str("Preflight:\n");
        // What could not be checked, for many accounts alike, is shown for a few (JSON lists
        // every one).
        let mut shown: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for f in &plan.preflight {
            if f.severity == Severity::Unchecked {
                let n = shown.entry(&f.code).or_default();
                *n += 1;
                if *n > UNCHECKED_SHOWN {
                    continue;
                }
            }
            let _ = writeln!(out, "  {f}");
            if let Some(h) = &f.hint {
                let _ = writeln!(out, "    hint: {h}");
            }
        }
        for (code, n) in shown.into_iter().filter(|(_, n)| *n > UNCHECKED_SHOWN) {
            let _ = writeln!(
                out,
                "  … and {} more `{code}` (`--format json` lists every one)",
                n - UNCHECKED_SHOWN
            );
        }
        out.push('\n');
    }
    let summarise = !full && plan.changes.len() > SUMMARY_ABOVE;
    if plan.has_changes() && summarise {
        // (account, sign, kind, reason of a routine update) -> how many
        let mut counted: std::collections::BTreeMap<(String, char, &'static str, &str), usize> =
            std::collections::BTreeMap::new();
        for c in plan.changes.iter().filter(|c| summarised(c)) {
            let addr = c.addr();
            let key = match c.action() {
                Action::Create => (addr.account().to_string(), '+', addr.kind(), ""),
                _ => (addr.account().to_string(), '~', addr.kind(), c.reason()),
            };
            *counted.entry(key).or_default() += 1;
        }
        let creations = plan
            .changes
            .iter()
            .filter(|c| c.action() == Action::Create)
            .count();
        let routine = plan.changes.iter().filter(|c| routine(c)).count();
        let others = plan.changes.len() - creations - routine;
        let _ = writeln!(
            out,
            "crossrep will perform the following actions ({} changes: {creations} creations and {routine} routine updates summarised below, {others} other change(s) in full; `--full` shows every change):\n",
            plan.changes.len(),
        );
        let mut account = None;
        for ((a, sign, kind, reason), n) in &counted {
            if account != Some(a) {
                let _ = writeln!(out, "  {a}:");
                account = Some(a);
            }
            if reason.is_empty() {
                let _ = writeln!(out, "    {sign} {n} {kind}");
            } else {
                let _ = writeln!(out, "    {sign} {n} {kind}: {reason}");
            }
        }
        out.push('\n');
        for c in plan.changes.iter().filter(|c| !summarised(c)) {
            render_change(&mut out, c);
            out.push('\n');
        }
    } else if plan.has_changes() {
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
    for n in &plan.notes {
        let _ = writeln!(out, "note: {n}");
    }
    if !plan.notes.is_empty() {
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
    let conflicts = match plan.preflight_errors() {
        0 => conflicts,
        n => format!(
            "{conflicts} Preflight found {n} error(s): apply refuses this plan until they are fixed."
        ),
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

/// An update crossrep makes the same way on every bucket, whose diff adds only crossrep's
/// part: versioning turned on, or crossrep's notification entry added to a configuration
/// without it (every other entry is written back as it was). A plan at scale counts these like
/// creations; an update of anything else, or of a configuration crossrep's entry is already
/// in, is shown in full.
fn routine(c: &AnyChange) -> bool {
    match c {
        AnyChange::Versioning(v) => v.action == Action::Update,
        AnyChange::Notification(n) => {
            n.action == Action::Update && n.before.as_ref().is_some_and(|b| !b.has_ours())
        }
        _ => false,
    }
}

/// Counted, not shown, in a plan at scale: creations and routine updates.
fn summarised(c: &AnyChange) -> bool {
    c.action() == Action::Create || routine(c)
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

/// A line diff of two texts, `+`/`-` marked and indented.
///
/// Myers' algorithm (`similar`): O((N+M)·D) time for D differing lines, where the LCS table it
/// replaced was O(N·M) in time and memory, so two large documents that differ in a few places
/// far apart (a policy with 20,000 lines, changed at its first and last statement) stay cheap.
/// A replaced run shows its old lines before its new ones.
fn diff_lines(before: &str, after: &str) -> Vec<String> {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let mut marked: Vec<(char, &str)> = Vec::with_capacity(a.len().max(b.len()));
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &a, &b) {
        let (tag, old, new) = op.as_tag_tuple();
        match tag {
            similar::DiffTag::Equal => marked.extend(a[old].iter().map(|l| (' ', *l))),
            similar::DiffTag::Delete => marked.extend(a[old].iter().map(|l| ('-', *l))),
            similar::DiffTag::Insert => marked.extend(b[new].iter().map(|l| ('+', *l))),
            similar::DiffTag::Replace => {
                marked.extend(a[old].iter().map(|l| ('-', *l)));
                marked.extend(b[new].iter().map(|l| ('+', *l)));
            }
        }
    }

    // Lines within CONTEXT of a change are shown; one pass, linear in the number of lines.
    let mut shown = vec![false; marked.len()];
    for (i, (m, _)) in marked.iter().enumerate() {
        if *m != ' ' {
            let lo = i.saturating_sub(CONTEXT);
            let hi = (i + CONTEXT).min(marked.len() - 1);
            shown[lo..=hi].iter_mut().for_each(|s| *s = true);
        }
    }
    let mut out = Vec::new();
    let mut skipped = 0;
    for ((m, line), shown) in marked.iter().zip(&shown) {
        if !shown {
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

/// `crossrep status` for people: one block per pair, then one per selected bucket that forms
/// no pair (each with its conflict).
pub fn render_status(rows: &[crate::backfill::StatusRow]) -> String {
    use crate::backfill::StatusRow;
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("No bucket pairs: no source bucket matches the configuration.\n");
        return out;
    }
    let conflict = |out: &mut String, c: &crate::desired::Conflict| {
        let _ = writeln!(out, "  conflict  {}", c.message);
        if let Some(hint) = &c.hint {
            let _ = writeln!(out, "            hint: {hint}");
        }
    };
    for row in rows {
        let r = match row {
            StatusRow::Pair(r) => r,
            StatusRow::Unpaired(u) => {
                let c = &u.conflict;
                let _ = match &c.destination {
                    Some(d) => writeln!(out, "{} ({}) -> {d}", c.bucket, c.account),
                    None => writeln!(out, "{} ({})", c.bucket, c.account),
                };
                let _ = writeln!(
                    out,
                    "  rule      conflict  (no bucket pair: not replicated)"
                );
                conflict(&mut out, c);
                out.push('\n');
                continue;
            }
        };
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
            "conflict" => "  (crossrep leaves this pair as it is)",
            _ => "",
        };
        let _ = writeln!(out, "  rule      {}{hint}", r.rule);
        if let Some(c) = &r.conflict {
            conflict(&mut out, c);
        }
        match (&r.job, r.backfill) {
            (_, crate::config::Backfill::None) => {
                let _ = writeln!(out, "  backfill  off (`backfill = \"none\"`)");
            }
            (None, _) if r.job_error.is_some() => {
                let _ = writeln!(out, "  backfill  unknown: job information is unavailable");
            }
            (None, _) if r.conflict.is_some() => {
                let _ = writeln!(out, "  backfill  no job");
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
                if r.job_error.is_some() {
                    let _ = writeln!(out, "            as listed: the job could not be described");
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
        if !r.live_failures.is_empty() {
            let total: u64 = r.live_failures.iter().map(|(_, n)| n).sum();
            let _ = writeln!(
                out,
                "  failures  {total} version(s) failed live replication (failure events), not re-driven since"
            );
            for (code, n) in &r.live_failures {
                let _ = writeln!(out, "    {code}: {n}");
                let _ = writeln!(out, "      {}", crate::report::explain(code));
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

    /// The LCS table this replaced was 20,000 × 20,000 cells (1.6 GB) for two documents that
    /// differ at both ends; Myers' diff costs in proportion to the differences.
    #[test]
    fn large_documents_that_differ_far_apart_diff_quickly() {
        let a: Vec<String> = (0..20_000).map(|i| format!("line {i}")).collect();
        let mut b = a.clone();
        for i in (0..20_000).step_by(1_000) {
            b[i] = format!("changed {i}");
        }
        b[19_999] = "changed last".into();
        let d = diff_lines(&a.join("\n"), &b.join("\n"));
        let removed = d.iter().filter(|l| l.starts_with("    - ")).count();
        let added = d.iter().filter(|l| l.starts_with("    + ")).count();
        assert_eq!((removed, added), (21, 21));
        assert_eq!(d[..2], ["    - line 0", "    + changed 0"]);
        assert_eq!(d.last().map(String::as_str), Some("    + changed last"));
        let hidden = |n: usize| format!("      # ({n} unchanged lines hidden)");
        assert_eq!(
            d.iter().filter(|l| **l == hidden(993)).count(),
            19,
            "{:#?}",
            &d[..20]
        );
        assert_eq!(
            d.iter().filter(|l| **l == hidden(992)).count(),
            1,
            "{:#?}",
            &d[..20]
        );
    }
}
