//! `crossrep completions <shell>`: a completion script generated from the CLI definition.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::ExitStatus;
use crate::Global;

pub(crate) fn run(global: &Global, args: CompletionsArgs) -> anyhow::Result<ExitStatus> {
    // Into memory first: clap_complete panics when its writer fails (a closed stdout).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "crossrep", &mut script);
    global.printer.data(String::from_utf8_lossy(&script))?;
    Ok(ExitStatus::Success)
}
