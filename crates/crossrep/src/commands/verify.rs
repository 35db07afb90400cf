//! `crossrep verify`: per pair, configuration drift, a diff of the two listings, replication
//! statuses of a sample, and (`--canary`) a live round trip. Exit 3 when a pair is unhealthy.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossrep_aws::backfill::{all_jobs, describe_job, failed_tasks};
use crossrep_aws::verify::{canary, diff_buckets, statuses, Side};
use crossrep_core::backfill::latest_job;
use crossrep_core::desired::{located, Pair};
use crossrep_core::names::AccountId;
use crossrep_core::plan::plan;
use crossrep_core::progress::Reporter;
use crossrep_core::verify::{
    canary_check, configuration_check, objects_check, render, status_check, Check, PairVerdict,
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

    // Failure codes of failed versions, from each source's latest backfill report.
    let jobs = all_jobs(&ctx.sessions, &desired, ctx.concurrency).await?;
    let mut codes: BTreeMap<(String, String), String> = BTreeMap::new();
    let latest: Vec<_> = desired
        .pairs
        .iter()
        .filter_map(|p| latest_job(&jobs, &p.source))
        .collect();
    for job in latest {
        let session = ctx.sessions.get(&AccountId::new(job.account.clone())?);
        // Listing does not say where the report is; describing the job does.
        let job = describe_job(session, job).await?;
        if let Ok(rows) = failed_tasks(session, &job).await {
            for r in rows {
                if let (Some(v), Some(c)) = (r.version_id, r.error_code) {
                    codes.insert((r.key, v), c);
                }
            }
        }
    }

    ctx.bars.start("comparing listings", 0);
    let verdicts: Vec<PairVerdict> = stream::iter(pairs.iter())
        .map(|pair| verify_pair(&ctx, pair, &plan, &codes, &opts))
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
    Ok(
        if unpaired.is_empty() && verdicts.iter().all(|v| v.healthy) {
            ExitStatus::Success
        } else {
            ExitStatus::Unhealthy
        },
    )
}

async fn verify_pair(
    ctx: &Context,
    pair: &Pair,
    plan: &crossrep_core::plan::Plan,
    codes: &BTreeMap<(String, String), String>,
    opts: &VerifyArgs,
) -> PairVerdict {
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

    if !pair.rule.tags.is_empty() {
        checks.push(Check {
            name: "objects",
            ok: true,
            summary: "not compared: the rule filters by tags, which listings do not show".into(),
            details: vec![],
        });
    } else {
        // `None` (`--sample all`): every version.
        let sample = opts.sample.0.unwrap_or(usize::MAX);
        match diff_buckets(
            source(),
            dest(),
            &pair.rule.prefix,
            opts.examples,
            sample,
            &ctx.bars,
        )
        .await
        {
            Ok((summary, sampled)) => {
                checks.push(objects_check(&summary, pair.backfill));
                let sample = statuses(source(), sampled, codes, ctx.concurrency).await;
                checks.push(status_check(&sample, pair.backfill));
            }
            Err(e) => checks.push(Check {
                name: "objects",
                ok: false,
                summary: "the listings could not be compared".into(),
                details: vec![e.to_string()],
            }),
        }
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
