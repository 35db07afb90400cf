//! The `crossrep` binary: the CLI ([`cli`]), one module per command, the [`printer`] and the
//! exit status (SPEC §3). `main` alone turns results into exit codes.

mod cli;
mod commands;
mod context;
mod execute;
mod exit;
mod printer;
mod progress;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;
use crate::printer::Printer;

/// What every command gets from the global flags.
pub(crate) struct Global {
    pub(crate) config: PathBuf,
    /// `--full`: every change of a large plan.
    pub(crate) full: bool,
    pub(crate) concurrency: Option<usize>,
    pub(crate) progress: bool,
    pub(crate) printer: Printer,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` print to stdout and are no error; a closed stdout
            // (`crossrep --help | head -1`) is no error either, so the result is ignored.
            let _ = e.print();
            // clap would exit 2 on bad usage; crossrep's 2 means "the plan has changes".
            return if e.use_stderr() {
                ExitStatus::Failure
            } else {
                ExitStatus::Success
            }
            .into();
        }
    };
    let g = &cli.global;
    let level = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CROSSREP_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(format!("crossrep={level},crossrep_aws={level}"))
            }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .without_time()
        .init();
    let printer = Printer::new(g.quiet);
    let global = Global {
        config: g.config.clone(),
        full: g.full,
        concurrency: g.concurrency.map(usize::from),
        progress: !g.quiet && !g.no_progress,
        printer,
    };
    let result = match cli.command {
        Command::Init(args) => run_async(commands::init::run(&global, args)),
        Command::Plan(args) => run_async(commands::plan::run(&global, args)),
        Command::Apply(args) => run_async(commands::apply::run(&global, args)),
        Command::Backfill(args) => run_async(commands::backfill::run(&global, args)),
        Command::Status(args) => run_async(commands::status::run(&global, args)),
        Command::Verify(args) => run_async(commands::verify::run(&global, args)),
        Command::Destroy(args) => run_async(commands::destroy::run(&global, args)),
        Command::Completions(args) => commands::completions::run(&global, args),
        Command::Man(args) => commands::man::run(&global, args),
    };
    match result {
        Ok(status) => status.into(),
        // The reader of stdout is gone (`crossrep plan | head -1`): it has what it wanted.
        Err(e) if is_broken_pipe(&e) => ExitStatus::Success.into(),
        Err(e) => {
            printer.error(&e);
            ExitStatus::Failure.into()
        }
    }
}

/// Whether any error in the chain is a write to a closed pipe (as ripgrep's `main.rs`).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run_async(
    fut: impl std::future::Future<Output = anyhow::Result<ExitStatus>>,
) -> anyhow::Result<ExitStatus> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(fut)
}
