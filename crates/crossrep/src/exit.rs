//! The exit status of a command (README "Exit codes", SPEC §3). Commands return one; only
//! `main` turns it into a number.

use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// 0: done; with `plan --detailed-exitcode`, no changes.
    Success,
    /// 1: an error, a change that failed, a cancelled confirmation, a skipped or failed
    /// backfill; also bad usage.
    Failure,
    /// 2: `plan --detailed-exitcode` found changes.
    Changes,
    /// 3: `verify` found an unhealthy pair.
    Unhealthy,
    /// 130: interrupted (SIGINT) during `apply` or `destroy`, after the calls in flight
    /// finished and the summary was printed.
    Interrupted,
}

impl ExitStatus {
    /// `Success` when `ok`, else `Failure`.
    pub(crate) fn from_ok(ok: bool) -> ExitStatus {
        if ok {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Changes => 2,
            ExitStatus::Unhealthy => 3,
            ExitStatus::Interrupted => 130,
        })
    }
}
