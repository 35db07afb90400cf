//! The alert queue (SQS): `GetQueueUrl`, `GetQueueAttributes` (`Policy`,
//! `MessageRetentionPeriod`), `ListQueueTags`; written with `CreateQueue` (attributes and tags
//! together), or `SetQueueAttributes` and `TagQueue` when it exists; deleted with `DeleteQueue`.

use std::collections::HashMap;

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

use crossrep_core::kinds::alert_queue::{AlertAddr, AlertQueue, AlertQueueSpec, NAME};
use crossrep_core::kinds::Change;
use crossrep_core::observed::Observed;

use crate::error::{call_error, CallError};
use crate::session::{Session, Sessions};

/// The queue's URL, if it exists.
pub(crate) async fn url(session: &Session, addr: &AlertAddr) -> Result<Option<String>, CallError> {
    let account = session.id.as_str();
    match session
        .sqs(&addr.region)
        .get_queue_url()
        .queue_name(NAME)
        .queue_owner_aws_account_id(account)
        .send()
        .await
    {
        Ok(out) => Ok(out.queue_url().map(str::to_string)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_queue_does_not_exist()) =>
        {
            Ok(None)
        }
        Err(e) => Err(call_error(e, account, "sqs:GetQueueUrl", NAME)),
    }
}

pub(crate) async fn read(session: &Session, addr: &AlertAddr) -> Observed<AlertQueueSpec> {
    super::optional(read_all(session, addr).await)
}

async fn read_all(
    session: &Session,
    addr: &AlertAddr,
) -> Result<Option<AlertQueueSpec>, CallError> {
    let account = session.id.as_str();
    let Some(url) = url(session, addr).await? else {
        return Ok(None);
    };
    let sqs = session.sqs(&addr.region);
    let (attrs, tags) = futures::join!(
        sqs.get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::Policy)
            .attribute_names(QueueAttributeName::MessageRetentionPeriod)
            .send(),
        sqs.list_queue_tags().queue_url(&url).send(),
    );
    let attrs = attrs.map_err(|e| call_error(e, account, "sqs:GetQueueAttributes", NAME))?;
    let tags = tags.map_err(|e| call_error(e, account, "sqs:ListQueueTags", NAME))?;
    let get = |n: QueueAttributeName| attrs.attributes().and_then(|a| a.get(&n)).cloned();
    let policy: Value = match get(QueueAttributeName::Policy) {
        None => Value::Null,
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            CallError::invalid(
                account,
                "sqs:GetQueueAttributes",
                NAME,
                format!("the queue policy is not valid JSON: {e}"),
            )
        })?,
    };
    Ok(Some(AlertQueueSpec {
        policy,
        retention_seconds: get(QueueAttributeName::MessageRetentionPeriod)
            .and_then(|s| s.parse().ok())
            .unwrap_or(345_600),
        tags: tags
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }))
}

fn attributes(spec: &AlertQueueSpec) -> HashMap<QueueAttributeName, String> {
    HashMap::from([
        (QueueAttributeName::Policy, spec.policy.to_string()),
        (
            QueueAttributeName::MessageRetentionPeriod,
            spec.retention_seconds.to_string(),
        ),
    ])
}

pub(crate) async fn apply(c: &Change<AlertQueue>, sessions: &Sessions) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let sqs = session.sqs(&c.addr.region);
    let Some(spec) = &c.after else {
        return match url(session, &c.addr).await? {
            None => Ok(()),
            Some(url) => sqs
                .delete_queue()
                .queue_url(url)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| call_error(e, account, "sqs:DeleteQueue", NAME)),
        };
    };
    let tags: HashMap<String, String> = spec.tags.clone().into_iter().collect();
    match url(session, &c.addr).await? {
        // Created with its attributes and tags in one call; a lost response to an earlier
        // attempt left it there, and the write below makes it what the plan wants.
        None => {
            sqs.create_queue()
                .queue_name(NAME)
                .set_attributes(Some(attributes(spec)))
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(|e| call_error(e, account, "sqs:CreateQueue", NAME))?;
            Ok(())
        }
        Some(url) => {
            if c.before.is_some() {
                let now = read(session, &c.addr).await;
                super::unchanged_since_plan(now, c, account, "sqs:SetQueueAttributes")?;
            }
            sqs.set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(attributes(spec)))
                .send()
                .await
                .map_err(|e| call_error(e, account, "sqs:SetQueueAttributes", NAME))?;
            sqs.tag_queue()
                .queue_url(&url)
                .set_tags(Some(tags))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| call_error(e, account, "sqs:TagQueue", NAME))
        }
    }
}
