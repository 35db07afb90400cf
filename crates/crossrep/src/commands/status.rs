//! `crossrep status`: per pair, the rule, the latest backfill job and its failures by reason;
//! selected buckets in conflict included. Job information that S3 Control does not give
//! (unreachable, denied) is said to be unavailable, once, and the rest is shown all the same.

use crossrep_aws::backfill::{list_batch_jobs, pair_statuses, JobListing};
use crossrep_aws::error::CallError;
use crossrep_core::backfill::{status_rows, StatusRow};
use crossrep_core::desired::DesiredState;
use crossrep_core::model::ActualState;
use crossrep_core::plan::plan;
use crossrep_core::render::render_status;

use crate::cli::{Format, StatusArgs};
use crate::context::Context;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::Global;

pub(crate) async fn run(global: &Global, args: StatusArgs) -> anyhow::Result<ExitStatus> {
    let ctx = Context::load(global).await?;
    let (desired, actual) = ctx.discover().await?;
    let rows = rows(&ctx, &desired, &actual).await;
    match args.format {
        Format::Text => global.printer.data(render_status(&rows))?,
        Format::Json => global.printer.json(&rows)?,
    }
    Ok(ExitStatus::Success)
}

/// The status of every pair and of every selected bucket that forms none. Jobs are listed only
/// where `backfill = "batch"` pairs are (no S3 Control call without them); what S3 Control
/// would not say is said once on stderr.
pub(crate) async fn rows(
    ctx: &Context,
    desired: &DesiredState,
    actual: &ActualState,
) -> Vec<StatusRow> {
    let conflicts = plan(desired, actual).conflicts;
    let listing = list_batch_jobs(&ctx.sessions, desired, ctx.concurrency).await;
    let (pairs, undescribed) = pair_statuses(
        &ctx.sessions,
        desired,
        actual,
        &listing,
        &conflicts,
        ctx.concurrency,
    )
    .await;
    say_unavailable(&ctx.printer, &listing, &undescribed);
    // Live failures from the alert queues (SPEC §10), those before a clean backfill resolved.
    let mut resolved = std::collections::BTreeMap::new();
    for p in &desired.pairs {
        if let Some(t) = crossrep_core::failures::resolved_before(&listing.jobs, &p.source) {
            resolved.insert((p.source.account.clone(), p.source.bucket.clone()), t);
        }
    }
    let failures =
        crossrep_aws::alerts::collect(&ctx.sessions, desired, &resolved, ctx.concurrency).await;
    for p in &failures.problems {
        ctx.printer.human(format!("warning: {p}"));
    }
    let mut pairs = pairs;
    for row in &mut pairs {
        let Some(summary) = failures
            .summaries
            .get(&(row.source.account.clone(), row.source.bucket.clone()))
        else {
            continue;
        };
        row.live_failures = summary
            .counts()
            .into_iter()
            .filter(|((d, _), _)| d == row.destination.bucket.as_str())
            .map(|((_, reason), n)| (reason, n))
            .collect();
    }
    status_rows(pairs, desired)
}

/// One message for every job S3 Control would not list or describe: each failure's summary,
/// then the first one's hint (the missing permission, typically `s3:ListJobs`).
fn say_unavailable(printer: &Printer, listing: &JobListing, undescribed: &[CallError]) {
    let errors: Vec<&CallError> = listing.unlisted.values().chain(undescribed).collect();
    let Some(first) = errors.first() else {
        return;
    };
    let mut text = format!(
        "warning: backfill job information is unavailable, so jobs are not shown: {}",
        first.summary()
    );
    for e in &errors[1..] {
        text.push_str(&format!("\n  also: {}", e.summary()));
    }
    if let Some(hint) = first.hint() {
        text.push_str(&format!("\n\nhint: {hint}"));
    }
    printer.human(text);
}
