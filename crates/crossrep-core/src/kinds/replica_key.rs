//! The replica key: one symmetric customer-managed KMS key per destination account and region,
//! which S3 encrypts the replicas of SSE-KMS and DSSE-KMS objects under (SPEC §8). crossrep
//! creates it (tag `managed-by=crossrep`, alias [`ALIAS`]), finds it again by its alias, and
//! never updates, disables or deletes it: replicas would become unreadable.
//!
//! Its ARN is unknown until it exists. A plan that creates it writes [`token`] where the ARN
//! goes (the rule's `ReplicaKmsKeyID`, the role's grant); apply replaces the token by the ARN of
//! the key the same run created, found by its alias (data flow, not a decision).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{ActualState, Kind, KindAddr};
use crate::config::Kms;
use crate::desired::Pair;
use crate::model::MANAGED_TAG;
use crate::names::{AccountId, Region};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaKey;

/// The alias crossrep's replica key has in each destination account and region.
pub const ALIAS: &str = "alias/crossrep-replica";

/// A replica key: the one crossrep manages in a destination account and region, or the key a
/// block's `kms` names there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyAddr {
    pub account: AccountId,
    pub region: Region,
    /// The ARN `kms` names; `None` for crossrep's own key (found by [`ALIAS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl KeyAddr {
    /// crossrep's replica key in `account` and `region`.
    pub fn managed(account: &AccountId, region: &Region) -> KeyAddr {
        KeyAddr {
            account: account.clone(),
            region: region.clone(),
            key: None,
        }
    }

    /// The replica key a pair's KMS objects replicate under, unless its block has
    /// `kms = "off"`.
    pub fn of(pair: &Pair) -> Option<KeyAddr> {
        let d = &pair.destination;
        match &pair.rule.kms {
            Kms::Off => None,
            Kms::Auto => Some(KeyAddr::managed(&d.account, &d.region)),
            Kms::Key(arn) => Some(KeyAddr {
                key: Some(arn.clone()),
                ..KeyAddr::managed(&d.account, &d.region)
            }),
        }
    }

    /// How KMS finds the key: its ARN, or crossrep's alias.
    pub fn key_id(&self) -> &str {
        self.key.as_deref().unwrap_or(ALIAS)
    }

    /// The region a named key's ARN says it is in (crossrep's key is where its address is).
    pub fn arn_region(&self) -> &str {
        self.key
            .as_deref()
            .and_then(|arn| arn.split(':').nth(3))
            .unwrap_or(self.region.as_str())
    }
}

impl KindAddr for KeyAddr {
    fn account(&self) -> &AccountId {
        &self.account
    }

    fn label(&self) -> String {
        match &self.key {
            None => format!("{}/{}", self.account, self.region),
            Some(arn) => format!(
                "{}/{}/{}",
                self.account,
                self.region,
                arn.rsplit('/').next().unwrap_or(arn)
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaKeySpec {
    /// The key's ARN (as discovery found it; `None` for a key a plan creates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub alias: String,
    pub tags: BTreeMap<String, String>,
    /// Enabled (key state `Enabled`): any other state makes every replica fail
    /// (`DstKmsKeyInvalidState`).
    pub enabled: bool,
    /// A symmetric encryption key (`SYMMETRIC_DEFAULT`, `ENCRYPT_DECRYPT`).
    pub symmetric: bool,
    /// An AWS managed key (`KeyManager = AWS`, such as `aws/s3`): other accounts cannot use
    /// it and its policy cannot be changed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub aws_managed: bool,
}

impl ReplicaKeySpec {
    /// The key crossrep creates.
    pub fn new() -> ReplicaKeySpec {
        ReplicaKeySpec {
            arn: None,
            alias: ALIAS.to_string(),
            tags: BTreeMap::from([(MANAGED_TAG.0.to_string(), MANAGED_TAG.1.to_string())]),
            enabled: true,
            symmetric: true,
            aws_managed: false,
        }
    }
}

impl Default for ReplicaKeySpec {
    fn default() -> Self {
        ReplicaKeySpec::new()
    }
}

impl Kind for ReplicaKey {
    const NAME: &'static str = "replica_key";
    /// With roles and buckets: nothing it needs comes before it.
    const PHASE: u8 = 0;
    type Addr = KeyAddr;
    type Spec = ReplicaKeySpec;

    fn describe(addr: &KeyAddr, _: &Region) -> String {
        format!(
            "replica KMS key `{}` in {} ({})",
            addr.key_id(),
            addr.account,
            addr.region
        )
    }

    /// A key is never updated: one that exists is used as it is (the planner checks it).
    fn same(_: &ReplicaKeySpec, _: &ReplicaKeySpec) -> bool {
        true
    }

    fn show(spec: &ReplicaKeySpec) -> Value {
        json!({"alias": spec.alias, "tags": spec.tags, "key_spec": "SYMMETRIC_DEFAULT"})
    }

    /// A created key has an ARN; in memory it is [`in_memory_arn`].
    fn apply_in_memory(state: &mut ActualState, change: &super::Change<ReplicaKey>) {
        let after = change.after.clone().map(|mut spec| {
            spec.arn.get_or_insert_with(|| in_memory_arn(&change.addr));
            spec
        });
        state.replica_key.insert(
            change.addr.clone(),
            crate::observed::Observed::from_option(after),
        );
    }

    super::stored_as!(ReplicaKey, replica_key);
}

/// What a plan writes where the ARN of a key it creates goes.
pub fn token(addr: &KeyAddr) -> String {
    format!(
        "(known after apply: replica key of {} in {})",
        addr.account, addr.region
    )
}

/// The addresses of the tokens in `text`, in order.
pub fn tokens_in(text: &str) -> Vec<KeyAddr> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("(known after apply: replica key of ") {
        rest = &rest[i + "(known after apply: replica key of ".len()..];
        let Some(end) = rest.find(')') else { break };
        if let Some((account, region)) = rest[..end].split_once(" in ") {
            if let (Ok(account), Ok(region)) = (AccountId::new(account), Region::new(region)) {
                out.push(KeyAddr::managed(&account, &region));
            }
        }
        rest = &rest[end..];
    }
    out
}

/// The ARN the planner's model of AWS gives a key created in memory.
pub fn in_memory_arn(addr: &KeyAddr) -> String {
    format!(
        "arn:aws:kms:{}:{}:key/crossrep-replica",
        addr.region, addr.account
    )
}

/// The ARN of the replica key at `addr`, or the token when a plan is to create it.
pub fn arn_or_token(state: &ActualState, addr: &KeyAddr) -> String {
    if let Some(arn) = &addr.key {
        return arn.clone();
    }
    state
        .present::<ReplicaKey>(addr)
        .and_then(|k| k.arn.clone())
        .unwrap_or_else(|| token(addr))
}

/// Replaces every token in `text` by the ARN `arn_of` gives its key (tokens it has none for stay).
pub fn substitute(text: &str, arn_of: impl Fn(&KeyAddr) -> Option<String>) -> String {
    let mut out = text.to_string();
    for addr in tokens_in(text) {
        if let Some(arn) = arn_of(&addr) {
            out = out.replace(&token(&addr), &arn);
        }
    }
    out
}

/// The planner's model of apply's substitution: documents written in memory with tokens get
/// the ARNs of the keys created in memory.
pub fn substitute_in_memory(state: &mut ActualState) {
    let arns: BTreeMap<KeyAddr, String> = state
        .replica_key
        .iter()
        .filter_map(|(a, o)| {
            o.present()
                .and_then(|k| k.arn.clone())
                .map(|arn| (a.clone(), arn))
        })
        .collect();
    if arns.is_empty() {
        return;
    }
    let fix = |v: &mut Value| {
        if let Ok(text) = serde_json::to_string(v) {
            if text.contains("(known after apply") {
                let text = substitute(&text, |a| arns.get(a).cloned());
                if let Ok(new) = serde_json::from_str(&text) {
                    *v = new;
                }
            }
        }
    };
    for o in state.role_policy.values_mut() {
        if let crate::observed::Observed::Present(p) = o {
            fix(&mut p.document);
        }
    }
    for o in state.replication.values_mut() {
        if let crate::observed::Observed::Present(r) = o {
            for rule in &mut r.configuration.rules {
                if let Some(k) = &rule.destination.replica_kms_key_id {
                    rule.destination.replica_kms_key_id =
                        Some(substitute(k, |a| arns.get(a).cloned()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_substituted() {
        let addr = KeyAddr::managed(
            &AccountId::new("222222222222").unwrap(),
            &Region::new("eu-west-1").unwrap(),
        );
        let text = format!("[\"{}\", \"x\"]", token(&addr));
        assert_eq!(tokens_in(&text), vec![addr.clone()]);
        let done = substitute(&text, |_| {
            Some("arn:aws:kms:eu-west-1:222222222222:key/k".into())
        });
        assert_eq!(
            done,
            "[\"arn:aws:kms:eu-west-1:222222222222:key/k\", \"x\"]"
        );
        assert!(tokens_in("no token").is_empty());
    }
}
