//! `crossrep apply`: apply a saved plan (if the accounts still match it) or plan, show, ask,
//! and apply.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use crossrep_aws::execute::execute;
use crossrep_core::plan::{Action, Plan, PLAN_FORMAT_VERSION};
use crossrep_core::render::render_plan;

use crate::context::Context;
use crate::Global;

pub async fn run(global: &Global, saved: Option<PathBuf>, yes: bool) -> anyhow::Result<u8> {
    let saved: Option<Plan> = match &saved {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading `{}`", path.display()))?;
            let plan: Plan = serde_json::from_str(&text)
                .with_context(|| format!("`{}` is not a crossrep plan", path.display()))?;
            if plan.format_version != PLAN_FORMAT_VERSION {
                bail!(
                    "`{}` is a plan of format {}, this crossrep writes format {PLAN_FORMAT_VERSION}\n\nhint: run `crossrep plan --out {}` again",
                    path.display(),
                    plan.format_version,
                    path.display()
                );
            }
            Some(plan)
        }
    };
    // A saved plan was the question; no need to ask again.
    let confirmed = yes || saved.is_some();
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
    print!("{}", render_plan(&plan));
    if !plan.has_changes() {
        return Ok(0);
    }
    confirm_and_execute(&ctx, &plan, confirmed, "apply").await
}

/// Asks (unless `confirmed`), executes `plan`, prints the summary; the exit code. Shared by
/// `apply` and `destroy` (`verb`).
pub async fn confirm_and_execute(
    ctx: &Context,
    plan: &Plan,
    confirmed: bool,
    verb: &str,
) -> anyhow::Result<u8> {
    let title = match verb {
        "destroy" => "Destroy",
        _ => "Apply",
    };
    if !confirmed {
        print!("\nDo you want to perform these actions? Only `yes` will be accepted: ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            println!("{title} cancelled.");
            return Ok(1);
        }
    }

    let outcome = execute(plan, &ctx.sessions, ctx.concurrency, &ctx.bars).await;
    let (mut added, mut changed, mut destroyed) = (0, 0, 0);
    for c in &plan.changes {
        if outcome.applied.contains(&c.addr()) {
            match c.action() {
                Action::Create => added += 1,
                Action::Update => changed += 1,
                Action::Delete => destroyed += 1,
            }
        }
    }
    if outcome.ok() {
        println!("\n{title} complete! Resources: {added} added, {changed} changed, {destroyed} destroyed.");
        return Ok(0);
    }
    println!(
        "\n{title} incomplete. Resources: {added} added, {changed} changed, {destroyed} destroyed, {} failed, {} skipped.",
        outcome.failed.len(),
        outcome.skipped.len()
    );
    for (addr, err) in &outcome.failed {
        println!("  ✗ {addr}: {err}");
    }
    for (addr, dep) in &outcome.skipped {
        println!("  - {addr}: skipped, because {dep} failed");
    }
    println!("\nRun `crossrep {verb}` again to complete the rest once the cause is fixed.");
    Ok(1)
}
