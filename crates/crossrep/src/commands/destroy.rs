//! `crossrep destroy`: remove what crossrep configured for the configured pairs: its rules,
//! its policy statements, its role. Never a bucket, an object, versioning or a report.

use std::io::IsTerminal;

use anyhow::bail;
use crossrep_core::destroy::destroy_plan;
use crossrep_core::render::render_plan;

use crate::commands::apply::confirm_and_execute;
use crate::context::Context;
use crate::Global;

pub async fn run(global: &Global, yes: bool) -> anyhow::Result<u8> {
    if !yes && !std::io::stdin().is_terminal() {
        bail!("stdin is not a terminal, so crossrep cannot ask for confirmation\n\nhint: review with `crossrep destroy` in a terminal, or run `crossrep destroy --yes`");
    }
    let ctx = Context::load(global).await?;
    let (desired, actual) = ctx.discover().await?;
    let plan = destroy_plan(&desired, &actual);
    print!("{}", render_plan(&plan));
    if !plan.has_changes() {
        return Ok(0);
    }
    confirm_and_execute(&ctx, &plan, yes, "destroy").await
}
