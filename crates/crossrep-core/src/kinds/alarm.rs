//! The replication alarm (SPEC §10): one CloudWatch alarm per source account and region over
//! `AWS/S3 OperationsFailedReplication` of every crossrep rule there, as a Metrics Insights
//! query, notifying the alert topic. One alarm per account and region rather than one per rule:
//! at 10,000 rules, one per rule would be 10,000 alarms to pay for and keep in step, and an
//! alarm on the metric without all three of its dimensions (`SourceBucket`,
//! `DestinationBucket`, `RuleId`) never fires (AWS-NOTES, alerts), while a Metrics Insights
//! query over the `SCHEMA` of those three dimensions sums them all. It is not filtered by rule
//! (the filter operators Metrics Insights accepts on a dimension could not be confirmed): it
//! fires on failed replication of any rule with metrics in that account and region, which is
//! failed replication either way.

use serde::{Deserialize, Serialize};

use super::alert_queue::{AlertAddr, NAME};
use super::Kind;
use crate::names::Region;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alarm;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmSpec {
    /// The Metrics Insights query (`SELECT SUM(OperationsFailedReplication) FROM …`).
    pub query: String,
    /// Seconds per evaluated period.
    pub period: i32,
    /// Alarm when the failures of one period exceed this (0: any failure; CloudWatch takes a
    /// double, failures are whole).
    pub threshold: i64,
    /// ARNs notified on `ALARM` (the alert topic).
    pub actions: Vec<String>,
}

impl AlarmSpec {
    pub fn new(addr: &AlertAddr) -> AlarmSpec {
        AlarmSpec {
            query: QUERY.to_string(),
            period: 300,
            threshold: 0,
            actions: vec![addr.topic_arn()],
        }
    }
}

/// Every rule's failed operations in the account and region, summed.
pub const QUERY: &str = "SELECT SUM(OperationsFailedReplication) FROM SCHEMA(\"AWS/S3\", DestinationBucket, RuleId, SourceBucket)";

impl Kind for Alarm {
    const NAME: &'static str = "alarm";
    /// After the topic it notifies.
    const PHASE: u8 = 1;
    type Addr = AlertAddr;
    type Spec = AlarmSpec;

    fn describe(addr: &AlertAddr, _: &Region) -> String {
        format!(
            "CloudWatch alarm `{NAME}` in {} ({}) on failed replication",
            addr.account, addr.region
        )
    }

    super::stored_as!(Alarm, alarm);
}
