//! `crossrep verify`: the judgement, pure. The AWS layer gathers evidence (the plan, a diff of
//! the two listings, the tags and replication statuses of a sample, a canary); this module
//! turns it into one check per line, each ok, failed or skipped (a check that could not be made
//! is never healthy), a verdict per pair, and renders it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Backfill;
use crate::desired::{BucketRef, Pair};
use crate::diff::{DiffSummary, Findings};
use crate::plan::{Action, Address, Plan, DENIED_CODE};
use crate::render::change_lines;

/// What became of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// Made, and the evidence is good.
    Ok,
    /// Made, and the evidence shows a problem.
    Fail,
    /// Could not be made: no evidence either way. Never counts as healthy (SPEC §5: verify
    /// never reports healthy what it could not see replicate).
    Skip,
}

impl CheckState {
    /// How the state reads in the text report: four characters, readable without colour.
    pub fn label(self) -> &'static str {
        match self {
            CheckState::Ok => "ok  ",
            CheckState::Fail => "FAIL",
            CheckState::Skip => "SKIP",
        }
    }
}

/// One check of one pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub state: CheckState,
    /// `state` is `ok` (kept for programs that read only this).
    pub ok: bool,
    /// One line.
    pub summary: String,
    /// Evidence: examples, drift, hints.
    pub details: Vec<String>,
}

impl Check {
    pub fn new(
        name: &'static str,
        state: CheckState,
        summary: impl Into<String>,
        details: Vec<String>,
    ) -> Check {
        Check {
            name,
            state,
            ok: state == CheckState::Ok,
            summary: summary.into(),
            details,
        }
    }
}

/// What verify says of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check was made and is good.
    Healthy,
    /// A check shows a problem.
    Unhealthy,
    /// No check shows a problem, but one could not be made: not healthy either.
    NotVerified,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairVerdict {
    pub source: BucketRef,
    pub destination: BucketRef,
    /// `verdict` is `healthy`.
    pub healthy: bool,
    pub verdict: Verdict,
    pub checks: Vec<Check>,
}

impl PairVerdict {
    pub fn new(pair: &Pair, checks: Vec<Check>) -> PairVerdict {
        let verdict = if checks.iter().any(|c| c.state == CheckState::Fail) {
            Verdict::Unhealthy
        } else if checks.iter().any(|c| c.state == CheckState::Skip) {
            Verdict::NotVerified
        } else {
            Verdict::Healthy
        };
        PairVerdict {
            source: pair.source.clone(),
            destination: pair.destination.clone(),
            healthy: verdict == Verdict::Healthy,
            verdict,
            checks,
        }
    }
}

/// `verify --settle`: how long replication may take. A missing or `PENDING` version younger
/// than this is pending, not failed; `0` counts every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Settle {
    pub secs: u64,
}

impl Settle {
    /// 15 minutes: S3 replicates most objects within seconds and, with Replication Time
    /// Control, 99.99% within 15 minutes (AWS, "Meeting compliance requirements with S3 RTC").
    pub const DEFAULT: Settle = Settle { secs: 15 * 60 };

    /// `15m`, `90s`, `2h`, `1h30m`, `1d`, or `0`. A number other than 0 needs its unit.
    pub fn parse(text: &str) -> Result<Settle, String> {
        let t = text.trim();
        if t == "0" {
            return Ok(Settle { secs: 0 });
        }
        let bad = || {
            format!("`{text}` is not a duration: use a number with a unit, `s`, `m`, `h` or `d` (e.g. `15m`, `90s`, `2h`), or `0`")
        };
        if t.is_empty() || !t.as_bytes()[0].is_ascii_digit() {
            return Err(bad());
        }
        let mut secs: u64 = 0;
        let mut rest = t;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad());
            }
            let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
            let unit = match rest.as_bytes().get(digits) {
                Some(b's') => 1,
                Some(b'm') => 60,
                Some(b'h') => 3600,
                Some(b'd') => 86_400,
                _ => return Err(bad()),
            };
            secs = n
                .checked_mul(unit)
                .and_then(|v| secs.checked_add(v))
                .ok_or_else(bad)?;
            rest = &rest[digits + 1..];
        }
        Ok(Settle { secs })
    }

    /// Versions last modified after the cutoff are recent, for a run at `now` (seconds since
    /// the epoch); `None` for `0`: nothing is recent.
    pub fn cutoff(self, now: i64) -> Option<i64> {
        (self.secs > 0).then(|| now.saturating_sub(i64::try_from(self.secs).unwrap_or(i64::MAX)))
    }
}

impl std::fmt::Display for Settle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.secs == 0 {
            return f.write_str("0s");
        }
        let mut left = self.secs;
        for (unit, name) in [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")] {
            if left >= unit {
                write!(f, "{}{name}", left / unit)?;
                left %= unit;
            }
        }
        Ok(())
    }
}

/// What the judgement of a pair's evidence depends on besides the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judge {
    pub backfill: Backfill,
    /// The pair's rule opts in to SSE-KMS and DSSE-KMS objects
    /// (`SourceSelectionCriteria.SseKmsEncryptedObjects`): without it S3 never replicates them
    /// (SPEC §8, §5 "verify never reports healthy what AWS would not replicate").
    pub kms_opt_in: bool,
    /// The rule's `ReplicaKmsKeyID`: replicas of KMS objects must be under it.
    pub replica_kms_key: Option<String>,
    /// The rule filters by tags: listings cannot tell which versions it selects.
    pub tags: bool,
    pub settle: Settle,
    /// When verify started, seconds since the Unix epoch.
    pub now: i64,
    /// What the drift of the pair explains, for a FAILED version no event or report names the
    /// reason of: (failure code, why) ([`inferred_cause`]).
    pub inferred: Option<(String, String)>,
}

impl Judge {
    pub fn new(pair: &Pair, settle: Settle, now: i64) -> Judge {
        Judge {
            backfill: pair.backfill,
            kms_opt_in: false,
            replica_kms_key: None,
            tags: !pair.rule.tags.is_empty(),
            settle,
            now,
            inferred: None,
        }
    }

    /// See [`Settle::cutoff`]; what the differ gets ([`crate::diff::Differ::recent_after`]).
    pub fn cutoff(&self) -> Option<i64> {
        self.settle.cutoff(self.now)
    }

    /// Younger than the settle window.
    pub fn recent(&self, last_modified: i64) -> bool {
        self.cutoff().is_some_and(|c| last_modified > c)
    }
}

/// Whether an object's tags carry every tag of a rule's filter (S3 replicates an object when
/// its tags include all of the rule's `And` tags, and its key the prefix).
pub fn tags_match<'a>(
    filter: &BTreeMap<String, String>,
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> bool {
    let tags: BTreeMap<&str, &str> = tags.into_iter().collect();
    filter
        .iter()
        .all(|(k, v)| tags.get(k.as_str()) == Some(&v.as_str()))
}

/// Whether a change of the plan is about this pair: a change of its source account's role, or
/// of its source or destination bucket.
fn touches(addr: &Address, pair: &Pair) -> bool {
    let (s, d) = (&pair.source, &pair.destination);
    // The replica key of the pair's destination account and region (SPEC §8): a key policy
    // without the role's grant fails every SSE-KMS replica (`DstPutObjectNotPermitted`).
    if let Address::ReplicaKey(k) | Address::KeyPolicy(k) = addr {
        return crate::kinds::replica_key::KeyAddr::of(pair).as_ref() == Some(k);
    }
    match addr.bucket() {
        None => addr.account() == &s.account,
        Some(bucket) => {
            (addr.account() == &s.account && bucket == &s.bucket)
                || (addr.account() == &d.account && bucket == &d.bucket)
        }
    }
}

/// The failure code the pair's drift explains, and why, when it explains one (SPEC §10: a
/// FAILED version without an event, with alerts off or older than the queue keeps, is tied to
/// the drift `verify` finds, and said to be inferred).
pub fn inferred_cause(plan: &Plan, pair: &Pair) -> Option<(String, String)> {
    let d = &pair.destination;
    let mut causes: Vec<(u8, &str, String)> = Vec::new();
    for c in plan.changes.iter().filter(|c| touches(&c.addr(), pair)) {
        let addr = c.addr();
        let at_destination = addr.account() == &d.account && addr.bucket() == Some(&d.bucket);
        match &addr {
            Address::BucketPolicy(_) if at_destination => causes.push((
                0,
                "DstPutObjectNotPermitted",
                format!(
                    "the policy of destination `{}` lacks crossrep's statements",
                    d.bucket
                ),
            )),
            Address::KeyPolicy(_) => causes.push((
                1,
                "DstPutObjectNotPermitted",
                "the replica key's policy lacks the role's grant".into(),
            )),
            Address::RolePolicy(_) => causes.push((
                2,
                "DstPutObjectNotPermitted",
                "the replication role's policy lacks this pair's grants".into(),
            )),
            Address::Role(_) => causes.push((
                3,
                "SrcGetObjectNotPermitted",
                "the replication role is missing or S3 may not assume it".into(),
            )),
            Address::Versioning(_) if at_destination => causes.push((
                4,
                "DstVersioningNotEnabled",
                format!("versioning is not enabled on destination `{}`", d.bucket),
            )),
            _ => {}
        }
    }
    causes.sort();
    causes
        .into_iter()
        .next()
        .map(|(_, code, why)| (code.to_string(), why))
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
    let state = if ok { CheckState::Ok } else { CheckState::Fail };
    Check::new("configuration", state, summary, details)
}

fn examples(f: &Findings, what: &str, details: &mut Vec<String>) {
    examples_then(f, what, "", details);
}

/// Each example as "`what`: `key` (version id)`then`".
fn examples_then(f: &Findings, what: &str, then: &str, details: &mut Vec<String>) {
    for e in &f.examples {
        details.push(format!(
            "{what}: `{}` (version {}){then}",
            e.key, e.version_id
        ));
    }
    if f.count > f.examples.len() as u64 {
        details.push(format!(
            "{what}: ... and {} more",
            f.count - f.examples.len() as u64
        ));
    }
}

/// Objects: the diff of the two listings (missing current versions younger than the settle
/// window counted apart by the differ, [`Judge::cutoff`]). `backfill` decides whether current
/// versions older than the rule are expected in the destination. Missing *older* versions are
/// reported, never failed on: S3 lifecycle rules, deletions by version id and replication that
/// started late all leave them legitimately. For a rule with tags, the listings cannot say which
/// versions it selects: only what is on both sides is judged here, missing versions are judged
/// on the sample ([`status_check`]).
pub fn objects_check(d: &DiffSummary, j: &Judge) -> Check {
    let batch = j.backfill == Backfill::Batch;
    let mut details = Vec::new();
    if j.tags {
        let missing = d.missing_current.count + d.missing_recent.count;
        if missing > 0 {
            details.push(format!(
                "note: {missing} current version(s) not in the destination, among them those the rule's tags do not select: the sample below judges the versions it selects"
            ));
        }
    } else {
        examples(
            &d.missing_current,
            "missing in the destination",
            &mut details,
        );
        examples_then(
            &d.missing_recent,
            "missing in the destination",
            &format!(
                ", younger than the settle window ({}): pending, unless its replication status says otherwise",
                j.settle
            ),
            &mut details,
        );
    }
    examples(&d.size_mismatch, "size differs", &mut details);
    examples(&d.etag_mismatch, "content (ETag) differs", &mut details);
    if j.kms_opt_in && d.etag_not_comparable > 0 {
        details.push(format!(
            "note: {} ETag(s) not compared: the rule replicates SSE-KMS objects, whose replicas are encrypted under the replica key and get other ETags (sizes are compared)",
            d.etag_not_comparable
        ));
    }
    examples(
        &d.kind_mismatch,
        "object on one side, delete marker on the other",
        &mut details,
    );
    let missing_fails = batch && !j.tags;
    let bad = d.size_mismatch.count
        + d.etag_mismatch.count
        + d.kind_mismatch.count
        + if missing_fails {
            d.missing_current.count
        } else {
            0
        };
    if d.missing_current.count > 0 && !j.tags {
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
    let state = if bad == 0 {
        CheckState::Ok
    } else {
        CheckState::Fail
    };
    let versions = format!(
        "{} source and {} destination versions over {} keys",
        d.source_versions, d.dest_versions, d.keys
    );
    let mismatches = format!(
        "{} size and {} content mismatches ({} ETags compared)",
        d.size_mismatch.count, d.etag_mismatch.count, d.etag_compared
    );
    let summary = if j.tags {
        format!("{versions}: {mismatches}; missing versions are judged on the sample (the rule filters by tags, which listings do not show)")
    } else {
        let pending = if d.missing_recent.count > 0 {
            format!(
                " ({} more pending: younger than the settle window, {})",
                d.missing_recent.count, j.settle
            )
        } else {
            String::new()
        };
        format!(
            "{versions}: {} current missing{pending}, {mismatches}",
            d.missing_current.count
        )
    };
    Check::new("objects", state, summary, details)
}

/// One sampled source version as `HeadObject` (and, for a rule with tags, `GetObjectTagging`
/// first) saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SampledVersion {
    pub key: String,
    pub version_id: String,
    /// The current version of its key, when listed.
    pub is_latest: bool,
    /// The rule selects it: its tags carry every tag of the rule's filter (always, for a rule
    /// without tags). The fields below are read only for a selected version.
    pub selected: bool,
    /// Seconds since the Unix epoch.
    pub last_modified: i64,
    /// `x-amz-replication-status`; `None` for a version with none (written before any rule
    /// selected it: S3 never replicates it by itself).
    pub status: Option<String>,
    /// Whether the destination has the version (replicas keep the version id); looked up only
    /// where [`look_in_destination`] says so, and only when the listings did not already show
    /// every current version there ([`every_current_version_listed`]).
    pub in_destination: Option<bool>,
    /// Of a `FAILED` version, from the latest backfill completion report.
    pub failure_code: Option<String>,
    /// Its server-side encryption (`AES256`, `aws:kms`, `aws:kms:dsse`), from `HeadObject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<String>,
    /// The KMS key of its copy in the destination (looked up for COMPLETED KMS versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_key: Option<String>,
}

/// Whether a sampled version's presence in the destination is evidence worth a `HeadObject`:
/// a current `COMPLETED` version must be there, at any age. (`FAILED` fails anyway, `PENDING`
/// is judged by its age, a version without a status was never replicated, and an older version
/// may be gone from the destination legitimately: lifecycle rules, deletion by version id.)
pub fn look_in_destination(v: &SampledVersion) -> bool {
    v.is_latest && v.status.as_deref() == Some("COMPLETED")
}

/// Whether the listings showed every current source version in the destination: then no
/// sampled version needs looking up there ([`look_in_destination`]).
pub fn every_current_version_listed(d: &DiffSummary) -> bool {
    d.missing_current.count == 0 && d.missing_recent.count == 0
}

/// The sample of source versions (at most `--sample`), and why it is incomplete, if it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusSample {
    pub versions: Vec<SampledVersion>,
    /// First few errors, sorted.
    pub errors: Vec<String>,
}

/// Replication status of the sampled versions the rule selects: `FAILED` fails; a current
/// `COMPLETED` version fails when the destination lacks it; `PENDING` is pending while younger than the
/// settle window and fails after; no status fails with `backfill = "batch"` (only a backfill
/// replicates it) and is a note with `"none"`. A rule with tags whose sample holds no version
/// carrying them has no evidence: skipped, never healthy.
pub fn status_check(s: &StatusSample, j: &Judge) -> Check {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut not_selected = 0u64;
    let mut failed = Vec::new();
    let mut gone = Vec::new();
    let mut stuck = Vec::new();
    let mut pending = 0u64;
    let mut never = 0u64;
    let mut not_eligible = Vec::new();
    let mut wrong_key = Vec::new();
    let mut versions: Vec<&SampledVersion> = s.versions.iter().collect();
    versions.sort_by(|a, b| (&a.key, &a.version_id).cmp(&(&b.key, &b.version_id)));
    for v in versions {
        if !v.selected {
            not_selected += 1;
            continue;
        }
        // An SSE-KMS or DSSE-KMS version under a rule that does not opt in: S3 never
        // replicates it, whatever its age or the backfill.
        if !j.kms_opt_in
            && v.status.is_none()
            && v.encryption
                .as_deref()
                .is_some_and(|e| e.starts_with("aws:kms"))
        {
            *counts.entry("NOT ELIGIBLE (SSE-KMS)").or_default() += 1;
            not_eligible.push(v);
            continue;
        }
        if let (Some(want), Some(got)) = (&j.replica_kms_key, &v.replica_key) {
            if want != got {
                wrong_key.push(v);
            }
        }
        let status = v.status.as_deref().unwrap_or("NONE");
        *counts.entry(status).or_default() += 1;
        match status {
            "FAILED" => failed.push(v),
            "COMPLETED" if v.in_destination == Some(false) => gone.push(v),
            "PENDING" if j.recent(v.last_modified) => pending += 1,
            "PENDING" => stuck.push(v),
            "NONE" => never += 1,
            _ => {}
        }
    }
    let selected: u64 = counts.values().sum();
    let mut details = Vec::new();
    let id = |v: &SampledVersion| format!("`{}` (version {})", v.key, v.version_id);
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for v in &failed {
        let reason = match (&v.failure_code, &j.inferred) {
            (Some(c), _) => c.clone(),
            (None, Some((c, _))) => format!("{c} (inferred)"),
            (None, None) => "reason unknown".into(),
        };
        *by_reason.entry(reason).or_default() += 1;
    }
    for v in failed.iter().take(10) {
        match (&v.failure_code, &j.inferred) {
            (Some(c), _) => details.push(format!(
                "FAILED {}: {c}: {}",
                id(v),
                crate::report::explain(c)
            )),
            (None, Some((c, why))) => details.push(format!(
                "FAILED {}: {c} (inferred: {why}; no failure event or backfill report names its reason): {}",
                id(v),
                crate::report::explain(c)
            )),
            (None, None) => details.push(format!(
                "FAILED {}: reason unknown (no failure event or backfill report names it; `alerts = true` records them)",
                id(v)
            )),
        }
    }
    if failed.len() > 1 {
        details.push(format!(
            "FAILED by reason: {}",
            by_reason
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for v in gone.iter().take(10) {
        details.push(format!("COMPLETED but not in the destination: {}", id(v)));
    }
    for v in not_eligible.iter().take(10) {
        details.push(format!(
            "not eligible: {} is {} and the rule does not opt in to KMS objects: S3 never replicates it",
            id(v),
            v.encryption.as_deref().unwrap_or("aws:kms")
        ));
    }
    for v in wrong_key.iter().take(10) {
        details.push(format!(
            "the copy of {} is encrypted under `{}`, not the replica key `{}`",
            id(v),
            v.replica_key.as_deref().unwrap_or("?"),
            j.replica_kms_key.as_deref().unwrap_or("?")
        ));
    }
    if !not_eligible.is_empty() {
        details.push("hint: remove `kms = \"off\"` (or, if it is not set, run `crossrep apply`: the plan opts in when it finds KMS objects), then `crossrep backfill`".into());
    }
    if !gone.is_empty() {
        details.push("hint: a version deleted from the destination by version id is never replicated again (DstObjectHardDeleted): copy the object onto itself in the source to replicate a new version".into());
    }
    for v in stuck.iter().take(10) {
        details.push(format!(
            "still PENDING after the settle window ({}): {}",
            j.settle,
            id(v)
        ));
    }
    if pending > 0 {
        details.push(format!(
            "note: {pending} PENDING version(s) younger than the settle window ({}): pending, not failed",
            j.settle
        ));
    }
    details.extend(s.errors.iter().cloned());
    if never > 0 {
        details.push(match j.backfill {
            Backfill::Batch => {
                format!("{never} sampled version(s) were never replicated: run `crossrep backfill`")
            }
            Backfill::None => {
                format!("{never} sampled version(s) predate the rule (`backfill = \"none\"`)")
            }
        });
    }
    let bad = !failed.is_empty()
        || !not_eligible.is_empty()
        || !wrong_key.is_empty()
        || !gone.is_empty()
        || !stuck.is_empty()
        || !s.errors.is_empty()
        || (j.backfill == Backfill::Batch && never > 0);
    let counted: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let counted = if counted.is_empty() {
        "none".to_string()
    } else {
        counted.join(", ")
    };
    let sampled = s.versions.len();
    let (state, summary) = if j.tags && selected == 0 && !bad {
        (
            CheckState::Skip,
            format!("no version in the sample carries the rule's tags: nothing to verify ({sampled} sampled source version(s), {not_selected} not selected by the rule)"),
        )
    } else if j.tags {
        (
            if bad { CheckState::Fail } else { CheckState::Ok },
            format!("{sampled} sampled source version(s), {selected} carrying the rule's tags: {counted}; {not_selected} not selected by the rule"),
        )
    } else {
        (
            if bad {
                CheckState::Fail
            } else {
                CheckState::Ok
            },
            format!("{sampled} sampled source version(s): {counted}"),
        )
    };
    Check::new("replication status", state, summary, details)
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
    let state = if ok { CheckState::Ok } else { CheckState::Fail };
    Check::new("canary", state, summary, vec![])
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
            match v.verdict {
                Verdict::Healthy => "healthy",
                Verdict::Unhealthy => "UNHEALTHY",
                Verdict::NotVerified => "NOT VERIFIED",
            }
        );
        for c in &v.checks {
            let _ = writeln!(out, "  {} {:<18} {}", c.state.label(), c.name, c.summary);
            for d in &c.details {
                let _ = writeln!(out, "         {d}");
            }
        }
        out.push('\n');
    }
    let count = |w: Verdict| verdicts.iter().filter(|v| v.verdict == w).count();
    let _ = write!(
        out,
        "{} of {} bucket pair(s) healthy.",
        count(Verdict::Healthy),
        verdicts.len()
    );
    let unverified = count(Verdict::NotVerified);
    if unverified > 0 {
        let _ = write!(
            out,
            " {unverified} not verified: a check could not be made (SKIP), which never counts as healthy."
        );
    }
    out.push('\n');
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
    use crate::diff::{Differ, Version};

    const NOW: i64 = 1_800_000_000;

    fn judge(backfill: Backfill, tags: bool, settle: &str) -> Judge {
        Judge {
            backfill,
            kms_opt_in: false,
            replica_kms_key: None,
            tags,
            settle: Settle::parse(settle).unwrap(),
            now: NOW,
            inferred: None,
        }
    }

    fn sampled(key: &str, status: Option<&str>, age_secs: i64) -> SampledVersion {
        let mut v = SampledVersion {
            key: key.into(),
            version_id: format!("v-{key}"),
            is_latest: true,
            selected: true,
            last_modified: NOW - age_secs,
            status: status.map(str::to_string),
            in_destination: None,
            failure_code: None,
            encryption: None,
            replica_key: None,
        };
        v.in_destination = look_in_destination(&v).then_some(true);
        v
    }

    /// SPEC §5, §8: an SSE-KMS version under a rule that does not opt in is never replicated
    /// by S3: it fails, named, whatever the backfill mode or its age; with the opt-in it is an
    /// ordinary version.
    /// SPEC §8: replicas of KMS objects must be under the replica key.
    #[test]
    fn a_kms_copy_under_another_key_fails() {
        let mut v = sampled("k", Some("COMPLETED"), 1000);
        v.encryption = Some("aws:kms".into());
        v.replica_key = Some("arn:aws:kms:us-east-1:222222222222:key/other".into());
        let mut j = judge(Backfill::None, false, "15m");
        j.kms_opt_in = true;
        j.replica_kms_key = Some("arn:aws:kms:us-east-1:222222222222:key/replica".into());
        let c = status_check(&sample(vec![v.clone()]), &j);
        assert_eq!(c.state, CheckState::Fail, "{c:?}");
        assert!(
            c.details.iter().any(|d| d.contains("not the replica key")),
            "{c:?}"
        );
        v.replica_key = j.replica_kms_key.clone();
        assert_eq!(status_check(&sample(vec![v]), &j).state, CheckState::Ok);
    }

    #[test]
    fn kms_versions_without_the_opt_in_are_not_eligible() {
        let mut v = sampled("k", None, 10);
        v.encryption = Some("aws:kms".into());
        let off = status_check(
            &sample(vec![v.clone()]),
            &judge(Backfill::None, false, "15m"),
        );
        assert_eq!(off.state, CheckState::Fail, "{off:?}");
        assert!(
            off.details
                .iter()
                .any(|d| d.starts_with("not eligible: `k`")),
            "{off:?}"
        );
        let mut on = judge(Backfill::None, false, "15m");
        on.kms_opt_in = true;
        let with = status_check(&sample(vec![v]), &on);
        assert_eq!(with.state, CheckState::Ok, "{with:?}");
    }

    fn sample(versions: Vec<SampledVersion>) -> StatusSample {
        StatusSample {
            versions,
            errors: vec![],
        }
    }

    #[test]
    fn settle_takes_units_and_zero_and_refuses_the_rest() {
        let secs = |t: &str| Settle::parse(t).map(|s| s.secs);
        assert_eq!(secs("15m"), Ok(900));
        assert_eq!(secs("90s"), Ok(90));
        assert_eq!(secs("2h"), Ok(7200));
        assert_eq!(secs("1h30m"), Ok(5400));
        assert_eq!(secs("1d"), Ok(86_400));
        assert_eq!(secs("0"), Ok(0));
        assert_eq!(secs("0s"), Ok(0));
        for bad in [
            "",
            "15",
            "m",
            "15x",
            "-5m",
            "1.5h",
            "15m3",
            "99999999999999999999h",
        ] {
            let e = Settle::parse(bad).unwrap_err();
            assert!(e.contains("is not a duration"), "{bad}: {e}");
        }
        assert_eq!(Settle::DEFAULT.to_string(), "15m");
        assert_eq!(Settle::parse("90s").unwrap().to_string(), "1m30s");
        assert_eq!(Settle::parse("0").unwrap().to_string(), "0s");
    }

    #[test]
    fn settle_zero_makes_nothing_recent() {
        let j = judge(Backfill::Batch, false, "0");
        assert_eq!(j.cutoff(), None);
        assert!(!j.recent(NOW));
        let j = judge(Backfill::Batch, false, "15m");
        assert_eq!(j.cutoff(), Some(NOW - 900));
        assert!(j.recent(NOW - 899));
        assert!(!j.recent(NOW - 900));
    }

    #[test]
    fn tags_match_needs_every_tag_of_the_filter_with_its_value() {
        let filter = BTreeMap::from([("replicate".to_string(), "yes".to_string())]);
        assert!(tags_match(&filter, [("replicate", "yes"), ("team", "a")]));
        assert!(!tags_match(&filter, [("replicate", "no")]));
        assert!(!tags_match(&filter, [("team", "a")]));
        assert!(!tags_match(&filter, []));
        let two = BTreeMap::from([
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string()),
        ]);
        assert!(!tags_match(&two, [("a", "1")]));
        assert!(tags_match(&two, [("b", "2"), ("a", "1")]));
        assert!(tags_match(&BTreeMap::new(), []));
    }

    #[test]
    fn a_tag_rule_with_no_selected_version_in_the_sample_is_skipped_not_healthy() {
        let mut v = sampled("untagged.txt", None, 3600);
        v.selected = false;
        let c = status_check(&sample(vec![v]), &judge(Backfill::Batch, true, "15m"));
        assert_eq!(c.state, CheckState::Skip, "{c:?}");
        assert!(!c.ok);
        assert!(
            c.summary
                .starts_with("no version in the sample carries the rule's tags: nothing to verify"),
            "{}",
            c.summary
        );
        assert!(
            c.summary.contains("1 not selected by the rule"),
            "{}",
            c.summary
        );
        // An empty sample says nothing either.
        let c = status_check(&sample(vec![]), &judge(Backfill::None, true, "15m"));
        assert_eq!(c.state, CheckState::Skip);
    }

    #[test]
    fn a_tag_rule_judges_only_the_versions_it_selects() {
        let mut other = sampled("other.txt", None, 3600);
        other.selected = false;
        let mut failed = sampled("tagged-failed.txt", Some("FAILED"), 3600);
        failed.failure_code = Some("DstPutObjectNotPermitted".into());
        let c = status_check(
            &sample(vec![
                other.clone(),
                sampled("tagged.txt", Some("COMPLETED"), 3600),
            ]),
            &judge(Backfill::Batch, true, "15m"),
        );
        assert_eq!(c.state, CheckState::Ok, "{c:?}");
        assert_eq!(
            c.summary,
            "2 sampled source version(s), 1 carrying the rule's tags: 1 COMPLETED; 1 not selected by the rule"
        );
        let c = status_check(
            &sample(vec![other.clone(), failed]),
            &judge(Backfill::Batch, true, "15m"),
        );
        assert_eq!(c.state, CheckState::Fail);
        assert!(
            c.details[0].starts_with(
                "FAILED `tagged-failed.txt` (version v-tagged-failed.txt): DstPutObjectNotPermitted: "
            ),
            "{:?}",
            c.details
        );
        // A selected version with no status was never replicated.
        let c = status_check(
            &sample(vec![other, sampled("tagged-old.txt", None, 3600)]),
            &judge(Backfill::Batch, true, "15m"),
        );
        assert_eq!(c.state, CheckState::Fail);
        assert!(
            c.details
                .iter()
                .any(|d| d.contains("run `crossrep backfill`")),
            "{:?}",
            c.details
        );
    }

    #[test]
    fn pending_is_pending_inside_the_settle_window_and_fails_after_it() {
        let young = sampled("young.txt", Some("PENDING"), 60);
        let old = sampled("old.txt", Some("PENDING"), 3600);
        let c = status_check(
            &sample(vec![young.clone()]),
            &judge(Backfill::Batch, false, "15m"),
        );
        assert_eq!(c.state, CheckState::Ok, "{c:?}");
        assert!(c.details[0].contains("1 PENDING version(s) younger than the settle window (15m)"));
        let c = status_check(
            &sample(vec![young.clone(), old]),
            &judge(Backfill::Batch, false, "15m"),
        );
        assert_eq!(c.state, CheckState::Fail);
        assert_eq!(
            c.details[0],
            "still PENDING after the settle window (15m): `old.txt` (version v-old.txt)"
        );
        // `--settle 0`: every PENDING version counts.
        let c = status_check(&sample(vec![young]), &judge(Backfill::Batch, false, "0"));
        assert_eq!(c.state, CheckState::Fail);
    }

    #[test]
    fn completed_but_missing_in_the_destination_fails_at_any_age() {
        let mut gone = sampled("gone.txt", Some("COMPLETED"), 5);
        gone.in_destination = Some(false);
        for backfill in [Backfill::Batch, Backfill::None] {
            for settle in ["15m", "2h", "0"] {
                let c = status_check(&sample(vec![gone.clone()]), &judge(backfill, false, settle));
                assert_eq!(c.state, CheckState::Fail, "{backfill:?} {settle}");
                assert_eq!(
                    c.details[0],
                    "COMPLETED but not in the destination: `gone.txt` (version v-gone.txt)"
                );
            }
        }
        assert!(look_in_destination(&gone));
        assert!(!look_in_destination(&sampled("p", Some("PENDING"), 5)));
        assert!(!look_in_destination(&sampled("n", None, 5)));
        // An older version may be gone legitimately (lifecycle, deletion by version id): not
        // looked for.
        let mut older = sampled("older.txt", Some("COMPLETED"), 3600);
        older.is_latest = false;
        assert!(!look_in_destination(&older));
        let c = status_check(&sample(vec![older]), &judge(Backfill::Batch, false, "0"));
        assert_eq!(c.state, CheckState::Ok, "{c:?}");
    }

    #[test]
    fn failed_fails_whatever_the_age() {
        let c = status_check(
            &sample(vec![sampled("f.txt", Some("FAILED"), 1)]),
            &judge(Backfill::None, false, "2h"),
        );
        assert_eq!(c.state, CheckState::Fail);
    }

    fn version(key: &str, id: &str, age_secs: i64) -> Version {
        Version {
            key: key.into(),
            version_id: id.into(),
            is_latest: true,
            is_delete_marker: false,
            size: 1,
            etag: Some("\"e\"".into()),
            last_modified: NOW - age_secs,
            storage_class: None,
            sse_kms: false,
        }
    }

    fn diff_with(j: &Judge, src: Vec<Version>, dst: Vec<Version>) -> DiffSummary {
        let mut d = Differ::new(5);
        if let Some(c) = j.cutoff() {
            d = d.recent_after(c);
        }
        d.push_source(src).unwrap();
        d.push_dest(dst).unwrap();
        d.finish().unwrap()
    }

    #[test]
    fn a_missing_version_younger_than_the_settle_window_is_pending_not_failed() {
        let src = vec![
            version("a.txt", "1", 3600),
            version("b.txt", "2", 30),
            version("c.txt", "3", 3600),
        ];
        let dst = vec![version("c.txt", "3", 3600)];
        let j = judge(Backfill::Batch, false, "15m");
        let d = diff_with(&j, src.clone(), dst.clone());
        assert_eq!((d.missing_current.count, d.missing_recent.count), (1, 1));
        let c = objects_check(&d, &j);
        assert_eq!(c.state, CheckState::Fail, "a.txt is settled: {c:?}");
        assert!(
            c.summary.contains(
                "1 current missing (1 more pending: younger than the settle window, 15m)"
            ),
            "{}",
            c.summary
        );
        assert!(
            c.details.contains(&"missing in the destination: `b.txt` (version 2), younger than the settle window (15m): pending, unless its replication status says otherwise".into()),
            "{:?}",
            c.details
        );
        // Only the young one missing: pending, not failed.
        let d = diff_with(&j, src[1..].to_vec(), dst.clone());
        assert_eq!(objects_check(&d, &j).state, CheckState::Ok);
        // `--settle 0` counts it.
        let j0 = judge(Backfill::Batch, false, "0");
        let d = diff_with(&j0, src[1..].to_vec(), dst);
        assert_eq!((d.missing_current.count, d.missing_recent.count), (1, 0));
        assert_eq!(objects_check(&d, &j0).state, CheckState::Fail);
    }

    #[test]
    fn a_tag_rule_judges_mismatches_in_the_listing_and_missing_versions_on_the_sample() {
        let j = judge(Backfill::Batch, true, "0");
        let src = vec![
            version("t.txt", "2", 3600),
            version("untagged.txt", "1", 3600),
        ];
        let d = diff_with(&j, src.clone(), vec![version("t.txt", "2", 3600)]);
        let c = objects_check(&d, &j);
        assert_eq!(c.state, CheckState::Ok, "{c:?}");
        assert!(c
            .summary
            .contains("missing versions are judged on the sample"));
        let mut bigger = version("t.txt", "2", 3600);
        bigger.size = 2;
        let d = diff_with(&j, src, vec![bigger]);
        assert_eq!(objects_check(&d, &j).state, CheckState::Fail);
    }

    #[test]
    fn a_skipped_check_makes_a_pair_not_verified_and_a_failed_one_unhealthy() {
        let pair: Pair = serde_json::from_value(serde_json::json!({
            "source": {"account": "111111111111", "bucket": "data", "region": "us-east-1"},
            "destination": {"account": "222222222222", "bucket": "replicated-data", "region": "us-east-1"},
            "shortened_from": null,
            "rule": {"storage_class": "STANDARD", "delete_markers": false, "prefix": "",
                     "tags": {"replicate": "yes"}, "owner": "destination",
                     "replication_time": false, "kms": "auto"},
            "backfill": "batch",
            "block": 0
        }))
        .unwrap();
        let ok = Check::new("configuration", CheckState::Ok, "fine", vec![]);
        let skip = Check::new(
            "replication status",
            CheckState::Skip,
            "nothing to verify",
            vec![],
        );
        let fail = Check::new("objects", CheckState::Fail, "broken", vec![]);
        let healthy = PairVerdict::new(&pair, vec![ok.clone()]);
        assert_eq!(healthy.verdict, Verdict::Healthy);
        assert!(healthy.healthy);
        let unverified = PairVerdict::new(&pair, vec![ok.clone(), skip.clone()]);
        assert_eq!(unverified.verdict, Verdict::NotVerified);
        assert!(!unverified.healthy);
        let unhealthy = PairVerdict::new(&pair, vec![ok, skip, fail]);
        assert_eq!(unhealthy.verdict, Verdict::Unhealthy);
        let text = render(&[healthy, unverified, unhealthy]);
        assert!(
            text.contains("replicated-data (222222222222, us-east-1): NOT VERIFIED\n"),
            "{text}"
        );
        for line in [
            "  SKIP replication status nothing to verify\n",
            "  FAIL objects            broken\n",
            "  ok   configuration      fine\n",
        ] {
            assert!(text.contains(line), "{line:?}\n{text}");
        }
        assert!(
            text.ends_with("1 of 3 bucket pair(s) healthy. 1 not verified: a check could not be made (SKIP), which never counts as healthy.\n"),
            "{text}"
        );
        let json = serde_json::to_value(PairVerdict::new(
            &pair,
            vec![Check::new("x", CheckState::Skip, "s", vec![])],
        ))
        .unwrap();
        assert_eq!(json["verdict"], "not_verified");
        assert_eq!(json["healthy"], false);
        assert_eq!(json["checks"][0]["state"], "skip");
        assert_eq!(json["checks"][0]["ok"], false);
    }

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
