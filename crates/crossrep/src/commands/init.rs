//! `crossrep init`: writes a commented example configuration, with the account ids of the
//! given profiles when there are some.

use anyhow::{bail, Context as _};
use crossrep_core::config::{example, EXAMPLE_DESTINATION, EXAMPLE_SOURCE};

use crate::cli::InitArgs;
use crate::exit::ExitStatus;
use crate::Global;

pub(crate) async fn run(global: &Global, args: InitArgs) -> anyhow::Result<ExitStatus> {
    let path = &global.config;
    if path.exists() && !args.force {
        bail!(
            "`{}` already exists; not overwriting it\n\nhint: pass `--force` to replace it, or `-c <file>` to write elsewhere",
            path.display()
        );
    }
    let source = lookup(args.source_profile, EXAMPLE_SOURCE).await?;
    let destination = lookup(args.destination_profile, EXAMPLE_DESTINATION).await?;
    let text = example((&source.0, &source.1), (&destination.0, &destination.1));
    std::fs::write(path, text).with_context(|| format!("writing `{}`", path.display()))?;
    global.printer.human(format_args!(
        "Wrote {}. Review the accounts and the `[[replication]]` block, then run `crossrep plan`.",
        path.display()
    ));
    Ok(ExitStatus::Success)
}

/// (profile, account id): the profile's real account, or the example's placeholders.
async fn lookup(
    profile: Option<String>,
    fallback: (&str, &str),
) -> anyhow::Result<(String, String)> {
    match profile {
        None => Ok((fallback.0.to_string(), fallback.1.to_string())),
        Some(p) => {
            let id = crossrep_aws::session::profile_account(&p)
                .await
                .with_context(|| format!("finding the account of profile `{p}`"))?;
            Ok((p, id))
        }
    }
}
