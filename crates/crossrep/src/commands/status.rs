//! `crossrep status`: per pair, the rule, the latest backfill job and its failures by reason.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use crossrep_aws::backfill::{describe_job, list_jobs, read_report};
use crossrep_core::backfill::{latest_job, rule_state, JobInfo, PairStatus};
use crossrep_core::desired::DesiredState;
use crossrep_core::model::ActualState;
use crossrep_core::names::{AccountId, Region};
use crossrep_core::render::render_status;
use futures::{stream, StreamExt, TryStreamExt};

use crate::context::Context;
use crate::{Format, Global};

pub async fn run(global: &Global, format: Format) -> anyhow::Result<u8> {
    let ctx = Context::load(global).await?;
    let (desired, actual) = ctx.discover().await?;
    let jobs = all_jobs(&ctx, &desired).await?;
    let rows = collect(&ctx, &desired, &actual, &jobs).await?;
    match format {
        Format::Text => print!("{}", render_status(&rows)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
    }
    Ok(0)
}

/// crossrep's jobs in every account and region that has replicated source buckets.
pub async fn all_jobs(ctx: &Context, desired: &DesiredState) -> anyhow::Result<Vec<JobInfo>> {
    let places: BTreeSet<(AccountId, Region)> = desired
        .pairs
        .iter()
        .map(|p| (p.source.account.clone(), p.source.region.clone()))
        .collect();
    let lists: Vec<Vec<JobInfo>> = stream::iter(places)
        .map(|(account, region)| async move {
            list_jobs(ctx.sessions.get(&account), &region)
                .await
                .with_context(|| format!("listing the backfill jobs of {account} in {region}"))
        })
        .buffer_unordered(ctx.concurrency)
        .try_collect()
        .await?;
    Ok(lists.into_iter().flatten().collect())
}

/// One row per pair, with the latest job of its source described and its report read.
pub async fn collect(
    ctx: &Context,
    desired: &DesiredState,
    actual: &ActualState,
    jobs: &[JobInfo],
) -> anyhow::Result<Vec<PairStatus>> {
    // Describe each source's latest job once, and read its report.
    let latest: BTreeMap<String, &JobInfo> = desired
        .pairs
        .iter()
        .filter_map(|p| latest_job(jobs, &p.source).map(|j| (j.id.clone(), j)))
        .collect();
    let described: Vec<(JobInfo, Option<Result<_, String>>)> = stream::iter(latest.into_values())
        .map(|job| async move {
            let session = ctx
                .sessions
                .get(&AccountId::new(job.account.clone()).expect("listed accounts are valid"));
            let job = describe_job(session, job).await?;
            let report = if job.report.is_some() && (job.is_terminal() || job.failed > 0) {
                Some(read_report(session, &job).await.map_err(|e| e.to_string()))
            } else {
                None
            };
            Ok::<_, anyhow::Error>((job, report))
        })
        .buffer_unordered(ctx.concurrency)
        .try_collect()
        .await?;
    let by_id: BTreeMap<&str, &(JobInfo, Option<Result<_, String>>)> =
        described.iter().map(|d| (d.0.id.as_str(), d)).collect();
    Ok(desired
        .pairs
        .iter()
        .map(|p| {
            let entry = latest_job(jobs, &p.source).and_then(|j| by_id.get(j.id.as_str()));
            let (failures, report_error) = match entry.and_then(|e| e.1.as_ref()) {
                Some(Ok(summary)) => (summary.clone(), None),
                Some(Err(e)) => (None, Some(e.clone())),
                None => (None, None),
            };
            PairStatus {
                source: p.source.clone(),
                destination: p.destination.clone(),
                rule: rule_state(actual, p),
                backfill: p.backfill,
                job: entry.map(|e| e.0.clone()),
                failures,
                report_error,
            }
        })
        .collect())
}
