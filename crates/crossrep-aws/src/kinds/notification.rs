//! A bucket's event notifications: `GetBucketNotificationConfiguration`, and
//! `PutBucketNotificationConfiguration` with the whole merged document (it replaces what is
//! there), re-read just before writing. S3 checks each destination when it is written (it
//! sends a test message), so the queue's policy must already let it send.

use aws_sdk_s3::types::{
    Event, EventBridgeConfiguration, FilterRule, FilterRuleName, LambdaFunctionConfiguration,
    NotificationConfiguration, NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
    TopicConfiguration,
};

use crossrep_core::kinds::notification::{Entry, Notification, NotificationSpec, Target};
use crossrep_core::kinds::Change;
use crossrep_core::names::BucketName;
use crossrep_core::observed::Observed;

use super::observed;
use crate::error::{call_error, CallError};
use crate::session::Sessions;

fn filter_rules(f: Option<&NotificationConfigurationFilter>) -> Vec<(String, String)> {
    f.and_then(|f| f.key())
        .map(|k| {
            k.filter_rules()
                .iter()
                .map(|r| {
                    (
                        r.name().map(|n| n.as_str().to_string()).unwrap_or_default(),
                        r.value().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn events(e: &[Event]) -> Vec<String> {
    e.iter().map(|e| e.as_str().to_string()).collect()
}

pub(crate) async fn read(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
) -> Observed<NotificationSpec> {
    let r = s3
        .get_bucket_notification_configuration()
        .bucket(bucket.as_str())
        .send()
        .await;
    observed(r, &[], |e| {
        call_error(e, account, "s3:GetBucketNotification", bucket.as_str())
    })
    .and_then(|out| {
        let mut entries = Vec::new();
        for q in out.queue_configurations() {
            entries.push(Entry {
                target: Target::Queue,
                id: q.id().map(str::to_string),
                arn: q.queue_arn().to_string(),
                events: events(q.events()),
                filter: filter_rules(q.filter()),
            });
        }
        for t in out.topic_configurations() {
            entries.push(Entry {
                target: Target::Topic,
                id: t.id().map(str::to_string),
                arn: t.topic_arn().to_string(),
                events: events(t.events()),
                filter: filter_rules(t.filter()),
            });
        }
        for l in out.lambda_function_configurations() {
            entries.push(Entry {
                target: Target::Lambda,
                id: l.id().map(str::to_string),
                arn: l.lambda_function_arn().to_string(),
                events: events(l.events()),
                filter: filter_rules(l.filter()),
            });
        }
        Observed::Present(NotificationSpec {
            entries,
            eventbridge: out.event_bridge_configuration().is_some(),
        })
    })
}

fn filter(rules: &[(String, String)]) -> Option<NotificationConfigurationFilter> {
    (!rules.is_empty()).then(|| {
        NotificationConfigurationFilter::builder()
            .key(
                S3KeyFilter::builder()
                    .set_filter_rules(Some(
                        rules
                            .iter()
                            .map(|(n, v)| {
                                FilterRule::builder()
                                    .name(FilterRuleName::from(n.as_str()))
                                    .value(v)
                                    .build()
                            })
                            .collect(),
                    ))
                    .build(),
            )
            .build()
    })
}

/// The document S3 takes for `spec`.
fn document(
    spec: &NotificationSpec,
    account: &str,
    bucket: &str,
) -> Result<NotificationConfiguration, CallError> {
    let invalid = |e: aws_sdk_s3::error::BuildError| {
        CallError::invalid(account, "s3:PutBucketNotification", bucket, e)
    };
    let mut doc = NotificationConfiguration::builder();
    for e in &spec.entries {
        let events: Vec<Event> = e.events.iter().map(|x| Event::from(x.as_str())).collect();
        doc = match e.target {
            Target::Queue => doc.queue_configurations(
                QueueConfiguration::builder()
                    .set_id(e.id.clone())
                    .queue_arn(&e.arn)
                    .set_events(Some(events))
                    .set_filter(filter(&e.filter))
                    .build()
                    .map_err(invalid)?,
            ),
            Target::Topic => doc.topic_configurations(
                TopicConfiguration::builder()
                    .set_id(e.id.clone())
                    .topic_arn(&e.arn)
                    .set_events(Some(events))
                    .set_filter(filter(&e.filter))
                    .build()
                    .map_err(invalid)?,
            ),
            Target::Lambda => doc.lambda_function_configurations(
                LambdaFunctionConfiguration::builder()
                    .set_id(e.id.clone())
                    .lambda_function_arn(&e.arn)
                    .set_events(Some(events))
                    .set_filter(filter(&e.filter))
                    .build()
                    .map_err(invalid)?,
            ),
        };
    }
    if spec.eventbridge {
        doc = doc.event_bridge_configuration(EventBridgeConfiguration::builder().build());
    }
    Ok(doc.build())
}

pub(crate) async fn apply(
    c: &Change<Notification>,
    sessions: &Sessions,
    fresh: bool,
) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let bucket = c.addr.bucket.as_str();
    let s3 = session.s3(&c.region);
    let want = c.after.clone().unwrap_or_default();
    // Merged at plan time: written only over what was merged into.
    let now = read(&s3, account, &c.addr.bucket).await;
    super::unchanged_since_plan(now, c, account, "s3:PutBucketNotification")?;
    let body = document(&want, account, bucket)?;
    // A queue created moments ago may not take S3's test message yet (its policy is new).
    let propagating = |e: &CallError| {
        e.code() == Some("InvalidArgument")
            && e.message
                .contains("Unable to validate the following destination configurations")
    };
    super::with_consistency_retry(propagating, fresh, || async {
        s3.put_bucket_notification_configuration()
            .bucket(bucket)
            .notification_configuration(body.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| call_error(e, account, "s3:PutBucketNotification", bucket))
    })
    .await
}
