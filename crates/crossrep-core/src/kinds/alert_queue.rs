//! The alert queue (SPEC §10): one standard SQS queue per source account and region that S3
//! sends the replication failure events of crossrep's rules to (`s3:Replication:
//! OperationFailedReplication` goes only to a queue, topic or function in the bucket's region;
//! AWS-NOTES, alerts). Its policy lets `s3.amazonaws.com` send from the source buckets of that
//! account only ([`crate::policy::queue_policy`]). `verify` and `status` read it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Kind, KindAddr};
use crate::model::MANAGED_TAG;
use crate::names::{AccountId, Region};
use crate::policy::same_policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertQueue;

/// The name of crossrep's queue, topic and alarm in each source account and region.
pub const NAME: &str = "crossrep-replication-failures";

/// Events are kept 14 days, SQS's longest (`MessageRetentionPeriod` 1,209,600 s): what
/// `verify` and `status` have not read by then is lost, and they say so.
pub const RETENTION_SECONDS: u32 = 1_209_600;

/// A source account and region: where the alert queue, topic and alarm live.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AlertAddr {
    pub account: AccountId,
    pub region: Region,
}

impl AlertAddr {
    /// Where the alerts of a source bucket are: its account and region.
    pub fn of(source: &crate::desired::BucketRef) -> AlertAddr {
        AlertAddr {
            account: source.account.clone(),
            region: source.region.clone(),
        }
    }

    pub fn queue_arn(&self) -> String {
        format!("arn:aws:sqs:{}:{}:{NAME}", self.region, self.account)
    }

    pub fn topic_arn(&self) -> String {
        format!("arn:aws:sns:{}:{}:{NAME}", self.region, self.account)
    }
}

impl KindAddr for AlertAddr {
    fn account(&self) -> &AccountId {
        &self.account
    }

    fn label(&self) -> String {
        format!("{}/{}", self.account, self.region)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertQueueSpec {
    /// The queue's access policy.
    pub policy: Value,
    pub retention_seconds: u32,
    pub tags: BTreeMap<String, String>,
}

impl AlertQueueSpec {
    pub fn new(policy: Value) -> AlertQueueSpec {
        AlertQueueSpec {
            policy,
            retention_seconds: RETENTION_SECONDS,
            tags: BTreeMap::from([(MANAGED_TAG.0.to_string(), MANAGED_TAG.1.to_string())]),
        }
    }

    pub fn is_managed(&self) -> bool {
        self.tags.get(MANAGED_TAG.0).map(String::as_str) == Some(MANAGED_TAG.1)
    }
}

impl Kind for AlertQueue {
    const NAME: &'static str = "alert_queue";
    const PHASE: u8 = 0;
    type Addr = AlertAddr;
    type Spec = AlertQueueSpec;

    fn describe(addr: &AlertAddr, _: &Region) -> String {
        format!(
            "SQS queue `{NAME}` in {} ({}), for replication failure events",
            addr.account, addr.region
        )
    }

    /// Tags are only added ([`Self::show`] shows them), so a queue with more tags is the same.
    fn same(actual: &AlertQueueSpec, want: &AlertQueueSpec) -> bool {
        same_policy(&actual.policy, &want.policy)
            && actual.retention_seconds == want.retention_seconds
            && want.tags.iter().all(|(k, v)| actual.tags.get(k) == Some(v))
    }

    fn show(spec: &AlertQueueSpec) -> Value {
        json!({
            "policy": spec.policy,
            "message_retention_seconds": spec.retention_seconds,
            "tags": spec.tags,
        })
    }

    super::stored_as!(AlertQueue, alert_queue);
}
