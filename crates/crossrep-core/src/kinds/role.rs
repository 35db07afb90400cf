//! The replication role of a source account (IAM): created with crossrep's trust policy and
//! tag; an existing role is crossrep's only when tagged `managed-by=crossrep`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Kind, KindAddr};
use crate::model::MANAGED_TAG;
use crate::names::{AccountId, Region};
use crate::policy::same_policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RoleAddr {
    pub account: AccountId,
    pub name: String,
}

impl KindAddr for RoleAddr {
    fn account(&self) -> &AccountId {
        &self.account
    }

    fn label(&self) -> String {
        format!("{}/{}", self.account, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSpec {
    pub trust_policy: Value,
    pub tags: BTreeMap<String, String>,
    pub description: String,
}

impl RoleSpec {
    pub fn is_managed(&self) -> bool {
        self.tags.get(MANAGED_TAG.0).map(String::as_str) == Some(MANAGED_TAG.1)
    }
}

pub const DESCRIPTION: &str = "S3 replication and S3 Batch Replication role managed by crossrep";

impl Kind for Role {
    const NAME: &'static str = "role";
    const PHASE: u8 = 0;
    type Addr = RoleAddr;
    type Spec = RoleSpec;

    fn describe(addr: &RoleAddr, _: &Region) -> String {
        format!("role `{}` in {}", addr.name, addr.account)
    }

    /// Only the trust policy is crossrep's to keep right: an update writes nothing else (tags
    /// and description are set at creation).
    fn same(actual: &RoleSpec, want: &RoleSpec) -> bool {
        same_policy(&actual.trust_policy, &want.trust_policy)
    }

    fn show(spec: &RoleSpec) -> Value {
        json!({"assume_role_policy": spec.trust_policy, "tags": spec.tags})
    }

    super::stored_as!(Role, role);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::trust_policy;

    fn spec(trust: Value, tags: &[(&str, &str)]) -> RoleSpec {
        RoleSpec {
            trust_policy: trust,
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            description: String::new(),
        }
    }

    #[test]
    fn compares_the_trust_policy_canonically_and_nothing_else() {
        let account = AccountId::new("111111111111").unwrap();
        let trust = trust_policy(&account);
        let mut reordered = trust.clone();
        if let Some(s) = reordered["Statement"][0]["Principal"]["Service"].as_array_mut() {
            s.reverse();
        }
        let want = spec(trust.clone(), &[MANAGED_TAG]);
        assert!(Role::same(&spec(reordered, &[("owner", "x")]), &want));
        assert!(!Role::same(
            &spec(
                json!({"Version": "2012-10-17", "Statement": []}),
                &[MANAGED_TAG]
            ),
            &want
        ));
        assert!(want.is_managed());
        assert!(!spec(trust, &[("owner", "x")]).is_managed());
    }
}
