//! The command line, defined once: parsing, `--help`, shell completions and the man page all
//! come from these types. Each command gets its own `Args` struct, passed whole to it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use crossrep_core::verify::Settle;

/// Declarative cross-account S3 replication: plan, apply, and prove it works.
#[derive(Parser)]
#[command(
    name = "crossrep",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success (no changes), 1 error (bad config or usage, AWS failure, a failed change), 2 `plan --detailed-exitcode` found changes, 3 `verify` found a problem.\n\nstdout carries only data (plans, JSON, the apply summary); messages, prompts, logs and progress go to stderr."
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command takes.
#[derive(Args)]
pub(crate) struct GlobalArgs {
    /// The configuration file.
    #[arg(
        short,
        long,
        global = true,
        default_value = "crossrep.toml",
        env = "CROSSREP_CONFIG"
    )]
    pub(crate) config: PathBuf,
    /// Log on stderr: -v each AWS call (operation, account, region, target, outcome,
    /// duration), -vv debug, -vvv trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Nothing on stderr but errors: no messages, hints or progress bars. Data on stdout is
    /// unchanged.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// No progress bars (they are hidden anyway when stderr is not a terminal).
    #[arg(long, global = true)]
    pub(crate) no_progress: bool,
    /// Show every change of a large plan (above 50 changes, plain creations and routine
    /// updates — versioning turned on, crossrep's notification entry added — are counted by
    /// account and kind; other updates, deletions, conflicts and warnings are always shown).
    #[arg(long, global = true)]
    pub(crate) full: bool,
    /// Buckets worked on at once (default: `settings.concurrency`, else 16).
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) concurrency: Option<u16>,
}

#[derive(Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub(crate) enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Write a commented example crossrep.toml (with real account ids, given profiles).
    Init(InitArgs),
    /// Discover the accounts and show what apply would change, after a preflight (opt-in
    /// regions, bucket and role quotas); writes nothing to AWS.
    Plan(PlanArgs),
    /// Apply a saved plan, or plan and ask before applying; a plan with a preflight error is
    /// refused before any write.
    Apply(ApplyArgs),
    /// Start S3 Batch Replication jobs for the objects that existed before replication.
    Backfill(BackfillArgs),
    /// Per bucket pair: replication rule, latest backfill job, failures by reason (from
    /// completion reports and S3's failure events; selected buckets in conflict included).
    Status(StatusArgs),
    /// Prove that every pair replicates: drift, missing objects, replication status (FAILED
    /// versions with their reason), a canary. Exit 3 when a pair is unhealthy or could not be
    /// verified.
    Verify(VerifyArgs),
    /// Remove crossrep's rules, policy statements and role; never a bucket or an object.
    Destroy(DestroyArgs),
    /// Print a shell completion script, e.g. `crossrep completions bash > /etc/bash_completion.d/crossrep`.
    Completions(CompletionsArgs),
    /// Print the man page (roff), e.g. `crossrep man | man -l -`.
    Man(ManArgs),
}

#[derive(Args)]
pub(crate) struct InitArgs {
    /// Overwrite an existing file.
    #[arg(long)]
    pub(crate) force: bool,
    /// A profile of the source account: its name and account id go in the file.
    #[arg(long, value_name = "PROFILE")]
    pub(crate) source_profile: Option<String>,
    /// A profile of the destination account.
    #[arg(long, value_name = "PROFILE")]
    pub(crate) destination_profile: Option<String>,
}

#[derive(Args)]
pub(crate) struct PlanArgs {
    /// Also save the plan, for `crossrep apply <file>`.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Output format: text for people, json for programs.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: Format,
    /// Exit 2 when the plan has changes (0 when none, 1 on error).
    #[arg(long)]
    pub(crate) detailed_exitcode: bool,
}

#[derive(Args)]
pub(crate) struct ApplyArgs {
    /// A plan saved with `crossrep plan --out`; refused if the accounts changed since.
    pub(crate) plan: Option<PathBuf>,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(short, long)]
    pub(crate) yes: bool,
    /// Output format: text for people, json (the plan, what happened to each change, the
    /// counts) for programs.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: Format,
}

#[derive(Args)]
pub(crate) struct BackfillArgs {
    /// Only the versions whose replication failed (the re-drive after fixing a cause); a
    /// bucket that never had a full backfill gets one instead.
    #[arg(long)]
    pub(crate) only_failed: bool,
    /// Follow the jobs until they end, then show the status.
    #[arg(long)]
    pub(crate) wait: bool,
    /// Create the jobs suspended, to be confirmed in S3 Batch Operations.
    #[arg(long)]
    pub(crate) review: bool,
    /// Output format: text for people, json (each bucket's decision and job, and with
    /// `--wait` the finished jobs and the status) for programs.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: Format,
}

#[derive(Args)]
pub(crate) struct StatusArgs {
    /// Output format: text for people, json for programs.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: Format,
}

#[derive(Args)]
#[command(
    after_help = "Each check reads `ok`, `FAIL` or `SKIP` (could not be made: no evidence either way). A pair is healthy only when every check is ok; a pair with a SKIP and no FAIL is NOT VERIFIED. Exit 3 when a pair is unhealthy or not verified, or a selected bucket is in conflict."
)]
pub(crate) struct VerifyArgs {
    /// Also write a small object under `.crossrep-canary/` and wait for its replica
    /// (both are deleted afterwards).
    #[arg(long)]
    pub(crate) canary: bool,
    /// How long to wait for the canary's replica, in seconds.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub(crate) canary_timeout: u64,
    /// How many source versions to check the replication status of (at least 1, or `all` for
    /// every one): a reservoir sample of the listing. For a rule with tags, each sampled version's tags are
    /// read and only the versions carrying the rule's tags are judged (the others are counted
    /// as not selected by the rule).
    #[arg(long, default_value = "100", value_parser = parse_sample, value_name = "N|all")]
    pub(crate) sample: Sample,
    /// How long replication may take (`15m`, `90s`, `2h`, `0`). A source version younger than
    /// this that is PENDING or missing in the destination is pending and does not fail; older,
    /// it fails. FAILED versions, current COMPLETED versions missing in the destination and,
    /// with `backfill = "batch"`, versions without a replication status (S3 never replicates
    /// them by itself) fail at any age. `0` counts every missing version.
    #[arg(long, default_value = "15m", value_parser = parse_settle, value_name = "DURATION")]
    pub(crate) settle: Settle,
    /// How many examples of each problem to show.
    #[arg(long, default_value_t = 5)]
    pub(crate) examples: usize,
    /// Output format: text for people, json for programs.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: Format,
}

#[derive(Args)]
pub(crate) struct DestroyArgs {
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(short, long)]
    pub(crate) yes: bool,
    /// Output format: text for people, json (the plan, what happened to each change, the
    /// counts) for programs.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: Format,
}

#[derive(Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Args)]
pub(crate) struct ManArgs {
    /// The page of one command (e.g. `plan`) instead of crossrep's own.
    #[arg(value_name = "COMMAND")]
    pub(crate) command: Option<String>,
}

/// `--sample N` (at least 1) or `--sample all` (`None`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample(pub(crate) Option<usize>);

fn parse_sample(s: &str) -> Result<Sample, String> {
    if s == "all" {
        return Ok(Sample(None));
    }
    match s.parse::<usize>() {
        // An empty sample would judge no replication status at all and call that healthy.
        Ok(0) => {
            Err("a sample of 0 versions checks nothing: use a positive number or `all`".into())
        }
        Ok(n) => Ok(Sample(Some(n))),
        Err(_) => Err(format!("`{s}` is not a positive number or `all`")),
    }
}

fn parse_settle(s: &str) -> Result<Settle, String> {
    Settle::parse(s)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn verify_refuses_an_empty_sample_and_takes_settle_durations() {
        use clap::Parser;
        let parse = |args: &[&str]| Cli::try_parse_from([&["crossrep", "verify"], args].concat());
        let e = parse(&["--sample", "0"])
            .err()
            .expect("--sample 0 is refused");
        assert!(
            e.to_string().contains("use a positive number or `all`"),
            "{e}"
        );
        assert!(parse(&["--sample", "all"]).is_ok());
        assert!(parse(&["--sample", "1"]).is_ok());
        for (arg, secs) in [("15m", 900), ("90s", 90), ("0", 0), ("2h", 7200)] {
            let Ok(Cli {
                command: super::Command::Verify(v),
                ..
            }) = parse(&["--settle", arg])
            else {
                panic!("--settle {arg}")
            };
            assert_eq!(v.settle.secs, secs, "{arg}");
        }
        let Ok(Cli {
            command: super::Command::Verify(v),
            ..
        }) = parse(&[])
        else {
            panic!("verify")
        };
        assert_eq!(v.settle.secs, 900);
        let e = parse(&["--settle", "15"]).err().expect("a unit is needed");
        assert!(e.to_string().contains("is not a duration"), "{e}");
    }
}
