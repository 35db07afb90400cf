//! `crossrep destroy`: the plan that removes what crossrep configured for the configured pairs,
//! and nothing else (SPEC §3, §5). Buckets, objects, versioning and report contents are never
//! touched; rules, statements and roles are recognised statelessly as crossrep's.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::desired::{Conflict, DesiredState};
use crate::model::{ActualState, ReplicationConfiguration, RULE_PREFIX};
use crate::names::{AccountId, BucketName, Region};
use crate::plan::{Action, Address, Change, Plan, Resource, PLAN_FORMAT_VERSION};
use crate::policy::destination_sids;

/// Destroy order: replication first (nothing may replicate with a role about to go), then the
/// destination statements, then the role's policies, then the role.
const PHASE_REPLICATION: u8 = 0;
const PHASE_BUCKET_POLICY: u8 = 1;
const PHASE_ROLE_POLICY: u8 = 2;
const PHASE_ROLE: u8 = 3;

pub fn destroy_plan(desired: &DesiredState, actual: &ActualState) -> Plan {
    let mut changes: BTreeMap<Address, Change> = BTreeMap::new();
    let mut warnings = Vec::new();
    // Roles still used by someone else's rule after crossrep's are removed: kept.
    let mut role_in_use: BTreeMap<AccountId, Vec<BucketName>> = BTreeMap::new();

    let sources: BTreeSet<(&AccountId, &BucketName, &Region)> = desired
        .pairs
        .iter()
        .map(|p| (&p.source.account, &p.source.bucket, &p.source.region))
        .collect();
    for (account, bucket, region) in sources {
        let Some(role) = desired.roles.get(account) else {
            continue;
        };
        let Some(Some(config)) = actual
            .bucket(account, bucket)
            .and_then(|b| b.replication.as_ref())
        else {
            continue;
        };
        // A configuration of another role is not crossrep's, whatever its rule IDs say.
        if config.role != role.arn() {
            continue;
        }
        let remaining: Vec<_> = config
            .rules
            .iter()
            .filter(|r| !r.is_managed())
            .cloned()
            .collect();
        if !remaining.is_empty() {
            // Someone else's rules replicate with crossrep's role: it must stay.
            role_in_use
                .entry(account.clone())
                .or_default()
                .push(bucket.clone());
        }
        if !config.rules.iter().any(|r| r.is_managed()) {
            continue;
        }
        let addr = Address::Replication {
            account: account.clone(),
            bucket: bucket.clone(),
        };
        let before = Some(Resource::Replication {
            configuration: config.clone(),
        });
        let change = if remaining.is_empty() {
            Change {
                addr,
                region: region.clone(),
                action: Action::Delete,
                phase: PHASE_REPLICATION,
                before,
                after: None,
                reason: format!("only crossrep's rules (`{RULE_PREFIX}*`) are in it"),
                depends_on: vec![],
            }
        } else {
            let kept: Vec<String> = remaining
                .iter()
                .map(|r| format!("`{}`", r.id.as_deref().unwrap_or("?")))
                .collect();
            Change {
                addr,
                region: region.clone(),
                action: Action::Update,
                phase: PHASE_REPLICATION,
                before,
                after: Some(Resource::Replication {
                    configuration: ReplicationConfiguration {
                        role: config.role.clone(),
                        rules: remaining,
                    },
                }),
                reason: format!("remove crossrep's rules, keep {}", kept.join(", ")),
                depends_on: vec![],
            }
        };
        changes.insert(change.addr.clone(), change);
    }

    // Destination statements of the source accounts of this config's pairs.
    let mut by_dest: BTreeMap<(&AccountId, &BucketName), (BTreeSet<String>, Region)> =
        BTreeMap::new();
    for p in &desired.pairs {
        let region = actual
            .bucket(&p.destination.account, &p.destination.bucket)
            .and_then(|b| b.region.clone())
            .unwrap_or_else(|| p.destination.region.clone());
        let entry = by_dest
            .entry((&p.destination.account, &p.destination.bucket))
            .or_insert_with(|| (BTreeSet::new(), region));
        entry.0.extend(destination_sids(&p.source.account));
    }
    for ((account, bucket), (sids, region)) in by_dest {
        let Some(Some(policy)) = actual
            .bucket(account, bucket)
            .and_then(|b| b.policy.as_ref())
        else {
            continue;
        };
        let statements: Vec<Value> = match policy.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(single @ Value::Object(_)) => vec![single.clone()],
            _ => vec![],
        };
        let ours = |s: &Value| {
            s.get("Sid")
                .and_then(Value::as_str)
                .is_some_and(|sid| sids.contains(sid))
        };
        if !statements.iter().any(ours) {
            continue;
        }
        let rest: Vec<Value> = statements.into_iter().filter(|s| !ours(s)).collect();
        let addr = Address::BucketPolicy {
            account: account.clone(),
            bucket: bucket.clone(),
        };
        let before = Some(Resource::BucketPolicy {
            document: policy.clone(),
        });
        let change = if rest.is_empty() {
            Change {
                addr,
                region,
                action: Action::Delete,
                phase: PHASE_BUCKET_POLICY,
                before,
                after: None,
                reason: "only crossrep's statements are in it".into(),
                depends_on: vec![],
            }
        } else {
            let mut doc = policy.clone();
            doc["Statement"] = Value::Array(rest);
            Change {
                addr,
                region,
                action: Action::Update,
                phase: PHASE_BUCKET_POLICY,
                before,
                after: Some(Resource::BucketPolicy { document: doc }),
                reason: "remove crossrep's statements, keep the others".into(),
                depends_on: vec![],
            }
        };
        changes.insert(change.addr.clone(), change);
    }

    let mut conflicts = Vec::new();
    for role in desired.roles.values() {
        let Some(state) = actual.role(&role.account, &role.name) else {
            continue;
        };
        if !state.is_managed() {
            warnings.push(format!(
                "role `{}` in {} is not tagged `managed-by=crossrep`: kept",
                role.name, role.account
            ));
            continue;
        }
        if let Some(buckets) = role_in_use.get(&role.account) {
            for b in buckets {
                conflicts.push(Conflict {
                    account: role.account.clone(),
                    bucket: b.clone(),
                    destination: None,
                    message: format!(
                        "rules crossrep did not write still use role `{}`: the role and its permissions are kept",
                        role.name
                    ),
                });
            }
            continue;
        }
        let role_addr = Address::Role {
            account: role.account.clone(),
            name: role.name.clone(),
        };
        // Everything that replicated with the role goes first.
        let users: Vec<Address> = changes
            .keys()
            .filter(
                |a| matches!(a, Address::Replication { account, .. } if account == &role.account),
            )
            .cloned()
            .collect();
        let mut policy_addrs = Vec::new();
        for (name, doc) in &state.inline_policies {
            let addr = Address::RolePolicy {
                account: role.account.clone(),
                role: role.name.clone(),
                name: name.clone(),
            };
            policy_addrs.push(addr.clone());
            changes.insert(
                addr.clone(),
                Change {
                    addr,
                    region: role.region.clone(),
                    action: Action::Delete,
                    phase: PHASE_ROLE_POLICY,
                    before: Some(Resource::RolePolicy {
                        document: doc.clone(),
                    }),
                    after: None,
                    reason: "a policy of crossrep's role".into(),
                    depends_on: users.clone(),
                },
            );
        }
        changes.insert(
            role_addr.clone(),
            Change {
                addr: role_addr,
                region: role.region.clone(),
                action: Action::Delete,
                phase: PHASE_ROLE,
                before: Some(Resource::Role {
                    trust_policy: state.trust_policy.clone(),
                    tags: state.tags.clone(),
                    description: String::new(),
                }),
                after: None,
                reason: "tagged `managed-by=crossrep`".into(),
                depends_on: users.into_iter().chain(policy_addrs).collect(),
            },
        );
    }
    conflicts.sort();
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        changes: changes.into_values().collect(),
        conflicts,
        pairs: Vec::new(),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::desired::desired;
    use crate::model::{BucketState, Destination, Filter, Listing, Rule, Versioning};
    use crate::plan::{apply_in_memory, plan};
    use serde_json::json;
    use std::path::Path;

    const CONFIG: &str = r#"
[accounts.prod]
id = "111111111111"
region = "us-east-1"
[accounts.backup]
id = "222222222222"
region = "us-west-2"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
"#;

    fn id(s: &str) -> AccountId {
        AccountId::new(s).unwrap()
    }

    fn name(s: &str) -> BucketName {
        BucketName::new(s).unwrap()
    }

    fn foreign_rule() -> Rule {
        Rule {
            id: Some("their-rule".into()),
            priority: Some(1),
            enabled: true,
            prefix: None,
            filter: Some(Filter {
                prefix: Some("logs/".into()),
                ..Filter::default()
            }),
            delete_marker_replication: Some(false),
            sse_kms_encrypted_objects: None,
            replica_modifications: None,
            existing_object_replication: None,
            destination: Destination {
                bucket: "arn:aws:s3:::their-target".into(),
                account: None,
                storage_class: None,
                owner_override: false,
                replica_kms_key_id: None,
                replication_time_minutes: None,
                metrics_enabled: false,
                metrics_minutes: None,
            },
        }
    }

    /// `data` and `shared` replicated by crossrep; `shared` also carries someone else's rule
    /// (with crossrep's role), and `replicated-data` someone else's statement.
    fn setup(shared_foreign_rule: bool) -> (DesiredState, ActualState) {
        let config = Config::parse(CONFIG, Path::new("t.toml")).unwrap();
        let region = Region::new("us-east-1").unwrap();
        let listing: Listing = BTreeMap::from([(
            id("111111111111"),
            BTreeMap::from([
                (name("data"), region.clone()),
                (name("shared"), region.clone()),
            ]),
        )]);
        let d = desired(&config, &listing);
        let mut a = ActualState::default();
        for b in ["data", "shared"] {
            a.accounts
                .entry(id("111111111111"))
                .or_default()
                .buckets
                .insert(
                    name(b),
                    BucketState {
                        region: Some(region.clone()),
                        versioning: Some(Versioning::Enabled),
                        replication: Some(None),
                        policy: Some(None),
                        tags: Some(BTreeMap::new()),
                        error: None,
                    },
                );
        }
        let mut a = apply_in_memory(&a, &plan(&d, &a));
        let src = a.accounts.get_mut(&id("111111111111")).unwrap();
        if shared_foreign_rule {
            let cfg = src
                .buckets
                .get_mut(&name("shared"))
                .unwrap()
                .replication
                .as_mut()
                .unwrap()
                .as_mut()
                .unwrap();
            cfg.rules.insert(0, foreign_rule());
        }
        let dst = a.accounts.get_mut(&id("222222222222")).unwrap();
        let policy = dst
            .buckets
            .get_mut(&name("replicated-data"))
            .unwrap()
            .policy
            .as_mut()
            .unwrap()
            .as_mut()
            .unwrap();
        policy["Statement"]
            .as_array_mut()
            .unwrap()
            .insert(0, json!({"Sid": "Theirs", "Effect": "Allow"}));
        (d, a)
    }

    fn summary(p: &Plan) -> Vec<String> {
        p.changes
            .iter()
            .map(|c| format!("{:?} {} (phase {})", c.action, c.addr, c.phase))
            .collect()
    }

    #[test]
    fn removes_only_crossreps_rules_statements_and_role() {
        let (d, a) = setup(false);
        let p = destroy_plan(&d, &a);
        assert_eq!(
            summary(&p),
            [
                "Delete role[111111111111/crossrep-replication] (phase 3)",
                "Delete role_policy[111111111111/crossrep-replication/crossrep-replication] (phase 2)",
                "Update bucket_policy[222222222222/replicated-data] (phase 1)",
                "Delete bucket_policy[222222222222/replicated-shared] (phase 1)",
                "Delete replication[111111111111/data] (phase 0)",
                "Delete replication[111111111111/shared] (phase 0)",
            ]
        );
        let after = apply_in_memory(&a, &p);
        let policy = after
            .bucket(&id("222222222222"), &name("replicated-data"))
            .unwrap()
            .policy
            .clone();
        assert_eq!(
            policy,
            Some(Some(
                json!({"Version": "2012-10-17", "Statement": [{"Sid": "Theirs", "Effect": "Allow"}]})
            ))
        );
        // Buckets and versioning stay.
        assert_eq!(
            after
                .bucket(&id("222222222222"), &name("replicated-data"))
                .unwrap()
                .versioning,
            Some(Versioning::Enabled)
        );
        // Idempotent.
        assert!(destroy_plan(&d, &after).changes.is_empty());
    }

    #[test]
    fn a_role_still_used_by_someone_elses_rule_is_kept() {
        let (d, a) = setup(true);
        let p = destroy_plan(&d, &a);
        let s = summary(&p);
        assert!(
            s.contains(&"Update replication[111111111111/shared] (phase 0)".to_string()),
            "{s:#?}"
        );
        assert!(!s.iter().any(|c| c.contains("role")), "{s:#?}");
        assert_eq!(p.conflicts.len(), 1);
        assert!(p.conflicts[0]
            .message
            .contains("the role and its permissions are kept"));
        let after = apply_in_memory(&a, &p);
        let cfg = after
            .bucket(&id("111111111111"), &name("shared"))
            .unwrap()
            .replication
            .clone()
            .unwrap()
            .unwrap();
        assert_eq!(cfg.rules, vec![foreign_rule()]);
        assert!(destroy_plan(&d, &after).changes.is_empty());
    }

    #[test]
    fn an_unmanaged_role_and_another_roles_configuration_are_left_alone() {
        let (d, mut a) = setup(false);
        let src = a.accounts.get_mut(&id("111111111111")).unwrap();
        src.roles
            .get_mut("crossrep-replication")
            .unwrap()
            .as_mut()
            .unwrap()
            .tags
            .clear();
        src.buckets
            .get_mut(&name("data"))
            .unwrap()
            .replication
            .as_mut()
            .unwrap()
            .as_mut()
            .unwrap()
            .role = "arn:aws:iam::111111111111:role/other".into();
        let p = destroy_plan(&d, &a);
        let s = summary(&p);
        assert!(
            !s.iter()
                .any(|c| c.contains("role") || c.contains("replication[111111111111/data]")),
            "{s:#?}"
        );
        assert_eq!(p.warnings.len(), 1);
    }
}
