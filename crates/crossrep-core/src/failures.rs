//! Replication failure reasons from S3's failure events (SPEC §10).
//!
//! S3 gives the reason of a live replication failure only in an event
//! (`s3:Replication:OperationFailedReplication`, `replicationEventData.failureReason`), sent at
//! least once to the alert queue of the source's account and region. SQS keeps a message 14
//! days at most, and a queue that is only read grows with every failure. So `verify` and
//! `status` fold what the queue holds into one small summary per source bucket
//! ([`FailureSummary`], stored in the report bucket of the source's account and region) and only
//! then delete the messages: an event is never lost between runs (a run that dies before the
//! summary is written leaves the messages, read again next time; one that dies after writes
//! nothing twice, as the summary is keyed by version), and neither the queue nor the summary
//! grows without bound: a version is kept once, the [`MAX_VERSIONS`] most recent are kept by
//! name and the older ones only counted, and a failure older than a backfill that completed
//! without a failure is resolved ([`FailureSummary::resolve_before`]): the re-drive replicated
//! it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Versions a summary names; beyond, the oldest are only counted (per destination and reason).
pub const MAX_VERSIONS: usize = 10_000;

/// One replication failure event, as S3 sends it (AWS "Event message structure").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureEvent {
    pub bucket: String,
    /// URL-decoded (S3 encodes keys in events).
    pub key: String,
    pub version_id: String,
    /// The destination bucket's name (the event gives its ARN).
    pub destination: String,
    pub rule_id: String,
    pub reason: String,
    /// Milliseconds since the Unix epoch of the failed request (`requestTime`, else
    /// `eventTime`).
    pub time: i64,
}

/// What one message of the alert queue is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Failure(FailureEvent),
    /// S3's test message, or an event that is not a failure (RTC threshold events): nothing to
    /// keep.
    Other,
}

/// Reads one message body. An error is a body that is not an S3 event at all.
pub fn parse_message(body: &str) -> Result<Message, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Message::Other);
    }
    let Some(record) = v
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
    else {
        return Err("no `Records`".into());
    };
    let name = record
        .get("eventName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name != "Replication:OperationFailedReplication" {
        return Ok(Message::Other);
    }
    let s = |path: &[&str]| -> String {
        let mut at = record;
        for p in path {
            match at.get(p) {
                Some(next) => at = next,
                None => return String::new(),
            }
        }
        at.as_str().unwrap_or_default().to_string()
    };
    let data = ["replicationEventData"];
    let destination = s(&[data[0], "destinationBucket"]);
    let destination = destination
        .rsplit(":::")
        .next()
        .unwrap_or(&destination)
        .to_string();
    let time = parse_time(&s(&[data[0], "requestTime"]))
        .or_else(|| parse_time(&s(&["eventTime"])))
        .unwrap_or(0);
    let event = FailureEvent {
        bucket: s(&["s3", "bucket", "name"]),
        key: crate::report::url_decode(&s(&["s3", "object", "key"])),
        version_id: s(&["s3", "object", "versionId"]),
        destination,
        rule_id: s(&[data[0], "replicationRuleId"]),
        reason: s(&[data[0], "failureReason"]),
        time,
    };
    if event.bucket.is_empty() || event.key.is_empty() || event.reason.is_empty() {
        return Err("a failure event without its bucket, key or reason".into());
    }
    Ok(Message::Failure(event))
}

/// Milliseconds since the Unix epoch of an RFC 3339 UTC time (`2026-12-01T10:00:00.123Z`; a
/// fraction of any length, or none). Failures and the backfills that resolve them happen
/// within a second of each other: seconds would not tell which came first.
pub fn parse_time(t: &str) -> Option<i64> {
    let t = t.trim().strip_suffix('Z')?;
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (time, fraction) = time.split_once('.').unwrap_or((time, ""));
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis: i64 = format!("{fraction:0<3}")[..3].parse().ok()?;
    let mut h = time.split(':').map(|x| x.parse::<i64>().ok());
    let (hh, mm, ss) = (h.next()??, h.next()??, h.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3_600 + mm * 60 + ss) * 1_000 + millis)
}

/// One failed version, as the summary keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedVersion {
    pub key: String,
    pub version_id: String,
    pub destination: String,
    pub reason: String,
    pub time: i64,
}

/// The failures of one source bucket's rules that no completed backfill has resolved.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FailureSummary {
    /// Newest first.
    pub versions: Vec<FailedVersion>,
    /// Failed versions no longer named (beyond [`MAX_VERSIONS`]), by destination and reason:
    /// `"<destination> <reason>"` → count, and the newest time among them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub older: BTreeMap<String, (u64, i64)>,
}

impl FailureSummary {
    /// Adds `events` of this bucket: one entry per (key, version, destination), its latest
    /// event deciding the reason. Returns how many were new.
    pub fn fold(&mut self, events: impl IntoIterator<Item = FailureEvent>) -> usize {
        let mut by: BTreeMap<(String, String, String), FailedVersion> = self
            .versions
            .drain(..)
            .map(|v| {
                (
                    (v.key.clone(), v.version_id.clone(), v.destination.clone()),
                    v,
                )
            })
            .collect();
        let mut new = 0;
        for e in events {
            let id = (e.key.clone(), e.version_id.clone(), e.destination.clone());
            let v = FailedVersion {
                key: e.key,
                version_id: e.version_id,
                destination: e.destination,
                reason: e.reason,
                time: e.time,
            };
            match by.get(&id) {
                Some(old) if old.time > v.time => {}
                Some(_) => {
                    by.insert(id, v);
                }
                None => {
                    new += 1;
                    by.insert(id, v);
                }
            }
        }
        let mut versions: Vec<FailedVersion> = by.into_values().collect();
        versions.sort_by(|a, b| {
            b.time.cmp(&a.time).then_with(|| {
                (&a.key, &a.version_id, &a.destination).cmp(&(
                    &b.key,
                    &b.version_id,
                    &b.destination,
                ))
            })
        });
        for gone in versions.drain(versions.len().min(MAX_VERSIONS)..) {
            let e = self
                .older
                .entry(format!("{} {}", gone.destination, gone.reason))
                .or_insert((0, 0));
            e.0 += 1;
            e.1 = e.1.max(gone.time);
        }
        self.versions = versions;
        new
    }

    /// Forgets the failures before `time` (milliseconds: the creation of a backfill of this
    /// bucket that completed without a failure, which re-drove them). Returns how many were
    /// forgotten.
    pub fn resolve_before(&mut self, time: i64) -> usize {
        let before = self.versions.len() + self.older.values().map(|c| c.0 as usize).sum::<usize>();
        self.versions.retain(|v| v.time >= time);
        self.older.retain(|_, c| c.1 >= time);
        before - self.versions.len() - self.older.values().map(|c| c.0 as usize).sum::<usize>()
    }

    /// The reason `key`'s `version_id` failed to replicate into `destination`, if an event said.
    pub fn reason_of(&self, key: &str, version_id: &str, destination: &str) -> Option<&str> {
        self.versions
            .iter()
            .find(|v| v.key == key && v.version_id == version_id && v.destination == destination)
            .map(|v| v.reason.as_str())
    }

    /// Counts by destination and reason, the older ones included.
    pub fn counts(&self) -> BTreeMap<(String, String), u64> {
        let mut out: BTreeMap<(String, String), u64> = BTreeMap::new();
        for v in &self.versions {
            *out.entry((v.destination.clone(), v.reason.clone()))
                .or_default() += 1;
        }
        for (k, (n, _)) in &self.older {
            if let Some((d, r)) = k.split_once(' ') {
                *out.entry((d.to_string(), r.to_string())).or_default() += n;
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.versions.is_empty() && self.older.is_empty()
    }
}

/// When `source`'s latest backfill job was created, if it completed without a failure: every
/// version that failed before it was re-driven by it (a full job replicates every version
/// without a status or FAILED; `--only-failed` re-drives the FAILED ones).
pub fn resolved_before(
    jobs: &[crate::backfill::JobInfo],
    source: &crate::desired::BucketRef,
) -> Option<i64> {
    let job = crate::backfill::latest_job(jobs, source)?;
    (job.status == "Complete" && job.failed == 0)
        .then(|| job.created.as_deref().and_then(parse_time))
        .flatten()
}

/// Where a source bucket's summary is kept in its report bucket.
pub fn summary_key(source_bucket: &str) -> String {
    format!("crossrep/failures/{source_bucket}.json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(key: &str, version: &str, reason: &str, time: &str) -> String {
        json!({"Records": [{
            "eventVersion": "2.2", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": time, "eventName": "Replication:OperationFailedReplication",
            "s3": {"bucket": {"name": "data", "arn": "arn:aws:s3:::data"},
                   "object": {"key": key, "size": 3, "eTag": "e", "versionId": version}},
            "replicationEventData": {
                "replicationRuleId": "crossrep-replicated-data",
                "destinationBucket": "arn:aws:s3:::replicated-data",
                "s3Operation": "OBJECT_PUT", "requestTime": time,
                "failureReason": reason}}]})
        .to_string()
    }

    fn event(key: &str, version: &str, reason: &str, time: &str) -> FailureEvent {
        match parse_message(&body(key, version, reason, time)).unwrap() {
            Message::Failure(e) => e,
            Message::Other => panic!("not a failure"),
        }
    }

    #[test]
    fn events_are_parsed_and_test_messages_skipped() {
        let e = event(
            "a%20b/c.txt",
            "v1",
            "DstPutObjectNotPermitted",
            "2026-12-01T10:00:00.123Z",
        );
        assert_eq!(e.key, "a b/c.txt");
        assert_eq!(e.destination, "replicated-data");
        assert_eq!(e.reason, "DstPutObjectNotPermitted");
        assert_eq!(e.time, parse_time("2026-12-01T10:00:00.123Z").unwrap());
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2000-03-01T00:00:00Z"), Some(951_868_800_000));
        assert_eq!(parse_time("2000-03-01T00:00:00.68Z"), Some(951_868_800_680));
        assert_eq!(
            parse_time("2000-03-01T00:00:00.123456Z"),
            Some(951_868_800_123)
        );
        let test = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "data"});
        assert_eq!(parse_message(&test.to_string()).unwrap(), Message::Other);
        assert!(parse_message("not json").is_err());
    }

    #[test]
    fn a_version_is_kept_once_and_old_ones_are_counted_not_named() {
        let mut s = FailureSummary::default();
        let t = "2026-12-01T10:00:00Z";
        assert_eq!(
            s.fold([
                event("a", "v1", "DstPutObjectNotPermitted", t),
                event("a", "v1", "DstPutObjectNotPermitted", t),
                event("b", "v1", "DstKmsKeyNotFound", t),
            ]),
            2
        );
        // Delivered again (at least once): nothing new.
        assert_eq!(s.fold([event("a", "v1", "DstPutObjectNotPermitted", t)]), 0);
        assert_eq!(
            s.reason_of("b", "v1", "replicated-data"),
            Some("DstKmsKeyNotFound")
        );
        let many = (0..MAX_VERSIONS + 5).map(|i| FailureEvent {
            key: format!("k{i}"),
            time: 1_000 + i as i64,
            ..event("x", "v", "DstPutObjectNotPermitted", t)
        });
        s.fold(many);
        assert_eq!(s.versions.len(), MAX_VERSIONS);
        let counts = s.counts();
        assert_eq!(
            counts[&(
                "replicated-data".to_string(),
                "DstPutObjectNotPermitted".to_string()
            )],
            (MAX_VERSIONS + 5 + 1) as u64
        );
        assert_eq!(
            counts[&(
                "replicated-data".to_string(),
                "DstKmsKeyNotFound".to_string()
            )],
            1
        );
        // Stored and read back, the same.
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<FailureSummary>(&text).unwrap(), s);
    }

    #[test]
    fn a_clean_backfill_resolves_what_failed_before_it() {
        let mut s = FailureSummary::default();
        s.fold([
            event(
                "a",
                "v1",
                "DstPutObjectNotPermitted",
                "2026-12-01T10:00:00Z",
            ),
            event(
                "b",
                "v1",
                "DstPutObjectNotPermitted",
                "2026-12-01T12:00:00Z",
            ),
        ]);
        assert_eq!(
            s.resolve_before(parse_time("2026-12-01T11:00:00Z").unwrap()),
            1
        );
        assert_eq!(s.reason_of("a", "v1", "replicated-data"), None);
        assert!(s.reason_of("b", "v1", "replicated-data").is_some());
        // Within one second, milliseconds tell a failure after the job from one before it.
        assert_eq!(
            s.resolve_before(parse_time("2026-12-01T11:59:59.900Z").unwrap()),
            0
        );
        assert_eq!(
            s.resolve_before(parse_time("2026-12-01T12:00:00.001Z").unwrap()),
            1
        );
        assert!(s.is_empty());
    }
}
