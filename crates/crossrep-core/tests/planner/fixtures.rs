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
use crossrep_core::model::{
    ActualState, BucketState, Destination, Filter, ReplicationConfiguration, RoleState, Rule,
    Versioning, MANAGED_TAG, RULE_PREFIX, SID_PREFIX,
};
use crossrep_core::names::{AccountId, BucketName, Region};
use crossrep_core::plan::{apply_in_memory, plan, Action, Address, Plan, Resource};
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
pub const PROD_TO_BACKUP: &str = r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
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
        self.state
            .accounts
            .entry(acct(account))
            .or_default()
            .buckets
            .insert(
                bucket(name),
                BucketState {
                    region: Some(region(region_)),
                    versioning: Some(Versioning::Off),
                    replication: Some(None),
                    policy: Some(None),
                    tags: Some(BTreeMap::new()),
                    error: None,
                },
            );
        self.cur = Some((acct(account), bucket(name)));
        self
    }

    /// Selects an existing bucket for the setters that follow.
    pub fn at(mut self, account: &str, name: &str) -> Self {
        assert!(
            self.state.bucket(&acct(account), &bucket(name)).is_some(),
            "no bucket {account}/{name}"
        );
        self.cur = Some((acct(account), bucket(name)));
        self
    }

    fn cur(&mut self) -> &mut BucketState {
        let (a, b) = self.cur.clone().expect("name a bucket first");
        self.state
            .accounts
            .get_mut(&a)
            .unwrap()
            .buckets
            .get_mut(&b)
            .unwrap()
    }

    pub fn versioning(mut self, v: Versioning) -> Self {
        self.cur().versioning = Some(v);
        self
    }

    pub fn replication(mut self, role: &str, rules: Vec<Rule>) -> Self {
        self.cur().replication = Some(Some(ReplicationConfiguration {
            role: role.to_string(),
            rules,
        }));
        self
    }

    pub fn policy(mut self, doc: Value) -> Self {
        self.cur().policy = Some(Some(doc));
        self
    }

    pub fn tags(mut self, tags: &[(&str, &str)]) -> Self {
        self.cur().tags = Some(
            tags.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        self
    }

    pub fn error(mut self, message: &str) -> Self {
        self.cur().error = Some(message.to_string());
        self
    }

    /// Arbitrary edits of the selected bucket (fields discovery did not read, ...).
    pub fn edit(mut self, f: impl FnOnce(&mut BucketState)) -> Self {
        f(self.cur());
        self
    }

    /// crossrep's role in `account`: managed, with the right trust policy, no inline policy.
    pub fn role(mut self, account: &str) -> Self {
        self.state
            .accounts
            .entry(acct(account))
            .or_default()
            .roles
            .insert(
                ROLE.to_string(),
                Some(RoleState {
                    arn: role_arn(account),
                    trust_policy: trust_policy(&acct(account)),
                    tags: BTreeMap::from([(MANAGED_TAG.0.to_string(), MANAGED_TAG.1.to_string())]),
                    inline_policies: BTreeMap::new(),
                }),
            );
        self
    }

    /// A role with crossrep's name that someone else created (no `managed-by` tag).
    pub fn unmanaged_role(self, account: &str) -> Self {
        self.role(account).edit_role(account, |r| {
            r.tags = BTreeMap::from([("owner".to_string(), "platform-team".to_string())]);
        })
    }

    pub fn edit_role(mut self, account: &str, f: impl FnOnce(&mut RoleState)) -> Self {
        let r = self
            .state
            .accounts
            .get_mut(&acct(account))
            .and_then(|a| a.roles.get_mut(ROLE))
            .and_then(Option::as_mut)
            .expect("no role to edit");
        f(r);
        self
    }

    pub fn trust(self, account: &str, doc: Value) -> Self {
        self.edit_role(account, |r| r.trust_policy = doc)
    }

    pub fn role_policy(self, account: &str, doc: Value) -> Self {
        self.edit_role(account, |r| {
            r.inline_policies.insert(ROLE_POLICY_NAME.to_string(), doc);
        })
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
        .map(|c| format!("{} {}", action(c.action), c.addr))
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
        .filter(|c| !c.depends_on.is_empty())
        .map(|c| {
            let deps: Vec<String> = c.depends_on.iter().map(ToString::to_string).collect();
            format!("{} <- {}", c.addr, deps.join(", "))
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
    for c in &p.changes {
        let ctx = format!("{} {}", action(c.action), c.addr);
        assert_ne!(
            c.action,
            Action::Delete,
            "{ctx}: crossrep never deletes while planning"
        );
        let after = c
            .after
            .as_ref()
            .unwrap_or_else(|| panic!("{ctx}: no `after`"));
        assert_eq!(
            c.action == Action::Create,
            c.before.is_none(),
            "{ctx}: action and `before` disagree"
        );
        for dep in &c.depends_on {
            assert!(
                dep.phase() < c.addr.phase(),
                "{ctx}: depends on {dep} of a later phase"
            );
            assert!(
                p.changes.iter().any(|o| &o.addr == dep),
                "{ctx}: depends on {dep}, not in the plan"
            );
        }
        match (&c.addr, after) {
            (
                Address::Replication {
                    account, bucket, ..
                },
                Resource::Replication { configuration },
            ) => {
                assert!(
                    !whole_bucket.contains(&(account, bucket)),
                    "{ctx}: the bucket is in conflict"
                );
                let seen = actual
                    .bucket(account, bucket)
                    .and_then(|b| b.replication.clone())
                    .flatten();
                let before = match &c.before {
                    Some(Resource::Replication { configuration }) => Some(configuration.clone()),
                    None => None,
                    other => panic!("{ctx}: before is {other:?}"),
                };
                assert_eq!(before, seen, "{ctx}: `before` is not what discovery saw");
                if let Some(seen) = &seen {
                    assert_eq!(
                        seen.role, configuration.role,
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
            (
                Address::BucketPolicy {
                    account, bucket, ..
                },
                Resource::BucketPolicy { document },
            ) => {
                assert!(
                    planned_dests.contains(&(account, bucket)),
                    "{ctx}: not the destination of a planned pair"
                );
                let seen = actual
                    .bucket(account, bucket)
                    .and_then(|b| b.policy.clone())
                    .flatten();
                let before = match &c.before {
                    Some(Resource::BucketPolicy { document }) => Some(document.clone()),
                    None => None,
                    other => panic!("{ctx}: before is {other:?}"),
                };
                assert_eq!(before, seen, "{ctx}: `before` is not what discovery saw");
                if let Some(seen) = &seen {
                    assert_eq!(
                        foreign_statements(seen),
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
            (
                Address::Bucket {
                    account, bucket, ..
                },
                Resource::Bucket {
                    tags,
                    expire_after_days,
                    ..
                },
            ) => {
                assert_eq!(
                    c.action,
                    Action::Create,
                    "{ctx}: buckets are only ever created"
                );
                assert!(
                    actual.bucket(account, bucket).is_none(),
                    "{ctx}: the bucket exists"
                );
                assert!(
                    !actual.taken_names.contains(bucket),
                    "{ctx}: the name is taken"
                );
                assert_eq!(
                    tags.get(MANAGED_TAG.0).map(String::as_str),
                    Some(MANAGED_TAG.1)
                );
                // A report bucket (it expires its objects) lives in a source account with
                // planned pairs; every other bucket is a planned destination.
                let report = expire_after_days.is_some()
                    && p.pairs.iter().any(|s| &s.source.account == account);
                assert!(
                    report || planned_dests.contains(&(account, bucket)),
                    "{ctx}: not the destination of a planned pair"
                );
            }
            (
                Address::Versioning {
                    account, bucket, ..
                },
                Resource::Versioning { status },
            ) => {
                assert_eq!(*status, Versioning::Enabled, "{ctx}");
                assert!(
                    !whole_bucket.contains(&(account, bucket)),
                    "{ctx}: the bucket is in conflict"
                );
            }
            (Address::Role { account, name }, Resource::Role { tags, .. }) => {
                let seen = actual.role(account, name);
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
            (Address::RolePolicy { account, role, .. }, Resource::RolePolicy { .. }) => {
                let seen = actual.role(account, role);
                assert!(
                    seen.is_none_or(|r| r.is_managed()),
                    "{ctx}: the role is not crossrep's"
                );
            }
            (addr, r) => panic!("{addr} cannot be {r:?}"),
        }
    }
}

/// The one change at `addr` (as displayed), or a panic listing the plan.
pub fn change<'p>(p: &'p Plan, addr: &str) -> &'p crossrep_core::plan::Change {
    p.changes
        .iter()
        .find(|c| c.addr.to_string() == addr)
        .unwrap_or_else(|| panic!("no change at {addr} in\n{}", summary(p)))
}

/// The configuration a replication change writes.
pub fn written_config<'p>(p: &'p Plan, addr: &str) -> &'p ReplicationConfiguration {
    match &change(p, addr).after {
        Some(Resource::Replication { configuration }) => configuration,
        other => panic!("{addr} writes {other:?}"),
    }
}

/// The document a bucket policy change writes.
pub fn written_policy<'p>(p: &'p Plan, addr: &str) -> &'p Value {
    match &change(p, addr).after {
        Some(Resource::BucketPolicy { document }) => document,
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
