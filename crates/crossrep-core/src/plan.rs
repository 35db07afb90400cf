//! The planner: `plan(&DesiredState, &ActualState) -> Plan`, pure and deterministic, and its
//! in-memory inverse [`apply_in_memory`] used to prove that applying a plan converges.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{Backfill, Owner};
use crate::desired::{BucketRef, Conflict, DesiredState, Pair, RoleRef};
use crate::model::{
    ActualState, BucketState, Destination, Filter, ReplicationConfiguration, RoleState, Rule,
    Versioning, MANAGED_TAG, RULE_PREFIX,
};
use crate::names::{AccountId, BucketName, Region};
use crate::policy::{
    destination_statements, merge_bucket_policy, policy_size, role_policy, same_policy,
    trust_policy, BUCKET_POLICY_LIMIT, ROLE_POLICY_NAME,
};

/// Version of the plan file format; a saved plan of another version is refused.
pub const PLAN_FORMAT_VERSION: u32 = 1;
/// S3's limit on rules per replication configuration.
pub const MAX_RULES: usize = 1000;
/// Days after which backfill reports and manifests expire in the report buckets.
pub const REPORT_EXPIRY_DAYS: u32 = 30;

/// What a change is about. Ordering is the order changes are shown and stored in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Address {
    Role {
        account: AccountId,
        name: String,
    },
    RolePolicy {
        account: AccountId,
        role: String,
        name: String,
    },
    Bucket {
        account: AccountId,
        bucket: BucketName,
    },
    Versioning {
        account: AccountId,
        bucket: BucketName,
    },
    BucketPolicy {
        account: AccountId,
        bucket: BucketName,
    },
    Replication {
        account: AccountId,
        bucket: BucketName,
    },
}

impl Address {
    /// Execution phase: a change only depends on changes of earlier phases.
    pub fn phase(&self) -> u8 {
        match self {
            Address::Role { .. } | Address::Bucket { .. } => 0,
            Address::RolePolicy { .. } | Address::Versioning { .. } => 1,
            Address::BucketPolicy { .. } => 2,
            Address::Replication { .. } => 3,
        }
    }

    pub fn account(&self) -> &AccountId {
        match self {
            Address::Role { account, .. }
            | Address::RolePolicy { account, .. }
            | Address::Bucket { account, .. }
            | Address::Versioning { account, .. }
            | Address::BucketPolicy { account, .. }
            | Address::Replication { account, .. } => account,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Role { account, name } => write!(f, "role[{account}/{name}]"),
            Address::RolePolicy {
                account,
                role,
                name,
            } => {
                write!(f, "role_policy[{account}/{role}/{name}]")
            }
            Address::Bucket {
                account, bucket, ..
            } => write!(f, "bucket[{account}/{bucket}]"),
            Address::Versioning {
                account, bucket, ..
            } => {
                write!(f, "versioning[{account}/{bucket}]")
            }
            Address::BucketPolicy {
                account, bucket, ..
            } => {
                write!(f, "bucket_policy[{account}/{bucket}]")
            }
            Address::Replication {
                account, bucket, ..
            } => {
                write!(f, "replication[{account}/{bucket}]")
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
}

/// The full desired value of a resource: execution writes exactly this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Resource {
    Bucket {
        tags: BTreeMap<String, String>,
        /// `BucketOwnerEnforced` when replicas belong to the destination account.
        object_ownership: Option<String>,
        /// A lifecycle rule expiring objects after this many days (report buckets).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expire_after_days: Option<u32>,
    },
    Versioning {
        status: Versioning,
    },
    Role {
        trust_policy: Value,
        tags: BTreeMap<String, String>,
        description: String,
    },
    RolePolicy {
        document: Value,
    },
    BucketPolicy {
        document: Value,
    },
    Replication {
        configuration: ReplicationConfiguration,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub addr: Address,
    /// Where to send the request: the bucket's region (IAM: the account's home region).
    pub region: Region,
    pub action: Action,
    /// Execution order: every change of a phase runs after all changes of earlier phases.
    /// Apply creates in [`Address::phase`] order; destroy removes in the reverse.
    pub phase: u8,
    pub before: Option<Resource>,
    /// `None` when the resource is deleted.
    pub after: Option<Resource>,
    /// Why, for people; never read by execution.
    pub reason: String,
    /// Changes of this plan that must succeed first.
    pub depends_on: Vec<Address>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairSummary {
    pub source: BucketRef,
    pub destination: BucketRef,
    pub shortened_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    /// Sorted by address.
    pub changes: Vec<Change>,
    pub conflicts: Vec<Conflict>,
    /// Every pair the plan covers (not in conflict), sorted.
    pub pairs: Vec<PairSummary>,
    /// Things that do not stop the plan but that people should know.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// (to add, to change, to destroy)
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |a| self.changes.iter().filter(|c| c.action == a).count();
        (n(Action::Create), n(Action::Update), n(Action::Delete))
    }
}

fn managed_tags() -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_TAG.0.to_string(), MANAGED_TAG.1.to_string())])
}

/// The rule crossrep wants on the source for one pair (priority chosen when merging).
pub fn desired_rule(pair: &Pair) -> Rule {
    let r = &pair.rule;
    let filter = if r.tags.is_empty() {
        Filter {
            prefix: Some(r.prefix.clone()),
            tags: BTreeMap::new(),
            and: false,
        }
    } else {
        Filter {
            prefix: (!r.prefix.is_empty()).then(|| r.prefix.clone()),
            tags: r.tags.clone(),
            and: false,
        }
    };
    let cross = pair.cross_account();
    Rule {
        id: Some(rule_id(&pair.destination.bucket)),
        priority: None,
        enabled: true,
        prefix: None,
        filter: Some(filter),
        delete_marker_replication: Some(r.delete_markers),
        sse_kms_encrypted_objects: None,
        replica_modifications: None,
        existing_object_replication: None,
        destination: Destination {
            bucket: pair.destination.arn(),
            account: cross.then(|| pair.destination.account.to_string()),
            storage_class: Some(r.storage_class.clone()),
            owner_override: cross && r.owner == Owner::Destination,
            replica_kms_key_id: None,
            replication_time_minutes: r.replication_time.then_some(15),
            metrics_enabled: r.replication_time,
            metrics_minutes: r.replication_time.then_some(15),
        },
    }
}

pub fn rule_id(destination: &BucketName) -> String {
    format!("{RULE_PREFIX}{destination}")
}

/// Merges crossrep's rules into an existing configuration by rule ID: other rules are kept as
/// they are and where they are; ours replace the rule with the same ID in place, or are
/// appended in ID order. Priorities stay unique: ours keep theirs when it is still free,
/// new ones take the smallest free number.
pub fn merge_replication(
    existing: Option<&ReplicationConfiguration>,
    role_arn: &str,
    ours: &[Rule],
) -> ReplicationConfiguration {
    let existing_rules: &[Rule] = existing.map(|c| c.rules.as_slice()).unwrap_or(&[]);
    let our_ids: BTreeSet<&str> = ours.iter().filter_map(|r| r.id.as_deref()).collect();
    let is_ours = |r: &Rule| r.id.as_deref().is_some_and(|id| our_ids.contains(id));
    let mut used: BTreeSet<i32> = existing_rules
        .iter()
        .filter(|r| !is_ours(r))
        .filter_map(|r| r.priority)
        .collect();
    let mut priorities: BTreeMap<&str, i32> = BTreeMap::new();
    for r in existing_rules.iter().filter(|r| is_ours(r)) {
        if let Some(p) = r.priority {
            if used.insert(p) {
                priorities.insert(r.id.as_deref().unwrap(), p);
            }
        }
    }
    let mut sorted: Vec<&Rule> = ours.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    for r in sorted {
        let id = r.id.as_deref().unwrap();
        if !priorities.contains_key(id) {
            let p = (1..).find(|p| !used.contains(p)).unwrap();
            used.insert(p);
            priorities.insert(id, p);
        }
    }
    let with_priority = |r: &Rule| {
        let mut r = r.clone();
        r.priority = Some(priorities[r.id.as_deref().unwrap()]);
        r
    };
    let mut placed = BTreeSet::new();
    let mut rules = Vec::with_capacity(existing_rules.len() + ours.len());
    for r in existing_rules {
        match ours.iter().find(|o| o.id.is_some() && o.id == r.id) {
            Some(o) if placed.insert(o.id.clone()) => rules.push(with_priority(o)),
            Some(_) => {} // a duplicate ID in the existing configuration: keep one
            None => rules.push(r.clone()),
        }
    }
    let mut rest: Vec<&Rule> = ours.iter().filter(|o| !placed.contains(&o.id)).collect();
    rest.sort_by(|a, b| a.id.cmp(&b.id));
    rules.extend(rest.into_iter().map(with_priority));
    ReplicationConfiguration {
        role: role_arn.to_string(),
        rules,
    }
}

/// Canonical form for comparing configurations: an empty filter prefix is no prefix, and `And`
/// is a shape, not a meaning (S3 requires it for a prefix with a tag or for several tags, and
/// returns it so: crossrep's rules come back with `and: true`).
fn canonical(c: &ReplicationConfiguration) -> ReplicationConfiguration {
    let mut c = c.clone();
    for r in &mut c.rules {
        if let Some(f) = &mut r.filter {
            if f.prefix.as_deref() == Some("") {
                f.prefix = None;
            }
            f.and = f.tags.len() > 1 || (f.prefix.is_some() && !f.tags.is_empty());
        }
    }
    c
}

pub fn same_replication(a: &ReplicationConfiguration, b: &ReplicationConfiguration) -> bool {
    canonical(a) == canonical(b)
}

struct Planner<'a> {
    desired: &'a DesiredState,
    actual: &'a ActualState,
    changes: BTreeMap<Address, Change>,
    conflicts: Vec<Conflict>,
    warnings: Vec<String>,
}

pub fn plan(desired: &DesiredState, actual: &ActualState) -> Plan {
    Planner {
        desired,
        actual,
        changes: BTreeMap::new(),
        conflicts: desired.conflicts.clone(),
        warnings: Vec::new(),
    }
    .run()
}

impl<'a> Planner<'a> {
    fn conflict(&mut self, pair: &Pair, per_pair: bool, message: String) {
        self.conflicts.push(Conflict {
            account: pair.source.account.clone(),
            bucket: pair.source.bucket.clone(),
            destination: per_pair.then(|| pair.destination.bucket.clone()),
            message,
        });
    }

    fn role(&self, account: &AccountId) -> &'a RoleRef {
        &self.desired.roles[account]
    }

    /// Drops the pairs crossrep must not touch, recording why.
    fn active_pairs(&mut self) -> Vec<&'a Pair> {
        let mut active = Vec::new();
        for pair in &self.desired.pairs {
            let role = self.role(&pair.source.account);
            let src = self
                .actual
                .bucket(&pair.source.account, &pair.source.bucket);
            let dst = self
                .actual
                .bucket(&pair.destination.account, &pair.destination.bucket);
            let problem = if let Some(r) = self
                .actual
                .role(&role.account, &role.name)
                .filter(|r| !r.is_managed())
            {
                Some((false, format!(
                    "role `{}` already exists in {} and is not managed by crossrep (no `managed-by=crossrep` tag); choose another `settings.role_name`",
                    role.name, r.arn.split(':').nth(4).unwrap_or_default()
                )))
            } else if let Some(e) = src.and_then(|s| s.error.clone()) {
                Some((
                    false,
                    format!("could not read source bucket `{}`: {e}", pair.source.bucket),
                ))
            } else if src.is_none_or(|s| s.replication.is_none() || s.versioning.is_none()) {
                // Writing a configuration over one nobody read could drop someone's rules.
                Some((
                    false,
                    format!("source bucket `{}` was not discovered", pair.source.bucket),
                ))
            } else if let Some(Some(cfg)) = src
                .and_then(|s| s.replication.as_ref())
                .filter(|c| c.as_ref().is_some_and(|c| c.role != role.arn()))
            {
                Some((false, format!(
                    "its replication configuration uses role `{}`; S3 allows one role per configuration and crossrep only adds rules to configurations of its own role `{}`",
                    cfg.role, role.arn()
                )))
            } else if src
                .and_then(|s| s.replication.as_ref())
                .and_then(|c| c.as_ref())
                .is_some_and(|c| c.rules.iter().any(Rule::is_v1))
            {
                Some((false, "its replication configuration has V1 rules (rule-level `Prefix`), which cannot be mixed with crossrep's V2 rules".to_string()))
            } else if self.actual.taken_names.contains(&pair.destination.bucket) {
                Some((true, format!(
                    "destination bucket name `{}` belongs to another AWS account (BucketAlreadyExists); change the `destination` template",
                    pair.destination.bucket
                )))
            } else if let Some(e) = dst.and_then(|d| d.error.clone()) {
                Some((
                    true,
                    format!(
                        "could not read destination bucket `{}`: {e}",
                        pair.destination.bucket
                    ),
                ))
            } else if dst.is_some_and(|d| d.policy.is_none() || d.versioning.is_none()) {
                // Same for a policy nobody read: merging into "nothing" would drop statements.
                Some((
                    true,
                    format!(
                        "destination bucket `{}` was not fully discovered",
                        pair.destination.bucket
                    ),
                ))
            } else {
                None
            };
            match problem {
                Some((per_pair, message)) => self.conflict(pair, per_pair, message),
                None => active.push(pair),
            }
        }
        active
    }

    fn add(
        &mut self,
        addr: Address,
        region: &Region,
        before: Option<Resource>,
        after: Resource,
        reason: String,
        depends_on: Vec<Address>,
    ) {
        let action = if before.is_none() {
            Action::Create
        } else {
            Action::Update
        };
        let depends_on = depends_on
            .into_iter()
            .filter(|d| self.changes.contains_key(d))
            .collect();
        self.changes.insert(
            addr.clone(),
            Change {
                phase: addr.phase(),
                addr,
                region: region.clone(),
                action,
                before,
                after: Some(after),
                reason,
                depends_on,
            },
        );
    }

    fn run(mut self) -> Plan {
        let mut active = self.active_pairs();

        // Destination bucket policies: merged, and checked against S3's size limit. A pair whose
        // destination cannot take the statements gets no rule either.
        let mut policies = BTreeMap::new();
        let mut too_big = BTreeSet::new();
        for p in &active {
            let existing = self.current_policy(&p.destination);
            let ours = destination_statements(self.role(&p.source.account), &p.destination.arn());
            let merged = merge_bucket_policy(existing, &ours);
            let size = policy_size(&merged);
            if size > BUCKET_POLICY_LIMIT {
                too_big.insert(p.destination.clone());
                self.conflict(p, true, format!(
                    "the merged policy of destination `{}` would be {size} bytes; S3 allows {BUCKET_POLICY_LIMIT}",
                    p.destination.bucket
                ));
            } else {
                policies.insert(p.destination.clone(), merged);
            }
        }
        active.retain(|p| !too_big.contains(&p.destination));

        // Replication configurations, per source bucket: merged, then checked against S3's
        // rule limit before anything else is planned for that bucket.
        let mut by_source: BTreeMap<&BucketRef, Vec<&Pair>> = BTreeMap::new();
        for p in &active {
            by_source.entry(&p.source).or_default().push(p);
        }
        let mut merged_configs = BTreeMap::new();
        for (src, pairs) in &by_source {
            let role = self.role(&src.account).arn();
            let ours: Vec<Rule> = pairs.iter().map(|p| desired_rule(p)).collect();
            let merged = merge_replication(self.current_replication(src), &role, &ours);
            if merged.rules.len() > MAX_RULES {
                for p in pairs {
                    self.conflict(
                        p,
                        false,
                        format!(
                            "its replication configuration would have {} rules; S3 allows {MAX_RULES}",
                            merged.rules.len()
                        ),
                    );
                }
            } else {
                merged_configs.insert((*src).clone(), merged);
            }
        }
        active.retain(|p| merged_configs.contains_key(&p.source));

        let reports = self.plan_report_buckets(&active);

        // Roles and their permissions, per source account with active pairs.
        let mut by_account: BTreeMap<&AccountId, Vec<&Pair>> = BTreeMap::new();
        for p in &active {
            by_account.entry(&p.source.account).or_default().push(p);
        }
        for (account, pairs) in &by_account {
            let own: Vec<&BucketRef> = reports.iter().filter(|r| &r.account == *account).collect();
            self.plan_role(self.role(account), pairs, &own);
        }

        for p in &active {
            self.plan_destination(p, &policies[&p.destination]);
        }
        for (src, config) in merged_configs {
            let pairs = &by_source_pairs(&active, &src);
            self.plan_source(&src, config, pairs);
        }

        let mut conflicts = self.conflicts;
        conflicts.sort();
        conflicts.dedup();
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            changes: self.changes.into_values().collect(),
            conflicts,
            pairs: active
                .iter()
                .map(|p| PairSummary {
                    source: p.source.clone(),
                    destination: p.destination.clone(),
                    shortened_from: p.shortened_from.clone(),
                })
                .collect(),
            warnings: self.warnings,
        }
    }

    fn current_replication(&self, src: &BucketRef) -> Option<&'a ReplicationConfiguration> {
        self.actual
            .bucket(&src.account, &src.bucket)
            .and_then(|b| b.replication.as_ref())
            .and_then(|c| c.as_ref())
    }

    fn current_policy(&self, dst: &BucketRef) -> Option<&'a Value> {
        self.actual
            .bucket(&dst.account, &dst.bucket)
            .and_then(|b| b.policy.as_ref())
            .and_then(|p| p.as_ref())
    }

    /// Report buckets (SPEC §4.6) for the accounts and regions that have active `batch`
    /// pairs; returns those that exist or will, for the role's permissions.
    fn plan_report_buckets(&mut self, active: &[&Pair]) -> Vec<BucketRef> {
        let mut usable = Vec::new();
        for r in &self.desired.report_buckets {
            let used = active.iter().any(|p| {
                p.backfill == Backfill::Batch
                    && p.source.account == r.account
                    && p.source.region == r.region
            });
            if !used {
                continue;
            }
            if self.actual.bucket(&r.account, &r.bucket).is_some() {
                usable.push(r.clone());
            } else if self.actual.taken_names.contains(&r.bucket) {
                self.warnings.push(format!(
                    "report bucket `{}` belongs to another AWS account: `crossrep backfill` cannot run in {} ({}); change `settings.report_bucket`",
                    r.bucket, r.account, r.region
                ));
            } else {
                self.add(
                    Address::Bucket {
                        account: r.account.clone(),
                        bucket: r.bucket.clone(),
                    },
                    &r.region,
                    None,
                    Resource::Bucket {
                        tags: managed_tags(),
                        object_ownership: Some("BucketOwnerEnforced".into()),
                        expire_after_days: Some(REPORT_EXPIRY_DAYS),
                    },
                    format!(
                        "backfill manifests and reports of {} in {}",
                        r.account, r.region
                    ),
                    vec![],
                );
                usable.push(r.clone());
            }
        }
        usable
    }

    fn plan_role(&mut self, role: &RoleRef, pairs: &[&Pair], reports: &[&BucketRef]) {
        let role_addr = Address::Role {
            account: role.account.clone(),
            name: role.name.clone(),
        };
        let trust = trust_policy(&role.account);
        let current = self.actual.role(&role.account, &role.name);
        let description =
            "S3 replication and S3 Batch Replication role managed by crossrep".to_string();
        match current {
            None => self.add(
                role_addr.clone(),
                &role.region,
                None,
                Resource::Role {
                    trust_policy: trust,
                    tags: managed_tags(),
                    description,
                },
                format!("the replication role of {} does not exist", role.account),
                vec![],
            ),
            Some(r) if !same_policy(&r.trust_policy, &trust) => self.add(
                role_addr.clone(),
                &role.region,
                Some(Resource::Role {
                    trust_policy: r.trust_policy.clone(),
                    tags: r.tags.clone(),
                    description: description.clone(),
                }),
                Resource::Role {
                    trust_policy: trust,
                    tags: r.tags.clone(),
                    description,
                },
                "its trust policy is not the one crossrep needs".into(),
                vec![],
            ),
            Some(_) => {}
        }
        let doc = role_policy(pairs, reports);
        let before = current.and_then(|r| r.inline_policies.get(ROLE_POLICY_NAME));
        if before.is_none_or(|b| !same_policy(b, &doc)) {
            self.add(
                Address::RolePolicy {
                    account: role.account.clone(),
                    role: role.name.clone(),
                    name: ROLE_POLICY_NAME.into(),
                },
                &role.region,
                before.map(|b| Resource::RolePolicy {
                    document: b.clone(),
                }),
                Resource::RolePolicy { document: doc },
                format!(
                    "the role must be allowed to replicate {} bucket pair(s)",
                    pairs.len()
                ),
                vec![role_addr],
            );
        }
    }

    fn plan_destination(&mut self, pair: &Pair, policy: &Value) {
        let d = &pair.destination;
        let bucket_addr = Address::Bucket {
            account: d.account.clone(),
            bucket: d.bucket.clone(),
        };
        let current = self.actual.bucket(&d.account, &d.bucket);
        // An existing destination is used where it is, whatever region the config prefers.
        let region = current
            .and_then(|b| b.region.clone())
            .unwrap_or_else(|| d.region.clone());
        if current.is_none() {
            self.add(
                bucket_addr.clone(),
                &region,
                None,
                Resource::Bucket {
                    tags: managed_tags(),
                    object_ownership: (pair.rule.owner == Owner::Destination)
                        .then(|| "BucketOwnerEnforced".to_string()),
                    expire_after_days: None,
                },
                match &pair.shortened_from {
                    Some(long) => format!(
                        "destination of `{}` ({}); `{long}` is not a valid bucket name, shortened",
                        pair.source.bucket, pair.source.account
                    ),
                    None => format!(
                        "destination of `{}` ({})",
                        pair.source.bucket, pair.source.account
                    ),
                },
                vec![],
            );
        }
        let versioning = current
            .and_then(|b| b.versioning)
            .unwrap_or(Versioning::Off);
        if versioning != Versioning::Enabled {
            self.add(
                Address::Versioning {
                    account: d.account.clone(),
                    bucket: d.bucket.clone(),
                },
                &region,
                current.map(|_| Resource::Versioning { status: versioning }),
                Resource::Versioning {
                    status: Versioning::Enabled,
                },
                "replication needs versioning on the destination".into(),
                vec![bucket_addr.clone()],
            );
        }
        let before = self.current_policy(d);
        if before.is_none_or(|b| !same_policy(b, policy)) {
            let role = self.role(&pair.source.account);
            self.add(
                Address::BucketPolicy {
                    account: d.account.clone(),
                    bucket: d.bucket.clone(),
                },
                &region,
                before.map(|b| Resource::BucketPolicy {
                    document: b.clone(),
                }),
                Resource::BucketPolicy {
                    document: policy.clone(),
                },
                format!("role `{}` must be allowed to replicate into it", role.arn()),
                vec![
                    bucket_addr,
                    Address::Role {
                        account: role.account.clone(),
                        name: role.name.clone(),
                    },
                ],
            );
        }
    }

    fn plan_source(&mut self, src: &BucketRef, config: ReplicationConfiguration, pairs: &[&Pair]) {
        let current = self.actual.bucket(&src.account, &src.bucket);
        let versioning = current
            .and_then(|b| b.versioning)
            .unwrap_or(Versioning::Off);
        let versioning_addr = Address::Versioning {
            account: src.account.clone(),
            bucket: src.bucket.clone(),
        };
        if versioning != Versioning::Enabled {
            self.add(
                versioning_addr.clone(),
                &src.region,
                Some(Resource::Versioning { status: versioning }),
                Resource::Versioning {
                    status: Versioning::Enabled,
                },
                "replication needs versioning on the source".into(),
                vec![],
            );
        }
        let before = self.current_replication(src);
        if before.is_none_or(|b| !same_replication(b, &config)) {
            let role = self.role(&src.account);
            let mut deps = vec![
                versioning_addr,
                Address::Role {
                    account: role.account.clone(),
                    name: role.name.clone(),
                },
                Address::RolePolicy {
                    account: role.account.clone(),
                    role: role.name.clone(),
                    name: ROLE_POLICY_NAME.into(),
                },
            ];
            for p in pairs {
                let d = &p.destination;
                for addr in [
                    Address::Bucket {
                        account: d.account.clone(),
                        bucket: d.bucket.clone(),
                    },
                    Address::Versioning {
                        account: d.account.clone(),
                        bucket: d.bucket.clone(),
                    },
                    Address::BucketPolicy {
                        account: d.account.clone(),
                        bucket: d.bucket.clone(),
                    },
                ] {
                    deps.push(addr);
                }
            }
            let dests: Vec<String> = pairs
                .iter()
                .map(|p| format!("`{}`", p.destination.bucket))
                .collect();
            self.add(
                Address::Replication {
                    account: src.account.clone(),
                    bucket: src.bucket.clone(),
                },
                &src.region,
                before.map(|b| Resource::Replication {
                    configuration: b.clone(),
                }),
                Resource::Replication {
                    configuration: config,
                },
                format!("replicate into {}", dests.join(", ")),
                deps,
            );
        }
    }
}

fn by_source_pairs<'p>(active: &[&'p Pair], src: &BucketRef) -> Vec<&'p Pair> {
    active
        .iter()
        .filter(|p| &p.source == src)
        .copied()
        .collect()
}

/// What the actual state would be after every change of `plan` succeeded: the planner's
/// model of AWS, used by tests to prove that a plan converges.
pub fn apply_in_memory(actual: &ActualState, plan: &Plan) -> ActualState {
    let mut next = actual.clone();
    for c in &plan.changes {
        let account = next.accounts.entry(c.addr.account().clone()).or_default();
        if c.action == Action::Delete {
            match &c.addr {
                Address::Role { name, .. } => {
                    account.roles.insert(name.clone(), None);
                }
                Address::RolePolicy { role, name, .. } => {
                    if let Some(Some(r)) = account.roles.get_mut(role) {
                        r.inline_policies.remove(name);
                    }
                }
                Address::BucketPolicy { bucket, .. } => {
                    account.buckets.entry(bucket.clone()).or_default().policy = Some(None);
                }
                Address::Replication { bucket, .. } => {
                    account
                        .buckets
                        .entry(bucket.clone())
                        .or_default()
                        .replication = Some(None);
                }
                addr => unreachable!("crossrep never deletes {addr}"),
            }
            continue;
        }
        match (&c.addr, &c.after) {
            (
                Address::Role { name, account: id },
                Some(Resource::Role {
                    trust_policy, tags, ..
                }),
            ) => {
                let role = account.roles.entry(name.clone()).or_insert(None);
                let inline = role.take().map(|r| r.inline_policies).unwrap_or_default();
                *role = Some(RoleState {
                    arn: format!("arn:aws:iam::{id}:role/{name}"),
                    trust_policy: trust_policy.clone(),
                    tags: tags.clone(),
                    inline_policies: inline,
                });
            }
            (Address::RolePolicy { role, name, .. }, Some(Resource::RolePolicy { document })) => {
                if let Some(Some(r)) = account.roles.get_mut(role) {
                    r.inline_policies.insert(name.clone(), document.clone());
                }
            }
            (Address::Bucket { bucket, .. }, Some(Resource::Bucket { tags, .. })) => {
                let region = &c.region;
                account.buckets.insert(
                    bucket.clone(),
                    BucketState {
                        region: Some(region.clone()),
                        versioning: Some(Versioning::Off),
                        replication: Some(None),
                        policy: Some(None),
                        tags: Some(tags.clone()),
                        error: None,
                    },
                );
            }
            (Address::Versioning { bucket, .. }, Some(Resource::Versioning { status })) => {
                account
                    .buckets
                    .entry(bucket.clone())
                    .or_default()
                    .versioning = Some(*status);
            }
            (Address::BucketPolicy { bucket, .. }, Some(Resource::BucketPolicy { document })) => {
                account.buckets.entry(bucket.clone()).or_default().policy =
                    Some(Some(document.clone()));
            }
            (
                Address::Replication { bucket, .. },
                Some(Resource::Replication { configuration }),
            ) => {
                account
                    .buckets
                    .entry(bucket.clone())
                    .or_default()
                    .replication = Some(Some(configuration.clone()));
            }
            (addr, after) => unreachable!("{addr} cannot become {after:?}"),
        }
    }
    next
}
