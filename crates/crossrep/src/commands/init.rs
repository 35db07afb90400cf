//! `crossrep init`: writes a commented example configuration.

use anyhow::{bail, Context as _};
use crossrep_core::config::example;

use crate::Global;

pub fn run(global: &Global, force: bool) -> anyhow::Result<u8> {
    let path = &global.config;
    if path.exists() && !force {
        bail!(
            "`{}` already exists; not overwriting it\n\nhint: pass `--force` to replace it, or `-c <file>` to write elsewhere",
            path.display()
        );
    }
    std::fs::write(path, example(None, None))
        .with_context(|| format!("writing `{}`", path.display()))?;
    eprintln!(
        "Wrote {}. Set the account ids and profiles, then run `crossrep plan`.",
        path.display()
    );
    Ok(0)
}
