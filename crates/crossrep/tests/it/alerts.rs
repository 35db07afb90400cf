//! Alerts (SPEC §10, issue 11): replication metrics on crossrep's rules, failure events into a
//! queue crossrep manages, an alarm notifying a topic; someone else's notification entries kept.

use serde_json::json;

use crate::harness::*;

/// A queue of someone else's in the source account that S3 may send `bucket`'s events to; its
/// ARN.
async fn their_queue(admin: &Admin, env: &Env, name: &str, bucket: &str) -> String {
    let sqs = admin.src().sqs(&region("us-east-1"));
    let arn = format!("arn:aws:sqs:us-east-1:{}:{name}", env.src);
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "s3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": arn,
        "Condition": {"ArnLike": {"aws:SourceArn": format!("arn:aws:s3:::{bucket}")}}}]});
    sqs.create_queue()
        .queue_name(name)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            policy.to_string(),
        )
        .send()
        .await
        .unwrap();
    arn
}

/// Issue 11, done when (1): apply adds crossrep's failure-event entry beside someone else's
/// ObjectCreated entry; the rule has metrics; the alarm on failed replication exists in the
/// source account and notifies the topic `alert_email` is subscribed to; a second apply writes
/// nothing; destroy removes crossrep's entry, queue, topic and alarm and keeps theirs.
#[tokio::test(flavor = "multi_thread")]
async fn alerts_are_set_up_beside_foreign_notifications_and_removed_by_destroy() {
    use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
    let env = Env::new(88);
    let admin = env.admin().await;
    let data = env.bucket("data");
    create_bucket(admin.src(), &data, "us-east-1").await;
    enable_versioning(admin.src(), &data, "us-east-1").await;
    let uploads = their_queue(&admin, &env, &format!("{}uploads", env.prefix), &data).await;
    let s3 = admin.src().s3(&region("us-east-1"));
    s3.put_bucket_notification_configuration()
        .bucket(&data)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .id("their-uploads")
                        .queue_arn(&uploads)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    env.write_config("backfill = \"none\"\n\n[settings]\nalert_email = \"oncall@example.com\"");
    let plan = env.ok(&["plan"]);
    assert!(
        plan.contains("note: alerts: replication metrics on 1 rule(s)"),
        "{plan}"
    );
    assert!(
        plan.contains(&format!("alarm[{}/us-east-1]", env.src)),
        "{plan}"
    );
    env.ok(&["apply", "--yes"]);

    let entries = s3
        .get_bucket_notification_configuration()
        .bucket(&data)
        .send()
        .await
        .unwrap();
    let ids: Vec<(&str, &str)> = entries
        .queue_configurations()
        .iter()
        .map(|q| (q.id().unwrap_or_default(), q.queue_arn()))
        .collect();
    let queue_arn = format!(
        "arn:aws:sqs:us-east-1:{}:crossrep-replication-failures",
        env.src
    );
    assert_eq!(
        ids,
        vec![
            ("their-uploads", uploads.as_str()),
            ("crossrep-replication-failures", queue_arn.as_str())
        ]
    );
    let cfg = get_replication(admin.src(), &data, "us-east-1").await;
    assert!(cfg.rules[0].destination.metrics_enabled, "{cfg:?}");
    let alarms = admin
        .src()
        .cloudwatch(&region("us-east-1"))
        .describe_alarms()
        .alarm_names("crossrep-replication-failures")
        .send()
        .await
        .unwrap();
    let alarm = &alarms.metric_alarms()[0];
    let topic = format!(
        "arn:aws:sns:us-east-1:{}:crossrep-replication-failures",
        env.src
    );
    assert_eq!(alarm.alarm_actions(), [topic.clone()]);
    assert!(alarm.metrics()[0]
        .expression()
        .unwrap_or_default()
        .contains("SUM(OperationsFailedReplication)"));
    let subs = admin
        .src()
        .sns(&region("us-east-1"))
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    assert!(subs
        .subscriptions()
        .iter()
        .any(|s| s.endpoint() == Some("oncall@example.com")));

    // Nothing left to do, and nothing written to find that out.
    let writes = (env.emu.writes(&env.src), env.emu.writes(&env.dst));
    let again = env.crossrep().args(["apply", "--yes"]).output().unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    assert_eq!(
        (env.emu.writes(&env.src), env.emu.writes(&env.dst)),
        writes,
        "{}",
        stdout(&again)
    );

    env.ok(&["destroy", "--yes"]);
    let entries = s3
        .get_bucket_notification_configuration()
        .bucket(&data)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = entries
        .queue_configurations()
        .iter()
        .map(|q| q.id().unwrap_or_default())
        .collect();
    assert_eq!(ids, ["their-uploads"]);
    let alarms = admin
        .src()
        .cloudwatch(&region("us-east-1"))
        .describe_alarms()
        .alarm_names("crossrep-replication-failures")
        .send()
        .await
        .unwrap();
    assert!(alarms.metric_alarms().is_empty());
    let queue = admin
        .src()
        .sqs(&region("us-east-1"))
        .get_queue_url()
        .queue_name("crossrep-replication-failures")
        .send()
        .await;
    assert!(queue.is_err(), "{queue:?}");
    let topic_left = admin
        .src()
        .sns(&region("us-east-1"))
        .get_topic_attributes()
        .topic_arn(&topic)
        .send()
        .await;
    assert!(topic_left.is_err(), "{topic_left:?}");
}
