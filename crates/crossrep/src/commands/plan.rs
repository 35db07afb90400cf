//! `crossrep plan`: discover and show what would change. Writes nothing to AWS.

use std::path::PathBuf;

use anyhow::Context as _;
use crossrep_core::render::render_plan;

use crate::context::Context;
use crate::{Format, Global};

pub async fn run(
    global: &Global,
    out: Option<PathBuf>,
    format: Format,
    detailed: bool,
) -> anyhow::Result<u8> {
    let ctx = Context::load(global).await?;
    let plan = ctx.plan().await?;
    match format {
        Format::Text => print!("{}", render_plan(&plan)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
    }
    if let Some(path) = out {
        std::fs::write(&path, serde_json::to_vec_pretty(&plan)?)
            .with_context(|| format!("writing the plan to `{}`", path.display()))?;
        eprintln!(
            "Saved the plan to {}; apply it with `crossrep apply {}`.",
            path.display(),
            path.display()
        );
    }
    Ok(if detailed && plan.has_changes() { 2 } else { 0 })
}
