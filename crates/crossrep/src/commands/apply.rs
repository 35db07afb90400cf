//! `crossrep apply`: apply a saved plan (if the accounts still match it) or plan, show, ask,
//! and apply.

use std::io::IsTerminal;

use anyhow::{bail, Context as _};
use crossrep_core::plan::{Plan, PLAN_FORMAT_VERSION};

use crate::cli::ApplyArgs;
use crate::context::Context;
use crate::execute::{show_and_execute, Verb};
use crate::exit::ExitStatus;
use crate::Global;

pub(crate) async fn run(global: &Global, args: ApplyArgs) -> anyhow::Result<ExitStatus> {
    let saved: Option<Plan> = match &args.plan {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading `{}`", path.display()))?;
            // The version first: a plan of another format need not parse as this one.
            let raw: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("`{}` is not a crossrep plan", path.display()))?;
            let version = raw
                .get("format_version")
                .and_then(serde_json::Value::as_u64);
            if version != Some(u64::from(PLAN_FORMAT_VERSION)) {
                bail!(
                    "`{}` is a plan of format {}, this crossrep reads and writes format {PLAN_FORMAT_VERSION}\n\nhint: run `crossrep plan --out {}` again",
                    path.display(),
                    version.map_or_else(|| "(none)".to_string(), |v| v.to_string()),
                    path.display()
                );
            }
            let plan: Plan = serde_json::from_value(raw)
                .with_context(|| format!("`{}` is not a crossrep plan", path.display()))?;
            Some(plan)
        }
    };
    // A saved plan was the question; no need to ask again.
    let confirmed = args.yes || saved.is_some();
    if !confirmed && !std::io::stdin().is_terminal() {
        bail!("stdin is not a terminal, so crossrep cannot ask for confirmation\n\nhint: review with `crossrep plan`, then run `crossrep apply --yes`");
    }

    let ctx = Context::load(global).await?;
    let plan = ctx.plan().await?;
    if let Some(saved) = &saved {
        if saved != &plan {
            bail!(
                "the saved plan is stale: the accounts or the configuration changed since it was made\n\nhint: run `crossrep plan --out <file>` again and review it"
            );
        }
    }
    show_and_execute(&ctx, &plan, confirmed, Verb::Apply, args.format).await
}
