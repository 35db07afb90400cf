//! Preflight (SPEC §12): what would make `apply` fail midway, found before anything is written.
//!
//! Discovery reads a few account-level [`Facts`], only where they can matter: the opt-in
//! status of the regions that are not enabled by default ([`region_needs`]), the bucket quota
//! of the accounts where buckets would be created, the role count and quota of the accounts
//! where a role would be created. The planner turns them into [`Finding`]s:
//! - a region that is not enabled makes every pair that uses it a conflict (the other pairs go
//!   on), with the fix;
//! - a quota the plan would exceed is an error: `apply` refuses the whole plan, with the
//!   numbers and the fix, before any write;
//! - a fact that could not be read is said once, and planning goes on.
//!
//! The per-pair quotas (1,000 rules per replication configuration, 20 KB bucket policy, 32 KB
//! key policy, after merging) are conflicts of the pairs they concern, checked where each
//! document is merged.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::desired::{partition, DesiredState, Pair};
use crate::kinds::alert_queue::NAME as QUEUE;
use crate::kinds::replica_key::ALIAS;
use crate::kinds::{Action, Address, AnyChange, BucketAddr};
use crate::names::{AccountId, Region};
use crate::observed::{Observed, ReadError};

/// Service Quotas' code of "General purpose buckets" (S3, per account).
pub const BUCKET_QUOTA_CODE: &str = "L-DC2B2D3D";
/// The documented default of that quota (AWS "Amazon S3 quotas", since November 2024).
pub const DEFAULT_BUCKET_QUOTA: u64 = 10_000;

/// The regions enabled by default in every account: those launched before 20 March 2019 (AWS
/// "Specify which AWS Regions your account can use"). Every other commercial region is opt-in,
/// the regions AWS launches from now on included.
pub const ENABLED_BY_DEFAULT: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "sa-east-1",
];

/// Whether an account must have enabled `region` before using it: a commercial region that is
/// not [`ENABLED_BY_DEFAULT`]. China and GovCloud have no opt-in regions.
pub fn is_opt_in(region: &Region) -> bool {
    partition(region) == "aws" && !ENABLED_BY_DEFAULT.contains(&region.as_str())
}

/// An account's opt-in status of a region (Account Management `GetRegionOptStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RegionOptStatus {
    Enabled,
    /// Being enabled (asynchronous, minutes to hours): not usable yet.
    Enabling,
    Disabling,
    Disabled,
    EnabledByDefault,
}

impl RegionOptStatus {
    pub fn parse(s: &str) -> Option<RegionOptStatus> {
        Some(match s {
            "ENABLED" => RegionOptStatus::Enabled,
            "ENABLING" => RegionOptStatus::Enabling,
            "DISABLING" => RegionOptStatus::Disabling,
            "DISABLED" => RegionOptStatus::Disabled,
            "ENABLED_BY_DEFAULT" => RegionOptStatus::EnabledByDefault,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RegionOptStatus::Enabled => "ENABLED",
            RegionOptStatus::Enabling => "ENABLING",
            RegionOptStatus::Disabling => "DISABLING",
            RegionOptStatus::Disabled => "DISABLED",
            RegionOptStatus::EnabledByDefault => "ENABLED_BY_DEFAULT",
        }
    }

    pub fn is_enabled(self) -> bool {
        matches!(
            self,
            RegionOptStatus::Enabled | RegionOptStatus::EnabledByDefault
        )
    }
}

impl fmt::Display for RegionOptStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account's IAM role count and quota (IAM `GetAccountSummary`: `Roles`, `RolesQuota`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleQuota {
    pub roles: u64,
    pub quota: u64,
}

/// What discovery read for preflight. A missing entry was not read because nothing planned
/// depends on it (discovery reads the bucket count of every account that holds destinations or
/// report buckets, the quotas where something may be created): nothing is checked for it.
/// [`Observed::Absent`] for a bucket quota means Service Quotas has no applied value (the
/// documented default holds).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    /// Opt-in regions only ([`region_needs`]).
    pub regions: BTreeMap<(AccountId, Region), Observed<RegionOptStatus>>,
    /// General purpose buckets an account holds (from listing them), where buckets may be
    /// created.
    pub buckets_held: BTreeMap<AccountId, u64>,
    pub bucket_quotas: BTreeMap<AccountId, Observed<u64>>,
    /// Where a role may be created.
    pub role_quotas: BTreeMap<AccountId, Observed<RoleQuota>>,
}

/// The accounts and regions a pair uses, as S3 replication requires them (AWS "Requirements and
/// considerations for replication"): the source account needs the source and destination
/// regions, the destination account the destination region.
pub fn pair_regions(pair: &Pair) -> [(AccountId, Region); 3] {
    [
        (pair.source.account.clone(), pair.source.region.clone()),
        (pair.source.account.clone(), pair.destination.region.clone()),
        (
            pair.destination.account.clone(),
            pair.destination.region.clone(),
        ),
    ]
}

/// The (account, opt-in region) statuses the plan needs: the regions enabled by default need no
/// call.
pub fn region_needs(desired: &DesiredState) -> BTreeSet<(AccountId, Region)> {
    desired
        .pairs
        .iter()
        .flat_map(pair_regions)
        .filter(|(_, r)| is_opt_in(r))
        .collect()
}

/// The region that keeps a pair from working, if one does: (account, region, status).
pub fn disabled_region(facts: &Facts, pair: &Pair) -> Option<(AccountId, Region, RegionOptStatus)> {
    pair_regions(pair).into_iter().find_map(|(a, r)| {
        match facts.regions.get(&(a.clone(), r.clone())) {
            Some(Observed::Present(s)) if !s.is_enabled() => Some((a, r, *s)),
            _ => None,
        }
    })
}

/// The conflict message and hint of a pair whose region is not enabled.
pub fn region_conflict(
    account: &AccountId,
    region: &Region,
    status: RegionOptStatus,
) -> (String, String) {
    let message = match status {
        RegionOptStatus::Enabling => format!(
            "region {region} is still being enabled in account {account} (ENABLING): S3 replication needs it enabled"
        ),
        s => format!(
            "region {region} is not enabled in account {account} ({s}): S3 replication needs it enabled"
        ),
    };
    let hint = format!(
        "enable it (`aws account enable-region --region-name {region}` with credentials of {account}, or `--account-id {account}` from the organization's management account), wait until `aws account get-region-opt-status --region-name {region}` says ENABLED (it is asynchronous), then run apply again"
    );
    (message, hint)
}

/// How bad a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// `apply` would fail midway: it refuses the whole plan.
    Error,
    /// The pairs concerned are conflicts (listed with the other conflicts); the others go on.
    Conflict,
    /// `apply` may fail: said, not refused (the operator's permissions, as simulated).
    Warning,
    /// Could not be checked: planning went on without it.
    Unchecked,
}

/// One thing preflight found wrong, or could not check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub account: AccountId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// A stable name for programs: `region_not_enabled`, `bucket_quota`, `role_quota`,
    /// `region_status_unreadable`, `bucket_quota_unreadable`, `role_quota_unreadable`.
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Conflict => "conflict",
            Severity::Warning => "warning",
            Severity::Unchecked => "not checked",
        };
        write!(f, "{label}: {}", self.message)
    }
}

/// The region findings of a plan: one per account and region that is not enabled (how many
/// pairs it stops), and one per account whose statuses could not be read.
pub fn region_findings(desired: &DesiredState, facts: &Facts) -> Vec<Finding> {
    let mut stopped: BTreeMap<(AccountId, Region, RegionOptStatus), usize> = BTreeMap::new();
    for p in &desired.pairs {
        if let Some(k) = disabled_region(facts, p) {
            *stopped.entry(k).or_default() += 1;
        }
    }
    let mut out: Vec<Finding> = stopped
        .into_iter()
        .map(|((account, region, status), n)| {
            let (message, hint) = region_conflict(&account, &region, status);
            Finding {
                severity: Severity::Conflict,
                message: format!("{message}; {n} pair(s) left alone"),
                hint: Some(hint),
                account,
                region: Some(region),
                code: "region_not_enabled".into(),
            }
        })
        .collect();
    let mut unread: BTreeMap<&AccountId, (Vec<&Region>, &ReadError)> = BTreeMap::new();
    for ((a, r), o) in &facts.regions {
        if let Observed::Unreadable(e) = o {
            unread.entry(a).or_insert((Vec::new(), e)).0.push(r);
        }
    }
    for (account, (regions, e)) in unread {
        let names: Vec<&str> = regions.iter().map(|r| r.as_str()).collect();
        out.push(Finding {
            severity: Severity::Unchecked,
            account: account.clone(),
            region: None,
            code: "region_status_unreadable".into(),
            message: format!(
                "could not read whether {} {} enabled in account {account}: {e}; planned as if enabled",
                names.join(", "),
                if names.len() == 1 { "is" } else { "are" }
            ),
            hint: Some(
                "allow `account:GetRegionOptStatus` to the role crossrep uses there".into(),
            ),
        });
    }
    out
}

/// The quota findings of a plan's changes: the buckets and roles they create, per account.
pub fn quota_findings_of<'c>(
    facts: &Facts,
    changes: impl IntoIterator<Item = &'c AnyChange>,
) -> Vec<Finding> {
    let (mut buckets, mut roles) = (BTreeMap::new(), BTreeMap::new());
    for c in changes.into_iter().filter(|c| c.action() == Action::Create) {
        match c.addr() {
            Address::Bucket(b) => *buckets.entry(b.account).or_insert(0) += 1,
            Address::Role(r) => *roles.entry(r.account).or_insert(0) += 1,
            _ => {}
        }
    }
    quota_findings(facts, &buckets, &roles)
}

/// The quota findings of a plan that creates `buckets` general purpose buckets and `roles`
/// roles per account.
pub fn quota_findings(
    facts: &Facts,
    buckets: &BTreeMap<AccountId, u64>,
    roles: &BTreeMap<AccountId, u64>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for (account, &created) in buckets.iter().filter(|(_, n)| **n > 0) {
        let held = facts.buckets_held.get(account).copied();
        let (quota, unread) = match facts.bucket_quotas.get(account) {
            Some(Observed::Present(q)) => (*q, None),
            Some(Observed::Absent) => (DEFAULT_BUCKET_QUOTA, None),
            Some(Observed::Unreadable(e)) => (DEFAULT_BUCKET_QUOTA, Some(e.to_string())),
            Some(Observed::Unread) | None => (DEFAULT_BUCKET_QUOTA, None),
        };
        let Some(held) = held else {
            continue;
        };
        let total = held + created;
        if total > quota {
            let read = match &unread {
                None => format!("its general purpose bucket quota is {quota}"),
                Some(e) => format!(
                    "its general purpose bucket quota could not be read ({e}), and the default is {quota}"
                ),
            };
            out.push(Finding {
                severity: Severity::Error,
                account: account.clone(),
                region: None,
                code: "bucket_quota".into(),
                message: format!(
                    "account {account} holds {held} bucket(s) and this plan creates {created}: {total} in all, but {read}; apply would stop when it is reached"
                ),
                hint: Some(format!(
                    "request an increase to at least {total} (`aws service-quotas request-service-quota-increase --service-code s3 --quota-code {BUCKET_QUOTA_CODE} --desired-value {total}` in {account}), or select fewer buckets{}",
                    if unread.is_some() { "; if the quota was already raised, allow `servicequotas:GetServiceQuota` so crossrep can read it" } else { "" }
                )),
            });
        } else if let Some(e) = unread {
            out.push(Finding {
                severity: Severity::Unchecked,
                account: account.clone(),
                region: None,
                code: "bucket_quota_unreadable".into(),
                message: format!(
                    "could not read the bucket quota of account {account} ({e}): {total} bucket(s) fit the default of {DEFAULT_BUCKET_QUOTA}"
                ),
                hint: Some("allow `servicequotas:GetServiceQuota`".into()),
            });
        }
    }
    for (account, &created) in roles.iter().filter(|(_, n)| **n > 0) {
        match facts.role_quotas.get(account) {
            Some(Observed::Present(q)) if q.roles + created > q.quota => out.push(Finding {
                severity: Severity::Error,
                account: account.clone(),
                region: None,
                code: "role_quota".into(),
                message: format!(
                    "account {account} has {} IAM role(s) and this plan creates {created}, but its role quota is {}",
                    q.roles, q.quota
                ),
                hint: Some(format!(
                    "delete unused roles or request an increase of `Roles per account` (`aws service-quotas request-service-quota-increase --service-code iam --quota-code L-FE177D64 --desired-value {}`)",
                    q.roles + created
                )),
            }),
            Some(Observed::Present(_)) => {}
            Some(Observed::Unreadable(e)) => out.push(Finding {
                severity: Severity::Unchecked,
                account: account.clone(),
                region: None,
                code: "role_quota_unreadable".into(),
                message: format!("could not read the IAM role quota of account {account}: {e}"),
                hint: Some("allow `iam:GetAccountSummary`".into()),
            }),
            Some(Observed::Absent | Observed::Unread) | None => {}
        }
    }
    out
}

/// The IAM actions `apply` calls for one change, each with the resource it acts on (`*` where
/// the resource has no ARN before it exists): what the policy simulator is asked (SPEC §12,
/// operator permissions). The calls of `crossrep-aws/src/kinds/`, kept in step with them.
pub fn actions_of(change: &AnyChange) -> Vec<(&'static str, String)> {
    let region = change.region();
    let part = partition(region);
    let bucket = |b: &BucketAddr| format!("arn:{part}:s3:::{}", b.bucket);
    let role = |account: &AccountId, name: &str| format!("arn:{part}:iam::{account}:role/{name}");
    let deleting = change.action() == Action::Delete;
    let one = |action: &'static str, resource: String| vec![(action, resource)];
    match change.addr() {
        Address::Role(r) => match change.action() {
            Action::Create => vec![
                ("iam:CreateRole", role(&r.account, &r.name)),
                ("iam:TagRole", role(&r.account, &r.name)),
            ],
            Action::Update => one("iam:UpdateAssumeRolePolicy", role(&r.account, &r.name)),
            Action::Delete => one("iam:DeleteRole", role(&r.account, &r.name)),
        },
        Address::RolePolicy(r) if deleting => {
            one("iam:DeleteRolePolicy", role(&r.account, &r.role))
        }
        Address::RolePolicy(r) => one("iam:PutRolePolicy", role(&r.account, &r.role)),
        Address::Bucket(b) => {
            let mut out = one("s3:CreateBucket", bucket(&b));
            let lock = match change {
                AnyChange::Bucket(c) => c.after.as_ref().is_some_and(|s| s.object_lock),
                _ => false,
            };
            if lock {
                // CreateBucket with Object Lock also needs these (S3 API reference).
                out.push(("s3:PutBucketObjectLockConfiguration", bucket(&b)));
                out.push(("s3:PutBucketVersioning", bucket(&b)));
            }
            out
        }
        Address::BucketTags(b) => one("s3:PutBucketTagging", bucket(&b)),
        Address::OwnershipControls(b) => one("s3:PutBucketOwnershipControls", bucket(&b)),
        Address::Lifecycle(b) => one("s3:PutLifecycleConfiguration", bucket(&b)),
        Address::BucketEncryption(b) => one("s3:PutEncryptionConfiguration", bucket(&b)),
        // Observed only: never written.
        Address::ObjectEncryption(_) | Address::RequestPayment(_) | Address::ObjectLock(_) => {
            Vec::new()
        }
        Address::Versioning(b) => one("s3:PutBucketVersioning", bucket(&b)),
        Address::BucketPolicy(b) if deleting => one("s3:DeleteBucketPolicy", bucket(&b)),
        Address::BucketPolicy(b) => one("s3:PutBucketPolicy", bucket(&b)),
        Address::ReplicaKey(k) => vec![
            ("kms:CreateKey", "*".to_string()),
            ("kms:TagResource", "*".to_string()),
            (
                "kms:CreateAlias",
                format!("arn:{part}:kms:{}:{}:{ALIAS}", k.region, k.account),
            ),
        ],
        // A named key's ARN; crossrep's own key may not exist yet.
        Address::KeyPolicy(k) => one("kms:PutKeyPolicy", k.key.unwrap_or_else(|| "*".into())),
        Address::AlertQueue(a) => {
            let arn = format!("arn:{part}:sqs:{}:{}:{QUEUE}", a.region, a.account);
            if deleting {
                one("sqs:DeleteQueue", arn)
            } else {
                vec![
                    ("sqs:CreateQueue", arn.clone()),
                    ("sqs:SetQueueAttributes", arn.clone()),
                    ("sqs:TagQueue", arn),
                ]
            }
        }
        Address::AlertTopic(a) => {
            let arn = format!("arn:{part}:sns:{}:{}:{QUEUE}", a.region, a.account);
            if deleting {
                one("sns:DeleteTopic", arn)
            } else {
                vec![
                    ("sns:CreateTopic", arn.clone()),
                    ("sns:TagResource", arn.clone()),
                    ("sns:Subscribe", arn),
                ]
            }
        }
        Address::Alarm(a) => {
            let arn = format!(
                "arn:{part}:cloudwatch:{}:{}:alarm:{QUEUE}",
                a.region, a.account
            );
            one(
                if deleting {
                    "cloudwatch:DeleteAlarms"
                } else {
                    "cloudwatch:PutMetricAlarm"
                },
                arn,
            )
        }
        // DeleteBucketReplication needs `s3:PutReplicationConfiguration` too; writing a
        // configuration passes its role (`iam:PassRole`).
        Address::Replication(b) => {
            let mut out = one("s3:PutReplicationConfiguration", bucket(&b));
            if let AnyChange::Replication(c) = change {
                if let Some(spec) = &c.after {
                    out.push(("iam:PassRole", spec.configuration.role.clone()));
                }
            }
            out
        }
        Address::Notification(b) => one("s3:PutBucketNotification", bucket(&b)),
    }
}

/// What the plan's changes need, per account: action → resources (sorted, deduplicated).
pub fn required_actions(
    changes: &[AnyChange],
) -> BTreeMap<AccountId, BTreeMap<&'static str, BTreeSet<String>>> {
    let mut out: BTreeMap<AccountId, BTreeMap<&'static str, BTreeSet<String>>> = BTreeMap::new();
    for c in changes {
        for (action, resource) in actions_of(c) {
            out.entry(c.addr().account().clone())
                .or_default()
                .entry(action)
                .or_default()
                .insert(resource);
        }
    }
    out
}

/// What the IAM policy simulator said of one account's caller (`SimulatePrincipalPolicy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Simulation {
    /// The simulated principal, and each (action, resource) the simulator did not allow:
    /// its decision (`implicitDeny`, `explicitDeny`) and the context keys it lacked.
    Simulated {
        principal: String,
        denied: Vec<Denied>,
        /// Only the first resources of some action were simulated (there were more).
        capped: bool,
    },
    /// Why it could not be checked (simulation denied, the caller not an IAM role or user, …).
    NotChecked(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub action: String,
    pub resource: String,
    pub decision: String,
    pub missing_context: Vec<String>,
}

/// The findings of the simulations: per account, the actions its caller lacks (a warning: the
/// simulator sees the caller's identity policies, not the resource policies that may grant
/// more, such as a key policy), or that it could not be checked.
pub fn permission_findings(simulations: &BTreeMap<AccountId, Simulation>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (account, sim) in simulations {
        match sim {
            Simulation::Simulated {
                principal,
                denied,
                capped,
            } if !denied.is_empty() => {
                let mut by_action: BTreeMap<&str, (usize, &str, bool)> = BTreeMap::new();
                for d in denied {
                    let e = by_action
                        .entry(&d.action)
                        .or_insert((0, &d.resource, false));
                    e.0 += 1;
                    e.2 |= !d.missing_context.is_empty();
                }
                let listed: Vec<String> = by_action
                    .iter()
                    .map(|(a, (n, first, ctx))| {
                        let on = if *n == 1 {
                            format!("on `{first}`")
                        } else {
                            format!("on {n} resources, e.g. `{first}`")
                        };
                        let ctx = if *ctx { ", depending on conditions the simulator could not evaluate" } else { "" };
                        format!("`{a}` {on}{ctx}")
                    })
                    .collect();
                out.push(Finding {
                    severity: Severity::Warning,
                    account: account.clone(),
                    region: None,
                    code: "permission_missing".into(),
                    message: format!(
                        "the IAM policy simulator says {principal} may not: {}; apply would fail there unless a resource policy grants it{}",
                        listed.join("; "),
                        if *capped { " (only the first resources of each action were simulated)" } else { "" }
                    ),
                    hint: Some("grant these actions to the role crossrep uses in that account (README, \"IAM permissions the operator needs\")".into()),
                });
            }
            Simulation::Simulated { .. } => {}
            Simulation::NotChecked(why) => out.push(Finding {
                severity: Severity::Unchecked,
                account: account.clone(),
                region: None,
                code: "permissions_unchecked".into(),
                message: format!(
                    "could not check the operator's permissions in account {account}: {why}"
                ),
                hint: Some(
                    "allow `iam:SimulatePrincipalPolicy` (and `iam:GetRole` for a role) on the caller to have them checked before apply"
                        .into(),
                ),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(s: &str) -> AccountId {
        AccountId::new(s).unwrap()
    }

    fn region(s: &str) -> Region {
        Region::new(s).unwrap()
    }

    #[test]
    fn only_commercial_regions_launched_since_2019_are_opt_in() {
        for r in ["us-east-1", "eu-west-1", "sa-east-1", "ap-northeast-3"] {
            assert!(!is_opt_in(&region(r)), "{r}");
        }
        for r in [
            "af-south-1",
            "ap-east-1",
            "me-central-1",
            "eu-south-2",
            "mx-central-1",
        ] {
            assert!(is_opt_in(&region(r)), "{r}");
        }
        for r in ["cn-north-1", "us-gov-west-1"] {
            assert!(!is_opt_in(&region(r)), "{r}");
        }
    }

    #[test]
    fn statuses_parse_and_only_enabled_ones_are_usable() {
        for s in [
            "ENABLED",
            "ENABLING",
            "DISABLING",
            "DISABLED",
            "ENABLED_BY_DEFAULT",
        ] {
            assert_eq!(RegionOptStatus::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(RegionOptStatus::parse("enabled"), None);
        assert!(RegionOptStatus::Enabled.is_enabled());
        assert!(RegionOptStatus::EnabledByDefault.is_enabled());
        assert!(!RegionOptStatus::Enabling.is_enabled());
        assert!(!RegionOptStatus::Disabling.is_enabled());
        assert!(!RegionOptStatus::Disabled.is_enabled());
    }

    #[test]
    fn a_bucket_quota_is_exceeded_only_past_it() {
        let a = acct("222222222222");
        let mut facts = Facts::default();
        facts.buckets_held.insert(a.clone(), 9_990);
        facts.bucket_quotas.insert(a.clone(), Observed::Absent);
        let creates = |n| BTreeMap::from([(a.clone(), n)]);
        assert_eq!(
            quota_findings(&facts, &creates(10), &BTreeMap::new()),
            vec![]
        );
        let f = quota_findings(&facts, &creates(11), &BTreeMap::new());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(f[0].code, "bucket_quota");
        assert!(f[0].message.contains("holds 9990 bucket(s) and this plan creates 11: 10001 in all, but its general purpose bucket quota is 10000"), "{}", f[0].message);
        assert!(f[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("--desired-value 10001"));
        // An applied quota replaces the default.
        facts
            .bucket_quotas
            .insert(a.clone(), Observed::Present(20_000));
        assert_eq!(
            quota_findings(&facts, &creates(11), &BTreeMap::new()),
            vec![]
        );
        // Nothing created: nothing to check, even at the quota.
        facts
            .bucket_quotas
            .insert(a.clone(), Observed::Present(9_990));
        assert_eq!(
            quota_findings(&facts, &creates(0), &BTreeMap::new()),
            vec![]
        );
    }

    #[test]
    fn an_unreadable_bucket_quota_is_checked_against_the_default_and_said() {
        let a = acct("222222222222");
        let mut facts = Facts::default();
        facts.buckets_held.insert(a.clone(), 10);
        facts.bucket_quotas.insert(
            a.clone(),
            Observed::Unreadable(ReadError::new(
                crate::observed::ErrorKind::AccessDenied,
                "AccessDenied",
            )),
        );
        let f = quota_findings(&facts, &BTreeMap::from([(a.clone(), 5)]), &BTreeMap::new());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Unchecked);
        assert_eq!(f[0].code, "bucket_quota_unreadable");
        let f = quota_findings(
            &facts,
            &BTreeMap::from([(a.clone(), DEFAULT_BUCKET_QUOTA)]),
            &BTreeMap::new(),
        );
        assert_eq!(f[0].severity, Severity::Error);
        assert!(
            f[0].message
                .contains("could not be read (AccessDenied), and the default is 10000"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn a_role_quota_is_checked_where_roles_are_created() {
        let a = acct("333333333333");
        let mut facts = Facts::default();
        facts.role_quotas.insert(
            a.clone(),
            Observed::Present(RoleQuota {
                roles: 999,
                quota: 1000,
            }),
        );
        let one = BTreeMap::from([(a.clone(), 1)]);
        assert_eq!(quota_findings(&facts, &BTreeMap::new(), &one), vec![]);
        facts.role_quotas.insert(
            a.clone(),
            Observed::Present(RoleQuota {
                roles: 1000,
                quota: 1000,
            }),
        );
        let f = quota_findings(&facts, &BTreeMap::new(), &one);
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(f[0].code, "role_quota");
        assert!(f[0]
            .message
            .contains("has 1000 IAM role(s) and this plan creates 1, but its role quota is 1000"));
        assert_eq!(
            quota_findings(&facts, &BTreeMap::new(), &BTreeMap::new()),
            vec![]
        );
    }

    #[test]
    fn the_actions_of_a_plan_are_those_apply_calls_per_account() {
        use crate::kinds::bucket::{Bucket, BucketSpec};
        use crate::kinds::replication::{Replication, ReplicationSpec};
        use crate::kinds::Change;
        use crate::model::ReplicationConfiguration;
        let dst = BucketAddr::new(
            &acct("222222222222"),
            &crate::names::BucketName::new("replicated-data").unwrap(),
        );
        let src = BucketAddr::new(
            &acct("111111111111"),
            &crate::names::BucketName::new("data").unwrap(),
        );
        let role = "arn:aws:iam::111111111111:role/crossrep-replication".to_string();
        let changes = vec![
            <Bucket as crate::kinds::Kind>::wrap(Change::put(
                dst.clone(),
                region("eu-west-1"),
                None,
                BucketSpec {
                    region: region("eu-west-1"),
                    object_lock: true,
                },
                String::new(),
                vec![],
            )),
            <Replication as crate::kinds::Kind>::wrap(Change::put(
                src,
                region("eu-west-1"),
                None,
                ReplicationSpec {
                    configuration: ReplicationConfiguration {
                        role: role.clone(),
                        rules: vec![],
                    },
                },
                String::new(),
                vec![],
            )),
        ];
        let got = required_actions(&changes);
        let dst_actions: Vec<&str> = got[&acct("222222222222")].keys().copied().collect();
        assert_eq!(
            dst_actions,
            [
                "s3:CreateBucket",
                "s3:PutBucketObjectLockConfiguration",
                "s3:PutBucketVersioning"
            ]
        );
        assert!(
            got[&acct("222222222222")]["s3:CreateBucket"].contains("arn:aws:s3:::replicated-data")
        );
        let src_actions = &got[&acct("111111111111")];
        assert!(src_actions["s3:PutReplicationConfiguration"].contains("arn:aws:s3:::data"));
        assert!(src_actions["iam:PassRole"].contains(&role));
    }

    #[test]
    fn denied_actions_are_a_warning_grouped_by_action_and_an_unchecked_account_is_said() {
        let denied = |action: &str, resource: &str, ctx: &[&str]| Denied {
            action: action.into(),
            resource: resource.into(),
            decision: "implicitDeny".into(),
            missing_context: ctx.iter().map(|s| s.to_string()).collect(),
        };
        let sims = BTreeMap::from([
            (
                acct("111111111111"),
                Simulation::Simulated {
                    principal: "arn:aws:iam::111111111111:role/ops".into(),
                    denied: vec![
                        denied("s3:PutBucketVersioning", "arn:aws:s3:::a", &[]),
                        denied("s3:PutBucketVersioning", "arn:aws:s3:::b", &[]),
                        denied(
                            "iam:PassRole",
                            "arn:aws:iam::111111111111:role/r",
                            &["iam:PassedToService"],
                        ),
                    ],
                    capped: false,
                },
            ),
            (
                acct("222222222222"),
                Simulation::Simulated {
                    principal: "p".into(),
                    denied: vec![],
                    capped: false,
                },
            ),
            (
                acct("333333333333"),
                Simulation::NotChecked("AccessDenied".into()),
            ),
        ]);
        let f = permission_findings(&sims);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(
            (f[0].severity, f[0].code.as_str()),
            (Severity::Warning, "permission_missing")
        );
        assert_eq!(
            f[0].message,
            "the IAM policy simulator says arn:aws:iam::111111111111:role/ops may not: `iam:PassRole` on `arn:aws:iam::111111111111:role/r`, depending on conditions the simulator could not evaluate; `s3:PutBucketVersioning` on 2 resources, e.g. `arn:aws:s3:::a`; apply would fail there unless a resource policy grants it"
        );
        assert_eq!(
            (f[1].severity, f[1].code.as_str()),
            (Severity::Unchecked, "permissions_unchecked")
        );
        assert_eq!(f[1].account, acct("333333333333"));
    }
}
