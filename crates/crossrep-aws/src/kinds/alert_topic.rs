//! The alert topic (SNS): `GetTopicAttributes` (its ARN is known: it is named), then
//! `ListTagsForResource` and `ListSubscriptionsByTopic` (every page); written with
//! `CreateTopic` (idempotent, with its tags), `TagResource` and `Subscribe` (email, for each
//! address not subscribed yet); deleted with `DeleteTopic`.

use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::types::Tag;

use crossrep_core::kinds::alert_queue::{AlertAddr, NAME};
use crossrep_core::kinds::alert_topic::{AlertTopic, AlertTopicSpec};
use crossrep_core::kinds::Change;
use crossrep_core::observed::Observed;

use crate::error::{call_error, CallError};
use crate::session::{Session, Sessions};

pub(crate) async fn read(session: &Session, addr: &AlertAddr) -> Observed<AlertTopicSpec> {
    super::optional(read_all(session, addr).await)
}

async fn read_all(
    session: &Session,
    addr: &AlertAddr,
) -> Result<Option<AlertTopicSpec>, CallError> {
    let account = session.id.as_str();
    let sns = session.sns(&addr.region);
    let arn = addr.topic_arn();
    match sns.get_topic_attributes().topic_arn(&arn).send().await {
        Ok(_) => {}
        Err(e) if e.code() == Some("NotFound") => return Ok(None),
        Err(e) => return Err(call_error(e, account, "sns:GetTopicAttributes", &arn)),
    }
    let tags = sns
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| call_error(e, account, "sns:ListTagsForResource", &arn))?;
    let mut spec = AlertTopicSpec {
        emails: Default::default(),
        tags: tags
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
    };
    let mut token: Option<String> = None;
    loop {
        let page = sns
            .list_subscriptions_by_topic()
            .topic_arn(&arn)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| call_error(e, account, "sns:ListSubscriptionsByTopic", &arn))?;
        for s in page.subscriptions() {
            if s.protocol() == Some("email") {
                if let Some(e) = s.endpoint() {
                    spec.emails.insert(e.to_string());
                }
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() && token.as_deref() != Some(t) => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(Some(spec))
}

pub(crate) async fn apply(c: &Change<AlertTopic>, sessions: &Sessions) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let sns = session.sns(&c.addr.region);
    let arn = c.addr.topic_arn();
    let Some(spec) = &c.after else {
        return sns
            .delete_topic()
            .topic_arn(&arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| call_error(e, account, "sns:DeleteTopic", &arn));
    };
    let tags: Vec<Tag> = spec
        .tags
        .iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect();
    // CreateTopic of an existing topic returns it (with the same attributes and tags).
    if c.before.is_none() {
        sns.create_topic()
            .name(NAME)
            .set_tags(Some(tags.clone()))
            .send()
            .await
            .map_err(|e| call_error(e, account, "sns:CreateTopic", NAME))?;
    } else {
        sns.tag_resource()
            .resource_arn(&arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| call_error(e, account, "sns:TagResource", &arn))?;
    }
    let have = c
        .before
        .as_ref()
        .map(|b| b.emails.clone())
        .unwrap_or_default();
    for email in spec.emails.difference(&have) {
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("email")
            .endpoint(email)
            .send()
            .await
            .map_err(|e| call_error(e, account, "sns:Subscribe", &arn))?;
    }
    Ok(())
}
