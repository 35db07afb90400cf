//! Show a plan, ask, execute it and report what happened: shared by `apply` and `destroy`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossrep_aws::execute::{execute, Outcome};
use crossrep_core::observed::ErrorKind;
use crossrep_core::plan::{Action, Plan};
use crossrep_core::render::render_plan_as;
use serde::Serialize;

use crate::cli::Format;
use crate::context::Context;
use crate::exit::ExitStatus;

/// Which command is executing a plan: the words of its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    Apply,
    Destroy,
}

impl Verb {
    fn title(self) -> &'static str {
        match self {
            Verb::Apply => "Apply",
            Verb::Destroy => "Destroy",
        }
    }

    fn command(self) -> &'static str {
        match self {
            Verb::Apply => "apply",
            Verb::Destroy => "destroy",
        }
    }
}

const QUESTION: &str = "\nDo you want to perform these actions? Only `yes` will be accepted: ";

/// Shows `plan` (text: on stdout), asks unless `confirmed`, executes it and reports the
/// outcome: the summary line on stdout, failed and skipped changes on stderr; with
/// `--format json` one document on stdout instead ([`Report`]).
pub(crate) async fn show_and_execute(
    ctx: &Context,
    plan: &Plan,
    confirmed: bool,
    verb: Verb,
    format: Format,
) -> anyhow::Result<ExitStatus> {
    let printer = &ctx.printer;
    if format == Format::Text {
        printer.data(render_plan_as(plan, ctx.full))?;
    }
    // A selected bucket left in conflict makes the command fail after everything else is done
    // (SPEC §3): excluding it is how a user accepts it.
    let conflicted = plan.not_replicated();
    // Destroy could not read something it needed: it did not finish (SPEC §5).
    let unread = plan
        .conflicts
        .iter()
        .filter(|c| c.code == crossrep_core::destroy::UNREADABLE)
        .count();
    let done = |status: ExitStatus| {
        if status != ExitStatus::Success {
            return status;
        }
        let unreachable = plan.unreachable_accounts();
        match verb {
            Verb::Apply if unreachable > 0 => {
                printer.human(format_args!(
                    "{unreachable} selected account(s) could not be reached and were skipped: see the organization's accounts above."
                ));
                ExitStatus::Failure
            }
            Verb::Apply if conflicted > 0 => {
                printer.human(format_args!(
                    "{conflicted} selected bucket(s) are not replicated: see the conflicts above; fix them, or `exclude` them to accept it."
                ));
                ExitStatus::Failure
            }
            Verb::Destroy if unread > 0 => {
                printer.human(format_args!(
                    "Destroy incomplete: {unread} thing(s) could not be read (see the conflicts above) and were left as they are; run `crossrep destroy` again."
                ));
                ExitStatus::Failure
            }
            _ => status,
        }
    };
    // Preflight (SPEC §12): a plan apply would not finish is refused before any write.
    let refused = plan.preflight_errors();
    if refused > 0 {
        if format == Format::Json {
            let mut report = Report::new(plan, &Outcome::default());
            report.complete = false;
            report.refused = true;
            printer.json(&report)?;
        }
        printer.human(format_args!(
            "{} refused: preflight found {refused} error(s) (see Preflight above); nothing was written.",
            verb.title()
        ));
        return Ok(ExitStatus::Failure);
    }
    if !plan.has_changes() {
        if verb == Verb::Apply {
            ctx.remember_samples(&[]).await;
        }
        if format == Format::Json {
            printer.json(&Report::new(plan, &Outcome::default()))?;
        }
        return Ok(done(ExitStatus::Success));
    }
    if !confirmed {
        let answer = match format {
            Format::Text => printer.prompt(QUESTION)?,
            // stdout is the JSON document: the plan being asked about is shown on stderr.
            Format::Json => {
                printer.prompt(format_args!("{}{QUESTION}", render_plan_as(plan, ctx.full)))?
            }
        };
        if answer.trim() != "yes" {
            printer.human(format_args!("{} cancelled.", verb.title()));
            return Ok(ExitStatus::Failure);
        }
    }

    // SIGINT: no further change starts, those in flight finish, the summary says what is left
    // (SPEC §3, exit 130). A second SIGINT quits at once.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::SeqCst);
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        })
    };
    let outcome = execute(plan, &ctx.sessions, ctx.concurrency, &ctx.bars, &stop).await;
    watcher.abort();
    if verb == Verb::Apply {
        // After the changes: the first apply creates the report buckets that hold them.
        ctx.remember_samples(&outcome.applied).await;
    }
    let interrupted = !outcome.interrupted.is_empty();
    let report = Report::new(plan, &outcome);
    if format == Format::Json {
        printer.json(&report)?;
        if interrupted {
            return Ok(ExitStatus::Interrupted);
        }
        return Ok(done(ExitStatus::from_ok(report.complete)));
    }
    let Counts {
        added,
        changed,
        destroyed,
        failed,
        skipped,
    } = report.counts;
    let title = verb.title();
    if report.complete {
        printer.data(format_args!(
            "\n{title} complete! Resources: {added} added, {changed} changed, {destroyed} destroyed.\n"
        ))?;
        return Ok(done(ExitStatus::Success));
    }
    let not_started = outcome.interrupted.len();
    let state = if interrupted {
        "interrupted"
    } else {
        "incomplete"
    };
    printer.data(format_args!(
        "\n{title} {state}. Resources: {added} added, {changed} changed, {destroyed} destroyed, {failed} failed, {skipped} skipped, {not_started} not started.\n"
    ))?;
    let mut list = String::new();
    for (addr, err) in &outcome.failed {
        list.push_str(&format!("  ✗ {addr}: {}\n", err.summary()));
        if let Some(hint) = err.hint() {
            list.push_str(&format!("      hint: {hint}\n"));
        }
    }
    for (addr, dep) in &outcome.skipped {
        list.push_str(&format!("  - {addr}: skipped, because {dep} failed\n"));
    }
    for addr in &outcome.interrupted {
        list.push_str(&format!("  - {addr}: not started (interrupted)\n"));
    }
    if interrupted {
        printer.human(format_args!(
            "{list}\nRun `crossrep {}` again to complete the rest.",
            verb.command()
        ));
        return Ok(ExitStatus::Interrupted);
    }
    printer.human(format_args!(
        "{list}\nRun `crossrep {}` again to complete the rest once the cause is fixed.",
        verb.command()
    ));
    Ok(ExitStatus::Failure)
}

/// `apply --format json` and `destroy --format json`: the plan and what happened to each of
/// its changes. Addresses are in their text form (`bucket_policy[222222222222/name]`).
#[derive(Serialize)]
struct Report<'a> {
    plan: &'a Plan,
    /// Every change applied (also when there was none to make).
    complete: bool,
    counts: Counts,
    applied: Vec<String>,
    failed: Vec<Failed>,
    skipped: Vec<Skipped>,
    /// Not started: the run was interrupted (SIGINT).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    interrupted: Vec<String>,
    /// Nothing started: preflight found errors (`plan.preflight`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    refused: bool,
}

#[derive(Serialize, Default, Clone, Copy)]
struct Counts {
    added: usize,
    changed: usize,
    destroyed: usize,
    failed: usize,
    skipped: usize,
}

#[derive(Serialize)]
struct Failed {
    address: String,
    error: String,
    kind: ErrorKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

#[derive(Serialize)]
struct Skipped {
    address: String,
    /// The failed change it depends on.
    because: String,
}

impl<'a> Report<'a> {
    fn new(plan: &'a Plan, outcome: &Outcome) -> Report<'a> {
        let mut counts = Counts {
            failed: outcome.failed.len(),
            skipped: outcome.skipped.len(),
            ..Counts::default()
        };
        for c in &plan.changes {
            if outcome.applied.contains(&c.addr()) {
                match c.action() {
                    Action::Create => counts.added += 1,
                    Action::Update => counts.changed += 1,
                    Action::Delete => counts.destroyed += 1,
                }
            }
        }
        Report {
            plan,
            complete: outcome.ok(),
            counts,
            applied: outcome.applied.iter().map(ToString::to_string).collect(),
            failed: outcome
                .failed
                .iter()
                .map(|(a, e)| Failed {
                    address: a.to_string(),
                    error: e.summary(),
                    kind: e.kind,
                    hint: e.hint(),
                })
                .collect(),
            skipped: outcome
                .skipped
                .iter()
                .map(|(a, d)| Skipped {
                    address: a.to_string(),
                    because: d.to_string(),
                })
                .collect(),
            interrupted: outcome
                .interrupted
                .iter()
                .map(ToString::to_string)
                .collect(),
            refused: false,
        }
    }
}
