//! An inline policy of a role (IAM): crossrep writes one, `crossrep-replication`, granting the
//! role what replication and Batch Replication need (`policy::role_policy`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Kind, KindAddr};
use crate::names::{AccountId, Region};
use crate::policy::same_policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolePolicy;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RolePolicyAddr {
    pub account: AccountId,
    pub role: String,
    pub name: String,
}

impl KindAddr for RolePolicyAddr {
    fn account(&self) -> &AccountId {
        &self.account
    }

    fn label(&self) -> String {
        format!("{}/{}/{}", self.account, self.role, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolePolicySpec {
    pub document: Value,
}

impl Kind for RolePolicy {
    const NAME: &'static str = "role_policy";
    const PHASE: u8 = 1;
    type Addr = RolePolicyAddr;
    type Spec = RolePolicySpec;

    fn describe(addr: &RolePolicyAddr, _: &Region) -> String {
        format!(
            "inline policy `{}` of role `{}` in {}",
            addr.name, addr.role, addr.account
        )
    }

    fn same(actual: &RolePolicySpec, want: &RolePolicySpec) -> bool {
        same_policy(&actual.document, &want.document)
    }

    fn show(spec: &RolePolicySpec) -> Value {
        spec.document.clone()
    }

    super::stored_as!(RolePolicy, role_policy);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_compare_as_iam_does() {
        let a = RolePolicySpec {
            document: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:B", "s3:A"], "Resource": "*"}]}),
        };
        let b = RolePolicySpec {
            document: json!({"Statement": [{"Resource": ["*"], "Action": ["s3:A", "s3:B"], "Effect": "Allow"}], "Version": "2012-10-17"}),
        };
        let c = RolePolicySpec {
            document: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:A", "Resource": "*"}]}),
        };
        assert!(RolePolicy::same(&a, &b));
        assert!(!RolePolicy::same(&a, &c));
    }
}
