//! Backfill decisions (SPEC §3 `backfill`): which S3 Batch Replication job each replicated
//! source bucket gets, pure. `crossrep-aws` lists the jobs that exist and creates the ones
//! decided here; nothing is decided at execution.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Backfill;
use crate::desired::{BucketRef, Conflict, DesiredState, Pair};
use crate::kinds::bucket::Bucket;
use crate::kinds::replication::Replication;
use crate::kinds::BucketAddr;
use crate::model::{ActualState, MANAGED_TAG};
use crate::names::{AccountId, BucketName, Region};
use crate::plan::rule_id;
use crate::report::FailureSummary;

/// Job tag naming the source bucket of a backfill job.
pub const TAG_SOURCE: &str = "crossrep-source";
/// Job tag naming the object filter of a backfill job (`all` or `failed`).
pub const TAG_FILTER: &str = "crossrep-filter";
/// Descriptions of crossrep's jobs start with this, so listing can skip other jobs cheaply.
pub const DESCRIPTION_PREFIX: &str = "crossrep backfill";
/// Where reports and generated manifests go in a report bucket.
pub const REPORT_PREFIX: &str = "crossrep";

/// Which source versions a job replicates (`ObjectReplicationStatuses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobFilter {
    /// Never replicated, or failed: what a first backfill needs.
    All,
    /// Only the versions whose replication failed: the re-drive after fixing a permission.
    OnlyFailed,
}

impl JobFilter {
    pub fn tag(self) -> &'static str {
        match self {
            JobFilter::All => "all",
            JobFilter::OnlyFailed => "failed",
        }
    }

    pub fn from_tag(s: &str) -> Option<JobFilter> {
        match s {
            "all" => Some(JobFilter::All),
            "failed" => Some(JobFilter::OnlyFailed),
            _ => None,
        }
    }

    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            JobFilter::All => &["NONE", "FAILED"],
            JobFilter::OnlyFailed => &["FAILED"],
        }
    }
}

/// Everything `CreateJob` needs, decided in advance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobSpec {
    pub account: AccountId,
    /// The source bucket's region: jobs must be created there (`SrcBucketInvalidRegion`).
    pub region: Region,
    pub source: BucketName,
    pub source_arn: String,
    pub destinations: Vec<BucketName>,
    pub role_arn: String,
    pub report_bucket_arn: String,
    pub report_prefix: String,
    pub manifest_prefix: String,
    pub filter: JobFilter,
    pub confirmation_required: bool,
    /// Idempotency: the same decision made twice (a retry, a concurrent run) gives one job.
    pub client_request_token: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub priority: i32,
}

/// A job as S3 Batch Operations describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JobInfo {
    pub id: String,
    pub account: String,
    pub region: String,
    pub status: String,
    pub description: String,
    /// From the job's tags; `None` for jobs crossrep did not create.
    pub source: Option<String>,
    pub filter: Option<JobFilter>,
    pub created: Option<String>,
    pub finished: Option<String>,
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub failure_reasons: Vec<String>,
    /// Where the completion report goes: (bucket ARN, prefix).
    pub report: Option<(String, String)>,
}

impl JobInfo {
    pub fn is_terminal(&self) -> bool {
        is_terminal(&self.status)
    }
}

pub fn is_terminal(status: &str) -> bool {
    matches!(status, "Complete" | "Failed" | "Cancelled")
}

/// What `backfill` does for one source bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Create {
        spec: JobSpec,
        /// `--only-failed` was asked for a bucket that never had a full job (one that covers
        /// every eligible version): re-driving FAILED versions would leave the never-replicated
        /// ones behind, so this is a full job instead.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        instead_of_only_failed: bool,
    },
    /// A job for the same bucket and filter is still running: no duplicate.
    AlreadyRunning {
        job: JobInfo,
    },
    /// A full job of this bucket completed, and its latest job (that one, or a re-drive
    /// after it) completed without a failure: nothing is left to copy.
    Done {
        job: JobInfo,
    },
    Skip {
        reason: String,
    },
}

/// Source buckets with `backfill = "batch"` pairs, each with its pairs, sorted.
pub fn batch_sources(desired: &DesiredState) -> BTreeMap<&BucketRef, Vec<&Pair>> {
    let mut out: BTreeMap<&BucketRef, Vec<&Pair>> = BTreeMap::new();
    for p in desired
        .pairs
        .iter()
        .filter(|p| p.backfill == Backfill::Batch)
    {
        out.entry(&p.source).or_default().push(p);
    }
    out
}

/// The accounts and regions whose jobs `backfill` and `status` need: those of the sources with
/// `backfill = "batch"` pairs. Empty when every pair says `backfill = "none"`: then no S3
/// Control call is made at all (SPEC §3).
pub fn batch_places(desired: &DesiredState) -> BTreeSet<(AccountId, Region)> {
    batch_sources(desired)
        .keys()
        .map(|s| (s.account.clone(), s.region.clone()))
        .collect()
}

/// Whether the source's configuration has crossrep's enabled rule for every one of `pairs`.
pub fn missing_rules(actual: &ActualState, source: &BucketRef, pairs: &[&Pair]) -> Vec<String> {
    let rules = actual
        .present::<Replication>(&BucketAddr::new(&source.account, &source.bucket))
        .map(|c| c.configuration.rules.as_slice())
        .unwrap_or(&[]);
    pairs
        .iter()
        .map(|p| rule_id(&p.destination.bucket))
        .filter(|id| {
            !rules
                .iter()
                .any(|r| r.enabled && r.id.as_deref() == Some(id.as_str()))
        })
        .collect()
}

/// Decides, for every replicated source bucket, whether to create a job. `jobs` are the jobs
/// crossrep created before (any status), as listed in each source account and region;
/// `unlisted` the accounts and regions whose jobs could not be listed, with why (their buckets
/// are skipped: without the list, crossrep cannot tell a running job from none).
pub fn decide(
    desired: &DesiredState,
    actual: &ActualState,
    jobs: &[JobInfo],
    unlisted: &BTreeMap<(AccountId, Region), String>,
    filter: JobFilter,
    review: bool,
) -> Vec<(BucketRef, Decision)> {
    let mut out = Vec::new();
    for (source, pairs) in batch_sources(desired) {
        let missing = missing_rules(actual, source, &pairs);
        let report = desired
            .report_buckets
            .iter()
            .find(|r| r.account == source.account && r.region == source.region);
        let report = report.filter(|r| {
            actual
                .present::<Bucket>(&BucketAddr::new(&r.account, &r.bucket))
                .is_some()
        });
        let decision = if !missing.is_empty() {
            Decision::Skip {
                reason: format!(
                    "replication rule {} missing or disabled; run `crossrep apply` first (if `crossrep plan` shows a conflict for this bucket, apply leaves it alone: fix the conflict)",
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        } else if let Some(e) = unlisted.get(&(source.account.clone(), source.region.clone())) {
            Decision::Skip {
                reason: format!("its backfill jobs could not be listed: {e}"),
            }
        } else if let Some(r) = report {
            decide_bucket(desired, actual, source, &pairs, r, jobs, filter, review)
        } else {
            let name = desired
                .report_buckets
                .iter()
                .find(|r| r.account == source.account && r.region == source.region);
            let reason = match name {
                // `apply` cannot create a name someone else holds (bucket names are global).
                Some(r) if actual.taken_names.contains(&r.bucket) => format!(
                    "report bucket name `{}` belongs to another AWS account; change `settings.report_bucket`, then run `crossrep apply`",
                    r.bucket
                ),
                _ => format!(
                    "report bucket `{}` does not exist; run `crossrep apply` first",
                    name.map(|r| r.bucket.as_str()).unwrap_or("?")
                ),
            };
            Decision::Skip { reason }
        };
        out.push((source.clone(), decision));
    }
    out
}

/// The decision for a source bucket that has its rules and its report bucket.
#[allow(clippy::too_many_arguments)]
fn decide_bucket(
    desired: &DesiredState,
    actual: &ActualState,
    source: &BucketRef,
    pairs: &[&Pair],
    report: &BucketRef,
    jobs: &[JobInfo],
    asked: JobFilter,
    review: bool,
) -> Decision {
    let mine: Vec<&JobInfo> = jobs_of(jobs, source).collect();
    // A re-drive covers only FAILED versions: before any full job, the versions that were
    // never replicated (NONE) are not FAILED, and a re-drive would find nothing. Jobs vanish
    // 90 days after they end, so "no full job" also covers one that S3 has forgotten: a full
    // job then copies every version the re-drive would have, and the NONE versions too.
    let instead_of_only_failed =
        asked == JobFilter::OnlyFailed && !mine.iter().any(|j| j.filter == Some(JobFilter::All));
    let filter = if instead_of_only_failed {
        JobFilter::All
    } else {
        asked
    };
    let same: Vec<&JobInfo> = mine
        .iter()
        .copied()
        .filter(|j| j.filter == Some(filter))
        .collect();
    if let Some(running) = same.iter().find(|j| !j.is_terminal()) {
        return Decision::AlreadyRunning {
            job: (*running).clone(),
        };
    }
    // A re-drive (`--only-failed`) is always honoured: live replication may have failed
    // since, and only S3 knows.
    if filter == JobFilter::All {
        if let Some(done) = nothing_left(&mine) {
            return Decision::Done { job: done.clone() };
        }
    }
    let previous = latest(same.iter().copied()).map(|j| j.id.as_str());
    Decision::Create {
        spec: spec(
            desired, actual, source, pairs, report, filter, review, previous,
        ),
        instead_of_only_failed,
    }
}

/// The job showing that a source has nothing left to copy, among its jobs (`mine`): the latest
/// full job completed (it covered every eligible version, FAILED and never replicated), and
/// the latest job of any filter (that one, or a re-drive after it) completed without a
/// failure. A re-drive alone proves nothing: it covers only the FAILED versions.
fn nothing_left<'j>(mine: &[&'j JobInfo]) -> Option<&'j JobInfo> {
    let full = latest(
        mine.iter()
            .copied()
            .filter(|j| j.filter == Some(JobFilter::All)),
    )?;
    let last = latest(mine.iter().copied())?;
    (full.status == "Complete" && last.status == "Complete" && last.failed == 0).then_some(last)
}

/// crossrep's jobs (any filter) of one source bucket.
fn jobs_of<'j: 's, 's>(
    jobs: &'j [JobInfo],
    source: &'s BucketRef,
) -> impl Iterator<Item = &'j JobInfo> + 's {
    jobs.iter().filter(|j| {
        j.account == source.account.as_str()
            && j.region == source.region.as_str()
            && j.source.as_deref() == Some(source.bucket.as_str())
    })
}

/// The latest of `jobs` by creation time (the id breaks ties, so the choice is deterministic).
fn latest<'j>(jobs: impl Iterator<Item = &'j JobInfo>) -> Option<&'j JobInfo> {
    jobs.max_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)))
}

/// The idempotency token of the next job of a source bucket and filter: a hash of (account,
/// region, bucket, filter, the id of the latest earlier job of that bucket and filter, or
/// `none`). A retry or a concurrent run of the same decision sees the same jobs and sends the
/// same token, so S3 gives the same job back; the next job after that one names it, so a token
/// cannot repeat, even when S3 has forgotten older jobs (90 days after they end), which a count
/// of earlier jobs could not promise.
pub fn client_request_token(
    source: &BucketRef,
    filter: JobFilter,
    previous: Option<&str>,
) -> String {
    let input = format!(
        "{}/{}/{}/{}/{}",
        source.account,
        source.region,
        source.bucket,
        filter.tag(),
        previous.unwrap_or("none")
    );
    Sha256::digest(input.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn spec(
    desired: &DesiredState,
    actual: &ActualState,
    source: &BucketRef,
    pairs: &[&Pair],
    report: &BucketRef,
    filter: JobFilter,
    review: bool,
    previous: Option<&str>,
) -> JobSpec {
    let destinations: Vec<BucketName> =
        pairs.iter().map(|p| p.destination.bucket.clone()).collect();
    let token = client_request_token(source, filter, previous);
    let dests: Vec<&str> = destinations.iter().map(BucketName::as_str).collect();
    let mut description = format!(
        "{DESCRIPTION_PREFIX} {} -> {} ({})",
        source.bucket,
        dests.join(", "),
        filter.tag()
    );
    // S3 allows 256 characters.
    if description.len() > 256 {
        description.truncate(253);
        description.push_str("...");
    }
    JobSpec {
        account: source.account.clone(),
        region: source.region.clone(),
        source: source.bucket.clone(),
        source_arn: source.arn(),
        destinations,
        // The role as IAM names it (path included): a Batch Operations job must name it so.
        role_arn: crate::kinds::role::resolved(&desired.roles[&source.account], actual).arn(),
        report_bucket_arn: report.arn(),
        report_prefix: format!("{REPORT_PREFIX}/{}", source.bucket),
        manifest_prefix: format!("{REPORT_PREFIX}/{}/manifests", source.bucket),
        filter,
        confirmation_required: review,
        client_request_token: token,
        description,
        tags: BTreeMap::from([
            (MANAGED_TAG.0.to_string(), MANAGED_TAG.1.to_string()),
            (TAG_SOURCE.to_string(), source.bucket.to_string()),
            (TAG_FILTER.to_string(), filter.tag().to_string()),
        ]),
        priority: 10,
    }
}

/// The state of one pair for `crossrep status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairStatus {
    pub source: BucketRef,
    pub destination: BucketRef,
    /// `enabled`, `disabled` or `missing`; `conflict` when the plan leaves the pair alone.
    pub rule: &'static str,
    /// Why the plan leaves the pair alone (with `rule = "conflict"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Conflict>,
    pub backfill: Backfill,
    /// The latest backfill job of the source bucket.
    pub job: Option<JobInfo>,
    /// Failures of that job, from its completion report.
    pub failures: Option<FailureSummary>,
    /// Why the report could not be read, when it could not.
    pub report_error: Option<String>,
    /// Why the source's jobs could not be listed or described (S3 Control unreachable or
    /// denied): the backfill state is unknown, not "no job".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_error: Option<String>,
    /// Live replication failures S3 reported in failure events (SPEC §10) that no clean
    /// backfill has re-driven since: (failure code, versions), by code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub live_failures: Vec<(String, u64)>,
}

/// A selected source bucket that forms no pair at all (no valid destination name, a
/// destination shared with another source: `DesiredState::conflicts`), for `crossrep status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnpairedStatus {
    pub source: UnpairedSource,
    /// Always `conflict`: the same field as [`PairStatus::rule`], for programs that read both.
    pub rule: &'static str,
    pub conflict: Conflict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnpairedSource {
    pub account: AccountId,
    pub bucket: BucketName,
}

/// One row of `crossrep status`: a pair, or a selected bucket that forms none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum StatusRow {
    Pair(Box<PairStatus>),
    Unpaired(UnpairedStatus),
}

/// The status rows: every pair (in order), then every selected bucket that forms no pair.
pub fn status_rows(pairs: Vec<PairStatus>, desired: &DesiredState) -> Vec<StatusRow> {
    pairs
        .into_iter()
        .map(|p| StatusRow::Pair(Box::new(p)))
        .chain(desired.conflicts.iter().map(|c| {
            StatusRow::Unpaired(UnpairedStatus {
                source: UnpairedSource {
                    account: c.account.clone(),
                    bucket: c.bucket.clone(),
                },
                rule: "conflict",
                conflict: c.clone(),
            })
        }))
        .collect()
}

/// The conflict (among a plan's) that leaves `pair` alone: one about its source bucket, or
/// about this pair of it.
pub fn conflict_of<'c>(conflicts: &'c [Conflict], pair: &Pair) -> Option<&'c Conflict> {
    conflicts.iter().find(|c| {
        c.account == pair.source.account
            && c.bucket == pair.source.bucket
            && c.destination
                .as_ref()
                .is_none_or(|d| *d == pair.destination.bucket)
    })
}

/// The rule state of one pair: `enabled`, `disabled` or `missing`.
pub fn rule_state(actual: &ActualState, pair: &Pair) -> &'static str {
    match crate::kinds::replication::current_rule(actual, pair) {
        Some(r) if r.enabled => "enabled",
        Some(_) => "disabled",
        None => "missing",
    }
}

/// The latest crossrep job (by creation time) for a source bucket, of any filter.
pub fn latest_job<'j>(jobs: &'j [JobInfo], source: &BucketRef) -> Option<&'j JobInfo> {
    latest(jobs_of(jobs, source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::desired::desired;
    use crate::model::{Listing, ReplicationConfiguration};
    use crate::plan::{apply_in_memory, plan};
    use std::path::Path;

    const CONFIG: &str = r#"
[accounts.prod]
id = "111111111111"
region = "us-east-1"
[accounts.backup]
id = "222222222222"
region = "us-west-2"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
"#;

    /// A desired state of `data` (us-east-1) and `logs` (eu-west-1), applied in memory.
    fn applied() -> (DesiredState, ActualState) {
        let config = Config::parse(CONFIG, Path::new("t.toml")).unwrap();
        let listing: Listing = BTreeMap::from([(
            AccountId::new("111111111111").unwrap(),
            BTreeMap::from([
                (
                    BucketName::new("data").unwrap(),
                    Region::new("us-east-1").unwrap(),
                ),
                (
                    BucketName::new("logs").unwrap(),
                    Region::new("eu-west-1").unwrap(),
                ),
            ]),
        )]);
        let d = desired(&config, &listing);
        let mut a = ActualState::default();
        for p in &d.pairs {
            a.insert_plain_bucket(
                &BucketAddr::new(&p.source.account, &p.source.bucket),
                &p.source.region,
            );
        }
        for r in d.roles.values() {
            a.set::<crate::kinds::role::Role>(
                crate::kinds::role::RoleAddr {
                    account: r.account.clone(),
                    name: r.name.clone(),
                },
                crate::observed::Observed::Absent,
            );
        }
        let done = apply_in_memory(&a, &plan(&d, &a));
        (d, done)
    }

    fn none() -> BTreeMap<(AccountId, Region), String> {
        BTreeMap::new()
    }

    fn job(
        source: &str,
        region: &str,
        status: &str,
        filter: JobFilter,
        failed: u64,
        created: &str,
    ) -> JobInfo {
        JobInfo {
            id: format!("job-{source}-{created}"),
            account: "111111111111".into(),
            region: region.into(),
            status: status.into(),
            source: Some(source.into()),
            filter: Some(filter),
            created: Some(created.into()),
            failed,
            ..JobInfo::default()
        }
    }

    #[test]
    fn one_job_per_source_in_its_own_region_with_everything_it_needs() {
        let (d, a) = applied();
        let decisions = decide(&d, &a, &[], &none(), JobFilter::All, false);
        assert_eq!(decisions.len(), 2);
        let Decision::Create { spec, .. } = &decisions[1].1 else {
            panic!("{decisions:#?}")
        };
        assert_eq!(spec.source.as_str(), "logs");
        assert_eq!(spec.region.as_str(), "eu-west-1");
        assert_eq!(
            spec.report_bucket_arn,
            "arn:aws:s3:::crossrep-reports-111111111111-eu-west-1"
        );
        assert_eq!(
            spec.role_arn,
            "arn:aws:iam::111111111111:role/crossrep-replication"
        );
        assert_eq!(spec.filter.statuses(), ["NONE", "FAILED"]);
        assert_eq!(
            spec.description,
            "crossrep backfill logs -> replicated-logs (all)"
        );
        assert_eq!(spec.tags[TAG_SOURCE], "logs");
        assert_eq!(spec.tags[TAG_FILTER], "all");
        assert_eq!(spec.client_request_token.len(), 64);
        assert!(!spec.confirmation_required);
        // Deterministic: a retry of the same decision reuses the token.
        assert_eq!(
            decide(&d, &a, &[], &none(), JobFilter::All, false),
            decisions
        );
    }

    #[test]
    fn running_jobs_are_not_duplicated_and_finished_ones_are_not_redone() {
        let (d, a) = applied();
        let jobs = [
            job(
                "data",
                "us-east-1",
                "Active",
                JobFilter::All,
                0,
                "2026-01-01T00:00:00Z",
            ),
            job(
                "logs",
                "eu-west-1",
                "Complete",
                JobFilter::All,
                0,
                "2026-01-01T00:00:00Z",
            ),
        ];
        let decisions = decide(&d, &a, &jobs, &none(), JobFilter::All, false);
        assert!(
            matches!(&decisions[0].1, Decision::AlreadyRunning { job } if job.status == "Active")
        );
        assert!(matches!(&decisions[1].1, Decision::Done { .. }));
    }

    #[test]
    fn failures_are_redriven_with_a_new_token() {
        let (d, a) = applied();
        let jobs = [job(
            "data",
            "us-east-1",
            "Complete",
            JobFilter::All,
            3,
            "2026-01-01T00:00:00Z",
        )];
        let decisions = decide(&d, &a, &jobs, &none(), JobFilter::OnlyFailed, true);
        let Decision::Create {
            spec,
            instead_of_only_failed: false,
        } = &decisions[0].1
        else {
            panic!("{decisions:#?}")
        };
        assert_eq!(spec.filter.statuses(), ["FAILED"]);
        assert!(spec.confirmation_required);
        assert_eq!(
            spec.description,
            "crossrep backfill data -> replicated-data (failed)"
        );
        // An earlier job of the same filter makes the next one a new job, not the old one.
        let jobs2 = [
            jobs[0].clone(),
            job(
                "data",
                "us-east-1",
                "Complete",
                JobFilter::OnlyFailed,
                1,
                "2026-01-02T00:00:00Z",
            ),
        ];
        let Decision::Create { spec: next, .. } =
            &decide(&d, &a, &jobs2, &none(), JobFilter::OnlyFailed, false)[0].1
        else {
            panic!()
        };
        assert_ne!(next.client_request_token, spec.client_request_token);
    }

    /// Issue 9 item 4: `--only-failed` before any full backfill made a job of the FAILED
    /// versions (none), which completed without a failure; plain `backfill` then said "nothing
    /// to do" forever and the existing objects were never copied.
    #[test]
    fn a_redrive_without_a_full_job_never_makes_backfill_done() {
        let (d, a) = applied();
        let redrive = job(
            "data",
            "us-east-1",
            "Complete",
            JobFilter::OnlyFailed,
            0,
            "2026-01-01T00:00:00Z",
        );
        let decisions = decide(
            &d,
            &a,
            std::slice::from_ref(&redrive),
            &none(),
            JobFilter::All,
            false,
        );
        let Decision::Create {
            spec,
            instead_of_only_failed: false,
        } = &decisions[0].1
        else {
            panic!("{decisions:#?}")
        };
        assert_eq!(spec.filter, JobFilter::All);

        // A full job that completed is what counts; a clean re-drive after a full job with
        // failures completes it.
        let full = |failed, created: &str| {
            job(
                "data",
                "us-east-1",
                "Complete",
                JobFilter::All,
                failed,
                created,
            )
        };
        let clean = [full(0, "2026-01-02T00:00:00Z"), redrive.clone()];
        assert!(matches!(
            &decide(&d, &a, &clean, &none(), JobFilter::All, false)[0].1,
            Decision::Done { job } if job.filter == Some(JobFilter::All)
        ));
        let mut fixed = redrive.clone();
        fixed.created = Some("2026-01-03T00:00:00Z".into());
        fixed.id = "job-fixed".into();
        let redriven = [full(2, "2026-01-02T00:00:00Z"), fixed.clone()];
        assert!(matches!(
            &decide(&d, &a, &redriven, &none(), JobFilter::All, false)[0].1,
            Decision::Done { job } if job.id == "job-fixed"
        ));
        // A full job that failed as a whole (nothing copied) is not made good by a re-drive.
        let mut aborted = full(0, "2026-01-02T00:00:00Z");
        aborted.status = "Failed".into();
        assert!(matches!(
            &decide(&d, &a, &[aborted, fixed], &none(), JobFilter::All, false)[0].1,
            Decision::Create { spec, .. } if spec.filter == JobFilter::All
        ));
    }

    /// `--only-failed` for a bucket with no full job starts a full job instead, and says so.
    #[test]
    fn only_failed_without_a_full_job_starts_a_full_one() {
        let (d, a) = applied();
        let decisions = decide(&d, &a, &[], &none(), JobFilter::OnlyFailed, false);
        for (source, decision) in &decisions {
            let Decision::Create {
                spec,
                instead_of_only_failed: true,
            } = decision
            else {
                panic!("{source:?}: {decision:#?}")
            };
            assert_eq!(spec.filter, JobFilter::All);
            assert_eq!(spec.tags[TAG_FILTER], "all");
            assert!(spec.description.ends_with("(all)"), "{}", spec.description);
        }
        // The same token as a plain `backfill` would send: one job, whichever ran first.
        assert_eq!(
            decisions,
            decide(&d, &a, &[], &none(), JobFilter::All, false)
                .into_iter()
                .map(|(s, d)| match d {
                    Decision::Create { spec, .. } => (
                        s,
                        Decision::Create {
                            spec,
                            instead_of_only_failed: true
                        }
                    ),
                    other => (s, other),
                })
                .collect::<Vec<_>>()
        );
        // Once a full job exists (even one still running), the re-drive is what was asked.
        let running = job(
            "data",
            "us-east-1",
            "Active",
            JobFilter::All,
            0,
            "2026-01-01T00:00:00Z",
        );
        let redrive = decide(&d, &a, &[running], &none(), JobFilter::OnlyFailed, false);
        assert!(
            matches!(&redrive[0].1, Decision::Create { spec, instead_of_only_failed: false } if spec.filter == JobFilter::OnlyFailed),
            "{redrive:#?}"
        );
    }

    /// Issue 9 item 7: the token hashed the number of earlier jobs, which goes down when S3
    /// forgets jobs (90 days after they end) and so repeated an old token: S3 answered with
    /// the old, finished job and no new job ran.
    #[test]
    fn the_token_names_the_previous_job_so_it_cannot_repeat() {
        let (d, a) = applied();
        let token =
            |jobs: &[JobInfo]| match &decide(&d, &a, jobs, &none(), JobFilter::All, false)[0].1 {
                Decision::Create { spec, .. } => spec.client_request_token.clone(),
                other => panic!("{other:#?}"),
            };
        let failed = |id: &str, created: &str| JobInfo {
            id: id.into(),
            ..job("data", "us-east-1", "Complete", JobFilter::All, 1, created)
        };
        let first = failed("job-1", "2026-01-01T00:00:00Z");
        let second = failed("job-2", "2026-02-01T00:00:00Z");
        // The third job, decided while both earlier ones are listed, and again once S3 has
        // forgotten the first: one earlier job either time, but not the same one.
        let third = token(&[first.clone(), second.clone()]);
        assert_ne!(
            token(std::slice::from_ref(&second)),
            token(std::slice::from_ref(&first))
        );
        assert_eq!(third, token(&[second.clone(), first.clone()]), "order-free");
        assert_eq!(
            third,
            token(std::slice::from_ref(&second)),
            "the latest earlier job decides"
        );
        let source = &d.pairs[0].source;
        assert_eq!(
            third,
            client_request_token(source, JobFilter::All, Some("job-2"))
        );
        assert_eq!(
            token(&[]),
            format!(
                "{:x}",
                Sha256::digest(b"111111111111/us-east-1/data/all/none")
            )
        );
        // Jobs of the other filter do not count: they are another series.
        let redrive = JobInfo {
            id: "job-r".into(),
            ..job(
                "data",
                "us-east-1",
                "Complete",
                JobFilter::OnlyFailed,
                1,
                "2026-03-01T00:00:00Z",
            )
        };
        assert_eq!(third, token(&[first, second, redrive]));
    }

    /// A source whose account and region could not list its jobs is skipped with the reason;
    /// the others are decided.
    #[test]
    fn a_bucket_whose_jobs_could_not_be_listed_is_skipped() {
        let (d, a) = applied();
        let unlisted = BTreeMap::from([(
            (
                AccountId::new("111111111111").unwrap(),
                Region::new("eu-west-1").unwrap(),
            ),
            "`s3:ListJobs` on `eu-west-1` in account 111111111111 failed: AccessDenied".to_string(),
        )]);
        let decisions = decide(&d, &a, &[], &unlisted, JobFilter::All, false);
        assert!(matches!(&decisions[0].1, Decision::Create { .. }));
        assert!(
            matches!(&decisions[1].1, Decision::Skip { reason } if reason.contains("could not be listed: `s3:ListJobs`")),
            "{decisions:#?}"
        );
    }

    fn row(d: &DesiredState, a: &ActualState) -> PairStatus {
        let p = &d.pairs[0];
        PairStatus {
            source: p.source.clone(),
            destination: p.destination.clone(),
            rule: rule_state(a, p),
            conflict: None,
            backfill: p.backfill,
            job: None,
            failures: None,
            report_error: None,
            job_error: None,
            live_failures: Vec::new(),
        }
    }

    /// The format of existing cases is kept; conflicts and unavailable jobs are added to it,
    /// and "No bucket pairs" is said only when nothing at all is selected.
    #[test]
    fn status_shows_conflicts_and_unknown_jobs() {
        use crate::render::render_status;
        let (d, a) = applied();
        let plain = row(&d, &a);
        assert_eq!(
            render_status(&status_rows(vec![plain.clone()], &d)),
            "data (111111111111, us-east-1) -> replicated-data (222222222222, us-east-1)\n  rule      enabled\n  backfill  no job yet (run `crossrep backfill`)\n\n"
        );
        let conflict = Conflict {
            account: plain.source.account.clone(),
            bucket: plain.source.bucket.clone(),
            destination: None,
            message: "the source is unreadable".into(),
            hint: Some("grant `s3:GetReplicationConfiguration`".into()),
            code: "unreadable".into(),
        };
        let conflicted = PairStatus {
            rule: "conflict",
            conflict: Some(conflict.clone()),
            ..plain.clone()
        };
        assert_eq!(
            render_status(&status_rows(vec![conflicted], &d)),
            "data (111111111111, us-east-1) -> replicated-data (222222222222, us-east-1)\n  rule      conflict  (crossrep leaves this pair as it is)\n  conflict  the source is unreadable\n            hint: grant `s3:GetReplicationConfiguration`\n  backfill  no job\n\n"
        );
        let unknown = PairStatus {
            job_error: Some("`s3:ListJobs` … failed".into()),
            ..plain
        };
        assert!(render_status(&status_rows(vec![unknown], &d))
            .contains("\n  backfill  unknown: job information is unavailable\n"));

        // Every selected bucket forms no pair: each is shown with its conflict.
        let unpaired = DesiredState {
            conflicts: vec![Conflict {
                destination: Some(BucketName::new("shared").unwrap()),
                message: "destination `shared` is also the destination of `logs`".into(),
                hint: None,
                ..conflict
            }],
            ..DesiredState::default()
        };
        let rows = status_rows(vec![], &unpaired);
        assert_eq!(
            render_status(&rows),
            "data (111111111111) -> shared\n  rule      conflict  (no bucket pair: not replicated)\n  conflict  destination `shared` is also the destination of `logs`\n\n"
        );
        let json = serde_json::to_value(&rows).unwrap();
        assert_eq!(json[0]["source"]["bucket"], "data");
        assert_eq!(json[0]["rule"], "conflict");
        assert_eq!(json[0]["conflict"]["code"], "unreadable");
        assert_eq!(
            render_status(&status_rows(vec![], &DesiredState::default())),
            "No bucket pairs: no source bucket matches the configuration.\n"
        );
    }

    #[test]
    fn conflicts_are_matched_by_source_and_destination() {
        let (d, _) = applied();
        let pair = &d.pairs[0];
        let conflict = |bucket: &str, destination: Option<&str>| Conflict {
            account: pair.source.account.clone(),
            bucket: BucketName::new(bucket).unwrap(),
            destination: destination.map(|b| BucketName::new(b).unwrap()),
            message: "m".into(),
            hint: None,
            code: "c".into(),
        };
        assert!(conflict_of(&[conflict("data", None)], pair).is_some());
        assert!(conflict_of(&[conflict("data", Some("replicated-data"))], pair).is_some());
        assert!(conflict_of(&[conflict("data", Some("elsewhere"))], pair).is_none());
        assert!(conflict_of(&[conflict("logs", None)], pair).is_none());
    }

    #[test]
    fn a_bucket_without_its_rule_or_report_bucket_is_skipped() {
        let (d, mut a) = applied();
        let account = AccountId::new("111111111111").unwrap();
        a.set::<Replication>(
            BucketAddr::new(&account, &BucketName::new("data").unwrap()),
            crate::observed::Observed::Present(crate::kinds::replication::ReplicationSpec {
                configuration: ReplicationConfiguration {
                    role: "arn:aws:iam::111111111111:role/crossrep-replication".into(),
                    rules: vec![],
                },
            }),
        );
        a.bucket.remove(&BucketAddr::new(
            &account,
            &BucketName::new("crossrep-reports-111111111111-eu-west-1").unwrap(),
        ));
        let decisions = decide(&d, &a, &[], &none(), JobFilter::All, false);
        assert!(
            matches!(&decisions[0].1, Decision::Skip { reason } if reason.contains("`crossrep-replicated-data` missing")),
            "{decisions:#?}"
        );
        assert!(
            matches!(&decisions[1].1, Decision::Skip { reason } if reason.contains("report bucket `crossrep-reports-111111111111-eu-west-1` does not exist")),
            "{decisions:#?}"
        );
        // Issue 9: a report bucket name someone else owns was met with "run `crossrep apply`",
        // which cannot create it.
        a.taken_names
            .insert(BucketName::new("crossrep-reports-111111111111-eu-west-1").unwrap());
        let decisions = decide(&d, &a, &[], &none(), JobFilter::All, false);
        assert!(
            matches!(&decisions[1].1, Decision::Skip { reason } if reason.contains("belongs to another AWS account; change `settings.report_bucket`")),
            "{decisions:#?}"
        );
    }
}
