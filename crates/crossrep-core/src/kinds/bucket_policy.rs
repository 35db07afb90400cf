//! A destination bucket's policy: crossrep's `Crossrep…` statements (per source account)
//! merged by `Sid` into the existing policy, every other statement kept verbatim and in place
//! (`policy::merge_bucket_policy`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{BucketAddr, Kind};
use crate::names::Region;
use crate::observed::Observed;
use crate::policy::same_policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketPolicy;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketPolicySpec {
    pub document: Value,
}

impl Kind for BucketPolicy {
    const NAME: &'static str = "bucket_policy";
    const PHASE: u8 = 2;
    type Addr = BucketAddr;
    type Spec = BucketPolicySpec;

    fn describe(addr: &BucketAddr, _: &Region) -> String {
        format!("bucket policy of `{}` in {}", addr.bucket, addr.account)
    }

    fn same(actual: &BucketPolicySpec, want: &BucketPolicySpec) -> bool {
        same_policy(&actual.document, &want.document)
    }

    fn show(spec: &BucketPolicySpec) -> Value {
        spec.document.clone()
    }

    fn bucket_default(b: &BucketAddr) -> Option<(BucketAddr, Observed<BucketPolicySpec>)> {
        Some((b.clone(), Observed::Absent))
    }

    super::stored_as!(BucketPolicy, bucket_policy);
}

/// The statements of a policy document (a single statement object counts as a list of one).
pub fn statements(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()],
        _ => vec![],
    }
}

/// What removing the statements with these `sids` leaves (destroy): `None` when none of them
/// is there, `Some(None)` when nothing else is left (delete the policy), `Some(Some(doc))`
/// otherwise, every other key and statement kept.
pub fn clean(policy: &Value, sids: &BTreeSet<String>) -> Option<Option<Value>> {
    let ours = |s: &Value| {
        s.get("Sid")
            .and_then(Value::as_str)
            .is_some_and(|sid| sids.contains(sid))
    };
    let all = statements(policy);
    if !all.iter().any(ours) {
        return None;
    }
    let rest: Vec<Value> = all.into_iter().filter(|s| !ours(s)).collect();
    if rest.is_empty() {
        return Some(None);
    }
    let mut doc = policy.clone();
    doc["Statement"] = Value::Array(rest);
    Some(Some(doc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::merge_bucket_policy;
    use serde_json::json;

    #[test]
    fn merge_keeps_foreign_statements_and_clean_removes_only_ours() {
        let theirs = json!({"Sid": "Theirs", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"});
        let existing = json!({"Version": "2012-10-17", "Id": "x", "Statement": [theirs.clone()]});
        let ours = vec![
            json!({"Sid": "CrossrepA", "Effect": "Allow", "Principal": "*", "Action": "s3:ReplicateObject", "Resource": "*"}),
        ];
        let merged = merge_bucket_policy(Some(&existing), &ours);
        assert_eq!(merged["Id"], "x");
        assert_eq!(statements(&merged)[0], theirs);
        let spec = BucketPolicySpec {
            document: merged.clone(),
        };
        assert!(BucketPolicy::same(
            &spec,
            &BucketPolicySpec {
                document: merge_bucket_policy(Some(&merged), &ours)
            }
        ));
        assert!(!BucketPolicy::same(
            &spec,
            &BucketPolicySpec {
                document: existing.clone()
            }
        ));
        let sids = BTreeSet::from(["CrossrepA".to_string()]);
        assert_eq!(clean(&merged, &sids), Some(Some(existing.clone())));
        assert_eq!(clean(&existing, &sids), None);
        let only_ours = merge_bucket_policy(None, &ours);
        assert_eq!(clean(&only_ours, &sids), Some(None));
    }
}
