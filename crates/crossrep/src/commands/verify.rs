//! `crossrep verify`: per pair, configuration drift, a diff of the two listings, replication
//! statuses of a sample (for a rule with tags, of the sampled versions carrying them), and
//! (`--canary`) a live round trip. Exit 3 when a pair is unhealthy or not verified (a check
//! that could not be made).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossrep_aws::backfill::{all_jobs, describe_job, failed_tasks};
use crossrep_aws::verify::{canary, diff_buckets, statuses, Side};
use crossrep_core::backfill::latest_job;
use crossrep_core::config::Backfill;
use crossrep_core::desired::{located, DesiredState, Pair};
use crossrep_core::names::{AccountId, BucketName};
use crossrep_core::plan::plan;
use crossrep_core::progress::Reporter;
use crossrep_core::verify::{
    canary_check, configuration_check, every_current_version_listed, objects_check, render,
    status_check, Check, CheckState, Judge, PairVerdict, Verdict,
};
use futures::{stream, StreamExt};

use crate::cli::{Format, VerifyArgs};
use crate::context::Context;
use crate::exit::ExitStatus;
use crate::Global;

/// Where the canary goes, under the rule's prefix so the rule replicates it.
const CANARY_PREFIX: &str = ".crossrep-canary/";

pub(crate) async fn run(global: &Global, opts: VerifyArgs) -> anyhow::Result<ExitStatus> {
    let ctx = Context::load(global).await?;
    let (desired, actual) = ctx.discover().await?;
    let plan = plan(&desired, &actual);
    // Reports give each bucket's real region (a destination found elsewhere is a conflict).
    let pairs = located(&desired.pairs, &actual);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);

    // Failure codes of failed versions come from backfill reports, found through S3 Control.
    // Without them every other check still stands: S3 Control may be denied or absent (an
    // S3-compatible endpoint), and pairs with `backfill = "none"` have no jobs to ask about.
    let (mut codes, resolved) = match failure_codes(&ctx, &desired).await {
        Ok(found) => found,
        Err(e) => {
            global.printer.human(format!(
                "warning: failure codes of FAILED versions are unavailable (the backfill jobs and their reports could not be read); every other check goes on: {e}"
            ));
            (BTreeMap::new(), BTreeMap::new())
        }
    };
    // The reasons S3 sent in failure events (SPEC §10), folded into their summaries first; a
    // re-drive's report, later by construction, says more.
    let failures =
        crossrep_aws::alerts::collect(&ctx.sessions, &desired, &resolved, ctx.concurrency).await;
    for p in &failures.problems {
        global.printer.human(format!("warning: {p}"));
    }
    for summary in failures.summaries.values() {
        for v in &summary.versions {
            codes
                .entry((v.key.clone(), v.version_id.clone()))
                .or_insert_with(|| v.reason.clone());
        }
    }

    ctx.bars.start("comparing listings", 0);
    let verdicts: Vec<PairVerdict> = stream::iter(pairs.iter())
        .map(|pair| verify_pair(&ctx, pair, &plan, &actual, &codes, &opts, now))
        .buffered(ctx.concurrency.clamp(1, 8))
        .collect()
        .await;
    ctx.bars.finish();

    // Selected buckets that form no pair at all (no valid destination name, two sources for
    // one destination): not replicated, so never healthy (SPEC §3).
    let unpaired = &desired.conflicts;
    match opts.format {
        Format::Text => {
            let mut text = render(&verdicts);
            for c in unpaired {
                text.push_str(&format!(
                    "conflict: {} ({}): not replicated: {}\n",
                    c.bucket, c.account, c.message
                ));
            }
            global.printer.data(text)?
        }
        Format::Json => global.printer.json(&verdicts)?,
    }
    // A pair not verified (a check that could not be made) is not healthy either.
    Ok(
        if unpaired.is_empty() && verdicts.iter().all(|v| v.verdict == Verdict::Healthy) {
            ExitStatus::Success
        } else {
            ExitStatus::Unhealthy
        },
    )
}

/// Failure codes per version and when failures were resolved, per source.
type Codes = (
    BTreeMap<(String, String), String>,
    BTreeMap<(AccountId, BucketName), i64>,
);

/// (key, version id) → failure code, from the latest backfill job report of each source with
/// `backfill = "batch"` pairs, and per source the creation of a latest job that completed
/// without a failure (what failed before it was re-driven); no S3 Control call at all when
/// there is no such pair. The first error (listing or describing jobs, reading a report) is
/// returned, with how many more there were.
async fn failure_codes(ctx: &Context, desired: &DesiredState) -> Result<Codes, String> {
    let mut codes = BTreeMap::new();
    let mut resolved = BTreeMap::new();
    let batch = DesiredState {
        pairs: desired
            .pairs
            .iter()
            .filter(|p| p.backfill == Backfill::Batch)
            .cloned()
            .collect(),
        ..desired.clone()
    };
    if batch.pairs.is_empty() {
        return Ok((codes, resolved));
    }
    let jobs = all_jobs(&ctx.sessions, &batch, ctx.concurrency)
        .await
        .map_err(|e| e.to_string())?;
    for p in &batch.pairs {
        if let Some(t) = crossrep_core::failures::resolved_before(&jobs, &p.source) {
            resolved.insert((p.source.account.clone(), p.source.bucket.clone()), t);
        }
    }
    let latest: BTreeMap<&str, _> = batch
        .pairs
        .iter()
        .filter_map(|p| latest_job(&jobs, &p.source))
        .map(|j| (j.id.as_str(), j))
        .collect();
    let mut errors: Vec<String> = Vec::new();
    for job in latest.into_values() {
        let Ok(account) = AccountId::new(job.account.clone()) else {
            continue;
        };
        let session = ctx.sessions.get(&account);
        // Listing does not say where the report is; describing the job does.
        let rows = match describe_job(session, job).await {
            Ok(job) => failed_tasks(session, &job).await,
            Err(e) => Err(e),
        };
        match rows {
            Ok(rows) => {
                for r in rows {
                    if let (Some(v), Some(c)) = (r.version_id, r.error_code) {
                        codes.insert((r.key, v), c);
                    }
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    match errors.len() {
        0 => Ok((codes, resolved)),
        1 => Err(errors.remove(0)),
        n => Err(format!("{} (and {} more)", errors.remove(0), n - 1)),
    }
}

async fn verify_pair(
    ctx: &Context,
    pair: &Pair,
    plan: &crossrep_core::plan::Plan,
    actual: &crossrep_core::kinds::ActualState,
    codes: &BTreeMap<(String, String), String>,
    opts: &VerifyArgs,
    now: i64,
) -> PairVerdict {
    let mut judge = Judge::new(pair, opts.settle, now);
    judge.inferred = crossrep_core::verify::inferred_cause(plan, pair);
    // Whether the rule S3 has now opts in to KMS objects (what replicates is what is there).
    let rule = crossrep_core::kinds::replication::current_rule(actual, pair);
    judge.kms_opt_in = rule
        .as_ref()
        .is_some_and(|r| r.sse_kms_encrypted_objects == Some(true));
    judge.replica_kms_key = rule.and_then(|r| r.destination.replica_kms_key_id.clone());
    let mut checks = vec![configuration_check(plan, pair)];
    let source = || Side {
        session: ctx.sessions.get(&pair.source.account),
        bucket: &pair.source.bucket,
        region: &pair.source.region,
    };
    let dest_region = pair.destination.region.clone();
    let dest = || Side {
        session: ctx.sessions.get(&pair.destination.account),
        bucket: &pair.destination.bucket,
        region: &dest_region,
    };

    // The same listing and sample for every rule; for a rule with tags (which listings do not
    // show), the sample's tags decide which versions are judged.
    let sample = opts.sample.0.unwrap_or(usize::MAX);
    match diff_buckets(
        source(),
        dest(),
        &pair.rule.prefix,
        opts.examples,
        sample,
        judge.cutoff(),
        judge.kms_opt_in,
        &ctx.bars,
    )
    .await
    {
        Ok((summary, sampled)) => {
            checks.push(objects_check(&summary, &judge));
            let look_missing = !every_current_version_listed(&summary);
            let sample = statuses(
                source(),
                (look_missing || judge.replica_kms_key.is_some()).then(dest),
                look_missing,
                judge.replica_kms_key.as_deref(),
                sampled,
                &pair.rule.tags,
                codes,
                ctx.concurrency,
            )
            .await;
            checks.push(status_check(&sample, &judge));
        }
        Err(e) => checks.push(Check::new(
            "objects",
            CheckState::Fail,
            "the listings could not be compared",
            vec![e.to_string()],
        )),
    }

    if opts.canary {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let key = format!("{}{CANARY_PREFIX}{nanos:x}", pair.rule.prefix);
        // A tag-filtered rule only replicates objects with its tags.
        let tags: Vec<String> = pair
            .rule
            .tags
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect();
        let timeout = Duration::from_secs(opts.canary_timeout);
        let result = canary(source(), dest(), &key, &tags.join("&"), timeout).await;
        checks.push(canary_check(&result));
    }
    PairVerdict::new(pair, checks)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
