//! S3 Batch Replication jobs through S3 Control: list crossrep's jobs, create the ones
//! `crossrep_core::backfill::decide` asks for, describe them, and read the failed tasks of
//! completion reports (streamed); [`all_jobs`] lists them for every configured pair
//! (`verify`), [`list_batch_jobs`] where `backfill = "batch"` pairs are, keeping the places
//! S3 Control would not answer (`backfill`, `status`), and [`pair_statuses`] gives each pair's
//! row.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3control::types as sc;
use aws_smithy_types::date_time::Format;
use futures::{stream, StreamExt, TryStreamExt};

use crossrep_core::backfill::{
    batch_places, conflict_of, latest_job, rule_state, JobFilter, JobInfo, JobSpec, PairStatus,
    DESCRIPTION_PREFIX, TAG_FILTER, TAG_SOURCE,
};
use crossrep_core::config::Backfill;
use crossrep_core::desired::{Conflict, DesiredState};
use crossrep_core::model::ActualState;
use crossrep_core::names::{AccountId, Region};
use crossrep_core::report::{parse_manifest, read_results, FailureSummary, TaskResult};

use crate::error::{call_error, CallError};
use crate::session::{Session, Sessions};

/// One counter of a job's progress (0 when S3 does not say).
fn count(
    p: Option<&sc::JobProgressSummary>,
    field: fn(&sc::JobProgressSummary) -> Option<i64>,
) -> u64 {
    p.and_then(field).unwrap_or(0).max(0) as u64
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(Format::DateTime).ok())
}

/// crossrep's jobs (recognised by description, confirmed by tags) in one account and region,
/// any status.
pub async fn list_jobs(session: &Session, region: &Region) -> Result<Vec<JobInfo>, CallError> {
    let account = session.id.as_str();
    let client = session.s3control(region);
    let pages: Vec<_> = client
        .list_jobs()
        .account_id(account)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| call_error(e, account, "s3:ListJobs", region.as_str()))?;
    let listed: Vec<&sc::JobListDescriptor> = pages.iter().flat_map(|p| p.jobs()).collect();
    let mut jobs = Vec::new();
    for j in listed {
        if !j
            .description()
            .unwrap_or_default()
            .starts_with(DESCRIPTION_PREFIX)
        {
            continue;
        }
        let id = j.job_id().unwrap_or_default().to_string();
        let tags = client
            .get_job_tagging()
            .account_id(account)
            .job_id(&id)
            .send()
            .await
            .map_err(|e| call_error(e, account, "s3:GetJobTagging", &id))?;
        let tag = |k: &str| {
            tags.tags()
                .iter()
                .find(|t| t.key() == k)
                .map(|t| t.value().to_string())
        };
        let progress = j.progress_summary();
        jobs.push(JobInfo {
            id,
            account: account.to_string(),
            region: region.to_string(),
            status: j
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            description: j.description().unwrap_or_default().to_string(),
            source: tag(TAG_SOURCE),
            filter: tag(TAG_FILTER).as_deref().and_then(JobFilter::from_tag),
            created: time(j.creation_time()),
            finished: time(j.termination_date()),
            total: count(progress, sc::JobProgressSummary::total_number_of_tasks),
            succeeded: count(progress, sc::JobProgressSummary::number_of_tasks_succeeded),
            failed: count(progress, sc::JobProgressSummary::number_of_tasks_failed),
            ..JobInfo::default()
        });
    }
    Ok(jobs)
}

/// Creates the job; returns its id.
pub async fn create_job(session: &Session, spec: &JobSpec) -> Result<String, CallError> {
    create_job_with(&session.s3control(&spec.region), spec).await
}

/// [`create_job`] with a given client (the source account's, in the source bucket's region).
pub async fn create_job_with(
    client: &aws_sdk_s3control::Client,
    spec: &JobSpec,
) -> Result<String, CallError> {
    let account = spec.account.as_str();
    let filter = sc::JobManifestGeneratorFilter::builder()
        .eligible_for_replication(true)
        .set_object_replication_statuses(Some(
            spec.filter
                .statuses()
                .iter()
                .map(|s| sc::ReplicationStatus::from(*s))
                .collect(),
        ))
        .build();
    let output = sc::S3ManifestOutputLocation::builder()
        .expected_manifest_bucket_owner(account)
        .bucket(&spec.report_bucket_arn)
        .manifest_prefix(&spec.manifest_prefix)
        .manifest_format(sc::GeneratedManifestFormat::S3InventoryReportCsv20211130)
        .build()
        .expect("bucket and format are set");
    let generator = sc::S3JobManifestGenerator::builder()
        .expected_bucket_owner(account)
        .source_bucket(&spec.source_arn)
        .enable_manifest_output(true)
        .manifest_output_location(output)
        .filter(filter)
        .build()
        .expect("source bucket and manifest output are set");
    let report = sc::JobReport::builder()
        .bucket(&spec.report_bucket_arn)
        .format(sc::JobReportFormat::ReportCsv20180820)
        .enabled(true)
        .prefix(&spec.report_prefix)
        .report_scope(sc::JobReportScope::AllTasks)
        .build();
    let mut req = client
        .create_job()
        .account_id(account)
        .confirmation_required(spec.confirmation_required)
        .operation(
            sc::JobOperation::builder()
                .s3_replicate_object(sc::S3ReplicateObjectOperation::builder().build())
                .build(),
        )
        .report(report)
        .client_request_token(&spec.client_request_token)
        .manifest_generator(sc::JobManifestGenerator::S3JobManifestGenerator(generator))
        .description(&spec.description)
        .priority(spec.priority)
        .role_arn(&spec.role_arn);
    for (k, v) in &spec.tags {
        req = req.tags(
            sc::S3Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value are set"),
        );
    }
    let out = req
        .send()
        .await
        .map_err(|e| call_error(e, account, "s3:CreateJob", spec.source.as_str()))?;
    Ok(out.job_id().unwrap_or_default().to_string())
}

/// A job's current state, keeping what listing knew (source, filter).
pub async fn describe_job(session: &Session, job: &JobInfo) -> Result<JobInfo, CallError> {
    let account = session.id.as_str();
    let region = Region::new(job.region.clone()).expect("jobs are listed in valid regions");
    let out = session
        .s3control(&region)
        .describe_job()
        .account_id(account)
        .job_id(&job.id)
        .send()
        .await
        .map_err(|e| call_error(e, account, "s3:DescribeJob", &job.id))?;
    let Some(d) = out.job() else {
        return Ok(job.clone());
    };
    let progress = d.progress_summary();
    Ok(JobInfo {
        id: job.id.clone(),
        account: job.account.clone(),
        region: job.region.clone(),
        status: d
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        description: d.description().unwrap_or_default().to_string(),
        source: job.source.clone(),
        filter: job.filter,
        created: time(d.creation_time()),
        finished: time(d.termination_date()),
        total: count(progress, sc::JobProgressSummary::total_number_of_tasks),
        succeeded: count(progress, sc::JobProgressSummary::number_of_tasks_succeeded),
        failed: count(progress, sc::JobProgressSummary::number_of_tasks_failed),
        failure_reasons: d
            .failure_reasons()
            .iter()
            .map(|f| {
                format!(
                    "{}: {}",
                    f.failure_code().unwrap_or("?"),
                    f.failure_reason().unwrap_or_default()
                )
            })
            .collect(),
        report: d.report().and_then(|r| {
            r.bucket()
                .map(|b| (b.to_string(), r.prefix().unwrap_or_default().to_string()))
        }),
    })
}

fn bucket_of(arn: &str) -> &str {
    arn.rsplit(":::").next().unwrap_or(arn)
}

async fn get_text(
    session: &Session,
    region: &Region,
    bucket: &str,
    key: &str,
) -> Result<Option<String>, CallError> {
    let account = session.id.as_str();
    match session
        .s3(region)
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        Ok(out) => {
            let body = out.body.collect().await.map_err(|e| {
                CallError::invalid(account, "s3:GetObject", format!("{bucket}/{key}"), e)
            })?;
            Ok(Some(
                String::from_utf8_lossy(&body.into_bytes()).into_owned(),
            ))
        }
        Err(e) if e.code() == Some("NoSuchKey") => Ok(None),
        Err(e) => Err(call_error(
            e,
            account,
            "s3:GetObject",
            format!("{bucket}/{key}"),
        )),
    }
}

/// A blocking [`Read`](std::io::Read) over the chunks an async task receives from S3: the
/// (synchronous) CSV reader parses a body on a blocking thread while it downloads, holding one
/// chunk at a time.
struct Chunks<B> {
    rx: tokio::sync::mpsc::Receiver<B>,
    chunk: Option<B>,
    at: usize,
}

impl<B: AsRef<[u8]>> std::io::Read for Chunks<B> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(rest) = self.chunk.as_ref().map(|c| &c.as_ref()[self.at..]) {
                if !rest.is_empty() {
                    let n = rest.len().min(buf.len());
                    buf[..n].copy_from_slice(&rest[..n]);
                    self.at += n;
                    return Ok(n);
                }
            }
            // `None`: the body ended (or its download failed, which the sender reports).
            match self.rx.blocking_recv() {
                Some(c) => (self.chunk, self.at) = (Some(c), 0),
                None => return Ok(0),
            }
        }
    }
}

/// Streams one result CSV of a completion report through `step`, starting from `acc`: the rows
/// are parsed as the object downloads (memory holds a few chunks, not the file). A missing
/// object adds nothing.
async fn fold_results<A: Send + 'static>(
    session: &Session,
    region: &Region,
    bucket: &str,
    key: &str,
    acc: A,
    step: fn(&mut A, TaskResult),
) -> Result<A, CallError> {
    let account = session.id.as_str();
    let target = format!("{bucket}/{key}");
    let mut body = match session
        .s3(region)
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        Ok(out) => out.body,
        Err(e) if e.code() == Some("NoSuchKey") => return Ok(acc),
        Err(e) => return Err(call_error(e, account, "s3:GetObject", target)),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let parser = tokio::task::spawn_blocking(move || {
        let mut acc = acc;
        let reader = Chunks {
            rx,
            chunk: None,
            at: 0,
        };
        read_results(reader, |row| step(&mut acc, row)).map(|()| acc)
    });
    let mut downloaded = Ok(());
    while let Some(chunk) = body.next().await {
        match chunk {
            // A closed channel: the parser stopped at an error, which it returns below.
            Ok(c) => {
                if tx.send(c).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                downloaded = Err(CallError::invalid(account, "s3:GetObject", &target, e));
                break;
            }
        }
    }
    drop(tx);
    let parsed = parser.await.map_err(|e| {
        CallError::invalid(
            account,
            "s3:GetObject",
            &target,
            format!("reading the report: {e}"),
        )
    })?;
    downloaded?;
    parsed.map_err(|m| CallError::invalid(account, "s3:GetObject", &target, m))
}

/// Reads the failed tasks of a job's completion report: `<prefix>/job-<id>/manifest.json`,
/// then only the result files it lists as `failed` (succeeded ones are never fetched: the job's
/// counters say how many there are), one at a time, streamed through `step`. `None` while
/// there is no report yet.
async fn fold_failed<A: Send + 'static>(
    session: &Session,
    job: &JobInfo,
    acc: A,
    step: fn(&mut A, TaskResult),
) -> Result<Option<A>, CallError> {
    let Some((bucket_arn, prefix)) = &job.report else {
        return Ok(None);
    };
    let region = Region::new(job.region.clone()).expect("jobs are listed in valid regions");
    let bucket = bucket_of(bucket_arn);
    let prefix = prefix.trim_end_matches('/');
    let manifest_key = if prefix.is_empty() {
        format!("job-{}/manifest.json", job.id)
    } else {
        format!("{prefix}/job-{}/manifest.json", job.id)
    };
    let Some(text) = get_text(session, &region, bucket, &manifest_key).await? else {
        return Ok(None);
    };
    let manifest = parse_manifest(&text).map_err(|message| {
        CallError::invalid(
            &session.id,
            "s3:GetObject",
            format!("{bucket}/{manifest_key}"),
            message,
        )
    })?;
    let mut acc = acc;
    for file in manifest
        .results
        .iter()
        .filter(|f| f.task_execution_status == "failed")
    {
        acc = fold_results(
            session,
            &region,
            bucket_of(&file.bucket),
            &file.key,
            acc,
            step,
        )
        .await?;
    }
    Ok(Some(acc))
}

/// The failed tasks of a job's completion report (empty while there is none).
pub async fn failed_tasks(session: &Session, job: &JobInfo) -> Result<Vec<TaskResult>, CallError> {
    let rows = fold_failed(session, job, Vec::new(), |rows, r| {
        if !r.succeeded {
            rows.push(r)
        }
    })
    .await?;
    Ok(rows.unwrap_or_default())
}

/// A job's completion report, summarised: failures from the report's failed-task files, and
/// successes from the job's counters (`job` as [`describe_job`] gives it). `None` while there
/// is no report yet.
pub async fn read_report(
    session: &Session,
    job: &JobInfo,
) -> Result<Option<FailureSummary>, CallError> {
    let summary = fold_failed(session, job, FailureSummary::default(), |s, r| {
        if !r.succeeded {
            s.add_one(&r)
        }
    })
    .await?;
    Ok(summary.map(|s| FailureSummary {
        succeeded: job.succeeded,
        ..s
    }))
}

/// crossrep's jobs in every account and region that has replicated source buckets, listed
/// `concurrency` places at a time.
pub async fn all_jobs(
    sessions: &Sessions,
    desired: &DesiredState,
    concurrency: usize,
) -> Result<Vec<JobInfo>, CallError> {
    let places: BTreeSet<(AccountId, Region)> = desired
        .pairs
        .iter()
        .map(|p| (p.source.account.clone(), p.source.region.clone()))
        .collect();
    let lists: Vec<Vec<JobInfo>> = stream::iter(places)
        .map(|(account, region)| async move { list_jobs(sessions.get(&account), &region).await })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    Ok(lists.into_iter().flatten().collect())
}

/// crossrep's jobs where `backfill` and `status` need them ([`batch_places`]: the accounts and
/// regions of sources with `backfill = "batch"` pairs; none at all, so no S3 Control call, when
/// every pair says `backfill = "none"`), and the places whose jobs could not be listed.
pub struct JobListing {
    pub jobs: Vec<JobInfo>,
    /// S3 Control unreachable or denied (`s3:ListJobs`, `s3:GetJobTagging`) there: why.
    pub unlisted: BTreeMap<(AccountId, Region), CallError>,
}

/// Lists the jobs of [`batch_places`], `concurrency` places at a time; a place that fails is
/// recorded in [`JobListing::unlisted`], the others are listed all the same.
pub async fn list_batch_jobs(
    sessions: &Sessions,
    desired: &DesiredState,
    concurrency: usize,
) -> JobListing {
    let lists: Vec<_> = stream::iter(batch_places(desired))
        .map(|(account, region)| async move {
            let jobs = list_jobs(sessions.get(&account), &region).await;
            ((account, region), jobs)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut listing = JobListing {
        jobs: Vec::new(),
        unlisted: BTreeMap::new(),
    };
    for (place, jobs) in lists {
        match jobs {
            Ok(jobs) => listing.jobs.extend(jobs),
            Err(e) => {
                listing.unlisted.insert(place, e);
            }
        }
    }
    listing
}

/// A source's latest job as described, with its report read (`None`: not yet written, or not
/// read because the job is still running) or why the report could not be read; or as listed,
/// with why it could not be described (`error`).
struct Described {
    job: JobInfo,
    report: Option<Result<Option<FailureSummary>, String>>,
    error: Option<String>,
}

/// One row per pair, with the latest job of its source (among `listing`, from
/// [`list_batch_jobs`]) described and its report read, `concurrency` jobs at a time; a pair
/// that `conflicts` (the plan's) leave alone has rule `conflict`. Never fails: a job that
/// cannot be described keeps what listing knew and its row says so (`job_error`), as do the
/// rows of places whose jobs could not be listed; the errors of describing are returned, for
/// the caller to say once.
pub async fn pair_statuses(
    sessions: &Sessions,
    desired: &DesiredState,
    actual: &ActualState,
    listing: &JobListing,
    conflicts: &[Conflict],
    concurrency: usize,
) -> (Vec<PairStatus>, Vec<CallError>) {
    let jobs = &listing.jobs;
    // Describe each source's latest job once, and read its report.
    let latest: BTreeMap<String, &JobInfo> = desired
        .pairs
        .iter()
        .filter(|p| p.backfill == Backfill::Batch)
        .filter_map(|p| latest_job(jobs, &p.source).map(|j| (j.id.clone(), j)))
        .collect();
    let described: Vec<Result<Described, (Described, CallError)>> =
        stream::iter(latest.into_values())
            .map(|listed| async move {
                let session = sessions.get(
                    &AccountId::new(listed.account.clone()).expect("listed accounts are valid"),
                );
                match describe_job(session, listed).await {
                    Ok(job) => {
                        let report =
                            if job.report.is_some() && (job.is_terminal() || job.failed > 0) {
                                Some(read_report(session, &job).await.map_err(|e| e.to_string()))
                            } else {
                                None
                            };
                        Ok(Described {
                            job,
                            report,
                            error: None,
                        })
                    }
                    // What listing knew, and why there is no more.
                    Err(e) => Err((
                        Described {
                            job: listed.clone(),
                            report: None,
                            error: Some(e.summary()),
                        },
                        e,
                    )),
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    let mut errors = Vec::new();
    let mut by_id: BTreeMap<String, Described> = BTreeMap::new();
    for d in described {
        let d = d.unwrap_or_else(|(d, e)| {
            errors.push(e);
            d
        });
        by_id.insert(d.job.id.clone(), d);
    }
    // Reports give each bucket's real region (a destination found elsewhere is a conflict).
    let rows = crossrep_core::desired::located(&desired.pairs, actual)
        .iter()
        .map(|p| {
            let conflict = conflict_of(conflicts, p).cloned();
            let rule = if conflict.is_some() {
                "conflict"
            } else {
                rule_state(actual, p)
            };
            let mut row = PairStatus {
                source: p.source.clone(),
                destination: p.destination.clone(),
                rule,
                conflict,
                backfill: p.backfill,
                job: None,
                failures: None,
                report_error: None,
                job_error: None,
                live_failures: Vec::new(),
            };
            if p.backfill != Backfill::Batch {
                return row;
            }
            let place = (p.source.account.clone(), p.source.region.clone());
            if let Some(e) = listing.unlisted.get(&place) {
                row.job_error = Some(e.summary());
                return row;
            }
            if let Some(d) = latest_job(jobs, &p.source).and_then(|j| by_id.get(&j.id)) {
                row.job = Some(d.job.clone());
                row.job_error = d.error.clone();
                match &d.report {
                    Some(Ok(summary)) => row.failures = summary.clone(),
                    Some(Err(e)) => row.report_error = Some(e.clone()),
                    None => {}
                }
            }
            row
        })
        .collect();
    (rows, errors)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use aws_sdk_s3control::operation::create_job::{CreateJobInput, CreateJobOutput};
    use aws_smithy_mocks::{mock, mock_client};
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use crossrep_core::names::{AccountId, BucketName};

    use super::*;

    fn spec(filter: JobFilter, review: bool) -> JobSpec {
        JobSpec {
            account: AccountId::new("111111111111").unwrap(),
            region: Region::new("eu-west-1").unwrap(),
            source: BucketName::new("data").unwrap(),
            source_arn: "arn:aws:s3:::data".into(),
            destinations: vec![BucketName::new("replicated-data").unwrap()],
            role_arn: "arn:aws:iam::111111111111:role/crossrep-replication".into(),
            report_bucket_arn: "arn:aws:s3:::crossrep-reports-111111111111-eu-west-1".into(),
            report_prefix: "crossrep/data".into(),
            manifest_prefix: "crossrep/data/manifests".into(),
            filter,
            confirmation_required: review,
            client_request_token: "a".repeat(64),
            description: "crossrep backfill data -> replicated-data (all)".into(),
            tags: BTreeMap::from([("crossrep-source".into(), "data".into())]),
            priority: 10,
        }
    }

    /// The request S3 Control receives for a backfill job: the shape AWS documents for Batch
    /// Replication with a generated manifest (`s3-batch-replication-batch.md`).
    #[tokio::test]
    async fn create_job_sends_a_batch_replication_request() {
        let seen: Arc<Mutex<Option<CreateJobInput>>> = Arc::default();
        let keep = seen.clone();
        let rule = mock!(aws_sdk_s3control::Client::create_job)
            .match_requests(move |input| {
                *keep.lock().unwrap() = Some(input.clone());
                true
            })
            .then_output(|| CreateJobOutput::builder().job_id("job-1").build());
        let client = mock_client!(aws_sdk_s3control, [&rule]);

        let id = create_job_with(&client, &spec(JobFilter::OnlyFailed, true))
            .await
            .unwrap();
        assert_eq!(id, "job-1");
        let input = seen.lock().unwrap().clone().unwrap();
        assert_eq!(input.account_id(), Some("111111111111"));
        assert_eq!(input.confirmation_required(), Some(true));
        assert!(input.operation().unwrap().s3_replicate_object().is_some());
        assert_eq!(
            input.role_arn(),
            Some("arn:aws:iam::111111111111:role/crossrep-replication")
        );
        assert_eq!(input.client_request_token(), Some("a".repeat(64).as_str()));
        assert_eq!(input.priority(), Some(10));
        let report = input.report().unwrap();
        assert_eq!(
            report.bucket(),
            Some("arn:aws:s3:::crossrep-reports-111111111111-eu-west-1")
        );
        assert_eq!(
            report.format(),
            Some(&sc::JobReportFormat::ReportCsv20180820)
        );
        assert_eq!(report.report_scope(), Some(&sc::JobReportScope::AllTasks));
        assert_eq!(report.prefix(), Some("crossrep/data"));
        let sc::JobManifestGenerator::S3JobManifestGenerator(generator) =
            input.manifest_generator().unwrap()
        else {
            panic!("not an S3 manifest generator")
        };
        assert_eq!(generator.source_bucket(), "arn:aws:s3:::data");
        assert!(generator.enable_manifest_output());
        let output = generator.manifest_output_location().unwrap();
        assert_eq!(
            output.bucket(),
            "arn:aws:s3:::crossrep-reports-111111111111-eu-west-1"
        );
        assert_eq!(
            output.manifest_format(),
            &sc::GeneratedManifestFormat::S3InventoryReportCsv20211130
        );
        let filter = generator.filter().unwrap();
        assert_eq!(filter.eligible_for_replication(), Some(true));
        assert_eq!(
            filter.object_replication_statuses(),
            [sc::ReplicationStatus::Failed]
        );
        assert_eq!(input.tags()[0].key(), "crossrep-source");
    }

    /// An access denial names the account, the action and the bucket, with the permission hint.
    #[tokio::test]
    async fn a_denied_create_job_says_which_permission_is_missing() {
        let rule = mock!(aws_sdk_s3control::Client::create_job).then_http_response(|| {
            Response::new(
                StatusCode::try_from(403).unwrap(),
                SdkBody::from(
                    "<ErrorResponse><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error></ErrorResponse>",
                ),
            )
        });
        let client = mock_client!(aws_sdk_s3control, [&rule]);
        let err = create_job_with(&client, &spec(JobFilter::All, false))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("AccessDenied"));
        let text = err.to_string();
        assert!(text.starts_with("`s3:CreateJob` on `data` in account 111111111111 failed: AccessDenied: Access Denied"), "{text}");
        assert!(
            text.contains(
                "hint: the credentials used for account 111111111111 need `s3:CreateJob` on `data`"
            ),
            "{text}"
        );
    }
}
