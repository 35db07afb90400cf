//! `crossrep verify`: the judgement, pure. The AWS layer gathers evidence (the plan, a diff of
//! the two listings, replication statuses of a sample, a canary); this module turns it into
//! one check per line with a verdict, and renders it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Backfill;
use crate::desired::{BucketRef, Pair};
use crate::diff::{DiffSummary, Findings};
use crate::plan::{Action, Address, Plan, DENIED_CODE};
use crate::render::change_lines;

/// One check of one pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// One line.
    pub summary: String,
    /// Evidence: examples, drift, hints.
    pub details: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairVerdict {
    pub source: BucketRef,
    pub destination: BucketRef,
    pub healthy: bool,
    pub checks: Vec<Check>,
}

impl PairVerdict {
    pub fn new(pair: &Pair, checks: Vec<Check>) -> PairVerdict {
        PairVerdict {
            source: pair.source.clone(),
            destination: pair.destination.clone(),
            healthy: checks.iter().all(|c| c.ok),
            checks,
        }
    }
}

/// Whether a change of the plan is about this pair: a change of its source account's role, or
/// of its source or destination bucket.
fn touches(addr: &Address, pair: &Pair) -> bool {
    let (s, d) = (&pair.source, &pair.destination);
    match addr.bucket() {
        None => addr.account() == &s.account,
        Some(bucket) => {
            (addr.account() == &s.account && bucket == &s.bucket)
                || (addr.account() == &d.account && bucket == &d.bucket)
        }
    }
}

/// Configuration: what `plan` would change for this pair is drift.
pub fn configuration_check(plan: &Plan, pair: &Pair) -> Check {
    let mut details = Vec::new();
    for c in plan.changes.iter().filter(|c| touches(&c.addr(), pair)) {
        let verb = match c.action() {
            Action::Create => "created",
            Action::Update => "updated",
            Action::Delete => "destroyed",
        };
        details.push(format!("{} would be {verb}: {}", c.addr(), c.reason()));
        details.extend(
            change_lines(c)
                .into_iter()
                .filter(|l| l.trim_start().starts_with(['+', '-'])),
        );
    }
    let drifted = !details.is_empty();
    let mut denied = false;
    let mut conflicted = false;
    for c in plan
        .conflicts
        .iter()
        .filter(|c| c.account == pair.source.account && c.bucket == pair.source.bucket)
    {
        conflicted = true;
        details.push(format!("conflict: {}", c.message));
    }
    // A foreign statement that denies the role's replication writes breaks the pair as surely
    // as missing permissions: not healthy, and named.
    for w in plan.warnings.iter().filter(|w| {
        w.code == DENIED_CODE
            && w.account == pair.source.account
            && w.bucket.as_ref() == Some(&pair.source.bucket)
            && w.destination.as_ref() == Some(&pair.destination.bucket)
    }) {
        denied = true;
        details.push(format!("denied: {}", w.message));
    }
    let ok = details.is_empty();
    let summary = if ok {
        "no drift: the rule, the role and the destination match the configuration"
    } else if conflicted {
        // `apply` never touches a conflicted pair: advising it would change nothing.
        "conflict: crossrep leaves this pair as it is; the reason and its fix are below"
    } else if denied {
        // `apply` would change nothing: the statement is someone else's.
        "denied: a statement crossrep did not write blocks replication into the destination; narrow or remove it"
    } else {
        debug_assert!(drifted);
        "drift: run `crossrep plan` to see it and `crossrep apply` to repair it"
    };
    Check {
        name: "configuration",
        ok,
        summary: summary.into(),
        details,
    }
}

fn examples(f: &Findings, what: &str, details: &mut Vec<String>) {
    for e in &f.examples {
        details.push(format!("{what}: `{}` (version {})", e.key, e.version_id));
    }
    if f.count > f.examples.len() as u64 {
        details.push(format!(
            "{what}: ... and {} more",
            f.count - f.examples.len() as u64
        ));
    }
}

/// Objects: the diff of the two listings. `backfill` decides whether current versions older
/// than the rule are expected in the destination. Missing *older* versions are reported, never
/// failed on: S3 lifecycle rules, deletions by version id and replication that started late
/// all leave them legitimately.
pub fn objects_check(d: &DiffSummary, backfill: Backfill) -> Check {
    let batch = backfill == Backfill::Batch;
    let mut details = Vec::new();
    examples(
        &d.missing_current,
        "missing in the destination",
        &mut details,
    );
    examples(&d.size_mismatch, "size differs", &mut details);
    examples(&d.etag_mismatch, "content (ETag) differs", &mut details);
    examples(
        &d.kind_mismatch,
        "object on one side, delete marker on the other",
        &mut details,
    );
    let bad = d.size_mismatch.count
        + d.etag_mismatch.count
        + d.kind_mismatch.count
        + if batch { d.missing_current.count } else { 0 };
    if d.missing_current.count > 0 {
        details.push(if batch {
            "hint: `crossrep status` shows failed backfill tasks and `crossrep backfill --only-failed` re-drives them; a version deleted from the destination by version id is never replicated again (DstObjectHardDeleted): copy the object onto itself in the source to replicate a new version".into()
        } else {
            "note: `backfill = \"none\"`: objects older than the rule are not expected in the destination".into()
        });
    }
    for (f, what) in [
        (
            &d.missing_noncurrent,
            "older version(s) not in the destination",
        ),
        (&d.only_in_dest, "version(s) only in the destination"),
        (
            &d.missing_delete_markers,
            "delete marker(s) not in the destination",
        ),
    ] {
        if f.count > 0 {
            details.push(format!("note: {} {what}", f.count));
        }
    }
    let ok = bad == 0;
    Check {
        name: "objects",
        ok,
        summary: format!(
            "{} source and {} destination versions over {} keys: {} current missing, {} size and {} content mismatches ({} ETags compared)",
            d.source_versions,
            d.dest_versions,
            d.keys,
            d.missing_current.count,
            d.size_mismatch.count,
            d.etag_mismatch.count,
            d.etag_compared
        ),
        details,
    }
}

/// Replication statuses of a sample of source versions (`HeadObject`), with the failure codes
/// the completion reports give for the failed ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusSample {
    pub sampled: u64,
    /// By `x-amz-replication-status` (`COMPLETED`, `PENDING`, `FAILED`, `REPLICA`, `NONE` for
    /// a version with no status: written before any rule).
    pub counts: BTreeMap<String, u64>,
    /// (key, version id, failure code when known) of failed versions.
    pub failed: Vec<(String, String, Option<String>)>,
    /// Why the sample is incomplete, if it is.
    pub errors: Vec<String>,
}

pub fn status_check(s: &StatusSample, backfill: Backfill) -> Check {
    let n = |k: &str| s.counts.get(k).copied().unwrap_or(0);
    let mut details = Vec::new();
    for (key, version, code) in s.failed.iter().take(10) {
        match code {
            Some(c) => details.push(format!(
                "FAILED `{key}` (version {version}): {c}: {}",
                crate::report::explain(c)
            )),
            None => details.push(format!("FAILED `{key}` (version {version})")),
        }
    }
    details.extend(s.errors.iter().cloned());
    let never = n("NONE");
    if never > 0 {
        details.push(match backfill {
            Backfill::Batch => {
                format!("{never} sampled version(s) were never replicated: run `crossrep backfill`")
            }
            Backfill::None => {
                format!("{never} sampled version(s) predate the rule (`backfill = \"none\"`)")
            }
        });
    }
    let ok = n("FAILED") == 0 && s.errors.is_empty() && (backfill == Backfill::None || never == 0);
    let counts: Vec<String> = s.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    Check {
        name: "replication status",
        ok,
        summary: format!(
            "{} sampled source version(s): {}",
            s.sampled,
            if counts.is_empty() {
                "none".to_string()
            } else {
                counts.join(", ")
            }
        ),
        details,
    }
}

/// What became of the canary object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Canary {
    Replicated {
        key: String,
        latency_ms: u64,
        cleaned_up: bool,
    },
    Failed {
        key: String,
        status: String,
    },
    TimedOut {
        key: String,
        after_ms: u64,
        status: Option<String>,
    },
    Error {
        message: String,
    },
}

pub fn canary_check(c: &Canary) -> Check {
    let (ok, summary) = match c {
        Canary::Replicated {
            key,
            latency_ms,
            cleaned_up,
        } => (
            *cleaned_up,
            format!(
                "`{key}` replicated in {:.1} s{}",
                *latency_ms as f64 / 1000.0,
                if *cleaned_up {
                    ", then removed on both sides"
                } else {
                    ", but could not be removed"
                }
            ),
        ),
        Canary::Failed { key, status } => (false, format!("`{key}`: replication status {status}")),
        Canary::TimedOut {
            key,
            after_ms,
            status,
        } => (
            false,
            format!(
                "`{key}` not in the destination after {:.0} s (source status {})",
                *after_ms as f64 / 1000.0,
                status.as_deref().unwrap_or("none")
            ),
        ),
        Canary::Error { message } => (false, message.clone()),
    };
    Check {
        name: "canary",
        ok,
        summary,
        details: vec![],
    }
}

/// `verify` for people.
pub fn render(verdicts: &[PairVerdict]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for v in verdicts {
        let _ = writeln!(
            out,
            "{} ({}, {}) -> {} ({}, {}): {}",
            v.source.bucket,
            v.source.account,
            v.source.region,
            v.destination.bucket,
            v.destination.account,
            v.destination.region,
            if v.healthy { "healthy" } else { "UNHEALTHY" }
        );
        for c in &v.checks {
            let _ = writeln!(
                out,
                "  {} {:<18} {}",
                if c.ok { "ok  " } else { "FAIL" },
                c.name,
                c.summary
            );
            for d in &c.details {
                let _ = writeln!(out, "         {d}");
            }
        }
        out.push('\n');
    }
    let bad = verdicts.iter().filter(|v| !v.healthy).count();
    let _ = writeln!(
        out,
        "{} of {} bucket pair(s) healthy.",
        verdicts.len() - bad,
        verdicts.len()
    );
    out
}

/// Reservoir sampling (algorithm R) with a fixed-seed generator: `k` items, each offered item
/// equally likely to be kept, memory `k` whatever the number offered; deterministic for the
/// same input.
#[derive(Debug, Clone)]
pub struct Reservoir<T> {
    k: usize,
    seen: u64,
    state: u64,
    items: Vec<T>,
}

impl<T> Reservoir<T> {
    pub fn new(k: usize, seed: u64) -> Reservoir<T> {
        Reservoir {
            k,
            seen: 0,
            state: seed | 1,
            items: Vec::new(),
        }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn offer(&mut self, item: T) {
        self.seen += 1;
        if self.items.len() < self.k {
            self.items.push(item);
        } else if self.k > 0 {
            let j = self.next() % self.seen;
            if (j as usize) < self.k {
                self.items[j as usize] = item;
            }
        }
    }

    pub fn into_items(self) -> Vec<T> {
        self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservoir_keeps_k_of_many_and_all_of_few() {
        let mut r = Reservoir::new(10, 7);
        for i in 0..10_000 {
            r.offer(i);
        }
        let items = r.into_items();
        assert_eq!(items.len(), 10);
        // Not just the first ten.
        assert!(items.iter().any(|&i| i >= 10), "{items:?}");
        let mut r = Reservoir::new(usize::MAX, 7);
        for i in 0..5 {
            r.offer(i);
        }
        assert_eq!(r.into_items(), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn reservoir_is_roughly_uniform() {
        // 2,000 draws of 1 out of 4: each position about 500 times.
        let mut counts = [0u32; 4];
        for seed in 0..2000u64 {
            let mut r = Reservoir::new(1, seed * 2654435761 + 1);
            for i in 0..4 {
                r.offer(i);
            }
            counts[r.into_items()[0]] += 1;
        }
        assert!(
            counts.iter().all(|&c| (350..650).contains(&c)),
            "{counts:?}"
        );
    }
}
