//! One module per command, each `run(&Global, <its Args>) -> anyhow::Result<ExitStatus>`.
//! Commands do not import each other: what two share lives outside `commands/`
//! (`context.rs`, `execute.rs`) or in `crossrep-aws`.

pub(crate) mod apply;
pub(crate) mod backfill;
pub(crate) mod completions;
pub(crate) mod destroy;
pub(crate) mod init;
pub(crate) mod man;
pub(crate) mod plan;
pub(crate) mod status;
pub(crate) mod verify;
