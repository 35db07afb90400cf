//! The key policy of a replica key: crossrep's `Crossrep…` statements merged by Sid into
//! whatever is there, foreign statements kept verbatim (like a bucket policy).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::replica_key::KeyAddr;
use super::Kind;
use crate::names::{AccountId, Region};
use crate::policy::same_policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPolicy;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPolicySpec {
    pub document: Value,
}

impl Kind for KeyPolicy {
    const NAME: &'static str = "key_policy";
    /// After the roles it names exist (phase 0) and the key (phase 0).
    const PHASE: u8 = 2;
    type Addr = KeyAddr;
    type Spec = KeyPolicySpec;

    fn describe(addr: &KeyAddr, _: &Region) -> String {
        match &addr.key {
            None => format!(
                "key policy of the replica key in {} ({})",
                addr.account, addr.region
            ),
            Some(arn) => format!("key policy of replica key `{arn}`"),
        }
    }

    fn same(actual: &KeyPolicySpec, want: &KeyPolicySpec) -> bool {
        same_policy(&actual.document, &want.document)
    }

    fn show(spec: &KeyPolicySpec) -> Value {
        spec.document.clone()
    }

    super::stored_as!(KeyPolicy, key_policy);
}

/// The policy KMS gives a key created without one: the account's IAM policies decide.
pub fn default_policy(account: &AccountId) -> Value {
    json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
}
