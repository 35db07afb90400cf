//! The replication role of a source account (IAM): created with crossrep's trust policy and
//! tag; an existing role is crossrep's only when tagged `managed-by=crossrep`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{ActualState, Kind, KindAddr};
use crate::desired::RoleRef;
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
    /// The ARN `GetRole` returned (discovery only): it carries the role's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

impl RoleSpec {
    pub fn is_managed(&self) -> bool {
        self.tags.get(MANAGED_TAG.0).map(String::as_str) == Some(MANAGED_TAG.1)
    }
}

/// `role` as it exists: with the path of the ARN `GetRole` returned for it, when discovery
/// found it (`arn:aws:iam::111111111111:role/service-role/name` has path `/service-role/`).
pub fn resolved(role: &RoleRef, actual: &ActualState) -> RoleRef {
    let addr = RoleAddr {
        account: role.account.clone(),
        name: role.name.clone(),
    };
    let path = actual
        .present::<Role>(&addr)
        .and_then(|r| r.arn.as_deref())
        .and_then(|arn| arn.split_once(":role/"))
        .and_then(|(_, rest)| rest.strip_suffix(role.name.as_str()))
        .map(|p| format!("/{p}"));
    RoleRef {
        path: path.unwrap_or_else(|| "/".to_string()),
        ..role.clone()
    }
}

/// Whether `arn` names `role`, whatever path it gives: IAM role names are unique in an account
/// regardless of path, so `role/x` and `role/service-role/x` of one account are one role (an
/// ARN with a stale path is repaired by the next write, not taken for someone else's role).
pub fn names_role(arn: &str, role: &RoleRef) -> bool {
    let Some((head, rest)) = arn.split_once(":role/") else {
        return false;
    };
    head.split(':').nth(4) == Some(role.account.as_str())
        && rest.rsplit('/').next() == Some(role.name.as_str())
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
            arn: None,
        }
    }

    #[test]
    fn a_role_is_named_by_the_arn_iam_returned_path_included() {
        let account = AccountId::new("111111111111").unwrap();
        let role = RoleRef {
            account: account.clone(),
            name: "crossrep-replication".into(),
            region: Region::new("us-east-1").unwrap(),
            path: "/".into(),
        };
        let mut actual = ActualState::default();
        assert_eq!(
            resolved(&role, &actual).arn(),
            "arn:aws:iam::111111111111:role/crossrep-replication"
        );
        let found = RoleSpec {
            arn: Some("arn:aws:iam::111111111111:role/service-role/crossrep-replication".into()),
            ..spec(trust_policy(&account), &[MANAGED_TAG])
        };
        actual.set::<Role>(
            RoleAddr {
                account,
                name: "crossrep-replication".into(),
            },
            crate::observed::Observed::Present(found),
        );
        assert_eq!(resolved(&role, &actual).path, "/service-role/");
        assert!(names_role(
            "arn:aws:iam::111111111111:role/crossrep-replication",
            &role
        ));
        assert!(names_role(
            "arn:aws:iam::111111111111:role/service-role/crossrep-replication",
            &role
        ));
        assert!(!names_role(
            "arn:aws:iam::222222222222:role/crossrep-replication",
            &role
        ));
        assert!(!names_role("arn:aws:iam::111111111111:role/other", &role));
        assert!(!names_role(
            "arn:aws:iam::111111111111:role/x-crossrep-replication",
            &role
        ));
        assert_eq!(
            resolved(&role, &actual).arn(),
            "arn:aws:iam::111111111111:role/service-role/crossrep-replication"
        );
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
