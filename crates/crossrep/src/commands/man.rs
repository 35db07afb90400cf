//! `crossrep man [COMMAND]`: the man page (roff) generated from the CLI definition.

use anyhow::anyhow;
use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};
use crate::exit::ExitStatus;
use crate::Global;

pub(crate) fn run(global: &Global, args: ManArgs) -> anyhow::Result<ExitStatus> {
    let mut cli = Cli::command();
    // Building gives subcommands their full names (`crossrep-plan`, `crossrep plan`).
    cli.build();
    let page = match &args.command {
        None => cli,
        Some(name) => cli.find_subcommand(name).cloned().ok_or_else(|| {
            let names: Vec<String> = cli
                .get_subcommands()
                .map(|c| format!("`{}`", c.get_name()))
                .collect();
            anyhow!(
                "there is no command `{name}`\n\nhint: one of {}",
                names.join(", ")
            )
        })?,
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff)?;
    global.printer.data(String::from_utf8_lossy(&roff))?;
    Ok(ExitStatus::Success)
}
