//! The planner: `plan(&DesiredState, &ActualState) -> Plan`, pure and deterministic, and its
//! in-memory inverse [`apply_in_memory`] used to prove that applying a plan converges.
//!
//! The planner decides, per pair, whether crossrep may touch it (conflicts are data), then
//! what each resource should be; [`Planner::put`] compares that with what discovery saw, the
//! same way for every kind ([`Kind::same`]), and records a typed [`Change`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{Backfill, Owner};
use crate::desired::{BucketRef, Conflict, DesiredState, Pair, RoleRef};
use crate::kinds::alarm::{Alarm, AlarmSpec};
use crate::kinds::alert_queue::{AlertAddr, AlertQueue, AlertQueueSpec};
use crate::kinds::alert_topic::{AlertTopic, AlertTopicSpec};
use crate::kinds::bucket::{Bucket, BucketSpec};
use crate::kinds::bucket_encryption::{sse_c_needed, BucketEncryption, EncryptionSpec};
use crate::kinds::bucket_policy::{
    replication_denials, statements, BucketPolicy, BucketPolicySpec,
};
use crate::kinds::bucket_tags::{self, BucketTags, BucketTagsSpec};
use crate::kinds::key_policy::{self, KeyPolicy, KeyPolicySpec};
use crate::kinds::lifecycle::{self, Lifecycle};
use crate::kinds::notification::{self, Notification};
use crate::kinds::object_encryption::ObjectEncryption;
use crate::kinds::object_lock::{self, ObjectLock};
use crate::kinds::ownership_controls::{OwnershipControls, OwnershipSpec};
use crate::kinds::replica_key::{self, KeyAddr, ReplicaKey, ReplicaKeySpec, ALIAS};
use crate::kinds::replication::{Replication, ReplicationSpec};
use crate::kinds::request_payment::{RequestPayment, RequestPaymentSpec};
use crate::kinds::role::{self, Role, RoleAddr, RoleSpec};
use crate::kinds::role_policy::{RolePolicy, RolePolicyAddr, RolePolicySpec};
use crate::kinds::versioning::{Versioning, VersioningSpec};
use crate::kinds::{apply_all, BucketAddr, Kind};
use crate::model::{ReplicationConfiguration, Rule, MANAGED_TAG, SID_PREFIX};
use crate::names::{AccountId, BucketName, Region};
use crate::observed::{Observed, ReadProblem};
use crate::policy::{
    destination_statements, merge_bucket_policy, role_policy, trust_policy, BUCKET_POLICY_LIMIT,
    ROLE_POLICY_NAME,
};
use crate::preflight::{Finding, Severity};

pub use crate::kinds::replication::{desired_rule, merge_replication, rule_id, same_replication};
pub use crate::kinds::{Action, ActualState, Address, AnyChange, Change};

/// The warning code of a source whose default encryption is SSE-KMS or DSSE-KMS.
pub const KMS_CODE: &str = "sse_kms_not_replicated";

/// The warning code of a destination policy statement that denies the role's replication.
pub const DENIED_CODE: &str = "destination_denies_replication";

/// The warning code of alerts that cannot be set up in an account and region, or for a bucket.
pub const ALERTS_CODE: &str = "alerts_not_set_up";

/// The warning code of a destination, not crossrep's, that blocks the SSE-C replicas its
/// source sends.
pub const SSE_C_CODE: &str = "destination_blocks_sse_c";

/// Version of the plan file format; a saved plan of another version is refused.
/// 2: buckets split into bucket, bucket_tags, ownership_controls and lifecycle.
pub const PLAN_FORMAT_VERSION: u32 = 2;
/// S3's limit on rules per replication configuration.
pub const MAX_RULES: usize = 1000;
/// Days after which backfill reports and manifests expire in the report buckets.
pub const REPORT_EXPIRY_DAYS: u32 = 30;

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
    pub changes: Vec<AnyChange>,
    pub conflicts: Vec<Conflict>,
    /// Every pair the plan covers (not in conflict), sorted.
    pub pairs: Vec<PairSummary>,
    /// Things that do not stop the plan but that people should know, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// What people should know about what the plan sets up (what alerts cost), once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// `[organization]`: the member accounts that are sources (SPEC §11).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts_selected: Vec<AccountId>,
    /// `[organization]`: the member accounts that are not, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts_skipped: Vec<crate::organization::Skipped>,
    /// Preflight (SPEC §12): only what is wrong or could not be checked, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preflight: Vec<Finding>,
}

/// Something that does not stop the plan but that people should know: about a bucket (a source,
/// a destination, a report bucket) or a role's account, with a stable `code` for programs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Warning {
    pub account: AccountId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<BucketName>,
    /// The destination, when the warning is about one pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<BucketName>,
    pub code: String,
    pub message: String,
}

impl Warning {
    pub fn about_bucket(
        account: &AccountId,
        bucket: &BucketName,
        code: &str,
        message: String,
    ) -> Warning {
        Warning {
            account: account.clone(),
            bucket: Some(bucket.clone()),
            destination: None,
            code: code.to_string(),
            message,
        }
    }
}

impl std::fmt::Display for Warning {
    /// One line, as SPEC §3 has it: `warning: <bucket> (<account>) -> <destination>: <message>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("warning: ")?;
        match &self.bucket {
            Some(b) => write!(f, "{b} ({})", self.account)?,
            None => write!(f, "{}", self.account)?,
        }
        if let Some(d) = &self.destination {
            write!(f, " -> {d}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl Plan {
    /// Selected source buckets with at least one conflict: not (fully) replicated as
    /// configured. Never silent (SPEC §3): `plan` and `apply` exit 1, `verify` 3.
    pub fn not_replicated(&self) -> usize {
        self.conflicts
            .iter()
            .map(|c| (&c.account, &c.bucket))
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Selected member accounts that could not be reached (SPEC §11: exit 1).
    pub fn unreachable_accounts(&self) -> usize {
        self.accounts_skipped
            .iter()
            .filter(|s| s.unreachable)
            .count()
    }

    /// Preflight errors: `apply` would fail midway, so it refuses the whole plan.
    pub fn preflight_errors(&self) -> usize {
        self.preflight
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// (to add, to change, to destroy)
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |a| self.changes.iter().filter(|c| c.action() == a).count();
        (n(Action::Create), n(Action::Update), n(Action::Delete))
    }
}

fn role_addr(role: &RoleRef) -> RoleAddr {
    RoleAddr {
        account: role.account.clone(),
        name: role.name.clone(),
    }
}

fn role_policy_addr(role: &RoleRef) -> RolePolicyAddr {
    RolePolicyAddr {
        account: role.account.clone(),
        role: role.name.clone(),
        name: ROLE_POLICY_NAME.into(),
    }
}

/// A replica key as the plan names it.
fn key_for_people(key: &KeyAddr) -> String {
    match &key.key {
        None => format!(
            "the replica key of {} in {} (`{ALIAS}`)",
            key.account, key.region
        ),
        Some(arn) => format!("replica key `{arn}` (`kms`)"),
    }
}

fn addr_of(b: &BucketRef) -> BucketAddr {
    BucketAddr::new(&b.account, &b.bucket)
}

/// Whether a tag set is absent or empty.
fn untagged(tags: Option<&BucketTagsSpec>) -> bool {
    tags.is_none_or(|t| t.tags.is_empty())
}

/// What crossrep may do with an existing bucket it would have created (a destination, a
/// report bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ownership {
    /// Tagged `managed-by=crossrep`: its settings are crossrep's to keep right.
    Managed,
    /// No tag set at all, and nothing in it that someone else wrote: a bucket whose creation
    /// was interrupted before its tags were written. crossrep tags it and manages it.
    Adopted,
    /// Someone else's bucket (it has tags, or statements crossrep did not write): used as it
    /// is; only versioning and crossrep's policy statements are added.
    Foreign,
}

struct Planner<'a> {
    desired: &'a DesiredState,
    actual: &'a ActualState,
    /// The desired roles as they exist (their IAM path), by source account.
    roles: &'a BTreeMap<AccountId, RoleRef>,
    changes: BTreeMap<Address, AnyChange>,
    conflicts: Vec<Conflict>,
    warnings: Vec<Warning>,
    /// The replica key (its ARN, or the token of one this plan creates) of each KMS pair.
    replica_keys: BTreeMap<(BucketRef, BucketRef), String>,
}

pub fn plan(desired: &DesiredState, actual: &ActualState) -> Plan {
    let roles = resolved_roles(desired, actual);
    Planner {
        desired,
        actual,
        roles: &roles,
        changes: BTreeMap::new(),
        conflicts: desired.conflicts.clone(),
        warnings: Vec::new(),
        replica_keys: BTreeMap::new(),
    }
    .run()
}

/// Every desired role as it exists: named by the ARN `GetRole` returned (its path included).
pub fn resolved_roles(
    desired: &DesiredState,
    actual: &ActualState,
) -> BTreeMap<AccountId, RoleRef> {
    desired
        .roles
        .iter()
        .map(|(a, r)| (a.clone(), role::resolved(r, actual)))
        .collect()
}

/// The one rule every kind gets: a resource the plan needs that discovery did not read, or
/// could not read, makes the pair a conflict (`what` names it for people).
fn unreadable(actual: &ActualState, needed: &[Address], what: &str) -> Option<Problem> {
    needed
        .iter()
        .find_map(|a| actual.problem_at(a))
        .map(|p| match p {
            ReadProblem::Unreadable(e) => (
                "unreadable",
                format!("could not read {what}: {e}"),
                e.hint.clone(),
            ),
            ReadProblem::Unread => ("not_discovered", format!("{what} was not discovered"), None),
        })
}

/// Why a pair is left alone, and what to do about it when there is something specific.
/// (code for programs, message, hint).
type Problem = (&'static str, String, Option<String>);

fn plain(code: &'static str, message: String) -> Problem {
    (code, message, None)
}

impl<'a> Planner<'a> {
    fn conflict(&mut self, pair: &Pair, per_pair: bool, code: &'static str, message: String) {
        self.conflict_with_hint(pair, per_pair, (code, message, None));
    }

    fn conflict_with_hint(&mut self, pair: &Pair, per_pair: bool, (code, message, hint): Problem) {
        self.conflicts.push(Conflict {
            account: pair.source.account.clone(),
            bucket: pair.source.bucket.clone(),
            destination: per_pair.then(|| pair.destination.bucket.clone()),
            message,
            hint,
            code: code.to_string(),
        });
    }

    fn role(&self, account: &AccountId) -> &'a RoleRef {
        &self.roles[account]
    }

    /// Whether crossrep manages an existing bucket's settings (see [`Ownership`]).
    fn ownership(&self, addr: &BucketAddr) -> Ownership {
        let tags = self.actual.present::<BucketTags>(addr);
        if tags.is_some_and(BucketTagsSpec::is_managed) {
            return Ownership::Managed;
        }
        let foreign_statement = self.actual.present::<BucketPolicy>(addr).is_some_and(|p| {
            statements(&p.document).iter().any(|s| {
                !s.get("Sid")
                    .and_then(Value::as_str)
                    .is_some_and(|sid| sid.starts_with(SID_PREFIX))
            })
        });
        if untagged(tags) && self.actual.known::<BucketTags>(addr).is_some() && !foreign_statement {
            Ownership::Adopted
        } else {
            Ownership::Foreign
        }
    }

    /// What an existing destination's planning reads: a conflict when any is unknown.
    fn destination_needs(&self, pair: &Pair) -> Vec<Address> {
        let a = addr_of(&pair.destination);
        let mut needed = vec![
            Address::Bucket(a.clone()),
            Address::Versioning(a.clone()),
            Address::BucketPolicy(a.clone()),
            Address::BucketTags(a.clone()),
        ];
        if pair.cross_account() {
            needed.push(Address::RequestPayment(a.clone()));
        }
        if object_lock::enabled(self.actual, &addr_of(&pair.source)) {
            needed.push(Address::ObjectLock(a.clone()));
        }
        if pair.rule.owner == Owner::Destination
            && self.actual.problem::<BucketTags>(&a).is_none()
            && self.actual.problem::<BucketPolicy>(&a).is_none()
            && self.ownership(&a) != Ownership::Foreign
        {
            needed.push(Address::OwnershipControls(a));
        }
        needed
    }

    /// Drops the pairs crossrep must not touch, recording why.
    fn active_pairs(&mut self) -> Vec<&'a Pair> {
        let mut active = Vec::new();
        for pair in &self.desired.pairs {
            let role = self.role(&pair.source.account);
            let src = addr_of(&pair.source);
            let dst = addr_of(&pair.destination);
            let role_state = self.actual.observed::<Role>(&role_addr(role));
            let mut role_needs = vec![Address::Role(role_addr(role))];
            if role_state.is_some_and(|r| r.is_present()) {
                role_needs.push(Address::RolePolicy(role_policy_addr(role)));
            }
            let current = self.actual.present::<Replication>(&src);
            let dest_exists = self.actual.present::<Bucket>(&dst).is_some()
                || self
                    .actual
                    .problem::<Bucket>(&dst)
                    .is_some_and(|p| p != ReadProblem::Unread);
            let problem = if let Some((account, region, status)) =
                crate::preflight::disabled_region(&self.actual.preflight, pair)
            {
                let (message, hint) = crate::preflight::region_conflict(&account, &region, status);
                // The source's own region, in its own account: the bucket, whatever its pairs.
                let per_pair = !(account == pair.source.account && region == pair.source.region);
                Some((per_pair, ("region_not_enabled", message, Some(hint))))
            } else if let Some(m) = unreadable(
                self.actual,
                &role_needs,
                &format!("role `{}` in {}", role.name, role.account),
            ) {
                Some((false, m))
            } else if self
                .actual
                .present::<Role>(&role_addr(role))
                .is_some_and(|r| !r.is_managed())
            {
                Some((false, plain("role_not_managed", format!(
                    "role `{}` already exists in {} and is not managed by crossrep (no `managed-by=crossrep` tag); choose another `settings.role_name`",
                    role.name, role.account
                ))))
            } else if let Some(m) = unreadable(
                self.actual,
                &[
                    Address::Versioning(src.clone()),
                    Address::Replication(src.clone()),
                    Address::ObjectLock(src.clone()),
                ],
                &format!("source bucket `{}`", pair.source.bucket),
            ) {
                Some((false, m))
            } else if let Some(cfg) =
                current.filter(|c| !role::names_role(&c.configuration.role, role))
            {
                Some((false, plain("other_role", format!(
                    "its replication configuration uses role `{}`; S3 allows one role per configuration and crossrep only adds rules to configurations of its own role `{}`",
                    cfg.configuration.role, role.arn()
                ))))
            } else if current.is_some_and(|c| c.configuration.rules.iter().any(Rule::is_v1)) {
                Some((false, plain("v1_rules", "its replication configuration has V1 rules (rule-level `Prefix`), which cannot be mixed with crossrep's V2 rules".to_string())))
            } else if self.actual.taken_names.contains(&pair.destination.bucket) {
                // Bucket names are global; the owner is named when it is an account crossrep
                // knows (a source account listed it).
                let owner = self
                    .desired
                    .pairs
                    .iter()
                    .map(|p| &p.source)
                    .find(|b| b.bucket == pair.destination.bucket)
                    .map(|b| b.account.clone())
                    .or_else(|| {
                        self.actual
                            .bucket
                            .iter()
                            .find(|(a, o)| a.bucket == pair.destination.bucket && o.is_present())
                            .map(|(a, _)| a.account.clone())
                    });
                let whose = match owner {
                    Some(o) if o == pair.source.account => {
                        format!("is a bucket of the source account {o} itself")
                    }
                    Some(o) => format!("is a bucket of account {o}"),
                    None => "belongs to another AWS account (BucketAlreadyExists)".to_string(),
                };
                Some((true, plain("destination_taken", format!(
                    "destination bucket name `{}` {whose}; bucket names are global: change the `destination` template",
                    pair.destination.bucket
                ))))
            } else if !dest_exists {
                None
            } else if let Some(found) = self
                .actual
                .present::<Bucket>(&dst)
                .filter(|b| b.region != pair.destination.region)
            {
                // Used where it is, it would put the replicas in a region the configuration did
                // not choose (data residency); moving it is not crossrep's to do (SPEC §4.1).
                Some((true, plain("destination_region", format!(
                    "destination bucket `{}` exists in {}, but this pair's destination region is {}; set `destination_region = \"{}\"` in its `[[replication]]` block to use it where it is, or change the `destination` template",
                    pair.destination.bucket, found.region, pair.destination.region, found.region
                ))))
            } else if pair.cross_account()
                && self
                    .actual
                    .present::<RequestPayment>(&dst)
                    .is_some_and(RequestPaymentSpec::is_requester_pays)
            {
                Some((true, plain("requester_pays", format!(
                    "destination bucket `{}` is Requester Pays, and S3 does not replicate into a Requester Pays bucket of another account; have its owner set it back (`aws s3api put-bucket-request-payment --bucket {} --request-payment-configuration Payer=BucketOwner`) or change the `destination` template",
                    pair.destination.bucket, pair.destination.bucket
                ))))
            } else {
                unreadable(
                    self.actual,
                    &self.destination_needs(pair),
                    &format!("destination bucket `{}`", pair.destination.bucket),
                )
                .map(|(code, m, hint)| {
                    let m = m.replace("was not discovered", "was not fully discovered");
                    (true, (code, m, hint))
                })
                .or_else(|| {
                    // Object Lock cannot be turned off once on: enabling it on someone's bucket
                    // is its owner's decision, not crossrep's.
                    (object_lock::enabled(self.actual, &src)
                        && !object_lock::enabled(self.actual, &dst))
                    .then(|| (true, plain("object_lock_missing", format!(
                        "source bucket `{}` has Object Lock and its existing destination `{}` does not: every object would fail to replicate (`DstBucketObjectLockConfigMissing`); enable it there (`aws s3api put-object-lock-configuration --bucket {} --object-lock-configuration ObjectLockEnabled=Enabled`, which cannot be undone) or change the `destination` template",
                        pair.source.bucket, pair.destination.bucket, pair.destination.bucket
                    ))))
                })
            };
            match problem {
                Some((per_pair, problem)) => self.conflict_with_hint(pair, per_pair, problem),
                None => active.push(pair),
            }
        }
        active
    }

    /// Plans `want` for the resource at `addr`: nothing when what discovery saw already is it,
    /// otherwise a create (nothing there) or an update. The one comparison of every kind.
    fn put<K: Kind>(
        &mut self,
        addr: K::Addr,
        region: &Region,
        want: K::Spec,
        reason: String,
        depends_on: Vec<Address>,
    ) {
        let before = self.actual.present::<K>(&addr).cloned();
        if before.as_ref().is_some_and(|b| K::same(b, &want)) {
            return;
        }
        let depends_on = depends_on
            .into_iter()
            .filter(|d| self.changes.contains_key(d))
            .collect();
        let change = Change::<K>::put(addr, region.clone(), before, want, reason, depends_on);
        self.changes
            .insert(K::address(change.addr.clone()), K::wrap(change));
    }

    fn run(mut self) -> Plan {
        for (account, name) in &self.desired.legacy_names {
            self.warnings.push(Warning {
                account: account.clone(),
                bucket: None,
                destination: None,
                code: "legacy_bucket_name".into(),
                message: format!(
                    "bucket `{name}` in {account} is selected, but its name is not a valid bucket name today (capitals or `_`, allowed only for old us-east-1 buckets): crossrep cannot replicate it; copy its objects into a bucket with a valid name, or exclude it"
                ),
            });
        }
        for (block, account, pattern) in &self.desired.unmatched {
            self.warnings.push(Warning {
                account: account.clone(),
                bucket: None,
                destination: None,
                code: "selects_nothing".into(),
                message: format!(
                    "`replication[{block}].buckets` pattern `{pattern}` selects no bucket of {account} (after `exclude`): check it for a typo"
                ),
            });
        }
        let mut active = self.active_pairs();
        self.plan_replica_keys(&mut active);

        // Destination bucket policies: merged, and checked against S3's size limit. A pair whose
        // destination cannot take the statements gets no rule either.
        let mut policies = BTreeMap::new();
        let mut too_big = BTreeSet::new();
        for p in &active {
            let existing = self.current_policy(&p.destination);
            let locked = object_lock::enabled(self.actual, &addr_of(&p.source));
            let ours =
                destination_statements(self.role(&p.source.account), &p.destination.arn(), locked);
            let merged = merge_bucket_policy(existing, &ours);
            let size = crate::policy::policy_bytes(&merged);
            if size > BUCKET_POLICY_LIMIT {
                too_big.insert(p.destination.clone());
                self.conflict(p, true, "policy_too_large", format!(
                    "the merged policy of destination `{}` would be {size} bytes; S3 allows {BUCKET_POLICY_LIMIT}",
                    p.destination.bucket
                ));
            } else {
                policies.insert(p.destination.clone(), merged);
            }
        }
        active.retain(|p| !too_big.contains(&p.destination));
        for p in &active {
            self.warn_about_denials(p);
        }
        self.warn_about_kms(&active);

        // Replication configurations, per source bucket: merged, then checked against S3's
        // rule limit before anything else is planned for that bucket.
        let mut by_source: BTreeMap<&BucketRef, Vec<&Pair>> = BTreeMap::new();
        for p in &active {
            by_source.entry(&p.source).or_default().push(p);
        }
        // The rule IDs each source should carry: those of all its selected pairs, active or
        // not. Any other `crossrep-*` rule is an orphan (the `destination` template changed, a
        // block was removed) that would replicate without grants once the role policy is
        // rewritten: it is removed with the merge.
        let mut wanted_ids: BTreeMap<&BucketRef, BTreeSet<String>> = BTreeMap::new();
        for p in &self.desired.pairs {
            wanted_ids
                .entry(&p.source)
                .or_default()
                .insert(rule_id(&p.destination.bucket));
        }
        let mut merged_configs = BTreeMap::new();
        for (src, pairs) in &by_source {
            let role = self.role(&src.account).arn();
            let ours: Vec<Rule> = pairs.iter().map(|p| self.rule_for(p)).collect();
            let current = self.current_replication(src).map(|c| {
                let keep = wanted_ids.get(src);
                ReplicationConfiguration {
                    role: c.role.clone(),
                    rules: c
                        .rules
                        .iter()
                        .filter(|r| {
                            !r.is_managed()
                                || r.id
                                    .as_deref()
                                    .is_some_and(|id| keep.is_some_and(|k| k.contains(id)))
                        })
                        .cloned()
                        .collect(),
                }
            });
            let merged = merge_replication(current.as_ref(), &role, &ours);
            if merged.rules.len() > MAX_RULES {
                for p in pairs {
                    self.conflict(
                        p,
                        false,
                        "too_many_rules",
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

        // Roles and their permissions, per source account with active pairs. A selected pair
        // that is not planned (a conflict, or a resource that could not be read) keeps its
        // grants while its rule may exist (SPEC §5: grants are never dropped): rewriting the
        // role policy without it would leave an enabled rule failing every object.
        let planned: BTreeSet<(&BucketRef, &BucketRef)> =
            active.iter().map(|p| (&p.source, &p.destination)).collect();
        let kept: Vec<&Pair> = self
            .desired
            .pairs
            .iter()
            .filter(|p| !planned.contains(&(&p.source, &p.destination)) && self.may_have_rule(p))
            .collect();
        let mut by_account: BTreeMap<&AccountId, (Vec<&Pair>, Vec<&Pair>)> = BTreeMap::new();
        for p in &active {
            by_account.entry(&p.source.account).or_default().0.push(p);
        }
        for p in &kept {
            if let Some(e) = by_account.get_mut(&p.source.account) {
                e.1.push(p);
            }
        }
        for (account, (pairs, kept)) in &by_account {
            // The role writes only backfill reports (failure summaries are crossrep's own).
            let own: Vec<&BucketRef> = reports
                .iter()
                .filter(|r| {
                    &r.account == *account
                        && active.iter().any(|p| {
                            p.backfill == Backfill::Batch
                                && p.source.account == r.account
                                && p.source.region == r.region
                        })
                })
                .collect();
            self.plan_role(self.role(account), pairs, kept, &own);
        }
        let merged_sources: BTreeSet<BucketAddr> = merged_configs.keys().map(addr_of).collect();
        self.plan_orphans(&merged_sources);

        for p in &active {
            self.plan_destination(p, &policies[&p.destination]);
        }
        for (src, config) in merged_configs {
            let pairs = &by_source_pairs(&active, &src);
            self.plan_source(&src, config, pairs);
        }
        let notes = self.plan_alerts(&active);

        let mut conflicts = self.conflicts;
        conflicts.sort();
        conflicts.dedup();
        let mut warnings = self.warnings;
        warnings.sort();
        warnings.dedup();
        let mut preflight = crate::preflight::region_findings(self.desired, &self.actual.preflight);
        preflight.extend(crate::preflight::quota_findings_of(
            &self.actual.preflight,
            self.changes.values(),
        ));
        preflight.sort();
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
            warnings,
            notes,
            accounts_selected: Vec::new(),
            accounts_skipped: Vec::new(),
            preflight,
        }
    }

    /// SPEC §10, `alerts = true`: per source account and region with active alerting pairs, a
    /// queue for failure events (its policy lets S3 send from the selected sources there), a
    /// topic (`settings.alert_email` subscribed) and an alarm on failed replication; per source
    /// bucket, crossrep's notification entry merged into what is there. A queue or topic of
    /// that name that is not crossrep's, or alert resources that cannot be read, leave that
    /// account and region without alerts, with a warning: replication goes on.
    fn plan_alerts(&mut self, active: &[&Pair]) -> Vec<String> {
        let mut places: BTreeMap<AlertAddr, BTreeSet<&BucketName>> = BTreeMap::new();
        for p in active.iter().filter(|p| p.rule.alerts) {
            places.entry(AlertAddr::of(&p.source)).or_default();
        }
        // Every selected source of a place may send (a source in conflict this run keeps its
        // entry and must not lose its events).
        for p in self.desired.pairs.iter().filter(|p| p.rule.alerts) {
            let at = AlertAddr::of(&p.source);
            if let Some(b) = places.get_mut(&at) {
                b.insert(&p.source.bucket);
            }
        }
        let mut alarms = 0;
        let mut ready = BTreeSet::new();
        for (at, buckets) in &places {
            let what = format!("alerts in {} ({})", at.account, at.region);
            let needed = [
                Address::AlertQueue(at.clone()),
                Address::AlertTopic(at.clone()),
                Address::Alarm(at.clone()),
            ];
            if let Some(p) = unreadable(self.actual, &needed, &what) {
                self.warnings.push(Warning {
                    account: at.account.clone(),
                    bucket: None,
                    destination: None,
                    code: ALERTS_CODE.into(),
                    message: format!("{}; replication goes on without alerts there", p.1),
                });
                continue;
            }
            let queue = self.actual.present::<AlertQueue>(at);
            let topic = self.actual.present::<AlertTopic>(at);
            if queue.is_some_and(|q| !q.is_managed()) || topic.is_some_and(|t| !t.is_managed()) {
                self.warnings.push(Warning {
                    account: at.account.clone(),
                    bucket: None,
                    destination: None,
                    code: ALERTS_CODE.into(),
                    message: format!(
                        "a queue or topic named `{}` in {} ({}) is not crossrep's (no `managed-by=crossrep` tag): crossrep leaves it alone and sets up no alerts there; rename it, or set `alerts = false`",
                        crate::kinds::alert_queue::NAME, at.account, at.region
                    ),
                });
                continue;
            }
            let names: BTreeSet<&str> = buckets.iter().map(|b| b.as_str()).collect();
            let ours = crate::policy::queue_policy(&at.queue_arn(), at.account.as_str(), &names);
            let policy = merge_bucket_policy(queue.map(|q| &q.policy), &ours);
            self.put::<AlertQueue>(
                at.clone(),
                &at.region,
                AlertQueueSpec::new(policy),
                "S3 sends the replication failure events of these buckets here; `verify` and `status` read them".into(),
                vec![],
            );
            self.put::<AlertTopic>(
                at.clone(),
                &at.region,
                AlertTopicSpec::merged(topic, self.desired.alert_email.as_deref()),
                match &self.desired.alert_email {
                    Some(e) => format!("the alarm notifies it; `{e}` is subscribed"),
                    None => {
                        "the alarm notifies it (set `settings.alert_email` to subscribe)".into()
                    }
                },
                vec![],
            );
            if self.actual.present::<Alarm>(at).is_none() {
                alarms += 1;
            }
            self.put::<Alarm>(
                at.clone(),
                &at.region,
                AlarmSpec::new(at),
                "any failed replication operation in this account and region alarms".into(),
                vec![Address::AlertTopic(at.clone())],
            );
            ready.insert(at.clone());
        }
        // Notification entries of the active sources whose place is ready.
        let mut sources: BTreeMap<&BucketRef, bool> = BTreeMap::new();
        for p in active.iter().filter(|p| p.rule.alerts) {
            *sources.entry(&p.source).or_default() |= p.rule.replication_time;
        }
        let mut metrics = 0;
        for (src, rtc) in sources {
            let at = AlertAddr::of(src);
            if !ready.contains(&at) {
                continue;
            }
            let addr = addr_of(src);
            metrics += active
                .iter()
                .filter(|p| p.source == *src && p.rule.alerts)
                .count();
            match self.actual.observed::<Notification>(&addr) {
                Some(Observed::Present(current)) => {
                    let want = notification::merged(
                        Some(current),
                        Some(notification::our_entry(&at.queue_arn(), rtc)),
                    );
                    self.put::<Notification>(
                        addr,
                        &src.region,
                        want,
                        "replication failure events of its rules go to the alert queue".into(),
                        vec![Address::AlertQueue(at)],
                    );
                }
                other => {
                    let why = match other {
                        Some(Observed::Unreadable(e)) => format!("could not be read: {e}"),
                        _ => "was not read".into(),
                    };
                    self.warnings.push(Warning::about_bucket(
                        &src.account,
                        &src.bucket,
                        ALERTS_CODE,
                        format!(
                            "the event notifications of `{}` {why}: its failure events are not sent to the alert queue (the alarm still counts its failures)",
                            src.bucket
                        ),
                    ));
                }
            }
        }
        self.plan_alerts_off(active, &places);
        if alarms == 0 {
            return Vec::new();
        }
        vec![format!(
            "alerts: replication metrics on {metrics} rule(s) are CloudWatch custom metrics, billed per rule and destination (S3 publishes 4 each), and {alarms} new alarm(s) (one per source account and region, a Metrics Insights query) are billed as alarms; `alerts = false` turns this off"
        )]
    }

    /// Sources that encrypt with SSE-KMS or DSSE-KMS by default: S3 skips those objects unless
    /// the rule opts in, silently (no status, no event). crossrep does not opt in yet (SPEC §8,
    /// `kms = "auto"` behaves as `"off"`), so it says so, per source bucket.
    fn warn_about_kms(&mut self, active: &[&Pair]) {
        // Sources whose pairs all replicate KMS objects (`kms = "auto"`) need no warning.
        let sources: BTreeSet<&BucketRef> = active
            .iter()
            .filter(|p| {
                !self
                    .replica_keys
                    .contains_key(&(p.source.clone(), p.destination.clone()))
            })
            .map(|p| &p.source)
            .collect();
        for src in sources {
            let addr = addr_of(src);
            const OFF: &str = "and its rule has `kms = \"off\"`: S3 replicates SSE-KMS and DSSE-KMS objects only when the rule opts in; those objects will not replicate (remove `kms = \"off\"` to replicate them)";
            let default = self
                .actual
                .present::<BucketEncryption>(&addr)
                .filter(|e| e.is_kms());
            let sampled = self
                .actual
                .present::<ObjectEncryption>(&addr)
                .filter(|e| e.is_kms());
            let message = if let Some(e) = default {
                format!(
                    "`{}` encrypts new objects with {} by default, {OFF}",
                    src.bucket,
                    e.describe()
                )
            } else if let Some(e) = sampled {
                format!("`{}` holds {}, {OFF}", src.bucket, e.describe())
            } else if let Some(Observed::Unreadable(e)) =
                self.actual.observed::<BucketEncryption>(&addr)
            {
                format!(
                    "could not read the default encryption of `{}`: {e}; if it is SSE-KMS, those objects will not replicate",
                    src.bucket
                )
            } else {
                continue;
            };
            self.warnings.push(Warning::about_bucket(
                &src.account,
                &src.bucket,
                KMS_CODE,
                message,
            ));
        }
    }

    /// A statement someone else wrote in the destination's policy that denies the role's
    /// replication writes: crossrep leaves it (it is not crossrep's), and says so, per pair.
    fn warn_about_denials(&mut self, pair: &Pair) {
        let Some(policy) = self.current_policy(&pair.destination) else {
            return;
        };
        let role = self.role(&pair.source.account);
        let denials = replication_denials(
            policy,
            &role.arn(),
            role.account.as_str(),
            &pair.destination.arn(),
        );
        for d in denials {
            let statement = match &d.sid {
                Some(sid) => format!("statement `{sid}`"),
                None => "a statement without a Sid".to_string(),
            };
            let (verb, effect) = if d.conditional {
                (
                    "may deny",
                    "replicas may fail with `AccessDenied`, depending on its condition",
                )
            } else {
                ("denies", "every replica will fail with `AccessDenied`")
            };
            self.warnings.push(Warning {
                account: pair.source.account.clone(),
                bucket: Some(pair.source.bucket.clone()),
                destination: Some(pair.destination.bucket.clone()),
                code: DENIED_CODE.to_string(),
                message: format!(
                    "the policy of destination `{}` has {statement}, not crossrep's, that {verb} role `{}` the replication actions: {effect}; narrow or remove that statement (crossrep changes only its own `Crossrep…` statements)",
                    pair.destination.bucket,
                    role.arn()
                ),
            });
        }
    }

    fn current_replication(&self, src: &BucketRef) -> Option<&'a ReplicationConfiguration> {
        self.actual
            .present::<Replication>(&addr_of(src))
            .map(|r| &r.configuration)
    }

    fn current_policy(&self, dst: &BucketRef) -> Option<&'a Value> {
        self.actual
            .present::<BucketPolicy>(&addr_of(dst))
            .map(|p| &p.document)
    }

    /// A new bucket crossrep creates: the bucket, then its tags and (when wanted) its object
    /// ownership, each its own change so a failure after CreateBucket is repaired next time.
    fn plan_new_bucket(
        &mut self,
        b: &BucketRef,
        ownership: Option<OwnershipSpec>,
        object_lock: bool,
        reason: String,
    ) {
        let addr = addr_of(b);
        self.put::<Bucket>(
            addr.clone(),
            &b.region,
            BucketSpec {
                region: b.region.clone(),
                object_lock,
            },
            reason,
            vec![],
        );
        self.plan_managed_settings(&addr, &b.region, Ownership::Managed, ownership);
    }

    /// Tags and object ownership of a bucket crossrep manages (or adopts).
    fn plan_managed_settings(
        &mut self,
        addr: &BucketAddr,
        region: &Region,
        ownership: Ownership,
        object_ownership: Option<OwnershipSpec>,
    ) {
        if ownership == Ownership::Foreign {
            return;
        }
        let deps = vec![Address::Bucket(addr.clone())];
        let reason = if ownership == Ownership::Adopted {
            "it has no tags: a bucket crossrep created whose tagging did not complete".to_string()
        } else {
            format!(
                "marks the bucket as crossrep's (`{}={}`)",
                MANAGED_TAG.0, MANAGED_TAG.1
            )
        };
        let tags = bucket_tags::merged(self.actual.present::<BucketTags>(addr));
        self.put::<BucketTags>(addr.clone(), region, tags, reason, deps.clone());
        if let Some(o) = object_ownership {
            self.put::<OwnershipControls>(
                addr.clone(),
                region,
                o,
                "ACLs disabled: the bucket owner owns every object".into(),
                deps,
            );
        }
    }

    /// Report buckets (SPEC §4.6) for the accounts and regions that have active `batch`
    /// pairs; returns those that exist or will, for the role's permissions.
    fn plan_report_buckets(&mut self, active: &[&Pair]) -> Vec<BucketRef> {
        let mut usable = Vec::new();
        for r in &self.desired.report_buckets {
            let used = active.iter().any(|p| {
                (p.backfill == Backfill::Batch || p.rule.alerts)
                    && p.source.account == r.account
                    && p.source.region == r.region
            });
            if !used {
                continue;
            }
            let addr = addr_of(r);
            if let Some(existing) = self.actual.present::<Bucket>(&addr) {
                let region = existing.region.clone();
                usable.push(r.clone());
                if self.report_unreadable(r, &[Address::BucketTags(addr.clone())]) {
                    continue;
                }
                let ownership = self.ownership(&addr);
                if ownership == Ownership::Foreign {
                    continue;
                }
                let needs = [
                    Address::OwnershipControls(addr.clone()),
                    Address::Lifecycle(addr.clone()),
                ];
                if self.report_unreadable(r, &needs) {
                    continue;
                }
                self.plan_managed_settings(
                    &addr,
                    &region,
                    ownership,
                    Some(OwnershipSpec::enforced()),
                );
                self.plan_report_lifecycle(&addr, &region);
            } else if let Some(ReadProblem::Unreadable(e)) = self.actual.problem::<Bucket>(&addr) {
                // Whether it exists is unknown: creating it could be creating someone's name.
                self.warnings.push(Warning::about_bucket(&r.account, &r.bucket, "report_bucket_unreadable", format!(
                    "could not tell whether report bucket `{}` exists: {e}; `crossrep backfill` cannot run in {} ({}) until it can",
                    r.bucket, r.account, r.region
                )));
            } else if self.actual.taken_names.contains(&r.bucket) {
                self.warnings.push(Warning::about_bucket(&r.account, &r.bucket, "report_bucket_taken", format!(
                    "report bucket `{}` belongs to another AWS account: `crossrep backfill` cannot run in {} ({}); change `settings.report_bucket`",
                    r.bucket, r.account, r.region
                )));
            } else {
                self.plan_new_bucket(
                    r,
                    Some(OwnershipSpec::enforced()),
                    false,
                    format!(
                        "backfill manifests and reports of {} in {}",
                        r.account, r.region
                    ),
                );
                self.plan_report_lifecycle(&addr, &r.region);
                usable.push(r.clone());
            }
        }
        usable
    }

    /// A report bucket whose settings could not be read is still used, but they are left as
    /// they are, with a warning.
    fn report_unreadable(&mut self, r: &BucketRef, needs: &[Address]) -> bool {
        let what = format!("report bucket `{}`", r.bucket);
        match unreadable(self.actual, needs, &what) {
            Some((_, m, _)) => {
                self.warnings.push(Warning::about_bucket(
                    &r.account,
                    &r.bucket,
                    "report_bucket_unreadable",
                    format!("{m}; its tags and lifecycle rule are left as they are"),
                ));
                true
            }
            None => false,
        }
    }

    fn plan_report_lifecycle(&mut self, addr: &BucketAddr, region: &Region) {
        match lifecycle::merged(self.actual.present::<Lifecycle>(addr), REPORT_EXPIRY_DAYS) {
            Ok(spec) => self.put::<Lifecycle>(
                addr.clone(),
                region,
                spec,
                format!("reports and manifests expire after {REPORT_EXPIRY_DAYS} days"),
                vec![Address::Bucket(addr.clone())],
            ),
            Err(why) => self.warnings.push(Warning::about_bucket(
                &addr.account,
                &addr.bucket,
                "report_lifecycle_kept",
                format!(
                    "report bucket `{}` in {}: {why}; add an expiry of reports by hand",
                    addr.bucket, addr.account
                ),
            )),
        }
    }

    /// Whether a pair that is not planned may have a rule on its source: its configuration
    /// has the pair's rule, or could not be read (then it may).
    fn may_have_rule(&self, p: &Pair) -> bool {
        match self.actual.known::<Replication>(&addr_of(&p.source)) {
            Some(Some(spec)) => {
                crate::kinds::replication::pair_rule(&spec.configuration, p).is_some()
            }
            Some(None) => false,
            None => true,
        }
    }

    /// `crossrep-*` rules of this configuration's role on buckets that are no longer selected
    /// (excluded, or no longer matched): removed before the role policy is rewritten without
    /// their grants (phase 0), foreign rules kept. Discovery reads the buckets the current role
    /// policy grants that are not sources any more.
    fn plan_orphans(&mut self, merged: &BTreeSet<BucketAddr>) {
        let sources: BTreeSet<BucketAddr> = self
            .desired
            .pairs
            .iter()
            .map(|p| addr_of(&p.source))
            .collect();
        let mut wanted: BTreeMap<BucketAddr, BTreeSet<String>> = BTreeMap::new();
        for p in &self.desired.pairs {
            wanted
                .entry(addr_of(&p.source))
                .or_default()
                .insert(rule_id(&p.destination.bucket));
        }
        let others: BTreeSet<BucketAddr> = self
            .desired
            .pairs
            .iter()
            .map(|p| addr_of(&p.destination))
            .chain(self.desired.report_buckets.iter().map(addr_of))
            .collect();
        let mut found = Vec::new();
        let mut unread = Vec::new();
        for (addr, observed) in &self.actual.replication {
            // Sources with a planned rule had their orphans removed in the merge.
            if merged.contains(addr) || (others.contains(addr) && !sources.contains(addr)) {
                continue;
            }
            let selected = sources.contains(addr);
            let Some(role) = self.roles.get(&addr.account) else {
                continue;
            };
            let spec = match observed {
                Observed::Present(spec) => spec,
                // A selected source that could not be read keeps its grants (a kept pair).
                Observed::Unreadable(_) if selected => continue,
                Observed::Unreadable(e) => {
                    unread.push(Warning::about_bucket(
                        &addr.account,
                        &addr.bucket,
                        "unselected_unreadable",
                        format!(
                            "the replication configuration of bucket `{}` could not be read ({}): a `crossrep-*` rule left on it by an earlier configuration would fail once the role loses its grants; run again, or remove such a rule by hand",
                            addr.bucket, e.message
                        ),
                    ));
                    continue;
                }
                Observed::Unread | Observed::Absent => continue,
            };
            if !role::names_role(&spec.configuration.role, role) {
                continue;
            }
            let keep = wanted.get(addr);
            let orphan = |r: &Rule| {
                r.is_managed()
                    && !r
                        .id
                        .as_deref()
                        .is_some_and(|id| keep.is_some_and(|k| k.contains(id)))
            };
            if !spec.configuration.rules.iter().any(orphan) {
                continue;
            }
            let rules: Vec<Rule> = spec
                .configuration
                .rules
                .iter()
                .filter(|r| !orphan(r))
                .cloned()
                .collect();
            let rest = (!rules.is_empty()).then(|| ReplicationConfiguration {
                role: spec.configuration.role.clone(),
                rules,
            });
            let Some(region) = self
                .actual
                .present::<Bucket>(addr)
                .map(|b| b.region.clone())
            else {
                continue;
            };
            found.push((addr.clone(), region, spec.clone(), rest, selected));
        }
        for (addr, region, before, rest, selected) in found {
            let reason = if selected {
                format!(
                    "bucket `{}` has `crossrep-*` rules the configuration no longer produces: they would replicate without grants",
                    addr.bucket
                )
            } else {
                format!(
                    "bucket `{}` is no longer selected: crossrep's rules on it would replicate without grants",
                    addr.bucket
                )
            };
            let change = crate::kinds::Change::<Replication> {
                addr: addr.clone(),
                region,
                action: if rest.is_some() {
                    crate::kinds::Action::Update
                } else {
                    crate::kinds::Action::Delete
                },
                phase: 0,
                before: Some(before),
                after: rest.map(|configuration| ReplicationSpec { configuration }),
                reason,
                depends_on: vec![],
            };
            self.changes
                .insert(Replication::address(addr), Replication::wrap(change));
        }
        self.warnings.extend(unread);
    }

    fn plan_role(
        &mut self,
        role: &RoleRef,
        pairs: &[&Pair],
        kept: &[&Pair],
        reports: &[&BucketRef],
    ) {
        let addr = role_addr(role);
        // Object Lock sources: the role must read retention and legal holds to replicate them
        // (a kept pair whose source could not be read may be one).
        let locked: BTreeSet<&str> = pairs
            .iter()
            .filter(|p| object_lock::enabled(self.actual, &addr_of(&p.source)))
            .chain(kept.iter().filter(|p| {
                self.actual
                    .known::<ObjectLock>(&addr_of(&p.source))
                    .is_none_or(|l| l.is_some_and(|l| l.enabled))
            }))
            .map(|p| p.source.bucket.as_str())
            .collect();
        let kept_set: BTreeSet<(&BucketRef, &BucketRef)> =
            kept.iter().map(|p| (&p.source, &p.destination)).collect();
        let granted: Vec<&Pair> = pairs.iter().chain(kept).copied().collect();
        let pairs = granted.as_slice();
        let mut kms = crate::policy::KmsGrants::default();
        for p in pairs {
            // A planned KMS pair; or a kept one whose rule uses a replica key (its grants stay,
            // like the others', SPEC §5).
            let arn = self
                .replica_keys
                .get(&(p.source.clone(), p.destination.clone()))
                .cloned()
                .or_else(|| {
                    kept_set
                        .contains(&(&p.source, &p.destination))
                        .then(|| self.current_replica_key(p))
                        .flatten()
                });
            if let Some(arn) = arn {
                kms.sources.insert(&p.source);
                kms.replica_keys
                    .entry(p.destination.region.to_string())
                    .or_default()
                    .insert(arn);
            }
        }
        let mut document = role_policy(pairs, reports, &locked, &kms);
        // A kept pair whose source could not be read may have rules into destinations this
        // configuration no longer names (the template changed): the destinations the role is
        // granted today stay granted until its configuration can be read again. So do they
        // when its configuration was read and a `crossrep-*` rule there replicates into a
        // destination no pair is granted (a block's `to` account changed: same name and rule
        // id, another account), as the pair's conflict leaves that rule in place.
        let granted_dests: BTreeSet<(String, &str)> = pairs
            .iter()
            .map(|p| (p.destination.arn(), p.destination.account.as_str()))
            .collect();
        let unknown =
            kept.iter().any(
                |p| match self.actual.known::<Replication>(&addr_of(&p.source)) {
                    None => true,
                    Some(None) => false,
                    Some(Some(spec)) => spec.configuration.rules.iter().any(|r| {
                        let to = r
                            .destination
                            .account
                            .as_deref()
                            .unwrap_or(p.source.account.as_str());
                        r.is_managed()
                            && r.enabled
                            && !granted_dests.contains(&(r.destination.bucket.clone(), to))
                    }),
                },
            );
        if unknown {
            if let Some(current) = self.actual.present::<RolePolicy>(&role_policy_addr(role)) {
                crate::policy::keep_destination_grants(&mut document, &current.document);
            }
        }
        let current = self.actual.present::<Role>(&addr);
        let want = RoleSpec {
            trust_policy: trust_policy(&role.account),
            // An existing role keeps its tags: an update writes only the trust policy.
            tags: current.map(|r| r.tags.clone()).unwrap_or_else(|| {
                BTreeMap::from([(MANAGED_TAG.0.to_string(), MANAGED_TAG.1.to_string())])
            }),
            description: role::DESCRIPTION.to_string(),
            arn: current.and_then(|r| r.arn.clone()),
        };
        let reason = match current {
            None => format!("the replication role of {} does not exist", role.account),
            Some(_) => "its trust policy is not the one crossrep needs".into(),
        };
        self.put::<Role>(addr.clone(), &role.region, want, reason, vec![]);
        self.put::<RolePolicy>(
            role_policy_addr(role),
            &role.region,
            RolePolicySpec { document },
            format!(
                "the role must be allowed to replicate {} bucket pair(s)",
                pairs.len()
            ),
            vec![Address::Role(addr)],
        );
    }

    /// The replica key the pair's current rule uses, if it has one (a pair that is not
    /// planned keeps the grants its rule needs).
    fn current_replica_key(&self, p: &Pair) -> Option<String> {
        crate::kinds::replication::current_rule(self.actual, p)?
            .destination
            .replica_kms_key_id
            .clone()
    }

    /// Whether `src` holds or writes SSE-KMS / DSSE-KMS objects (its default encryption, or a
    /// sample of its latest versions), and what was found, for people.
    fn kms_in_use(&self, src: &BucketRef) -> Option<String> {
        let addr = addr_of(src);
        let default = self
            .actual
            .present::<BucketEncryption>(&addr)
            .filter(|e| e.is_kms())
            .map(|e| format!("{} by default", e.describe()));
        let sample = self
            .actual
            .present::<ObjectEncryption>(&addr)
            .filter(|e| e.is_kms())
            .map(|e| e.describe());
        match (default, sample) {
            (None, None) => None,
            (Some(d), None) => Some(d),
            (None, Some(s)) => Some(s),
            (Some(d), Some(s)) => Some(format!("{d}; {s}")),
        }
    }

    /// The rule a pair wants: with the SSE-KMS opt-in and its replica key when the pair
    /// replicates KMS objects.
    fn rule_for(&self, p: &Pair) -> Rule {
        let mut rule = desired_rule(p);
        if let Some(arn) = self
            .replica_keys
            .get(&(p.source.clone(), p.destination.clone()))
        {
            rule.sse_kms_encrypted_objects = Some(true);
            rule.destination.replica_kms_key_id = Some(arn.clone());
        }
        rule
    }

    /// SPEC §8, `kms = "auto"`: a source that encrypts with SSE-KMS or DSSE-KMS by default
    /// replicates those objects through the replica key of its destination's account and
    /// region, which is created when it does not exist, or through the key `kms` names; its
    /// key policy lets the source roles use it. A key that cannot be used
    /// ([`Self::replica_key_problem`]) makes its pairs conflicts.
    fn plan_replica_keys(&mut self, active: &mut Vec<&'a Pair>) {
        let mut by_key: BTreeMap<KeyAddr, Vec<&'a Pair>> = BTreeMap::new();
        for p in active.iter() {
            if self.kms_in_use(&p.source).is_none() {
                continue;
            }
            if let Some(key) = KeyAddr::of(p) {
                by_key.entry(key).or_default().push(p);
            }
        }
        let mut dropped = BTreeSet::new();
        for (key, pairs) in by_key {
            let problem = self.replica_key_problem(&key);
            if let Some(problem) = problem {
                for p in &pairs {
                    self.conflict_with_hint(p, true, problem.clone());
                    dropped.insert((&p.source, &p.destination));
                }
                continue;
            }
            let current = self
                .actual
                .present::<KeyPolicy>(&key)
                .map(|k| k.document.clone())
                .unwrap_or_else(|| key_policy::default_policy(&key.account));
            // The roles of these pairs, and those already granted (another configuration may
            // share the key: its grants are never dropped; `destroy` removes a configuration's).
            let mut roles: BTreeSet<String> = pairs
                .iter()
                .map(|p| self.role(&p.source.account).arn())
                .collect();
            roles.extend(crate::policy::principals_of(
                &current,
                "CrossrepReplication",
            ));
            let merged = merge_bucket_policy(
                Some(&current),
                &crate::policy::key_policy_statements(&roles, key.region.as_str()),
            );
            // KMS's key policy quota, after merging (SPEC §12): a key that cannot take the
            // grant leaves its pairs without a usable rule.
            let size = crate::policy::policy_bytes(&merged);
            if size > crate::policy::KEY_POLICY_LIMIT {
                for p in &pairs {
                    self.conflict_with_hint(p, true, (
                        "key_policy_too_large",
                        format!(
                            "the merged key policy of {} would be {size} bytes; KMS allows {}",
                            key_for_people(&key),
                            crate::policy::KEY_POLICY_LIMIT
                        ),
                        Some("remove statements from the key policy, or name another key with `kms`".into()),
                    ));
                    dropped.insert((&p.source, &p.destination));
                }
                continue;
            }
            let existing = self.actual.present::<ReplicaKey>(&key).cloned();
            if existing.is_none() && key.key.is_none() {
                self.put::<ReplicaKey>(
                    key.clone(),
                    &key.region,
                    ReplicaKeySpec::new(),
                    format!(
                        "SSE-KMS objects of {} replicate under a key of the destination account",
                        pairs
                            .iter()
                            .map(|p| format!("`{}`", p.source.bucket))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    vec![],
                );
            }
            let arn = replica_key::arn_or_token(self.actual, &key);
            let mut deps = vec![Address::ReplicaKey(key.clone())];
            deps.extend(
                pairs
                    .iter()
                    .map(|p| Address::Role(role_addr(self.role(&p.source.account)))),
            );
            self.put::<KeyPolicy>(
                key.clone(),
                &key.region,
                KeyPolicySpec { document: merged },
                "the source roles must be allowed to encrypt replicas with it".into(),
                deps,
            );
            for p in pairs {
                self.replica_keys
                    .insert((p.source.clone(), p.destination.clone()), arn.clone());
            }
        }
        active.retain(|p| !dropped.contains(&(&p.source, &p.destination)));
    }

    /// SPEC §8, SSE-C: a destination must accept SSE-C writes when its source has SSE-C
    /// objects, or their replicas are refused (403) — the default for buckets created since
    /// April 2026. A destination crossrep manages gets `BlockedEncryptionTypes = NONE` (its
    /// default encryption otherwise kept); someone else's is not changed: a warning names the
    /// gap and the fix.
    fn plan_sse_c(&mut self, pair: &Pair, region: &Region, ownership: Ownership) {
        let Some(why) = sse_c_needed(self.actual, &addr_of(&pair.source)) else {
            return;
        };
        let addr = addr_of(&pair.destination);
        let (src, dst) = (&pair.source.bucket, &pair.destination.bucket);
        // A bucket this plan creates has S3's defaults.
        let default = BucketEncryption::bucket_default(&addr).map(|(_, o)| o);
        let current = match self.actual.present::<Bucket>(&addr) {
            None => default.as_ref(),
            Some(_) => self.actual.observed::<BucketEncryption>(&addr),
        };
        let warn = |message: String| Warning {
            account: pair.source.account.clone(),
            bucket: Some(src.clone()),
            destination: Some(dst.clone()),
            code: SSE_C_CODE.to_string(),
            message,
        };
        match current {
            Some(Observed::Present(e)) if !e.sse_c_blocked => {}
            Some(Observed::Present(e)) if ownership != Ownership::Foreign => {
                let want = EncryptionSpec {
                    sse_c_blocked: false,
                    ..e.clone()
                };
                self.put::<BucketEncryption>(
                    addr.clone(),
                    region,
                    want,
                    format!("`{src}` {why}: their replicas are refused where SSE-C is blocked"),
                    vec![Address::Bucket(addr)],
                );
            }
            Some(Observed::Present(_)) => self.warnings.push(warn(format!(
                "destination `{dst}` blocks SSE-C writes and is not crossrep's, and `{src}` {why}: their replicas will fail (403); have its owner allow them (`aws s3api put-bucket-encryption --bucket {dst} --server-side-encryption-configuration '{{\"Rules\":[{{\"ApplyServerSideEncryptionByDefault\":{{\"SSEAlgorithm\":\"AES256\"}},\"BlockedEncryptionTypes\":{{\"EncryptionType\":[\"NONE\"]}}}}]}}'`, keeping its own default algorithm)"
            ))),
            Some(Observed::Unreadable(e)) => self.warnings.push(warn(format!(
                "could not read the default encryption of destination `{dst}`: {e}; `{src}` {why}, and if `{dst}` blocks SSE-C their replicas will fail"
            ))),
            // Not read, or none at all (a bucket without default encryption accepts SSE-C).
            _ => {}
        }
    }

    /// `alerts = false` where alerts were set up: crossrep's notification entries leave the
    /// active sources none of whose pairs has alerts, and in an account and region with no
    /// alerting pair left, crossrep's alarm, queue and topic go (after the entries that send to
    /// the queue: phases 0, 1, 2).
    fn plan_alerts_off(
        &mut self,
        active: &[&Pair],
        places: &BTreeMap<AlertAddr, BTreeSet<&BucketName>>,
    ) {
        let mut alerting: BTreeMap<&BucketRef, bool> = BTreeMap::new();
        for p in active {
            *alerting.entry(&p.source).or_default() |= p.rule.alerts;
        }
        let reason = "`alerts = false`: crossrep's failure-event entry leaves, the others stay";
        for (src, on) in &alerting {
            if let Some(c) = (!*on)
                .then(|| {
                    crate::destroy::entry_removal(self.actual, &addr_of(src), &src.region, reason)
                })
                .flatten()
            {
                self.changes.insert(c.addr(), c);
            }
        }
        let off: BTreeSet<AlertAddr> = active
            .iter()
            .map(|p| AlertAddr::of(&p.source))
            .filter(|at| !places.contains_key(at))
            .collect();
        for at in off {
            let why = "`alerts = false` for every pair of this account and region: crossrep's";
            for c in crate::destroy::alert_removals(self.actual, &at, why) {
                self.changes.insert(c.addr(), c);
            }
        }
    }

    /// Why the replica key at `key` cannot take replicas, if it cannot: unreadable, missing (a
    /// key `kms` names; crossrep's own is created), in another region than the destination,
    /// disabled, asymmetric or AWS managed. `PutBucketReplication` accepts any of these and
    /// every replica then fails (AWS-NOTES, SSE-KMS), so each is a conflict.
    fn replica_key_problem(&self, key: &KeyAddr) -> Option<Problem> {
        let what = key_for_people(key);
        if key.arn_region() != key.region.as_str() {
            return Some(plain("replica_key_region", format!(
                "{what} is in {}, but the destination is in {}: S3 encrypts replicas only under a key in the destination's region (`DstKmsKeyNotFound`); name a key in {} or set `destination_region`",
                key.arn_region(), key.region, key.region
            )));
        }
        if let Some(p) = unreadable(
            self.actual,
            &[
                Address::ReplicaKey(key.clone()),
                Address::KeyPolicy(key.clone()),
            ],
            &what,
        ) {
            return Some(p);
        }
        match self.actual.present::<ReplicaKey>(key) {
            None if key.key.is_some() => Some(plain("replica_key_not_found", format!(
                "{what} does not exist in {} ({}): every replica of an SSE-KMS object would fail (`DstKmsKeyNotFound`); check the ARN, or use `kms = \"auto\"` for a key crossrep manages",
                key.account, key.region
            ))),
            Some(k) if k.aws_managed => Some(plain("replica_key_aws_managed", format!(
                "{what} is an AWS managed key: other accounts cannot encrypt with it and its policy cannot be changed; name a customer managed key"
            ))),
            Some(k) if !k.enabled => Some(plain("replica_key_disabled", format!(
                "{what} is not enabled: every replica of an SSE-KMS object would fail (`DstKmsKeyInvalidState`); enable it (`aws kms enable-key`)"
            ))),
            Some(k) if !k.symmetric => Some(plain("replica_key_asymmetric", format!(
                "{what} is not a symmetric encryption key: S3 cannot encrypt replicas with it; {}",
                if key.key.is_some() { "name a symmetric key" } else { "point the alias at a symmetric key" }
            ))),
            _ => None,
        }
    }

    fn plan_destination(&mut self, pair: &Pair, policy: &Value) {
        let d = &pair.destination;
        let addr = addr_of(d);
        let object_ownership =
            (pair.rule.owner == Owner::Destination).then(OwnershipSpec::enforced);
        // An existing destination is in the pair's region (`active_pairs`), read from where it is.
        let (region, ownership) = match self.actual.present::<Bucket>(&addr) {
            Some(existing) => {
                let region = existing.region.clone();
                let ownership = self.ownership(&addr);
                self.plan_managed_settings(&addr, &region, ownership, object_ownership);
                (region, ownership)
            }
            None => {
                let reason = match &pair.shortened_from {
                    Some(long) => format!(
                        "destination of `{}` ({}); `{long}` is not a valid bucket name, shortened",
                        pair.source.bucket, pair.source.account
                    ),
                    None => format!(
                        "destination of `{}` ({})",
                        pair.source.bucket, pair.source.account
                    ),
                };
                // The destination of an Object Lock source is created with Object Lock.
                let lock = object_lock::enabled(self.actual, &addr_of(&pair.source));
                self.plan_new_bucket(d, object_ownership, lock, reason);
                (d.region.clone(), Ownership::Managed)
            }
        };
        self.plan_sse_c(pair, &region, ownership);
        let bucket = Address::Bucket(addr.clone());
        self.put::<Versioning>(
            addr.clone(),
            &region,
            VersioningSpec::ENABLED,
            "replication needs versioning on the destination".into(),
            vec![bucket.clone()],
        );
        let role = self.role(&pair.source.account);
        self.put::<BucketPolicy>(
            addr,
            &region,
            BucketPolicySpec {
                document: policy.clone(),
            },
            format!("role `{}` must be allowed to replicate into it", role.arn()),
            vec![bucket, Address::Role(role_addr(role))],
        );
    }

    fn plan_source(&mut self, src: &BucketRef, config: ReplicationConfiguration, pairs: &[&Pair]) {
        let addr = addr_of(src);
        self.put::<Versioning>(
            addr.clone(),
            &src.region,
            VersioningSpec::ENABLED,
            "replication needs versioning on the source".into(),
            vec![],
        );
        let role = self.role(&src.account);
        let mut deps = vec![
            Address::Versioning(addr.clone()),
            Address::Role(role_addr(role)),
            Address::RolePolicy(role_policy_addr(role)),
        ];
        for p in pairs {
            let d = addr_of(&p.destination);
            deps.push(Address::Bucket(d.clone()));
            deps.push(Address::Versioning(d.clone()));
            deps.push(Address::BucketPolicy(d));
            if self
                .replica_keys
                .contains_key(&(p.source.clone(), p.destination.clone()))
            {
                if let Some(key) = KeyAddr::of(p) {
                    deps.push(Address::ReplicaKey(key.clone()));
                    deps.push(Address::KeyPolicy(key));
                }
            }
        }
        let dests: Vec<String> = pairs
            .iter()
            .map(|p| format!("`{}`", p.destination.bucket))
            .collect();
        self.put::<Replication>(
            addr,
            &src.region,
            ReplicationSpec {
                configuration: config,
            },
            match self.kms_in_use(src).filter(|_| {
                pairs.iter().any(|p| {
                    self.replica_keys
                        .contains_key(&(p.source.clone(), p.destination.clone()))
                })
            }) {
                Some(found) => format!(
                    "replicate into {}; {found}: those objects through the replica key",
                    dests.join(", ")
                ),
                None => format!("replicate into {}", dests.join(", ")),
            },
            deps,
        );
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
    apply_all(actual, &plan.changes)
}
