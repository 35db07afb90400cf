//! Everything crossrep writes for its user goes through a [`Printer`] (modelled on uv's
//! `printer.rs`): stdout is data, stderr is for people.
//!
//! - [`Printer::data`], [`Printer::json`] (stdout, never silenced): what a program or a pipe
//!   consumes. The plan of `plan`, `apply` and `destroy` (text or JSON), the summary line of
//!   `apply`/`destroy` (`Apply complete! …`, `Apply incomplete. …`), the reports of `status`,
//!   `verify` and `backfill` (one line per bucket, the status after `--wait`), every
//!   `--format json` document (then the only thing on stdout), completion scripts, the man
//!   page.
//! - [`Printer::human`] (stderr, silenced by `-q`): messages to people. `Saved the plan…`,
//!   `Wrote …`, `Apply cancelled.`, the list of failed and skipped changes of an incomplete
//!   apply and the hint to run it again.
//! - [`Printer::prompt`] (stderr, even with `-q`, since a question must be seen to be
//!   answered): the confirmation question, and with `--format json` the plan it is about.
//! - [`Printer::error`] (stderr, even with `-q`): `error: …` from `main`.
//!
//! Logs (`-v`, tracing) and progress bars (indicatif) go to stderr on their own.
//!
//! Writes go through locked handles with `write!`, not `print!`: a closed stdout (`crossrep
//! plan | head -1`) is an `io::Error` of kind `BrokenPipe` that `main` treats as success,
//! where `print!` would panic. That is also why this module needs no `allow` of clippy's
//! `print_stdout`/`print_stderr`, which forbid `print!`-style macros everywhere else.

use std::fmt::Display;
use std::io::{self, BufRead, Write};

use serde::Serialize;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Printer {
    quiet: bool,
}

impl Printer {
    /// `quiet` (`-q`) silences [`Printer::human`].
    pub(crate) fn new(quiet: bool) -> Printer {
        Printer { quiet }
    }

    /// Writes `text` to stdout as it is (no newline added).
    pub(crate) fn data(&self, text: impl Display) -> io::Result<()> {
        let mut out = io::stdout().lock();
        write!(out, "{text}")?;
        out.flush()
    }

    /// Writes `value` to stdout as one pretty-printed JSON document and a newline.
    pub(crate) fn json(&self, value: &impl Serialize) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        Ok(self.data(format_args!("{text}\n"))?)
    }

    /// Writes `text` and a newline to stderr, unless `-q`. Best effort: a message that cannot
    /// be shown (stderr closed) does not turn a successful command into a failure.
    pub(crate) fn human(&self, text: impl Display) {
        if self.quiet {
            return;
        }
        let _ = writeln!(io::stderr().lock(), "{text}");
    }

    /// Shows `question` on stderr (even with `-q`) and reads one line of stdin.
    pub(crate) fn prompt(&self, question: impl Display) -> io::Result<String> {
        {
            let mut err = io::stderr().lock();
            write!(err, "{question}")?;
            err.flush()?;
        }
        let mut answer = String::new();
        io::stdin().lock().read_line(&mut answer)?;
        Ok(answer)
    }

    /// `error: ` and the cause chain on stderr, even with `-q`.
    pub(crate) fn error(&self, error: &anyhow::Error) {
        let _ = writeln!(io::stderr().lock(), "error: {error:#}");
    }
}
