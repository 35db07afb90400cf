//! Evidence for `crossrep verify`: the two listings streamed through the core's merge-join,
//! replication statuses of a sample of source versions, failure codes from completion reports,
//! and the canary.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_s3::error::ProvideErrorMetadata;
use futures::{stream, StreamExt};
use tokio::sync::mpsc;

use crossrep_core::diff::{DiffSummary, Differ, Version};
use crossrep_core::names::{BucketName, Region};
use crossrep_core::progress::Reporter;
use crossrep_core::verify::{Canary, Reservoir, StatusSample};

use crate::error::{call_error, CallError};
use crate::session::Session;

/// A bucket to list, with the client to list it with.
pub struct Side<'a> {
    pub session: &'a Session,
    pub bucket: &'a BucketName,
    pub region: &'a Region,
}

type Page = Result<Vec<Version>, CallError>;

/// Lists every version and delete marker under `prefix`, a page at a time, merged into the
/// key order the differ needs (S3 returns versions and delete markers as two lists per page).
async fn list_into(
    client: aws_sdk_s3::Client,
    account: String,
    bucket: String,
    prefix: String,
    tx: mpsc::Sender<Page>,
) {
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let out = client
            .list_object_versions()
            .bucket(&bucket)
            .prefix(&prefix)
            .max_keys(1000)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let _ = tx
                    .send(Err(call_error(
                        e,
                        &account,
                        "s3:ListBucketVersions",
                        &bucket,
                    )))
                    .await;
                return;
            }
        };
        let secs = |t: Option<&aws_smithy_types::DateTime>| t.map(|t| t.secs()).unwrap_or(0);
        let mut page: Vec<(usize, Version)> =
            Vec::with_capacity(out.versions().len() + out.delete_markers().len());
        for v in out.versions() {
            page.push((
                page.len(),
                Version {
                    key: v.key().unwrap_or_default().to_string(),
                    version_id: v.version_id().unwrap_or("null").to_string(),
                    is_latest: v.is_latest().unwrap_or(false),
                    is_delete_marker: false,
                    size: v.size().unwrap_or(0).max(0) as u64,
                    etag: v.e_tag().map(str::to_string),
                    last_modified: secs(v.last_modified()),
                    storage_class: v.storage_class().map(|s| s.as_str().to_string()),
                    sse_kms: false,
                },
            ));
        }
        for d in out.delete_markers() {
            page.push((
                page.len(),
                Version {
                    key: d.key().unwrap_or_default().to_string(),
                    version_id: d.version_id().unwrap_or("null").to_string(),
                    is_latest: d.is_latest().unwrap_or(false),
                    is_delete_marker: true,
                    size: 0,
                    etag: None,
                    last_modified: secs(d.last_modified()),
                    storage_class: None,
                    sse_kms: false,
                },
            ));
        }
        // Keys ascending (binary order, as S3 sorts them); within a key, newest first.
        page.sort_by(|a, b| {
            a.1.key
                .cmp(&b.1.key)
                .then(b.1.last_modified.cmp(&a.1.last_modified))
                .then(a.0.cmp(&b.0))
        });
        let page: Vec<Version> = page.into_iter().map(|(_, v)| v).collect();
        if tx.send(Ok(page)).await.is_err() {
            return;
        }
        if out.is_truncated() != Some(true) {
            return;
        }
        key_marker = out.next_key_marker().map(str::to_string);
        version_marker = out.next_version_id_marker().map(str::to_string);
    }
}

/// Streams both listings through the merge-join; memory stays bounded by two pages in flight
/// per side plus what the differ holds. Samples `sample` source object versions on the way
/// (reservoir sampling: every version equally likely, whatever the listing size).
pub async fn diff_buckets(
    source: Side<'_>,
    dest: Side<'_>,
    prefix: &str,
    examples: usize,
    sample: usize,
    progress: &dyn Reporter,
) -> Result<(DiffSummary, Vec<(String, String)>), CallError> {
    let (stx, mut srx) = mpsc::channel::<Page>(2);
    let (dtx, mut drx) = mpsc::channel::<Page>(2);
    let s = tokio::spawn(list_into(
        source.session.s3(source.region),
        source.session.id.to_string(),
        source.bucket.to_string(),
        prefix.to_string(),
        stx,
    ));
    let d = tokio::spawn(list_into(
        dest.session.s3(dest.region),
        dest.session.id.to_string(),
        dest.bucket.to_string(),
        prefix.to_string(),
        dtx,
    ));
    let mut differ = Differ::new(examples);
    let mut reservoir = Reservoir::new(sample, 0x5eed);
    let (mut s_open, mut d_open) = (true, true);
    let bad = |e: crossrep_core::diff::DiffError| {
        use crossrep_core::diff::{DiffError, Side as Which};
        let which = match &e {
            DiffError::OutOfOrder { side, .. } | DiffError::PushAfterEnd { side } => *side,
        };
        let side = if which == Which::Source {
            &source
        } else {
            &dest
        };
        CallError::invalid(&side.session.id, "s3:ListBucketVersions", side.bucket, e)
    };
    loop {
        use crossrep_core::diff::Need;
        let need = differ.need();
        let from_source = match need {
            Need::Done => break,
            Need::Source => true,
            Need::Dest => false,
            Need::Both => {
                tokio::select! {
                    page = srx.recv(), if s_open => {
                        handle(page, true, &mut differ, &mut reservoir, &mut s_open, progress).map_err(|e| e.unwrap_or_else(&bad))?;
                        continue;
                    }
                    page = drx.recv(), if d_open => {
                        handle(page, false, &mut differ, &mut reservoir, &mut d_open, progress).map_err(|e| e.unwrap_or_else(&bad))?;
                        continue;
                    }
                }
            }
        };
        let page = if from_source {
            srx.recv().await
        } else {
            drx.recv().await
        };
        let open = if from_source {
            &mut s_open
        } else {
            &mut d_open
        };
        handle(
            page,
            from_source,
            &mut differ,
            &mut reservoir,
            open,
            progress,
        )
        .map_err(|e| e.unwrap_or_else(&bad))?;
    }
    let _ = tokio::join!(s, d);
    let summary = differ.finish().map_err(bad)?;
    Ok((summary, reservoir.into_items()))
}

type HandleError = Result<CallError, crossrep_core::diff::DiffError>;

fn handle(
    page: Option<Page>,
    from_source: bool,
    differ: &mut Differ,
    reservoir: &mut Reservoir<(String, String)>,
    open: &mut bool,
    progress: &dyn Reporter,
) -> Result<(), HandleError> {
    match page {
        None => {
            *open = false;
            let r = if from_source {
                differ.end_source()
            } else {
                differ.end_dest()
            };
            r.map_err(Err)
        }
        Some(Err(e)) => Err(Ok(e)),
        Some(Ok(page)) => {
            progress.advance(page.len() as u64);
            if from_source {
                for v in page.iter().filter(|v| !v.is_delete_marker) {
                    reservoir.offer((v.key.clone(), v.version_id.clone()));
                }
                differ.push_source(page).map_err(Err)
            } else {
                differ.push_dest(page).map_err(Err)
            }
        }
    }
}

/// `x-amz-replication-status` of each sampled version (`NONE` when there is none).
pub async fn statuses(
    source: Side<'_>,
    versions: Vec<(String, String)>,
    failure_codes: &BTreeMap<(String, String), String>,
    concurrency: usize,
) -> StatusSample {
    let client = source.session.s3(source.region);
    let account = source.session.id.to_string();
    let results: Vec<_> = stream::iter(versions)
        .map(|(key, version)| {
            let client = client.clone();
            let account = account.clone();
            let bucket = source.bucket.to_string();
            async move {
                let r = client
                    .head_object()
                    .bucket(&bucket)
                    .key(&key)
                    .version_id(&version)
                    .send()
                    .await;
                let r = r
                    .map(|o| {
                        o.replication_status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_else(|| "NONE".into())
                    })
                    .map_err(|e| {
                        call_error(e, &account, "s3:GetObject", format!("{bucket}/{key}"))
                            .to_string()
                    });
                (key, version, r)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut sample = StatusSample::default();
    let mut failed = Vec::new();
    for (key, version, r) in results {
        match r {
            Ok(status) => {
                sample.sampled += 1;
                if status == "FAILED" {
                    let code = failure_codes.get(&(key.clone(), version.clone())).cloned();
                    failed.push((key, version, code));
                }
                *sample.counts.entry(status).or_default() += 1;
            }
            Err(e) => sample.errors.push(e),
        }
    }
    failed.sort();
    sample.failed = failed;
    sample.errors.sort();
    sample.errors.truncate(5);
    sample
}

/// Writes a small object under `key` in the source, waits until its copy is in the destination
/// and the source says COMPLETED (or FAILED, or time runs out), then deletes the versions it
/// wrote on both sides.
pub async fn canary(
    source: Side<'_>,
    dest: Side<'_>,
    key: &str,
    tags: &str,
    timeout: Duration,
) -> Canary {
    let src = source.session.s3(source.region);
    let dst = dest.session.s3(dest.region);
    let started = Instant::now();
    let mut put = src
        .put_object()
        .bucket(source.bucket.as_str())
        .key(key)
        .body(b"crossrep canary: safe to delete".to_vec().into());
    if !tags.is_empty() {
        put = put.tagging(tags);
    }
    let version = match put.send().await {
        Ok(out) => out.version_id().unwrap_or("null").to_string(),
        Err(e) => {
            return Canary::Error {
                message: call_error(
                    e,
                    source.session.id.as_str(),
                    "s3:PutObject",
                    format!("{}/{key}", source.bucket),
                )
                .to_string(),
            }
        }
    };
    let mut delay = Duration::from_millis(100);
    let outcome = loop {
        let head = src
            .head_object()
            .bucket(source.bucket.as_str())
            .key(key)
            .version_id(&version)
            .send()
            .await;
        let status = head
            .ok()
            .and_then(|h| h.replication_status().map(|s| s.as_str().to_string()));
        if status.as_deref() == Some("FAILED") {
            break Canary::Failed {
                key: key.to_string(),
                status: "FAILED".into(),
            };
        }
        if status.as_deref() == Some("COMPLETED") {
            let copy = dst
                .head_object()
                .bucket(dest.bucket.as_str())
                .key(key)
                .version_id(&version)
                .send()
                .await;
            if copy.is_ok() {
                break Canary::Replicated {
                    key: key.to_string(),
                    latency_ms: started.elapsed().as_millis() as u64,
                    cleaned_up: false,
                };
            }
        }
        if started.elapsed() >= timeout {
            break Canary::TimedOut {
                key: key.to_string(),
                after_ms: started.elapsed().as_millis() as u64,
                status: status.clone(),
            };
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    };
    // Remove exactly the versions written: the source's, and the replica (same version id).
    // Deleting by version id is never replicated, so nothing else is touched.
    let mut cleaned = src
        .delete_object()
        .bucket(source.bucket.as_str())
        .key(key)
        .version_id(&version)
        .send()
        .await
        .is_ok();
    match dst
        .delete_object()
        .bucket(dest.bucket.as_str())
        .key(key)
        .version_id(&version)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if e.code() == Some("NoSuchVersion") || e.code() == Some("NoSuchKey") => {}
        Err(_) => cleaned = false,
    }
    match outcome {
        Canary::Replicated {
            key, latency_ms, ..
        } => Canary::Replicated {
            key,
            latency_ms,
            cleaned_up: cleaned,
        },
        other => other,
    }
}
