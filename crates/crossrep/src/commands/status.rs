//! `crossrep status`: per pair, the rule, the latest backfill job and its failures by reason.

use crossrep_aws::backfill::{all_jobs, pair_statuses};
use crossrep_core::render::render_status;

use crate::cli::{Format, StatusArgs};
use crate::context::Context;
use crate::exit::ExitStatus;
use crate::Global;

pub(crate) async fn run(global: &Global, args: StatusArgs) -> anyhow::Result<ExitStatus> {
    let ctx = Context::load(global).await?;
    let (desired, actual) = ctx.discover().await?;
    let jobs = all_jobs(&ctx.sessions, &desired, ctx.concurrency).await?;
    let rows = pair_statuses(&ctx.sessions, &desired, &actual, &jobs, ctx.concurrency).await?;
    match args.format {
        Format::Text => global.printer.data(render_status(&rows))?,
        Format::Json => global.printer.json(&rows)?,
    }
    Ok(ExitStatus::Success)
}
