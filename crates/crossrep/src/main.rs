//! The `crossrep` binary: CLI parsing, one module per command, exit codes (SPEC §3).

mod commands;
mod context;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Declarative cross-account S3 replication: plan, apply, and prove it works.
#[derive(Parser)]
#[command(
    name = "crossrep",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success (no changes), 1 error, 2 `plan --detailed-exitcode` found changes, 3 `verify` found a problem."
)]
struct Cli {
    /// The configuration file.
    #[arg(
        short,
        long,
        global = true,
        default_value = "crossrep.toml",
        env = "CROSSREP_CONFIG"
    )]
    config: PathBuf,
    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors on stderr; no progress bars.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// No progress bars (they are hidden anyway when stderr is not a terminal).
    #[arg(long, global = true)]
    no_progress: bool,
    /// Buckets worked on at once (default: `settings.concurrency`, else 16).
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: Option<u16>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Write a commented example crossrep.toml (with real account ids, given profiles).
    Init {
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
        /// A profile of the source account: its name and account id go in the file.
        #[arg(long, value_name = "PROFILE")]
        source_profile: Option<String>,
        /// A profile of the destination account.
        #[arg(long, value_name = "PROFILE")]
        destination_profile: Option<String>,
    },
    /// Discover the accounts and show what apply would change; writes nothing to AWS.
    Plan {
        /// Also save the plan, for `crossrep apply <file>`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Output format: text for people, json for programs.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        /// Exit 2 when the plan has changes (0 when none, 1 on error).
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Apply a saved plan, or plan and ask before applying.
    Apply {
        /// A plan saved with `crossrep plan --out`; refused if the accounts changed since.
        plan: Option<PathBuf>,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(short, long)]
        yes: bool,
    },
    /// Start S3 Batch Replication jobs for the objects that existed before replication.
    Backfill {
        /// Only the versions whose replication failed (the re-drive after fixing a cause).
        #[arg(long)]
        only_failed: bool,
        /// Follow the jobs until they end, then show the status.
        #[arg(long)]
        wait: bool,
        /// Create the jobs suspended, to be confirmed in S3 Batch Operations.
        #[arg(long)]
        review: bool,
    },
    /// Per bucket pair: replication rule, latest backfill job, failures by reason.
    Status {
        /// Output format: text for people, json for programs.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Prove that every pair replicates: drift, missing objects, replication status, a canary.
    /// Exit 3 when a pair is unhealthy.
    Verify {
        /// Also write a small object under `.crossrep-canary/` and wait for its replica
        /// (both are deleted afterwards).
        #[arg(long)]
        canary: bool,
        /// How long to wait for the canary's replica, in seconds.
        #[arg(long, default_value_t = 120, value_name = "SECONDS")]
        canary_timeout: u64,
        /// How many source versions to check the replication status of (`all` for every one).
        #[arg(long, default_value = "100", value_parser = parse_sample)]
        sample: Sample,
        /// How many examples of each problem to show.
        #[arg(long, default_value_t = 5)]
        examples: usize,
        /// Output format: text for people, json for programs.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Remove crossrep's rules, policy statements and role; never a bucket or an object.
    Destroy {
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(short, long)]
        yes: bool,
    },
}

/// `--sample N` or `--sample all` (`None`).
#[derive(Clone, Copy, Debug)]
pub struct Sample(Option<usize>);

fn parse_sample(s: &str) -> Result<Sample, String> {
    if s == "all" {
        return Ok(Sample(None));
    }
    s.parse::<usize>()
        .map(|n| Sample(Some(n)))
        .map_err(|_| format!("`{s}` is not a number or `all`"))
}

pub struct Global {
    pub config: PathBuf,
    pub concurrency: Option<usize>,
    pub progress: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match (cli.quiet, cli.verbose) {
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
        .without_time()
        .init();
    let global = Global {
        config: cli.config,
        concurrency: cli.concurrency.map(usize::from),
        progress: !cli.quiet && !cli.no_progress,
    };
    let result = match cli.command {
        Command::Init {
            force,
            source_profile,
            destination_profile,
        } => run_async(commands::init::run(
            &global,
            force,
            source_profile,
            destination_profile,
        )),
        Command::Plan {
            out,
            format,
            detailed_exitcode,
        } => run_async(commands::plan::run(&global, out, format, detailed_exitcode)),
        Command::Apply { plan, yes } => run_async(commands::apply::run(&global, plan, yes)),
        Command::Backfill {
            only_failed,
            wait,
            review,
        } => run_async(commands::backfill::run(&global, only_failed, wait, review)),
        Command::Status { format } => run_async(commands::status::run(&global, format)),
        Command::Destroy { yes } => run_async(commands::destroy::run(&global, yes)),
        Command::Verify {
            canary,
            canary_timeout,
            sample,
            examples,
            format,
        } => run_async(commands::verify::run(
            &global,
            commands::verify::Options {
                canary,
                canary_timeout: std::time::Duration::from_secs(canary_timeout),
                sample: sample.0,
                examples,
                format,
            },
        )),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run_async(fut: impl std::future::Future<Output = anyhow::Result<u8>>) -> anyhow::Result<u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(fut)
}
