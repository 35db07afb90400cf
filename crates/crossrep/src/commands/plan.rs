//! `crossrep plan`: discover and show what would change. Writes nothing to AWS.

use anyhow::Context as _;
use crossrep_core::render::render_plan_as;

use crate::cli::{Format, PlanArgs};
use crate::context::Context;
use crate::exit::ExitStatus;
use crate::Global;

pub(crate) async fn run(global: &Global, args: PlanArgs) -> anyhow::Result<ExitStatus> {
    let ctx = Context::load(global).await?;
    let plan = ctx.plan().await?;
    let printer = &global.printer;
    match args.format {
        Format::Text => printer.data(render_plan_as(&plan, global.full))?,
        Format::Json => printer.json(&plan)?,
    }
    if let Some(path) = &args.out {
        std::fs::write(path, serde_json::to_vec_pretty(&plan)?)
            .with_context(|| format!("writing the plan to `{}`", path.display()))?;
        printer.human(format_args!(
            "Saved the plan to {}; apply it with `crossrep apply {}`.",
            path.display(),
            path.display()
        ));
    }
    // A selected bucket left in conflict is never silent (SPEC §3): exit 1, whatever else.
    // So is a selected account that could not be reached (SPEC §11), and a preflight error
    // (SPEC §12: apply would refuse the plan).
    Ok(
        if plan.not_replicated() > 0
            || plan.unreachable_accounts() > 0
            || plan.preflight_errors() > 0
        {
            ExitStatus::Failure
        } else if args.detailed_exitcode && plan.has_changes() {
            ExitStatus::Changes
        } else {
            ExitStatus::Success
        },
    )
}
