//! `crossrep backfill`: one S3 Batch Replication job per replicated source bucket, never a
//! duplicate of one still running; `--wait` follows them to the end.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use crossrep_aws::backfill::{create_job, describe_job, list_batch_jobs};
use crossrep_aws::error::CallError;
use crossrep_core::backfill::{decide, Decision, JobFilter, JobInfo, JobSpec, StatusRow};
use crossrep_core::desired::BucketRef;
use crossrep_core::names::AccountId;
use crossrep_core::plan::plan;
use crossrep_core::render::render_status;
use futures::{stream, StreamExt};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::{BackfillArgs, Format};
use crate::context::Context;
use crate::exit::ExitStatus;
use crate::Global;

/// `backfill --format json`.
#[derive(Serialize)]
struct Report {
    /// No bucket skipped, every job created, and (`--wait`) none failed.
    ok: bool,
    buckets: Vec<BucketResult>,
    /// With `--wait`: the jobs followed, as they ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    finished: Option<Vec<JobInfo>>,
    /// With `--wait`: `crossrep status` afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Vec<StatusRow>>,
}

/// What backfill decided for one source bucket, and what came of it.
#[derive(Serialize)]
struct BucketResult {
    source: BucketRef,
    #[serde(flatten)]
    decision: Decision,
    /// `create`: the id of the job created.
    #[serde(skip_serializing_if = "Option::is_none")]
    job_id: Option<String>,
    /// `create`: why the job could not be created.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// A [`Decision`] carried out: a creation with its result.
enum Step {
    Created {
        spec: JobSpec,
        instead_of_only_failed: bool,
        result: Result<String, CallError>,
    },
    Running(JobInfo),
    Done(JobInfo),
    Skip(String),
}

pub(crate) async fn run(global: &Global, args: BackfillArgs) -> anyhow::Result<ExitStatus> {
    let printer = &global.printer;
    let text = args.format == Format::Text;
    let ctx = Context::load(global).await?;
    let (desired, actual) = ctx.discover().await?;
    let conflicts = plan(&desired, &actual).conflicts;
    // A place whose jobs cannot be listed (S3 Control unreachable, `s3:ListJobs` denied) skips
    // its buckets, naming the cause: without the list, a running job looks like none.
    let listing = list_batch_jobs(&ctx.sessions, &desired, ctx.concurrency).await;
    let unlisted = listing
        .unlisted
        .iter()
        .map(|(place, e)| {
            let why = match e.hint() {
                Some(hint) => format!("{} (hint: {hint})", e.summary()),
                None => e.summary(),
            };
            (place.clone(), why)
        })
        .collect();
    let filter = if args.only_failed {
        JobFilter::OnlyFailed
    } else {
        JobFilter::All
    };
    let decisions = decide(
        &desired,
        &actual,
        &listing.jobs,
        &unlisted,
        filter,
        args.review,
    );

    let mut ok = true;
    let mut follow: Vec<JobInfo> = Vec::new();
    let mut results: Vec<BucketResult> = Vec::new();
    let created: Vec<_> = stream::iter(decisions)
        .map(|(source, decision)| {
            let ctx = &ctx;
            async move {
                let step = match decision {
                    Decision::Create {
                        spec,
                        instead_of_only_failed,
                    } => {
                        let result = create_job(ctx.sessions.get(&spec.account), &spec).await;
                        Step::Created {
                            spec,
                            instead_of_only_failed,
                            result,
                        }
                    }
                    Decision::AlreadyRunning { job } => Step::Running(job),
                    Decision::Done { job } => Step::Done(job),
                    Decision::Skip { reason } => Step::Skip(reason),
                };
                (source, step)
            }
        })
        .buffer_unordered(ctx.concurrency)
        .collect()
        .await;
    let mut created = created;
    created.sort_by(|a, b| a.0.cmp(&b.0));
    for (source, step) in created {
        let what = format!("{} ({}, {})", source.bucket, source.account, source.region);
        let line = |l: String| -> std::io::Result<()> {
            if text {
                printer.data(format_args!("{l}\n"))?;
            }
            Ok(())
        };
        let (mut job_id, mut error) = (None, None);
        let decision = match step {
            Step::Created {
                spec,
                instead_of_only_failed,
                result: Ok(id),
            } => {
                if instead_of_only_failed {
                    printer.human(format_args!(
                        "no full backfill yet for {}: starting one instead of --only-failed",
                        source.bucket
                    ));
                }
                let state = if args.review {
                    "created, suspended for review"
                } else {
                    "created"
                };
                line(format!(
                    "{what}: job {id} {state} ({} versions)",
                    spec.filter.tag()
                ))?;
                follow.push(JobInfo {
                    id: id.clone(),
                    account: spec.account.to_string(),
                    region: spec.region.to_string(),
                    source: Some(spec.source.to_string()),
                    filter: Some(spec.filter),
                    ..JobInfo::default()
                });
                job_id = Some(id);
                Decision::Create {
                    spec,
                    instead_of_only_failed,
                }
            }
            Step::Created {
                spec,
                instead_of_only_failed,
                result: Err(e),
            } => {
                ok = false;
                line(format!("{what}: failed to create the job: {e}"))?;
                error = Some(e.to_string());
                Decision::Create {
                    spec,
                    instead_of_only_failed,
                }
            }
            Step::Running(job) => {
                line(format!(
                    "{what}: job {} is still {} ({}/{} done); not starting another",
                    job.id,
                    job.status,
                    job.succeeded + job.failed,
                    job.total
                ))?;
                follow.push(job.clone());
                Decision::AlreadyRunning { job }
            }
            Step::Done(job) => {
                line(format!(
                    "{what}: nothing to do: job {} completed {} task(s) without a failure",
                    job.id, job.succeeded
                ))?;
                Decision::Done { job }
            }
            Step::Skip(reason) => {
                ok = false;
                let reason = conflicts
                    .iter()
                    .find(|c| c.account == source.account && c.bucket == source.bucket)
                    .map(|c| format!("in conflict: {}", c.message))
                    .unwrap_or(reason);
                line(format!("{what}: skipped: {reason}"))?;
                Decision::Skip { reason }
            }
        };
        results.push(BucketResult {
            source,
            decision,
            job_id,
            error,
        });
    }

    let mut report = Report {
        ok,
        buckets: results,
        finished: None,
        status: None,
    };
    if args.wait && !follow.is_empty() {
        let finished = wait_for(&ctx, follow, global.progress).await?;
        if finished
            .iter()
            .any(|j| j.status == "Failed" || j.failed > 0)
        {
            report.ok = false;
        }
        let (desired, actual) = ctx.discover().await?;
        let rows = super::status::rows(&ctx, &desired, &actual).await;
        if text {
            printer.data(format_args!("\n{}", render_status(&rows)))?;
        }
        report.finished = Some(finished);
        report.status = Some(rows);
    }
    if !text {
        printer.json(&report)?;
    }
    Ok(ExitStatus::from_ok(report.ok))
}

/// Polls every job until it is terminal (or suspended awaiting confirmation, which only a
/// person can end), one progress bar per job.
async fn wait_for(
    ctx: &Context,
    jobs: Vec<JobInfo>,
    progress: bool,
) -> anyhow::Result<Vec<JobInfo>> {
    let bars = MultiProgress::new();
    if !(progress && std::io::stderr().is_terminal()) {
        bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template("{prefix:30} [{bar:30}] {pos}/{len} {msg}")
        .expect("valid template")
        .progress_chars("=> ");
    let mut state: BTreeMap<String, (JobInfo, ProgressBar)> = BTreeMap::new();
    for job in jobs {
        let bar = bars.add(ProgressBar::new(job.total.max(1)));
        bar.set_style(style.clone());
        bar.set_prefix(job.source.clone().unwrap_or_else(|| job.id.clone()));
        state.insert(job.id.clone(), (job, bar));
    }
    let mut delay = Duration::from_millis(500);
    loop {
        let pending: Vec<JobInfo> = state
            .values()
            .filter(|(j, _)| !(j.is_terminal() || j.status == "Suspended"))
            .map(|(j, _)| j.clone())
            .collect();
        if pending.is_empty() {
            break;
        }
        let updated: Vec<anyhow::Result<JobInfo>> = stream::iter(pending)
            .map(|job| async move {
                let session = ctx.sessions.get(&AccountId::new(job.account.clone())?);
                Ok(describe_job(session, &job).await?)
            })
            .buffer_unordered(ctx.concurrency)
            .collect()
            .await;
        for job in updated {
            let job = job?;
            if let Some((old, bar)) = state.get_mut(&job.id) {
                bar.set_length(job.total.max(1));
                bar.set_position(job.succeeded + job.failed);
                bar.set_message(format!("{} ({} failed)", job.status, job.failed));
                *old = job;
            }
        }
        // Jobs of a few objects end in seconds, jobs of billions in hours: poll often at
        // first, then back off (to 15 s) so a long wait costs a few requests a minute.
        tokio::time::sleep(delay).await;
        delay = (delay.mul_f64(1.25)).min(Duration::from_secs(15));
    }
    let mut out = Vec::new();
    for (_, (job, bar)) in state {
        bar.finish();
        out.push(job);
    }
    Ok(out)
}
