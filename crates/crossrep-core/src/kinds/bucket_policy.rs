//! A destination bucket's policy: crossrep's `Crossrep…` statements (per source account)
//! merged by `Sid` into the existing policy, every other statement kept verbatim and in place
//! (`policy::merge_bucket_policy`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{BucketAddr, Kind};
use crate::names::Region;
use crate::observed::Observed;
use crate::policy::{resource_matches, same_policy};

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

/// The actions replication performs on a destination's objects (what the role needs there).
const REPLICATION_ACTIONS: &[&str] = &[
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:ReplicateTags",
    "s3:ObjectOwnerOverrideToBucketOwner",
];

/// A statement crossrep did not write that denies (or, depending on a condition it cannot
/// evaluate, may deny) the role's replication writes into the destination: an explicit deny
/// wins over crossrep's allow, and every replica fails with `AccessDenied`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub sid: Option<String>,
    /// The statement has a condition crossrep cannot tell the outcome of.
    pub conditional: bool,
}

/// A string or list of strings (IAM allows both wherever a list goes).
pub(crate) fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// Whether a `Principal` / `NotPrincipal` value names the role: everyone, the role's ARN, or
/// its account (account id or `:root`).
fn names_role(principal: Option<&Value>, role_arn: &str, account: &str) -> bool {
    let aws = match principal {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Object(m)) => strings(m.get("AWS")),
        _ => vec![],
    };
    let root = format!(":iam::{account}:root");
    aws.iter()
        .any(|p| *p == "*" || *p == role_arn || *p == account || p.ends_with(&root))
}

fn any_action(patterns: &[&str]) -> bool {
    REPLICATION_ACTIONS.iter().any(|a| {
        patterns
            .iter()
            .any(|p| resource_matches(&p.to_ascii_lowercase(), &a.to_ascii_lowercase()))
    })
}

fn all_actions(patterns: &[&str]) -> bool {
    REPLICATION_ACTIONS.iter().all(|a| {
        patterns
            .iter()
            .any(|p| resource_matches(&p.to_ascii_lowercase(), &a.to_ascii_lowercase()))
    })
}

/// Whether an object resource pattern can match some object of the bucket.
fn covers_objects(pattern: &str, bucket_arn: &str) -> bool {
    pattern == "*"
        || resource_matches(pattern, &format!("{bucket_arn}/any-key"))
        || pattern.starts_with(&format!("{bucket_arn}/"))
}

/// The one condition that is known not to apply to replication: S3 replicates over TLS, so a
/// `Deny` on `aws:SecureTransport = false` (the most common foreign statement) never matches.
fn only_insecure_transport(condition: &Value) -> bool {
    let Some(m) = condition.as_object() else {
        return false;
    };
    m.len() == 1
        && m.get("Bool").and_then(Value::as_object).is_some_and(|b| {
            b.len() == 1
                && strings(b.get("aws:SecureTransport"))
                    .iter()
                    .all(|v| v.eq_ignore_ascii_case("false"))
        })
}

/// The statements of `policy` that deny the role's replication writes into `bucket_arn`.
pub fn replication_denials(
    policy: &Value,
    role_arn: &str,
    account: &str,
    bucket_arn: &str,
) -> Vec<Denial> {
    let mut out = Vec::new();
    for st in statements(policy) {
        if st.get("Effect").and_then(Value::as_str) != Some("Deny") {
            continue;
        }
        let principal = if st.get("NotPrincipal").is_some() {
            !names_role(st.get("NotPrincipal"), role_arn, account)
        } else {
            names_role(st.get("Principal"), role_arn, account)
        };
        let action = match st.get("NotAction") {
            Some(v) => !all_actions(&strings(Some(v))),
            None => any_action(&strings(st.get("Action"))),
        };
        let resource = match st.get("NotResource") {
            Some(v) => !strings(Some(v))
                .iter()
                .any(|p| *p == "*" || *p == format!("{bucket_arn}/*")),
            None => strings(st.get("Resource"))
                .iter()
                .any(|p| covers_objects(p, bucket_arn)),
        };
        if !(principal && action && resource) {
            continue;
        }
        let conditional = match st.get("Condition") {
            None => false,
            Some(c) if only_insecure_transport(c) => continue,
            Some(_) => true,
        };
        out.push(Denial {
            sid: st.get("Sid").and_then(Value::as_str).map(str::to_string),
            conditional,
        });
    }
    out
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

    #[test]
    fn denials_of_the_roles_replication_writes_are_found() {
        let role = "arn:aws:iam::111111111111:role/crossrep-replication";
        let arn = "arn:aws:s3:::replicated-data";
        let found =
            |st: Value| replication_denials(&json!({"Statement": [st]}), role, "111111111111", arn);
        let denial = |sid: &str, conditional| {
            vec![Denial {
                sid: Some(sid.to_string()),
                conditional,
            }]
        };
        // Everyone, every action: denied.
        assert_eq!(
            found(
                json!({"Sid": "Lock", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": format!("{arn}/*")})
            ),
            denial("Lock", false)
        );
        // The role by ARN, one replication action, a prefix of the bucket.
        assert_eq!(
            found(
                json!({"Sid": "NoLogs", "Effect": "Deny", "Principal": {"AWS": [role]}, "Action": ["s3:replicateobject"], "Resource": format!("{arn}/logs/*")})
            ),
            denial("NoLogs", false)
        );
        // NotPrincipal without the role: it applies to the role.
        assert_eq!(
            found(
                json!({"Sid": "OnlyAdmins", "Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::222222222222:role/admin"}, "Action": "s3:PutObject*", "NotAction": "s3:GetObject", "Resource": "*"})
            ),
            denial("OnlyAdmins", false)
        );
        // A condition crossrep cannot evaluate: may deny.
        assert_eq!(
            found(
                json!({"Sid": "Vpc", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}})
            ),
            denial("Vpc", true)
        );
        // Not a denial of replication: insecure transport only, other actions, another
        // bucket, the role excluded by NotPrincipal, the bucket itself, an allow.
        for st in [
            json!({"Sid": "Tls", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, format!("{arn}/*")], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
            json!({"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": format!("{arn}/*")}),
            json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::other/*"}),
            json!({"Effect": "Deny", "NotPrincipal": {"AWS": role}, "Action": "s3:*", "Resource": "*"}),
            json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": arn}),
            json!({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}),
            json!({"Effect": "Deny", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:*", "Resource": "*"}),
        ] {
            assert_eq!(found(st.clone()), vec![], "{st}");
        }
    }
}
