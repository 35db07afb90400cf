//! A source bucket's event notification configuration (SPEC §10): crossrep's entry
//! [`ENTRY_ID`] sends the replication failure events of the bucket's rules to the alert queue
//! of its account and region. `PutBucketNotificationConfiguration` replaces the whole document,
//! so crossrep's entry is merged by id and every other entry (queues, topics, functions,
//! EventBridge) is written back verbatim ([`merged`]). S3 publishes replication events only for
//! rules with metrics (AWS-NOTES, alerts).

use serde::{Deserialize, Serialize};

use super::{BucketAddr, Kind};
use crate::names::Region;
use crate::observed::Observed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notification;

/// The id of crossrep's entry.
pub const ENTRY_ID: &str = "crossrep-replication-failures";

/// The event of a failed replication.
pub const FAILED: &str = "s3:Replication:OperationFailedReplication";

/// The events of Replication Time Control, sent with it.
pub const RTC_EVENTS: [&str; 3] = [
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:Replication:OperationNotTracked",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Queue,
    Topic,
    Lambda,
}

/// One entry: where the events go, which events, and the key filter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub target: Target,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub arn: String,
    pub events: Vec<String>,
    /// `prefix` / `suffix` filter rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NotificationSpec {
    pub entries: Vec<Entry>,
    /// Events also go to EventBridge (`EventBridgeConfiguration`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub eventbridge: bool,
}

impl NotificationSpec {
    /// Whether crossrep's entry is there.
    pub fn has_ours(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.id.as_deref() == Some(ENTRY_ID))
    }
}

/// crossrep's entry: failure events (and the RTC ones with `replication_time`) to `queue_arn`.
pub fn our_entry(queue_arn: &str, replication_time: bool) -> Entry {
    let mut events = vec![FAILED.to_string()];
    if replication_time {
        events.extend(RTC_EVENTS.iter().map(|e| e.to_string()));
    }
    Entry {
        target: Target::Queue,
        id: Some(ENTRY_ID.to_string()),
        arn: queue_arn.to_string(),
        events,
        filter: Vec::new(),
    }
}

/// `current` with crossrep's entry replaced by `ours` (or removed, with `None`); every other
/// entry kept verbatim, in order.
pub fn merged(current: Option<&NotificationSpec>, ours: Option<Entry>) -> NotificationSpec {
    let mut spec = current.cloned().unwrap_or_default();
    spec.entries.retain(|e| e.id.as_deref() != Some(ENTRY_ID));
    spec.entries.extend(ours);
    spec
}

impl Kind for Notification {
    const NAME: &'static str = "notification";
    /// After the queue it sends to exists: S3 checks it (a test message) when it is written.
    const PHASE: u8 = 1;
    type Addr = BucketAddr;
    type Spec = NotificationSpec;

    fn describe(addr: &BucketAddr, _: &Region) -> String {
        format!(
            "event notifications of bucket `{}` in {}",
            addr.bucket, addr.account
        )
    }

    /// Entry order means nothing to S3.
    fn same(actual: &NotificationSpec, want: &NotificationSpec) -> bool {
        let sorted = |s: &NotificationSpec| {
            let mut e = s.entries.clone();
            for x in &mut e {
                x.events.sort();
            }
            e.sort();
            (e, s.eventbridge)
        };
        sorted(actual) == sorted(want)
    }

    /// A bucket with nothing configured has no entries.
    fn bucket_default(b: &BucketAddr) -> Option<(BucketAddr, Observed<NotificationSpec>)> {
        Some((b.clone(), Observed::Present(NotificationSpec::default())))
    }

    super::stored_as!(Notification, notification);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossrep_entry_is_merged_by_id_and_foreign_entries_are_kept() {
        let theirs = Entry {
            target: Target::Queue,
            id: Some("their-uploads".into()),
            arn: "arn:aws:sqs:us-east-1:111111111111:uploads".into(),
            events: vec!["s3:ObjectCreated:*".into()],
            filter: vec![("prefix".into(), "in/".into())],
        };
        let current = NotificationSpec {
            entries: vec![theirs.clone()],
            eventbridge: true,
        };
        let ours = our_entry("arn:aws:sqs:us-east-1:111111111111:q", false);
        let want = merged(Some(&current), Some(ours.clone()));
        assert_eq!(want.entries, vec![theirs.clone(), ours.clone()]);
        assert!(want.eventbridge);
        // Merging again changes nothing; removing leaves theirs.
        assert!(Notification::same(&merged(Some(&want), Some(ours)), &want));
        assert_eq!(merged(Some(&want), None), current);
        assert_eq!(
            our_entry("q", true).events.len(),
            4,
            "failure and RTC events"
        );
    }
}
