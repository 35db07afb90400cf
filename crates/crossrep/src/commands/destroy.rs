//! `crossrep destroy`: remove what crossrep configured for the configured pairs: its rules,
//! its policy statements, its role. Never a bucket, an object, versioning or a report.

use std::io::IsTerminal;

use anyhow::bail;
use crossrep_core::destroy::destroy_plan;

use crate::cli::DestroyArgs;
use crate::context::Context;
use crate::execute::{show_and_execute, Verb};
use crate::exit::ExitStatus;
use crate::Global;

pub(crate) async fn run(global: &Global, args: DestroyArgs) -> anyhow::Result<ExitStatus> {
    if !args.yes && !std::io::stdin().is_terminal() {
        bail!("stdin is not a terminal, so crossrep cannot ask for confirmation\n\nhint: review with `crossrep destroy` in a terminal, or run `crossrep destroy --yes`");
    }
    let ctx = Context::load(global).await?;
    let (desired, actual) = ctx.discover().await?;
    let plan = destroy_plan(&desired, &actual);
    show_and_execute(&ctx, &plan, args.yes, Verb::Destroy, args.format).await
}
