//! The replication alarm (CloudWatch): `DescribeAlarms` by name; `PutMetricAlarm` (a Metrics
//! Insights query, alarm when above the threshold for one period, missing data not breaching,
//! the topic as alarm action); `DeleteAlarms`.

use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricDataQuery};

use crossrep_core::kinds::alarm::{Alarm, AlarmSpec};
use crossrep_core::kinds::alert_queue::{AlertAddr, NAME};
use crossrep_core::kinds::Change;
use crossrep_core::observed::Observed;

use crate::error::{call_error, CallError};
use crate::session::{Session, Sessions};

/// The id of the alarm's one query.
const QUERY_ID: &str = "failed";

pub(crate) async fn read(session: &Session, addr: &AlertAddr) -> Observed<AlarmSpec> {
    let account = session.id.as_str();
    let out = session
        .cloudwatch(&addr.region)
        .describe_alarms()
        .alarm_names(NAME)
        .send()
        .await;
    match out {
        Err(e) => Observed::Unreadable(
            call_error(e, account, "cloudwatch:DescribeAlarms", NAME).to_read_error(),
        ),
        Ok(out) => Observed::from_option(out.metric_alarms().first().map(|a| {
            let query = a.metrics().iter().find(|m| m.return_data() != Some(false));
            AlarmSpec {
                query: query
                    .and_then(|q| q.expression())
                    .unwrap_or_default()
                    .to_string(),
                period: query.and_then(|q| q.period()).unwrap_or(0),
                threshold: a.threshold().unwrap_or(0.0) as i64,
                actions: a.alarm_actions().to_vec(),
            }
        })),
    }
}

pub(crate) async fn apply(c: &Change<Alarm>, sessions: &Sessions) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let cw = session.cloudwatch(&c.addr.region);
    let Some(spec) = &c.after else {
        return cw
            .delete_alarms()
            .alarm_names(NAME)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| call_error(e, account, "cloudwatch:DeleteAlarms", NAME));
    };
    cw.put_metric_alarm()
        .alarm_name(NAME)
        .alarm_description(
            "crossrep: S3 replication operations failed in this account and region; run `crossrep verify` to see which objects and why",
        )
        .metrics(
            MetricDataQuery::builder()
                .id(QUERY_ID)
                .expression(&spec.query)
                .period(spec.period)
                .return_data(true)
                .build(),
        )
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .threshold(spec.threshold as f64)
        .evaluation_periods(1)
        .treat_missing_data("notBreaching")
        .set_alarm_actions(Some(spec.actions.clone()))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| call_error(e, account, "cloudwatch:PutMetricAlarm", NAME))
}
