//! Fixture builders and the one `check` helper of the planner tests.
//!
//! A test reads as input → expected summary: a config from a TOML snippet, a listing, an
//! [`Actual`] state built bucket by bucket, and the plan as compact lines such as
//! `create bucket[222222222222/replicated-data]` or `conflict 111111111111/legacy: <message>`.
//! `check` also proves, for every example, what the property test proves for generated input:
//! applying the plan converges and no change drops anything crossrep does not own.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use crossrep_core::config::Config;
use crossrep_core::desired::{desired, DesiredState};
use crossrep_core::kinds::bucket::Bucket;
use crossrep_core::kinds::bucket_policy::{BucketPolicy, BucketPolicySpec};
use crossrep_core::kinds::bucket_tags::{BucketTags, BucketTagsSpec};
use crossrep_core::kinds::replication::{Replication, ReplicationSpec};
use crossrep_core::kinds::role::{Role, RoleAddr, RoleSpec};
use crossrep_core::kinds::role_policy::{RolePolicy, RolePolicyAddr, RolePolicySpec};
use crossrep_core::kinds::versioning::{Versioning as VersioningKind, VersioningSpec};
use crossrep_core::kinds::{AnyChange, BucketAddr, Kind};
use crossrep_core::model::{
    ActualState, Destination, Filter, ReplicationConfiguration, Rule, Versioning, MANAGED_TAG,
    RULE_PREFIX, SID_PREFIX,
};
use crossrep_core::names::{AccountId, BucketName, Region};
use crossrep_core::observed::{ErrorKind, Observed, ReadError};
use crossrep_core::plan::{apply_in_memory, plan, Action, Plan};
use crossrep_core::policy::{trust_policy, ROLE_POLICY_NAME};
use serde_json::{json, Value};

pub const PROD: &str = "111111111111";
pub const BACKUP: &str = "222222222222";
pub const STAGING: &str = "333333333333";
pub const ROLE: &str = "crossrep-replication";

/// Accounts every config snippet can use: two sources in different home regions and one
/// destination.
pub const ACCOUNTS: &str = r#"
[accounts.prod]
id = "111111111111"
region = "us-east-1"
[accounts.backup]
id = "222222222222"
region = "us-west-2"
[accounts.staging]
id = "333333333333"
region = "eu-west-1"
"#;

/// The simplest block: every bucket of prod into backup, with the defaults but no backfill
/// (report buckets have tests of their own).
/// One block, every bucket of prod into backup, without backfill or alerts (the tests of
/// those add them: `ALERTS` below, `backfill = "batch"`).
pub const PROD_TO_BACKUP: &str = r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
alerts = false
"#;

pub fn acct(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

pub fn bucket(s: &str) -> BucketName {
    BucketName::new(s).unwrap()
}

pub fn region(s: &str) -> Region {
    Region::new(s).unwrap()
}

pub fn role_addr(account: &str) -> RoleAddr {
    RoleAddr {
        account: acct(account),
        name: ROLE.to_string(),
    }
}

pub fn role_policy_addr(account: &str) -> RolePolicyAddr {
    RolePolicyAddr {
        account: acct(account),
        role: ROLE.to_string(),
        name: ROLE_POLICY_NAME.to_string(),
    }
}

pub fn role_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/{ROLE}")
}

/// [`ACCOUNTS`] followed by `blocks` (replication blocks, settings), parsed and validated.
pub fn config(blocks: &str) -> Config {
    let text = format!("{ACCOUNTS}{blocks}");
    Config::parse(&text, Path::new("crossrep.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Source buckets as `(account, bucket, region)`.
pub fn listing(buckets: &[(&str, &str, &str)]) -> crossrep_core::model::Listing {
    let mut l: crossrep_core::model::Listing = BTreeMap::new();
    for (a, b, r) in buckets {
        l.entry(acct(a)).or_default().insert(bucket(b), region(r));
    }
    l
}

/// The desired state of `blocks` over `buckets`.
pub fn want(blocks: &str, buckets: &[(&str, &str, &str)]) -> DesiredState {
    desired(&config(blocks), &listing(buckets))
}

/// Builds an [`ActualState`]. Bucket setters apply to the bucket last named with
/// [`Actual::bucket`] or [`Actual::at`]; a new bucket starts read, unversioned, with no
/// replication configuration, no policy and no tags.
#[derive(Debug, Clone, Default)]
pub struct Actual {
    state: ActualState,
    cur: Option<(AccountId, BucketName)>,
}

impl Actual {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every listed bucket, as discovery would see a fresh account.
    pub fn sources(buckets: &[(&str, &str, &str)]) -> Self {
        buckets
            .iter()
            .fold(Self::new(), |a, (acc, b, r)| a.bucket(acc, b, r))
    }

    pub fn from_state(state: ActualState) -> Self {
        Actual { state, cur: None }
    }

    pub fn bucket(mut self, account: &str, name: &str, region_: &str) -> Self {
        let addr = BucketAddr::new(&acct(account), &bucket(name));
        self.state.bucket.remove(&addr);
        self.state.insert_plain_bucket(&addr, &region(region_));
        // Discovery looked for crossrep's role in every account it read buckets of.
        self.state
            .role
            .entry(role_addr(account))
            .or_insert(Observed::Absent);
        self.state
            .role_policy
            .entry(role_policy_addr(account))
            .or_insert(Observed::Absent);
        self.cur = Some((acct(account), bucket(name)));
        self
    }

    /// Selects an existing bucket for the setters that follow.
    pub fn at(mut self, account: &str, name: &str) -> Self {
        let addr = BucketAddr::new(&acct(account), &bucket(name));
        assert!(
            self.state.present::<Bucket>(&addr).is_some(),
            "no bucket {account}/{name}"
        );
        self.cur = Some((acct(account), bucket(name)));
        self
    }

    fn cur(&self) -> BucketAddr {
        let (a, b) = self.cur.clone().expect("name a bucket first");
        BucketAddr::new(&a, &b)
    }

    pub fn versioning(mut self, v: Versioning) -> Self {
        let a = self.cur();
        self.state
            .set::<VersioningKind>(a, Observed::Present(VersioningSpec { status: v }));
        self
    }

    pub fn replication(mut self, role: &str, rules: Vec<Rule>) -> Self {
        let a = self.cur();
        self.state.set::<Replication>(
            a,
            Observed::Present(ReplicationSpec {
                configuration: ReplicationConfiguration {
                    role: role.to_string(),
                    rules,
                },
            }),
        );
        self
    }

    pub fn policy(mut self, doc: Value) -> Self {
        let a = self.cur();
        self.state
            .set::<BucketPolicy>(a, Observed::Present(BucketPolicySpec { document: doc }));
        self
    }

    pub fn tags(mut self, tags: &[(&str, &str)]) -> Self {
        let a = self.cur();
        self.state.set::<BucketTags>(
            a,
            Observed::Present(BucketTagsSpec {
                tags: tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            }),
        );
        self
    }

    /// Every read of the selected bucket's settings failed with `message`.
    pub fn error(mut self, message: &str) -> Self {
        let a = self.cur();
        fn e<T>(message: &str) -> Observed<T> {
            Observed::Unreadable(ReadError::new(ErrorKind::Other, message))
        }
        let s = &mut self.state;
        s.versioning.insert(a.clone(), e(message));
        s.replication.insert(a.clone(), e(message));
        s.bucket_policy.insert(a.clone(), e(message));
        s.bucket_tags.insert(a.clone(), e(message));
        s.ownership_controls.insert(a.clone(), e(message));
        s.lifecycle.insert(a.clone(), e(message));
        s.bucket_encryption.insert(a.clone(), e(message));
        s.request_payment.insert(a.clone(), e(message));
        s.notification.insert(a.clone(), e(message));
        s.object_lock.insert(a, e(message));
        self
    }

    /// Arbitrary edits of the state, given the selected bucket's address (settings discovery
    /// did not read, ...).
    pub fn edit(mut self, f: impl FnOnce(&mut ActualState, &BucketAddr)) -> Self {
        let a = self.cur();
        f(&mut self.state, &a);
        self
    }

    /// crossrep's role in `account`: managed, with the right trust policy, no inline policy.
    pub fn role(mut self, account: &str) -> Self {
        self.state.set::<Role>(
            role_addr(account),
            Observed::Present(RoleSpec {
                trust_policy: trust_policy(&acct(account)),
                tags: BTreeMap::from([(MANAGED_TAG.0.to_string(), MANAGED_TAG.1.to_string())]),
                description: String::new(),
                arn: Some(role_arn(account)),
            }),
        );
        self.state
            .set::<RolePolicy>(role_policy_addr(account), Observed::Absent);
        self
    }

    /// A role with crossrep's name that someone else created (no `managed-by` tag).
    pub fn unmanaged_role(self, account: &str) -> Self {
        self.role(account).edit_role(account, |r| {
            r.tags = BTreeMap::from([("owner".to_string(), "platform-team".to_string())]);
        })
    }

    pub fn edit_role(mut self, account: &str, f: impl FnOnce(&mut RoleSpec)) -> Self {
        match self.state.role.get_mut(&role_addr(account)) {
            Some(Observed::Present(r)) => f(r),
            _ => panic!("no role to edit"),
        }
        self
    }

    pub fn trust(self, account: &str, doc: Value) -> Self {
        self.edit_role(account, |r| r.trust_policy = doc)
    }

    pub fn role_policy(mut self, account: &str, doc: Value) -> Self {
        self.state.set::<RolePolicy>(
            role_policy_addr(account),
            Observed::Present(RolePolicySpec { document: doc }),
        );
        self
    }

    /// A bucket name that exists in an account crossrep cannot act as.
    pub fn taken(mut self, name: &str) -> Self {
        self.state.taken_names.insert(bucket(name));
        self
    }

    pub fn build(self) -> ActualState {
        self.state
    }
}

/// A V2 rule someone else wrote, with fields crossrep never sets so that a lossy round trip
/// would show.
pub fn foreign_rule(id: &str, priority: i32, dest_bucket: &str) -> Rule {
    Rule {
        id: Some(id.to_string()),
        priority: Some(priority),
        enabled: false,
        prefix: None,
        filter: Some(Filter {
            prefix: Some("logs/".into()),
            tags: BTreeMap::from([("team".to_string(), "data".to_string())]),
            and: true,
        }),
        delete_marker_replication: Some(false),
        sse_kms_encrypted_objects: Some(true),
        replica_modifications: Some(true),
        existing_object_replication: None,
        destination: Destination {
            bucket: format!("arn:aws:s3:::{dest_bucket}"),
            account: Some("999999999999".into()),
            storage_class: Some("GLACIER".into()),
            owner_override: true,
            replica_kms_key_id: Some("arn:aws:kms:us-east-1:999999999999:key/abc".into()),
            replication_time_minutes: Some(15),
            metrics_enabled: true,
            metrics_minutes: Some(15),
        },
    }
}

/// A V1 rule: rule-level prefix, no filter, no priority.
pub fn v1_rule(id: &str, dest_bucket: &str) -> Rule {
    Rule {
        priority: None,
        prefix: Some("old/".into()),
        filter: None,
        delete_marker_replication: None,
        ..foreign_rule(id, 0, dest_bucket)
    }
}

/// A statement someone else wrote into a destination bucket policy.
pub fn foreign_statement(bucket_name: &str) -> Value {
    json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [format!("arn:aws:s3:::{bucket_name}"), format!("arn:aws:s3:::{bucket_name}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    })
}

fn action(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
    }
}

/// The plan as one line per change (`create bucket[222222222222/replicated-data]`) and one per
/// conflict (`conflict 111111111111/legacy: message`, with `-> destination` when the conflict
/// is about one pair).
pub fn summary(p: &Plan) -> String {
    let mut lines: Vec<String> = p
        .changes
        .iter()
        .map(|c| format!("{} {}", action(c.action()), c.addr()))
        .collect();
    for c in &p.conflicts {
        lines.push(match &c.destination {
            Some(d) => format!("conflict {}/{} -> {d}: {}", c.account, c.bucket, c.message),
            None => format!("conflict {}/{}: {}", c.account, c.bucket, c.message),
        });
    }
    lines.join("\n")
}

/// The dependency edges of a plan, one line per change that has any.
pub fn edges(p: &Plan) -> String {
    p.changes
        .iter()
        .filter(|c| !c.depends_on().is_empty())
        .map(|c| {
            let deps: Vec<String> = c.depends_on().iter().map(ToString::to_string).collect();
            format!("{} <- {}", c.addr(), deps.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expected lines are compared after trimming; an expected line ending in `...` matches any
/// line that starts with what precedes it (for long conflict messages).
fn lines_match(expect: &str, got: &str) -> bool {
    let want: Vec<&str> = expect
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let have: Vec<&str> = got.lines().collect();
    want.len() == have.len()
        && want
            .iter()
            .zip(&have)
            .all(|(w, h)| match w.strip_suffix("...") {
                Some(prefix) => h.starts_with(prefix),
                None => w == h,
            })
}

/// Plans `desired` against `actual`, asserts the summary, and asserts what must hold of every
/// plan: it keeps what crossrep does not own, and applying it converges.
pub fn check(d: &DesiredState, actual: &ActualState, expect: &str) -> Plan {
    let p = plan(d, actual);
    let got = summary(&p);
    assert!(
        lines_match(expect, &got),
        "plan summary differs\n--- expected\n{}\n--- got\n{got}\n",
        expect
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_invariants(actual, &p);
    assert_converges(d, actual, &p);
    p
}

/// `plan(d, apply_in_memory(a, p))` has no changes and the same conflicts as `p`.
pub fn assert_converges(d: &DesiredState, actual: &ActualState, p: &Plan) -> ActualState {
    let next = apply_in_memory(actual, p);
    let again = plan(d, &next);
    assert!(
        !again.has_changes(),
        "applying the plan does not converge; second plan:\n{}",
        summary(&again)
    );
    assert_eq!(
        again.conflicts, p.conflicts,
        "conflicts changed after applying the plan"
    );
    next
}

/// The state after applying the plan for `d` from `actual` (asserting it converges).
pub fn converged(d: &DesiredState, actual: &ActualState) -> ActualState {
    let p = plan(d, actual);
    assert_invariants(actual, &p);
    assert_converges(d, actual, &p)
}

fn foreign_rules(c: &ReplicationConfiguration) -> Vec<&Rule> {
    c.rules
        .iter()
        .filter(|r| {
            !r.id
                .as_deref()
                .is_some_and(|id| id.starts_with(RULE_PREFIX))
        })
        .collect()
}

pub fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => vec![],
    }
}

fn foreign_statements(doc: &Value) -> Vec<&Value> {
    statements(doc)
        .into_iter()
        .filter(|s| {
            !s.get("Sid")
                .and_then(Value::as_str)
                .is_some_and(|sid| sid.starts_with(SID_PREFIX))
        })
        .collect()
}

/// What every plan must respect (SPEC §5), whatever its input:
/// - nothing is deleted, and every change says what it writes;
/// - `before` is what discovery saw;
/// - every replication rule and policy statement crossrep does not own is still there,
///   unchanged and in the same order;
/// - rule priorities are unique and S3's rule limit holds;
/// - no role crossrep does not own is touched, and nothing is created that exists;
/// - nothing touches a source bucket with a conflict of its own, or the destination of a pair
///   in conflict.
pub fn assert_invariants(actual: &ActualState, p: &Plan) {
    let whole_bucket: Vec<(&AccountId, &BucketName)> = p
        .conflicts
        .iter()
        .filter(|c| c.destination.is_none())
        .map(|c| (&c.account, &c.bucket))
        .collect();
    let planned_dests: Vec<(&AccountId, &BucketName)> = p
        .pairs
        .iter()
        .map(|s| (&s.destination.account, &s.destination.bucket))
        .collect();
    let report_account = |account: &AccountId| p.pairs.iter().any(|s| &s.source.account == account);
    for c in &p.changes {
        let addr = c.addr();
        let ctx = format!("{} {}", action(c.action()), addr);
        // The one deletion planning makes: a replication configuration that held only
        // crossrep rules the configuration no longer produces (SPEC §5).
        if c.action() == Action::Delete {
            assert!(
                matches!(c, AnyChange::Replication(r)
                    if r.before.as_ref().is_some_and(|b| b.configuration.rules.iter().all(|x| x.is_managed())))
                    || matches!(c, AnyChange::Alarm(_))
                    || matches!(c, AnyChange::AlertQueue(q) if q.before.as_ref().is_some_and(|q| q.is_managed()))
                    || matches!(c, AnyChange::AlertTopic(t) if t.before.as_ref().is_some_and(|t| t.is_managed())),
                "{ctx}: crossrep never deletes while planning, except its own orphaned rules and the alerts of `alerts = false`"
            );
        }
        for dep in c.depends_on() {
            assert!(
                dep.phase() < addr.phase(),
                "{ctx}: depends on {dep} of a later phase"
            );
            assert!(
                p.changes.iter().any(|o| &o.addr() == dep),
                "{ctx}: depends on {dep}, not in the plan"
            );
        }
        match c {
            AnyChange::Replication(c) if c.after.is_none() => {}
            // Alerts live in source accounts with planned pairs; an existing queue or topic is
            // crossrep's; tags and subscriptions are only added.
            // Removed (`alerts = false`): only crossrep's, as discovery saw it.
            AnyChange::AlertQueue(c) if c.after.is_none() => {
                assert!(
                    seen_before(&ctx, actual, c).is_some_and(|q| q.is_managed()),
                    "{ctx}"
                );
            }
            AnyChange::AlertTopic(c) if c.after.is_none() => {
                assert!(
                    seen_before(&ctx, actual, c).is_some_and(|t| t.is_managed()),
                    "{ctx}"
                );
            }
            AnyChange::Alarm(c) if c.after.is_none() => {
                assert!(seen_before(&ctx, actual, c).is_some(), "{ctx}");
            }
            AnyChange::AlertQueue(c) => {
                let q = after(&ctx, c);
                assert!(q.is_managed(), "{ctx}");
                if let Some(seen) = seen_before(&ctx, actual, c) {
                    assert!(seen.is_managed(), "{ctx}: someone else's queue");
                }
                assert!(
                    report_account(&c.addr.account),
                    "{ctx}: not a source account"
                );
            }
            AnyChange::AlertTopic(c) => {
                let t = after(&ctx, c);
                if let Some(seen) = seen_before(&ctx, actual, c) {
                    assert!(seen.is_managed(), "{ctx}: someone else's topic");
                    assert!(
                        seen.emails.is_subset(&t.emails),
                        "{ctx}: drops a subscription"
                    );
                }
                assert!(
                    report_account(&c.addr.account),
                    "{ctx}: not a source account"
                );
            }
            AnyChange::Alarm(c) => {
                after(&ctx, c);
                seen_before(&ctx, actual, c);
                assert!(
                    report_account(&c.addr.account),
                    "{ctx}: not a source account"
                );
            }
            AnyChange::Notification(c) => {
                let want = after(&ctx, c);
                let seen = seen_before(&ctx, actual, c).unwrap_or_default();
                // Every entry that is not crossrep's stays, verbatim.
                let theirs = |s: &crossrep_core::kinds::notification::NotificationSpec| {
                    s.entries
                        .iter()
                        .filter(|e| {
                            e.id.as_deref() != Some(crossrep_core::kinds::notification::ENTRY_ID)
                        })
                        .cloned()
                        .collect::<Vec<_>>()
                };
                assert_eq!(
                    theirs(want),
                    theirs(&seen),
                    "{ctx}: foreign entries changed"
                );
                assert_eq!(want.eventbridge, seen.eventbridge, "{ctx}");
                assert!(
                    p.pairs
                        .iter()
                        .any(|s| s.source.account == c.addr.account
                            && s.source.bucket == c.addr.bucket),
                    "{ctx}: not a planned source"
                );
            }
            AnyChange::ReplicaKey(c) => {
                assert_eq!(
                    c.action,
                    Action::Create,
                    "{ctx}: keys are only ever created"
                );
                assert!(
                    actual
                        .present::<crossrep_core::kinds::replica_key::ReplicaKey>(&c.addr)
                        .is_none(),
                    "{ctx}: the key exists"
                );
            }
            AnyChange::KeyPolicy(c) => {
                let document = &after(&ctx, c).document;
                if let Some(seen) = seen_before(&ctx, actual, c).map(|s| s.document) {
                    assert_eq!(
                        foreign_statements(&seen),
                        foreign_statements(document),
                        "{ctx}: statements crossrep does not own were changed"
                    );
                }
            }
            AnyChange::Replication(c) => {
                let configuration = &after(&ctx, c).configuration;
                let (account, bucket) = (&c.addr.account, &c.addr.bucket);
                assert!(
                    !whole_bucket.contains(&(account, bucket)),
                    "{ctx}: the bucket is in conflict"
                );
                let seen = seen_before(&ctx, actual, c).map(|s| s.configuration);
                if let Some(seen) = &seen {
                    // Only ever the same role (IAM role names are unique in an account, paths
                    // aside): a stale path is repaired, another role never taken over.
                    let name = |arn: &str| arn.rsplit('/').next().map(str::to_string);
                    assert_eq!(
                        name(&seen.role),
                        name(&configuration.role),
                        "{ctx}: changes the configuration's role"
                    );
                    assert_eq!(
                        foreign_rules(seen),
                        foreign_rules(configuration),
                        "{ctx}: rules crossrep does not own were changed"
                    );
                }
                let mut prios: Vec<i32> = configuration
                    .rules
                    .iter()
                    .filter_map(|r| r.priority)
                    .collect();
                let n = prios.len();
                prios.sort();
                prios.dedup();
                assert_eq!(prios.len(), n, "{ctx}: duplicate priorities");
                assert!(
                    configuration.rules.len() <= 1000,
                    "{ctx}: more than 1000 rules"
                );
            }
            AnyChange::BucketPolicy(c) => {
                let document = &after(&ctx, c).document;
                assert!(
                    planned_dests.contains(&(&c.addr.account, &c.addr.bucket)),
                    "{ctx}: not the destination of a planned pair"
                );
                if let Some(seen) = seen_before(&ctx, actual, c).map(|s| s.document) {
                    assert_eq!(
                        foreign_statements(&seen),
                        foreign_statements(document),
                        "{ctx}: statements crossrep does not own were changed"
                    );
                    for (k, v) in seen.as_object().into_iter().flatten() {
                        if k != "Statement" {
                            assert_eq!(document.get(k), Some(v), "{ctx}: policy key {k} changed");
                        }
                    }
                }
            }
            AnyChange::Bucket(c) => {
                after(&ctx, c);
                let (account, bucket) = (&c.addr.account, &c.addr.bucket);
                assert_eq!(
                    c.action,
                    Action::Create,
                    "{ctx}: buckets are only ever created"
                );
                assert!(
                    actual.present::<Bucket>(&c.addr).is_none(),
                    "{ctx}: the bucket exists"
                );
                assert!(
                    !actual.taken_names.contains(bucket),
                    "{ctx}: the name is taken"
                );
                // A new bucket is tagged as crossrep's in the same plan.
                let tags = p.changes.iter().find_map(|o| match o {
                    AnyChange::BucketTags(t) if t.addr == c.addr => t.after.clone(),
                    _ => None,
                });
                assert!(
                    tags.is_some_and(|t| t.is_managed()),
                    "{ctx}: a new bucket without crossrep's tag"
                );
                // A report bucket lives in a source account with planned pairs; every other
                // bucket is a planned destination.
                assert!(
                    report_account(account) || planned_dests.contains(&(account, bucket)),
                    "{ctx}: not the destination of a planned pair"
                );
            }
            AnyChange::BucketTags(c) => {
                let tags = &after(&ctx, c).tags;
                assert_eq!(
                    tags.get(MANAGED_TAG.0).map(String::as_str),
                    Some(MANAGED_TAG.1),
                    "{ctx}"
                );
                // Tags are only added: every tag that was there stays.
                if let Some(seen) = seen_before(&ctx, actual, c) {
                    assert!(seen.tags.is_empty(), "{ctx}: retags a bucket that has tags");
                }
                assert_bucket_managed_here(
                    &ctx,
                    &c.addr,
                    &planned_dests,
                    report_account(&c.addr.account),
                );
            }
            AnyChange::OwnershipControls(c) => {
                after(&ctx, c);
                seen_before(&ctx, actual, c);
                assert_bucket_managed_here(
                    &ctx,
                    &c.addr,
                    &planned_dests,
                    report_account(&c.addr.account),
                );
                assert!(
                    actual
                        .present::<BucketTags>(&c.addr)
                        .is_none_or(|t| t.is_managed() || t.tags.is_empty()),
                    "{ctx}: a bucket someone else tagged"
                );
            }
            AnyChange::Lifecycle(c) => {
                after(&ctx, c);
                seen_before(&ctx, actual, c);
                assert!(
                    report_account(&c.addr.account),
                    "{ctx}: not a report bucket's account"
                );
                assert!(
                    actual
                        .present::<BucketTags>(&c.addr)
                        .is_none_or(|t| t.is_managed() || t.tags.is_empty()),
                    "{ctx}: a bucket someone else tagged"
                );
            }
            AnyChange::BucketEncryption(c) => {
                // Only to let SSE-C replicas in, on a destination crossrep manages; the
                // default encryption it had is kept.
                let want = after(&ctx, c);
                assert!(!want.sse_c_blocked, "{ctx}");
                assert!(
                    planned_dests.contains(&(&c.addr.account, &c.addr.bucket)),
                    "{ctx}: not the destination of a planned pair"
                );
                assert!(
                    actual
                        .present::<BucketTags>(&c.addr)
                        .is_none_or(|t| t.is_managed() || t.tags.is_empty()),
                    "{ctx}: a bucket someone else tagged"
                );
                if let Some(seen) = seen_before(&ctx, actual, c) {
                    assert_eq!(
                        (&seen.algorithm, &seen.kms_key, seen.bucket_key),
                        (&want.algorithm, &want.kms_key, want.bucket_key),
                        "{ctx}: the default encryption changed"
                    );
                }
            }
            AnyChange::ObjectEncryption(_)
            | AnyChange::RequestPayment(_)
            | AnyChange::ObjectLock(_) => {
                panic!("{ctx}: crossrep never writes an observed-only setting")
            }
            AnyChange::Versioning(c) => {
                assert_eq!(after(&ctx, c).status, Versioning::Enabled, "{ctx}");
                seen_before(&ctx, actual, c);
                assert!(
                    !whole_bucket.contains(&(&c.addr.account, &c.addr.bucket)),
                    "{ctx}: the bucket is in conflict"
                );
            }
            AnyChange::Role(c) => {
                let tags = &after(&ctx, c).tags;
                let seen = actual.present::<Role>(&c.addr);
                assert!(
                    seen.is_none_or(|r| r.is_managed()),
                    "{ctx}: the role is not crossrep's"
                );
                assert_eq!(
                    tags.get(MANAGED_TAG.0).map(String::as_str),
                    Some(MANAGED_TAG.1),
                    "{ctx}"
                );
            }
            AnyChange::RolePolicy(c) => {
                after(&ctx, c);
                seen_before(&ctx, actual, c);
                let role = RoleAddr {
                    account: c.addr.account.clone(),
                    name: c.addr.role.clone(),
                };
                assert!(
                    actual.present::<Role>(&role).is_none_or(|r| r.is_managed()),
                    "{ctx}: the role is not crossrep's"
                );
            }
        }
    }
}

/// What a change writes (planning never deletes, so there always is something).
fn after<'c, K: Kind>(ctx: &str, c: &'c crossrep_core::kinds::Change<K>) -> &'c K::Spec {
    assert_eq!(
        c.action == Action::Create,
        c.before.is_none(),
        "{ctx}: action and `before` disagree"
    );
    c.after
        .as_ref()
        .unwrap_or_else(|| panic!("{ctx}: no `after`"))
}

/// `before` is what discovery saw (returned); nothing is written over something unread.
fn seen_before<K: Kind>(
    ctx: &str,
    actual: &ActualState,
    c: &crossrep_core::kinds::Change<K>,
) -> Option<K::Spec> {
    let seen = actual.present::<K>(&c.addr).cloned();
    assert_eq!(c.before, seen, "{ctx}: `before` is not what discovery saw");
    if c.before.is_none() {
        assert!(
            !matches!(actual.observed::<K>(&c.addr), Some(Observed::Unreadable(_))),
            "{ctx}: created over something that could not be read"
        );
    }
    seen
}

fn assert_bucket_managed_here(
    ctx: &str,
    addr: &BucketAddr,
    planned_dests: &[(&AccountId, &BucketName)],
    report_account: bool,
) {
    assert!(
        report_account || planned_dests.contains(&(&addr.account, &addr.bucket)),
        "{ctx}: not a planned destination or report bucket"
    );
}

/// The one change at `addr` (as displayed), or a panic listing the plan.
pub fn change<'p>(p: &'p Plan, addr: &str) -> &'p AnyChange {
    p.changes
        .iter()
        .find(|c| c.addr().to_string() == addr)
        .unwrap_or_else(|| panic!("no change at {addr} in\n{}", summary(p)))
}

/// The one change at `addr`, as a change of kind `K`.
pub fn typed<'p, K: Kind>(p: &'p Plan, addr: &str) -> &'p crossrep_core::kinds::Change<K> {
    change(p, addr)
        .downcast::<K>()
        .unwrap_or_else(|| panic!("{addr} is not a {}", K::NAME))
}

/// The configuration a replication change writes.
pub fn written_config<'p>(p: &'p Plan, addr: &str) -> &'p ReplicationConfiguration {
    match change(p, addr) {
        AnyChange::Replication(c) => &c.after.as_ref().expect("written").configuration,
        other => panic!("{addr} writes {other:?}"),
    }
}

/// The document a bucket policy change writes.
pub fn written_policy<'p>(p: &'p Plan, addr: &str) -> &'p Value {
    match change(p, addr) {
        AnyChange::BucketPolicy(c) => &c.after.as_ref().expect("written").document,
        other => panic!("{addr} writes {other:?}"),
    }
}

/// `(id, priority)` of every rule, in order.
pub fn rule_ids(c: &ReplicationConfiguration) -> Vec<(String, Option<i32>)> {
    c.rules
        .iter()
        .map(|r| (r.id.clone().unwrap_or_default(), r.priority))
        .collect()
}
