//! Evidence for `crossrep verify`: the two listings streamed through the core's merge-join
//! (paged to their end, or an error), the evidence of a sample of source versions (tags for a
//! rule with tags, replication status, the destination's copy), and the canary. The judgement
//! is the core's (`crossrep_core::verify`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_s3::error::ProvideErrorMetadata;
use futures::{stream, StreamExt};
use tokio::sync::mpsc;

use crossrep_core::diff::{DiffSummary, Differ, Version};
use crossrep_core::names::{BucketName, Region};
use crossrep_core::observed::ErrorKind;
use crossrep_core::progress::Reporter;
use crossrep_core::verify::{
    look_in_destination, tags_match, Canary, Reservoir, SampledVersion, StatusSample,
};

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
        // A truncated page must say where the listing goes on, and go on past where it was:
        // anything else would end the listing early, and the diff would call a shorter
        // listing complete (missing versions unseen, or versions only in the other bucket).
        let next = (
            out.next_key_marker().map(str::to_string),
            out.next_version_id_marker().map(str::to_string),
        );
        let problem = match &next {
            (None, _) | (_, None) => Some(format!(
                "a truncated page (IsTruncated) came without its end markers (NextKeyMarker {}, NextVersionIdMarker {}) after key marker {}: the listing cannot go on",
                shown(next.0.as_deref()),
                shown(next.1.as_deref()),
                shown(key_marker.as_deref())
            )),
            (k, v) if *k == key_marker && *v == version_marker => Some(format!(
                "a truncated page gave the same markers as its request (NextKeyMarker {}, NextVersionIdMarker {}): the listing does not advance",
                shown(k.as_deref()),
                shown(v.as_deref())
            )),
            _ => None,
        };
        if let Some(problem) = problem {
            let _ = tx
                .send(Err(CallError::invalid(
                    &account,
                    "s3:ListBucketVersions",
                    &bucket,
                    problem,
                )))
                .await;
            return;
        }
        (key_marker, version_marker) = next;
    }
}

fn shown(marker: Option<&str>) -> String {
    match marker {
        Some(m) => format!("`{m}`"),
        None => "none".into(),
    }
}

/// Streams both listings through the merge-join; memory stays bounded by two pages in flight
/// per side plus what the differ holds. Samples `sample` source object versions on the way
/// (reservoir sampling: every version equally likely, whatever the listing size).
///
/// `recent_after`: missing current versions modified after it are counted apart
/// ([`Differ::recent_after`], `verify --settle`).
///
/// `encrypted`: the source holds objects whose replicas get other ETags (SSE-KMS and DSSE-KMS
/// objects are re-encrypted under the replica key; AWS-NOTES). A listing does not say which
/// versions they are, so no ETag of the pair is compared; sizes still are.
#[allow(clippy::too_many_arguments)]
pub async fn diff_buckets(
    source: Side<'_>,
    dest: Side<'_>,
    prefix: &str,
    examples: usize,
    sample: usize,
    recent_after: Option<i64>,
    encrypted: bool,
    progress: &dyn Reporter,
) -> Result<(DiffSummary, Vec<SampledVersion>), CallError> {
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
    if let Some(cutoff) = recent_after {
        differ = differ.recent_after(cutoff);
    }
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
                        handle(page.map(|p| mark(p, encrypted)), true, &mut differ, &mut reservoir, &mut s_open, progress).map_err(|e| e.unwrap_or_else(&bad))?;
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
            srx.recv().await.map(|p| mark(p, encrypted))
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

/// The source versions of a page marked as having ETags that say nothing about content.
fn mark(page: Page, encrypted: bool) -> Page {
    page.map(|mut versions| {
        if encrypted {
            for v in &mut versions {
                v.sse_kms = true;
            }
        }
        versions
    })
}

type HandleError = Result<CallError, crossrep_core::diff::DiffError>;

fn handle(
    page: Option<Page>,
    from_source: bool,
    differ: &mut Differ,
    reservoir: &mut Reservoir<SampledVersion>,
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
                    reservoir.offer(SampledVersion {
                        key: v.key.clone(),
                        version_id: v.version_id.clone(),
                        is_latest: v.is_latest,
                        selected: true,
                        ..SampledVersion::default()
                    });
                }
                differ.push_source(page).map_err(Err)
            } else {
                differ.push_dest(page).map_err(Err)
            }
        }
    }
}

/// Evidence for each sampled version: for a rule with tags, its tags first
/// (`GetObjectTagging`; a version the rule does not select is only counted); then its
/// `x-amz-replication-status` and last-modified time (`HeadObject`), and for a `COMPLETED`
/// one whether the destination has it (`HeadObject` with the same version id: replicas keep
/// it; `dest` is `None` when the listings already showed every current version there).
/// `concurrency` versions at a time.
/// `dest`: where to look for copies. A current COMPLETED version is looked up there when
/// `look_missing` (the listings showed versions missing); a COMPLETED KMS version is, when
/// `replica_key` names the key its copy must be under (SPEC §8).
#[allow(clippy::too_many_arguments)]
pub async fn statuses(
    source: Side<'_>,
    dest: Option<Side<'_>>,
    look_missing: bool,
    replica_key: Option<&str>,
    versions: Vec<SampledVersion>,
    tags: &BTreeMap<String, String>,
    failure_codes: &BTreeMap<(String, String), String>,
    concurrency: usize,
) -> StatusSample {
    let src = source.session.s3(source.region);
    let dst = dest.as_ref().map(|d| {
        (
            d.session.s3(d.region),
            d.session.id.as_str(),
            d.bucket.as_str(),
        )
    });
    let src_account = source.session.id.as_str();
    let src_bucket = source.bucket.as_str();
    let results: Vec<Result<SampledVersion, String>> = stream::iter(versions)
        .map(|mut v| {
            let (src, dst) = (src.clone(), dst.clone());
            async move {
                let (key, version) = (v.key.clone(), v.version_id.clone());
                let target = |bucket: &str| format!("{bucket}/{key}");
                if !tags.is_empty() {
                    let out = src
                        .get_object_tagging()
                        .bucket(src_bucket)
                        .key(&key)
                        .version_id(&version)
                        .send()
                        .await
                        .map_err(|e| {
                            call_error(
                                e,
                                src_account,
                                "s3:GetObjectVersionTagging",
                                target(src_bucket),
                            )
                            .to_string()
                        })?;
                    v.selected =
                        tags_match(tags, out.tag_set().iter().map(|t| (t.key(), t.value())));
                    if !v.selected {
                        return Ok(v);
                    }
                }
                let head = src
                    .head_object()
                    .bucket(src_bucket)
                    .key(&key)
                    .version_id(&version)
                    .send()
                    .await
                    .map_err(|e| {
                        call_error(e, src_account, "s3:GetObjectVersion", target(src_bucket))
                            .to_string()
                    })?;
                v.status = head.replication_status().map(|s| s.as_str().to_string());
                v.encryption = head
                    .server_side_encryption()
                    .map(|e| e.as_str().to_string());
                v.last_modified = head.last_modified().map(|t| t.secs()).unwrap_or(0);
                if v.status.as_deref() == Some("FAILED") {
                    v.failure_code = failure_codes.get(&(key.clone(), version.clone())).cloned();
                }
                let kms_copy = replica_key.is_some()
                    && v.status.as_deref() == Some("COMPLETED")
                    && v.encryption
                        .as_deref()
                        .is_some_and(|e| e.starts_with("aws:kms"));
                if let Some((dst, dst_account, dst_bucket)) =
                    dst.filter(|_| (look_missing && look_in_destination(&v)) || kms_copy)
                {
                    let copy = dst
                        .head_object()
                        .bucket(dst_bucket)
                        .key(&key)
                        .version_id(&version)
                        .send()
                        .await;
                    v.in_destination = Some(match copy {
                        Ok(head) => {
                            if kms_copy {
                                v.replica_key = head.ssekms_key_id().map(str::to_string);
                            }
                            true
                        }
                        Err(e) => {
                            let e = call_error(
                                e,
                                dst_account,
                                "s3:GetObjectVersion",
                                target(dst_bucket),
                            );
                            // A version the bucket does not have: 404 (HeadObject has no
                            // body, so no code). Anything else is no evidence either way.
                            if e.kind != ErrorKind::NotFound {
                                return Err(e.to_string());
                            }
                            false
                        }
                    });
                }
                Ok(v)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut sample = StatusSample::default();
    for r in results {
        match r {
            Ok(v) => sample.versions.push(v),
            Err(e) => sample.errors.push(e),
        }
    }
    sample
        .versions
        .sort_by(|a, b| (&a.key, &a.version_id).cmp(&(&b.key, &b.version_id)));
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

/// The listing's paging, for answers the emulator never gives (it pages correctly): a truncated
/// page without its end markers, or with the markers of its own request, must end the listing
/// with an error, never as a shorter listing that the diff would take for complete.
#[cfg(test)]
mod tests {
    use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
    use aws_sdk_s3::types::ObjectVersion;
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

    use super::*;

    fn version(key: &str, id: &str) -> ObjectVersion {
        ObjectVersion::builder()
            .key(key)
            .version_id(id)
            .is_latest(true)
            .size(1)
            .build()
    }

    /// Runs the listing against `rules`; the pages it sent, and the error it ended with.
    async fn list(rules: &[&Rule]) -> (Vec<Vec<String>>, Option<CallError>) {
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules);
        let (tx, mut rx) = mpsc::channel::<Page>(16);
        let task = tokio::spawn(list_into(
            client,
            "111111111111".into(),
            "data".into(),
            String::new(),
            tx,
        ));
        let mut pages = Vec::new();
        let mut error = None;
        while let Some(page) = rx.recv().await {
            // A listing that never ends would hang the test: none of these has more pages.
            assert!(pages.len() < 10, "the listing does not end: {pages:?}");
            match page {
                Ok(p) => pages.push(p.into_iter().map(|v| v.key).collect()),
                Err(e) => error = Some(e),
            }
        }
        task.await.unwrap();
        (pages, error)
    }

    fn first_page(next: Option<(&'static str, &'static str)>) -> Rule {
        mock!(aws_sdk_s3::Client::list_object_versions)
            .match_requests(|r| r.key_marker().is_none())
            .then_output(move || {
                let mut out = ListObjectVersionsOutput::builder()
                    .is_truncated(true)
                    .versions(version("a", "1"));
                if let Some((k, v)) = next {
                    out = out.next_key_marker(k).next_version_id_marker(v);
                }
                out.build()
            })
    }

    #[tokio::test]
    async fn a_listing_that_pages_to_its_end_is_complete() {
        let first = first_page(Some(("a", "1")));
        let last = mock!(aws_sdk_s3::Client::list_object_versions)
            .match_requests(|r| r.key_marker() == Some("a") && r.version_id_marker() == Some("1"))
            .then_output(|| {
                ListObjectVersionsOutput::builder()
                    .is_truncated(false)
                    .versions(version("b", "2"))
                    .build()
            });
        let (pages, error) = list(&[&first, &last]).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(pages, [["a"], ["b"]]);
    }

    #[tokio::test]
    async fn a_truncated_page_without_its_end_markers_is_an_error() {
        let first = first_page(None);
        let (pages, error) = list(&[&first]).await;
        assert_eq!(pages, [["a"]]);
        let e = error.expect("the listing must fail, not end early");
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert_eq!(e.action, "s3:ListBucketVersions");
        assert!(
            e.to_string().contains("a truncated page (IsTruncated) came without its end markers (NextKeyMarker none, NextVersionIdMarker none)"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_truncated_page_with_only_a_key_marker_is_an_error() {
        // Going on from the key alone would skip the rest of that key's versions.
        let first = mock!(aws_sdk_s3::Client::list_object_versions).then_output(|| {
            ListObjectVersionsOutput::builder()
                .is_truncated(true)
                .versions(version("a", "1"))
                .next_key_marker("a")
                .build()
        });
        let (_, error) = list(&[&first]).await;
        let e = error.expect("the listing must fail");
        assert!(
            e.to_string()
                .contains("without its end markers (NextKeyMarker `a`, NextVersionIdMarker none)"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn markers_that_do_not_advance_are_an_error() {
        let first = first_page(Some(("a", "1")));
        let stuck = mock!(aws_sdk_s3::Client::list_object_versions)
            .match_requests(|r| r.key_marker() == Some("a"))
            .then_output(|| {
                ListObjectVersionsOutput::builder()
                    .is_truncated(true)
                    .versions(version("b", "2"))
                    .next_key_marker("a")
                    .next_version_id_marker("1")
                    .build()
            });
        let (pages, error) = list(&[&first, &stuck]).await;
        assert_eq!(pages, [["a"], ["b"]], "one request per page, no loop");
        assert_eq!(stuck.num_calls(), 1);
        let e = error.expect("the listing must fail, not loop or end early");
        assert!(
            e.to_string().contains("a truncated page gave the same markers as its request (NextKeyMarker `a`, NextVersionIdMarker `1`): the listing does not advance"),
            "{e}"
        );
    }
}
