//! `crossrep destroy`: the plan that removes what crossrep configured for the configured pairs,
//! and nothing else (SPEC §3, §5). Buckets, objects, versioning and report contents are never
//! touched; rules, statements and roles are recognised statelessly as crossrep's.

use std::collections::{BTreeMap, BTreeSet};

use crate::desired::{Conflict, DesiredState};
use crate::kinds::alarm::Alarm;
use crate::kinds::alert_queue::{AlertAddr, AlertQueue};
use crate::kinds::alert_topic::AlertTopic;
use crate::kinds::bucket::Bucket;
use crate::kinds::bucket_policy::{self, BucketPolicy, BucketPolicySpec};
use crate::kinds::key_policy::KeyPolicy;
use crate::kinds::notification::{self, Notification};
use crate::kinds::replication::{self, Replication, ReplicationSpec};
use crate::kinds::role::{Role, RoleAddr};
use crate::kinds::role_policy::RolePolicy;
use crate::kinds::{Action, ActualState, Address, AnyChange, BucketAddr, Change, Kind};
use crate::model::RULE_PREFIX;
use crate::names::{AccountId, BucketName, Region};
use crate::plan::{Plan, Warning, PLAN_FORMAT_VERSION};
use crate::policy::destination_sids;

/// The code of a conflict that means destroy could not finish (something it needed could not
/// be read): the command exits 1 and asks to run again.
pub const UNREADABLE: &str = "unreadable";

/// Destroy order: replication first (nothing may replicate with a role about to go), then the
/// destination statements, then the role's policies, then the role.
const PHASE_REPLICATION: u8 = 0;
const PHASE_BUCKET_POLICY: u8 = 1;
const PHASE_ROLE_POLICY: u8 = 2;
const PHASE_ROLE: u8 = 3;

/// A removal: `after` is what is left (an update), or `None` (a delete).
fn removal<K: Kind>(
    addr: K::Addr,
    region: &Region,
    phase: u8,
    before: K::Spec,
    after: Option<K::Spec>,
    reason: String,
    depends_on: Vec<Address>,
) -> AnyChange {
    K::wrap(Change {
        addr,
        region: region.clone(),
        action: if after.is_some() {
            Action::Update
        } else {
            Action::Delete
        },
        phase,
        before: Some(before),
        after,
        reason,
        depends_on,
    })
}

/// The change that takes crossrep's failure-event entry off the notifications of the bucket at
/// `addr` (every other entry stays), if it has one. Destroy, and `alerts = false`, use it.
pub(crate) fn entry_removal(
    actual: &ActualState,
    addr: &BucketAddr,
    region: &Region,
    reason: &str,
) -> Option<AnyChange> {
    let current = actual
        .present::<Notification>(addr)
        .filter(|n| n.has_ours())?;
    Some(removal::<Notification>(
        addr.clone(),
        region,
        PHASE_REPLICATION,
        current.clone(),
        Some(notification::merged(Some(current), None)),
        reason.into(),
        vec![],
    ))
}

/// The removals of the alarm, and of the queue and topic when they carry crossrep's tag, of a
/// source account and region: after the entries that send to the queue, the topic after the
/// alarm that notifies it. `why` starts each reason. Destroy, and `alerts = false`, use it.
pub(crate) fn alert_removals(actual: &ActualState, at: &AlertAddr, why: &str) -> Vec<AnyChange> {
    let mut out = Vec::new();
    if let Some(alarm) = actual.present::<Alarm>(at) {
        out.push(removal::<Alarm>(
            at.clone(),
            &at.region,
            PHASE_BUCKET_POLICY,
            alarm.clone(),
            None,
            format!("{why} alarm"),
            vec![],
        ));
    }
    if let Some(queue) = actual.present::<AlertQueue>(at).filter(|q| q.is_managed()) {
        out.push(removal::<AlertQueue>(
            at.clone(),
            &at.region,
            PHASE_ROLE_POLICY,
            queue.clone(),
            None,
            format!("{why} queue (tagged `managed-by=crossrep`), with any unread failure events"),
            vec![],
        ));
    }
    if let Some(topic) = actual.present::<AlertTopic>(at).filter(|t| t.is_managed()) {
        out.push(removal::<AlertTopic>(
            at.clone(),
            &at.region,
            PHASE_ROLE_POLICY,
            topic.clone(),
            None,
            format!("{why} topic (tagged `managed-by=crossrep`), with its subscriptions"),
            vec![Address::Alarm(at.clone())],
        ));
    }
    out
}

pub fn destroy_plan(desired: &DesiredState, actual: &ActualState) -> Plan {
    let mut changes: BTreeMap<Address, AnyChange> = BTreeMap::new();
    let mut warnings = Vec::new();
    fn add(changes: &mut BTreeMap<Address, AnyChange>, c: AnyChange) {
        changes.insert(c.addr(), c);
    }
    // Roles still used by someone else's rule after crossrep's are removed: kept.
    let mut role_in_use: BTreeMap<AccountId, Vec<BucketName>> = BTreeMap::new();

    let sources: BTreeSet<(&AccountId, &BucketName, &Region)> = desired
        .pairs
        .iter()
        .map(|p| (&p.source.account, &p.source.bucket, &p.source.region))
        .collect();
    let roles = crate::plan::resolved_roles(desired, actual);
    for (account, bucket, region) in sources {
        let Some(role) = roles.get(account) else {
            continue;
        };
        let addr = BucketAddr::new(account, bucket);
        let Some(spec) = actual.present::<Replication>(&addr) else {
            continue;
        };
        let config = &spec.configuration;
        // A configuration of another role is not crossrep's, whatever its rule IDs say.
        if !crate::kinds::role::names_role(&config.role, role) {
            continue;
        }
        if config.rules.iter().any(|r| !r.is_managed()) {
            // Someone else's rules replicate with crossrep's role: it must stay.
            role_in_use
                .entry(account.clone())
                .or_default()
                .push(bucket.clone());
        }
        let Some(rest) = replication::clean(config) else {
            continue;
        };
        let reason = match &rest {
            None => format!("only crossrep's rules (`{RULE_PREFIX}*`) are in it"),
            Some(kept) => {
                let ids: Vec<String> = kept
                    .rules
                    .iter()
                    .map(|r| format!("`{}`", r.id.as_deref().unwrap_or("?")))
                    .collect();
                format!("remove crossrep's rules, keep {}", ids.join(", "))
            }
        };
        add(
            &mut changes,
            removal::<Replication>(
                addr,
                region,
                PHASE_REPLICATION,
                spec.clone(),
                rest.map(|configuration| ReplicationSpec { configuration }),
                reason,
                vec![],
            ),
        );
    }

    // SPEC §5: a rule in any bucket of the account that uses the role keeps it, and a bucket
    // whose configuration could not be read counts as such a user. Destroy leaves buckets the
    // configuration does not select alone, so every rule of theirs stays.
    let selected: BTreeSet<BucketAddr> = desired
        .pairs
        .iter()
        .map(|p| BucketAddr::new(&p.source.account, &p.source.bucket))
        .collect();
    let mut other_users: BTreeMap<AccountId, Vec<(BucketName, &'static str, &'static str)>> =
        BTreeMap::new();
    for (addr, observed) in &actual.replication {
        let Some(role) = roles.get(&addr.account) else {
            continue;
        };
        let (why, code) = match observed {
            crate::observed::Observed::Present(spec)
                if !selected.contains(addr)
                    && crate::kinds::role::names_role(&spec.configuration.role, role)
                    && !spec.configuration.rules.is_empty() =>
            {
                (
                    "its replication configuration (not selected by this configuration) uses the role",
                    "role_in_use",
                )
            }
            // Destroy could not finish: it says so and exits 1.
            crate::observed::Observed::Unreadable(_) => (
                "its replication configuration could not be read, so it may use the role",
                UNREADABLE,
            ),
            _ => continue,
        };
        other_users
            .entry(addr.account.clone())
            .or_default()
            .push((addr.bucket.clone(), why, code));
    }

    // Destination statements of the source accounts of this config's pairs.
    let mut by_dest: BTreeMap<BucketAddr, (BTreeSet<String>, Region)> = BTreeMap::new();
    for p in &desired.pairs {
        let addr = BucketAddr::new(&p.destination.account, &p.destination.bucket);
        let region = actual
            .present::<Bucket>(&addr)
            .map(|b| b.region.clone())
            .unwrap_or_else(|| p.destination.region.clone());
        let entry = by_dest
            .entry(addr)
            .or_insert_with(|| (BTreeSet::new(), region));
        entry.0.extend(destination_sids(&p.source.account));
    }
    for (addr, (sids, region)) in by_dest {
        let Some(policy) = actual.present::<BucketPolicy>(&addr) else {
            continue;
        };
        let Some(rest) = bucket_policy::clean(&policy.document, &sids) else {
            continue;
        };
        let reason = match &rest {
            None => "only crossrep's statements are in it".to_string(),
            Some(_) => "remove crossrep's statements, keep the others".to_string(),
        };
        add(
            &mut changes,
            removal::<BucketPolicy>(
                addr,
                &region,
                PHASE_BUCKET_POLICY,
                policy.clone(),
                rest.map(|document| BucketPolicySpec { document }),
                reason,
                vec![],
            ),
        );
    }

    // Replica keys (SPEC §5, §8): never deleted or disabled, replicas would become unreadable;
    // only this configuration's roles leave crossrep's statement, which goes when none is left.
    let roles_here: BTreeSet<String> = roles.values().map(|r| r.arn()).collect();
    for (addr, observed) in &actual.key_policy {
        let Some(policy) = observed.present() else {
            continue;
        };
        let Some(rest) =
            crate::policy::without_principals(&policy.document, "CrossrepReplication", &roles_here)
        else {
            continue;
        };
        add(
            &mut changes,
            removal::<KeyPolicy>(
                addr.clone(),
                &addr.region,
                PHASE_BUCKET_POLICY,
                policy.clone(),
                Some(crate::kinds::key_policy::KeyPolicySpec { document: rest }),
                "remove this configuration's roles from crossrep's statement; the key stays".into(),
                vec![],
            ),
        );
    }

    // Alerts (SPEC §10): crossrep's notification entry leaves each source (the others stay),
    // then the alarm, the queue and the topic go (only when they carry crossrep's tag).
    for addr in actual.notification.keys() {
        let region = actual
            .present::<Bucket>(addr)
            .map(|b| b.region.clone())
            .unwrap_or_else(|| Region::new("us-east-1").expect("a region"));
        let reason = "remove crossrep's failure-event entry, keep the others";
        if let Some(c) = entry_removal(actual, addr, &region, reason) {
            add(&mut changes, c);
        }
    }
    let places: BTreeSet<&AlertAddr> = actual
        .alarm
        .keys()
        .chain(actual.alert_queue.keys())
        .chain(actual.alert_topic.keys())
        .collect();
    for at in places {
        for c in alert_removals(actual, at, "crossrep's") {
            add(&mut changes, c);
        }
    }

    let mut conflicts = Vec::new();
    // What destroy needed and could not read: it did not finish (exit 1, run again).
    let mut unread = |account: &AccountId, bucket: &BucketName, what: String| {
        conflicts.push(Conflict {
            account: account.clone(),
            bucket: bucket.clone(),
            destination: None,
            message: what,
            hint: Some("run `crossrep destroy` again once it can be read".into()),
            code: UNREADABLE.into(),
        });
    };
    for p in &desired.pairs {
        let src = BucketAddr::new(&p.source.account, &p.source.bucket);
        if let Some(crate::observed::Observed::Unreadable(e)) = actual.replication.get(&src) {
            unread(
                &p.source.account,
                &p.source.bucket,
                format!(
                    "could not read the replication configuration of `{}` ({}): crossrep's rules on it, if any, are left",
                    p.source.bucket, e.message
                ),
            );
        }
        let dst = BucketAddr::new(&p.destination.account, &p.destination.bucket);
        if let Some(crate::observed::Observed::Unreadable(e)) = actual.bucket_policy.get(&dst) {
            unread(
                &p.source.account,
                &p.source.bucket,
                format!(
                    "could not read the bucket policy of destination `{}` ({}): crossrep's statements in it, if any, are left",
                    p.destination.bucket, e.message
                ),
            );
        }
    }
    for role in desired.roles.values() {
        let addr = RoleAddr {
            account: role.account.clone(),
            name: role.name.clone(),
        };
        if let Some(crate::observed::Observed::Unreadable(e)) = actual.role.get(&addr) {
            if let Some(p) = desired
                .pairs
                .iter()
                .find(|p| p.source.account == role.account)
            {
                unread(
                    &role.account,
                    &p.source.bucket,
                    format!(
                        "could not read role `{}` ({}): it and its policies, if any, are left",
                        role.name, e.message
                    ),
                );
            }
        }
    }
    for role in desired.roles.values() {
        let role_addr = RoleAddr {
            account: role.account.clone(),
            name: role.name.clone(),
        };
        let Some(state) = actual.present::<Role>(&role_addr) else {
            continue;
        };
        if !state.is_managed() {
            warnings.push(Warning {
                account: role.account.clone(),
                bucket: None,
                destination: None,
                code: "role_unmanaged".into(),
                message: format!(
                    "role `{}` in {} is not tagged `managed-by=crossrep`: kept",
                    role.name, role.account
                ),
            });
            continue;
        }
        if let Some(users) = other_users.get(&role.account) {
            for (b, why, code) in users {
                conflicts.push(Conflict {
                    account: role.account.clone(),
                    bucket: b.clone(),
                    destination: None,
                    message: format!("{why}: role `{}` and its permissions are kept", role.name),
                    hint: Some(if *code == UNREADABLE {
                        "run `crossrep destroy` again once it can be read".into()
                    } else {
                        "remove that configuration, or its rules, first".into()
                    }),
                    code: (*code).into(),
                });
            }
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
                    hint: None,
                    code: "role_in_use".into(),
                });
            }
            continue;
        }
        // Inline policies someone else put on the role: the role is theirs too. Crossrep's own
        // policy goes (its grants); the role and the rest stay.
        let foreign: Vec<&str> = actual
            .role_policy
            .iter()
            .filter(|(a, o)| {
                a.account == role.account
                    && a.role == role.name
                    && a.name != crate::policy::ROLE_POLICY_NAME
                    && o.is_present()
            })
            .map(|(a, _)| a.name.as_str())
            .collect();
        // Everything that replicated with the role goes first.
        let users: Vec<Address> = changes
            .keys()
            .filter(|a| matches!(a, Address::Replication(b) if b.account == role.account))
            .cloned()
            .collect();
        let mut policy_addrs = Vec::new();
        for (addr, observed) in &actual.role_policy {
            let Some(doc) = observed.present() else {
                continue;
            };
            if addr.account != role.account || addr.role != role.name {
                continue;
            }
            if !foreign.is_empty() && addr.name != crate::policy::ROLE_POLICY_NAME {
                continue;
            }
            policy_addrs.push(Address::RolePolicy(addr.clone()));
            add(
                &mut changes,
                removal::<RolePolicy>(
                    addr.clone(),
                    &role.region,
                    PHASE_ROLE_POLICY,
                    doc.clone(),
                    None,
                    "a policy of crossrep's role".into(),
                    users.clone(),
                ),
            );
        }
        if !foreign.is_empty() {
            warnings.push(Warning {
                account: role.account.clone(),
                bucket: None,
                destination: None,
                code: "role_has_foreign_policies".into(),
                message: format!(
                    "role `{}` in {} carries policies crossrep did not write ({}): the role and those policies are kept",
                    role.name,
                    role.account,
                    foreign.join(", ")
                ),
            });
            continue;
        }
        add(
            &mut changes,
            removal::<Role>(
                role_addr,
                &role.region,
                PHASE_ROLE,
                state.clone(),
                None,
                "tagged `managed-by=crossrep`".into(),
                users.into_iter().chain(policy_addrs).collect(),
            ),
        );
    }
    conflicts.sort();
    conflicts.dedup();
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        changes: changes.into_values().collect(),
        conflicts,
        pairs: Vec::new(),
        warnings,
        notes: Vec::new(),
        accounts_selected: Vec::new(),
        accounts_skipped: Vec::new(),
        preflight: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::desired::desired;
    use crate::kinds::role_policy::RolePolicyAddr;
    use crate::kinds::versioning::{Versioning as VersioningKind, VersioningSpec};
    use crate::model::{Destination, Filter, Listing, Rule, Versioning};
    use crate::observed::Observed;
    use crate::plan::{apply_in_memory, plan};
    use crate::policy::ROLE_POLICY_NAME;
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
            let addr = BucketAddr::new(&id("111111111111"), &name(b));
            a.insert_plain_bucket(&addr, &region);
            a.set::<VersioningKind>(addr, Observed::Present(VersioningSpec::ENABLED));
        }
        let role = RoleAddr {
            account: id("111111111111"),
            name: "crossrep-replication".into(),
        };
        a.set::<Role>(role, Observed::Absent);
        a.set::<RolePolicy>(
            RolePolicyAddr {
                account: id("111111111111"),
                role: "crossrep-replication".into(),
                name: ROLE_POLICY_NAME.into(),
            },
            Observed::Absent,
        );
        let mut a = apply_in_memory(&a, &plan(&d, &a));
        if shared_foreign_rule {
            let shared = BucketAddr::new(&id("111111111111"), &name("shared"));
            let Some(Observed::Present(spec)) = a.replication.get_mut(&shared) else {
                panic!("no configuration on `shared`");
            };
            spec.configuration.rules.insert(0, foreign_rule());
        }
        let dst = BucketAddr::new(&id("222222222222"), &name("replicated-data"));
        let Some(Observed::Present(policy)) = a.bucket_policy.get_mut(&dst) else {
            panic!("no policy on `replicated-data`");
        };
        policy.document["Statement"]
            .as_array_mut()
            .unwrap()
            .insert(0, json!({"Sid": "Theirs", "Effect": "Allow"}));
        (d, a)
    }

    fn summary(p: &Plan) -> Vec<String> {
        p.changes
            .iter()
            .map(|c| format!("{:?} {} (phase {})", c.action(), c.addr(), c.phase()))
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
        let dst = BucketAddr::new(&id("222222222222"), &name("replicated-data"));
        let policy = after
            .known::<BucketPolicy>(&dst)
            .map(|p| p.map(|p| p.document.clone()));
        assert_eq!(
            policy,
            Some(Some(
                json!({"Version": "2012-10-17", "Statement": [{"Sid": "Theirs", "Effect": "Allow"}]})
            ))
        );
        // Buckets and versioning stay.
        assert_eq!(
            after.present::<VersioningKind>(&dst).map(|v| v.status),
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
            .present::<Replication>(&BucketAddr::new(&id("111111111111"), &name("shared")))
            .unwrap()
            .configuration
            .clone();
        assert_eq!(cfg.rules, vec![foreign_rule()]);
        assert!(destroy_plan(&d, &after).changes.is_empty());
    }

    /// Issue 9 (SPEC §5): destroy deleted the role while a bucket the configuration no longer
    /// selects still used it, or one whose configuration could not be read.
    #[test]
    fn a_role_used_by_an_unselected_or_unreadable_bucket_is_kept() {
        let (d, a) = setup(false);
        let role = format!(
            "arn:aws:iam::111111111111:role/{}",
            d.roles.values().next().unwrap().name
        );
        for (observed, code) in [
            (
                Observed::Present(ReplicationSpec {
                    configuration: crate::model::ReplicationConfiguration {
                        role: role.clone(),
                        rules: vec![foreign_rule()],
                    },
                }),
                "role_in_use",
            ),
            // Could not be read: destroy did not finish, and says so (exit 1).
            (
                Observed::Unreadable(crate::observed::ReadError::new(
                    crate::observed::ErrorKind::AccessDenied,
                    "AccessDenied",
                )),
                UNREADABLE,
            ),
        ] {
            let mut a = a.clone();
            a.set::<Replication>(
                BucketAddr::new(&id("111111111111"), &name("elsewhere")),
                observed,
            );
            let p = destroy_plan(&d, &a);
            let s = summary(&p);
            assert!(!s.iter().any(|c| c.contains("role")), "{s:#?}");
            assert!(
                p.conflicts
                    .iter()
                    .any(|c| c.bucket.as_str() == "elsewhere" && c.code == code),
                "{:#?}",
                p.conflicts
            );
        }
    }

    /// Issue 9: destroy deleted inline policies on its role that someone else wrote (a
    /// security team's Deny). The role and those stay; crossrep's own policy goes.
    #[test]
    fn a_role_carrying_foreign_policies_is_kept_with_them() {
        let (d, mut a) = setup(false);
        let role = d.roles.values().next().unwrap().clone();
        a.set::<RolePolicy>(
            RolePolicyAddr {
                account: role.account.clone(),
                role: role.name.clone(),
                name: "security-deny".into(),
            },
            Observed::Present(crate::kinds::role_policy::RolePolicySpec {
                document: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}),
            }),
        );
        let p = destroy_plan(&d, &a);
        let s = summary(&p);
        assert!(
            s.iter()
                .any(|c| c.contains("role_policy[") && c.contains(ROLE_POLICY_NAME)),
            "{s:#?}"
        );
        assert!(!s.iter().any(|c| c.contains("security-deny")), "{s:#?}");
        assert!(!s.iter().any(|c| c.starts_with("Delete role[")), "{s:#?}");
        assert!(
            p.warnings
                .iter()
                .any(|w| w.code == "role_has_foreign_policies"
                    && w.message.contains("security-deny")),
            "{:#?}",
            p.warnings
        );
    }

    /// A role someone else's rule uses keeps its permissions even when it also carries a
    /// foreign policy: crossrep's own policy is what lets those rules replicate.
    #[test]
    fn a_role_in_use_keeps_crossreps_policy_whatever_else_it_carries() {
        let (d, mut a) = setup(true);
        let role = d.roles.values().next().unwrap().clone();
        a.set::<RolePolicy>(
            RolePolicyAddr {
                account: role.account.clone(),
                role: role.name.clone(),
                name: "security-deny".into(),
            },
            Observed::Present(crate::kinds::role_policy::RolePolicySpec {
                document: json!({"Version": "2012-10-17", "Statement": []}),
            }),
        );
        let p = destroy_plan(&d, &a);
        assert!(
            !summary(&p).iter().any(|c| c.contains("role")),
            "{:#?}",
            summary(&p)
        );
    }

    /// Issue 9: destroy said "Destroy complete!" after skipping a destination it could not
    /// read. Such a destination is named, with code `unreadable` (the command exits 1).
    #[test]
    fn what_destroy_could_not_read_is_named() {
        let (d, mut a) = setup(false);
        let p = &d.pairs[0];
        a.set::<BucketPolicy>(
            BucketAddr::new(&p.destination.account, &p.destination.bucket),
            Observed::Unreadable(crate::observed::ReadError::new(
                crate::observed::ErrorKind::Throttled,
                "SlowDown",
            )),
        );
        let plan = destroy_plan(&d, &a);
        assert!(
            plan.conflicts
                .iter()
                .any(|c| c.code == UNREADABLE && c.message.contains(p.destination.bucket.as_str())),
            "{:#?}",
            plan.conflicts
        );
    }

    #[test]
    fn an_unmanaged_role_and_another_roles_configuration_are_left_alone() {
        let (d, mut a) = setup(false);
        let role = RoleAddr {
            account: id("111111111111"),
            name: "crossrep-replication".into(),
        };
        let Some(Observed::Present(r)) = a.role.get_mut(&role) else {
            panic!("no role");
        };
        r.tags.clear();
        let data = BucketAddr::new(&id("111111111111"), &name("data"));
        let Some(Observed::Present(spec)) = a.replication.get_mut(&data) else {
            panic!("no configuration on `data`");
        };
        spec.configuration.role = "arn:aws:iam::111111111111:role/other".into();
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
