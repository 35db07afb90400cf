//! Domain types: the S3 replication configuration (complete enough to round-trip rules that
//! crossrep did not write) and versioning. [`ActualState`] (what discovery saw, per resource
//! kind) is defined by the kind registry in [`crate::kinds`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::names::{AccountId, BucketName, Region};

/// Tag key and value that mark what crossrep created (SPEC §5).
pub const MANAGED_TAG: (&str, &str) = ("managed-by", "crossrep");
/// Prefix of the IDs of the replication rules crossrep owns.
pub const RULE_PREFIX: &str = "crossrep-";
/// Prefix of the Sids of the policy statements crossrep owns.
pub const SID_PREFIX: &str = "Crossrep";

/// A bucket replication configuration (`PutBucketReplication` body). `PutBucketReplication`
/// replaces the whole configuration, so every field of a rule someone else wrote must survive
/// the round trip through this type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReplicationConfiguration {
    pub role: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rule {
    pub id: Option<String>,
    pub priority: Option<i32>,
    pub enabled: bool,
    /// V1 rules have a rule-level prefix and no filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_marker_replication: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse_kms_encrypted_objects: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_modifications: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_object_replication: Option<bool>,
    pub destination: Destination,
}

impl Rule {
    pub fn is_managed(&self) -> bool {
        self.id
            .as_deref()
            .is_some_and(|id| id.starts_with(RULE_PREFIX))
    }

    /// A V1 rule: rule-level `Prefix` and no `Filter`.
    pub fn is_v1(&self) -> bool {
        self.filter.is_none()
    }
}

/// `Filter`: empty (every object), a prefix, one tag, or an `And` of a prefix and tags.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct Filter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Sorted tags; with more than one tag (or a prefix and a tag) S3 wants `And`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Written as `And` even where a plain `Prefix` or `Tag` would do (kept so a rule someone
    /// else wrote is written back in the shape it was read).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub and: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Destination {
    /// The destination bucket ARN.
    pub bucket: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// `AccessControlTranslation { Owner = Destination }`.
    #[serde(default)]
    pub owner_override: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_kms_key_id: Option<String>,
    /// Replication Time Control minutes when enabled (S3 accepts only 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_time_minutes: Option<i32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub metrics_enabled: bool,
    /// Metrics event threshold minutes, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_minutes: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Versioning {
    /// Never enabled.
    Off,
    Enabled,
    Suspended,
}

pub use crate::kinds::ActualState;

/// The source buckets of every source account, by name, with their regions: what the first,
/// cheap phase of discovery returns and what source selection works on.
pub type Listing = BTreeMap<AccountId, BTreeMap<BucketName, Region>>;
