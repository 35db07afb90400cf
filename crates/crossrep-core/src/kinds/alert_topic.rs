//! The alert topic (SPEC §10): one SNS topic per source account and region that the alarm
//! notifies; `settings.alert_email` is subscribed to it. Subscriptions someone else made are
//! kept (crossrep only adds its address), and destroy deletes the topic only when it carries
//! crossrep's tag.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::alert_queue::{AlertAddr, NAME};
use super::Kind;
use crate::model::MANAGED_TAG;
use crate::names::Region;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertTopic;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertTopicSpec {
    /// Email addresses subscribed (confirmed or pending confirmation).
    pub emails: BTreeSet<String>,
    pub tags: BTreeMap<String, String>,
}

impl AlertTopicSpec {
    /// What crossrep wants: `current`'s subscriptions and tags, plus `email` and its tag.
    pub fn merged(current: Option<&AlertTopicSpec>, email: Option<&str>) -> AlertTopicSpec {
        let mut spec = current.cloned().unwrap_or(AlertTopicSpec {
            emails: BTreeSet::new(),
            tags: BTreeMap::new(),
        });
        spec.tags
            .insert(MANAGED_TAG.0.to_string(), MANAGED_TAG.1.to_string());
        if let Some(e) = email {
            spec.emails.insert(e.to_string());
        }
        spec
    }

    pub fn is_managed(&self) -> bool {
        self.tags.get(MANAGED_TAG.0).map(String::as_str) == Some(MANAGED_TAG.1)
    }
}

impl Kind for AlertTopic {
    const NAME: &'static str = "alert_topic";
    const PHASE: u8 = 0;
    type Addr = AlertAddr;
    type Spec = AlertTopicSpec;

    fn describe(addr: &AlertAddr, _: &Region) -> String {
        format!(
            "SNS topic `{NAME}` in {} ({}), notified by the replication alarm",
            addr.account, addr.region
        )
    }

    /// Subscriptions and tags are only added: a topic holding more is the same.
    fn same(actual: &AlertTopicSpec, want: &AlertTopicSpec) -> bool {
        want.emails.is_subset(&actual.emails)
            && want.tags.iter().all(|(k, v)| actual.tags.get(k) == Some(v))
    }

    fn show(spec: &AlertTopicSpec) -> Value {
        json!({"email_subscriptions": spec.emails, "tags": spec.tags})
    }

    super::stored_as!(AlertTopic, alert_topic);
}
