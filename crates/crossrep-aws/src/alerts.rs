//! Failure reasons (SPEC §10): the alert queue of each source account and region is read
//! (`ReceiveMessage`), its events folded into each source's summary in the report bucket
//! (`GetObject`, `PutObject`, [`crossrep_core::failures`]), and only then deleted
//! (`DeleteMessageBatch`), so no event is lost between runs and the queue does not grow.

use std::collections::{BTreeMap, BTreeSet};

use futures::{stream, StreamExt};

use crossrep_core::desired::{DesiredState, Pair};
use crossrep_core::failures::{parse_message, summary_key, FailureEvent, FailureSummary, Message};
use crossrep_core::kinds::alert_queue::{AlertAddr, NAME};
use crossrep_core::names::{AccountId, BucketName};

use crate::error::{call_error, CallError};
use crate::kinds::alert_queue;
use crate::session::{Session, Sessions};
use crate::stored::{read_json, write_json};

/// Messages read from one queue in one run, at most: the rest waits for the next run (and is
/// said to).
pub const MAX_MESSAGES: usize = 10_000;

/// The failure summaries of the sources of `alerts` pairs, and what could not be read.
#[derive(Debug, Default)]
pub struct Failures {
    pub summaries: BTreeMap<(AccountId, BucketName), FailureSummary>,
    /// For people, once each: a queue or summary that could not be read, events left.
    pub problems: Vec<String>,
}

impl Failures {
    /// The reason an event gave for `pair`'s `key` / `version_id`, if one did.
    pub fn reason(&self, pair: &Pair, key: &str, version_id: &str) -> Option<&str> {
        self.summaries
            .get(&(pair.source.account.clone(), pair.source.bucket.clone()))?
            .reason_of(key, version_id, pair.destination.bucket.as_str())
    }
}

/// Reads every alert queue of `desired`'s `alerts` pairs and folds it into the summaries.
/// `resolved_before`: per source, the creation time of a backfill that completed without a
/// failure (what failed before it was re-driven).
pub async fn collect(
    sessions: &Sessions,
    desired: &DesiredState,
    resolved_before: &BTreeMap<(AccountId, BucketName), i64>,
    concurrency: usize,
) -> Failures {
    let mut places: BTreeMap<AlertAddr, BTreeSet<BucketName>> = BTreeMap::new();
    for p in desired.pairs.iter().filter(|p| p.rule.alerts) {
        places
            .entry(AlertAddr::of(&p.source))
            .or_default()
            .insert(p.source.bucket.clone());
    }
    let results: Vec<Option<(AlertAddr, Result<Failures, CallError>)>> = stream::iter(places)
        .map(|(at, buckets)| async move {
            let report = desired
                .report_buckets
                .iter()
                .find(|r| r.account == at.account && r.region == at.region)?;
            let session = sessions.get(&at.account);
            let mut found = Failures::default();
            let r = fold_place(
                session,
                &at,
                &report.bucket,
                &buckets,
                resolved_before,
                concurrency,
                &mut found,
            )
            .await;
            Some((at, r.map(|()| found)))
        })
        .buffer_unordered(concurrency.clamp(1, 8))
        .collect()
        .await;
    let mut out = Failures::default();
    for (at, r) in results.into_iter().flatten() {
        match r {
            Ok(found) => {
                out.summaries.extend(found.summaries);
                out.problems.extend(found.problems);
            }
            Err(e) => out.problems.push(format!(
                "failure events of {} ({}) could not be read: {e}",
                at.account, at.region
            )),
        }
    }
    out.problems.sort();
    out
}

async fn fold_place(
    session: &Session,
    at: &AlertAddr,
    report: &BucketName,
    buckets: &BTreeSet<BucketName>,
    resolved_before: &BTreeMap<(AccountId, BucketName), i64>,
    concurrency: usize,
    out: &mut Failures,
) -> Result<(), CallError> {
    let account = session.id.as_str();
    let s3 = session.s3(&at.region);
    // Summaries first: what an event adds to is what is there.
    let read: Vec<Result<(BucketName, FailureSummary), CallError>> = stream::iter(buckets)
        .map(|b| {
            let s3 = &s3;
            async move { Ok((b.clone(), read_summary(s3, account, report, b).await?)) }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut summaries: BTreeMap<BucketName, (FailureSummary, bool)> = BTreeMap::new();
    for r in read {
        let (b, summary) = r?;
        summaries.insert(b, (summary, false));
    }
    let mut handles: Vec<String> = Vec::new();
    let mut events: BTreeMap<BucketName, Vec<FailureEvent>> = BTreeMap::new();
    let mut unreadable = 0;
    let url = alert_queue::url(session, at).await?;
    let sqs = session.sqs(&at.region);
    if let Some(url) = &url {
        while handles.len() < MAX_MESSAGES {
            let got = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                // Long enough to fold and delete them; then they are gone, or seen again.
                .visibility_timeout(300)
                .send()
                .await
                .map_err(|e| call_error(e, account, "sqs:ReceiveMessage", NAME))?;
            if got.messages().is_empty() {
                break;
            }
            for m in got.messages() {
                let Some(handle) = m.receipt_handle() else {
                    continue;
                };
                match parse_message(m.body().unwrap_or_default()) {
                    // Not an S3 event: left for whoever sent it.
                    Err(_) => unreadable += 1,
                    // An S3 event goes once folded; one of a bucket no longer selected (nobody
                    // asks about it) or a test message goes too.
                    Ok(message) => {
                        handles.push(handle.to_string());
                        if let Message::Failure(e) = message {
                            if let Ok(b) = BucketName::new(e.bucket.clone()) {
                                if summaries.contains_key(&b) {
                                    events.entry(b).or_default().push(e);
                                }
                            }
                        }
                    }
                }
            }
        }
        if handles.len() >= MAX_MESSAGES {
            out.problems.push(format!(
                "more than {MAX_MESSAGES} failure events wait in the queue of {} ({}): run again to read the rest",
                at.account, at.region
            ));
        }
        if unreadable > 0 {
            out.problems.push(format!(
                "{unreadable} message(s) in the queue of {} ({}) are not S3 events; left there",
                at.account, at.region
            ));
        }
    }
    for (b, (summary, changed)) in summaries.iter_mut() {
        if let Some(new) = events.remove(b) {
            // Even an event seen before is written back: its messages are about to go.
            summary.fold(new);
            *changed = true;
        }
        if let Some(t) = resolved_before.get(&(at.account.clone(), b.clone())) {
            *changed |= summary.resolve_before(*t) > 0;
        }
    }
    // Written before the messages go: a run that stops in between reads them again.
    let writes: Vec<Result<(), CallError>> =
        stream::iter(summaries.iter().filter(|(_, (_, changed))| *changed))
            .map(|(b, (summary, _))| write_summary(&s3, account, report, b, summary))
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    // A summary that could not be written keeps every message for the next run.
    for w in writes {
        w?;
    }
    if let Some(url) = &url {
        for chunk in handles.chunks(10) {
            let entries: Vec<_> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, h)| {
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(h.as_str())
                        .build()
                        .ok()
                })
                .collect();
            sqs.delete_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| call_error(e, account, "sqs:DeleteMessageBatch", NAME))?;
        }
    }
    for (b, (summary, _)) in summaries {
        out.summaries.insert((at.account.clone(), b), summary);
    }
    Ok(())
}

async fn read_summary(
    s3: &aws_sdk_s3::Client,
    account: &str,
    report: &BucketName,
    source: &BucketName,
) -> Result<FailureSummary, CallError> {
    // No summary yet, or no report bucket yet (alerts not applied): nothing was folded.
    let key = summary_key(source.as_str());
    read_json(s3, account, report, &key, "a failure summary").await
}

async fn write_summary(
    s3: &aws_sdk_s3::Client,
    account: &str,
    report: &BucketName,
    source: &BucketName,
    summary: &FailureSummary,
) -> Result<(), CallError> {
    write_json(s3, account, report, &summary_key(source.as_str()), summary).await
}
