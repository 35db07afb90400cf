//! Config + source listing → [`DesiredState`]: which source buckets replicate where.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::config::{Backfill, Config, DestinationRegion, Kms, Owner};
use crate::model::Listing;
use crate::names::{shorten_bucket_name, AccountId, BucketName, Region};
use crate::template::Glob;

/// A bucket in an account and region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BucketRef {
    pub account: AccountId,
    pub bucket: BucketName,
    pub region: Region,
}

impl BucketRef {
    pub fn arn(&self) -> String {
        bucket_arn(&self.region, &self.bucket)
    }
}

impl std::fmt::Display for BucketRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {})", self.bucket, self.account, self.region)
    }
}

/// The AWS partition of a region: ARNs differ in GovCloud and China.
pub fn partition(region: &Region) -> &'static str {
    let r = region.as_str();
    if r.starts_with("us-gov-") {
        "aws-us-gov"
    } else if r.starts_with("cn-") {
        "aws-cn"
    } else {
        "aws"
    }
}

pub fn bucket_arn(region: &Region, bucket: &BucketName) -> String {
    format!("arn:{}:s3:::{}", partition(region), bucket)
}

/// What the rule for one pair must say; from one `[[replication]]` block.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RuleSpec {
    pub storage_class: String,
    pub delete_markers: bool,
    pub prefix: String,
    pub tags: BTreeMap<String, String>,
    pub owner: Owner,
    pub replication_time: bool,
    pub kms: Kms,
    /// Replication metrics on the rule, failure events and an alarm (SPEC §10).
    #[serde(default)]
    pub alerts: bool,
}

/// One source bucket replicating into one destination bucket.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pair {
    pub source: BucketRef,
    pub destination: BucketRef,
    /// The rendered name when it had to be shortened or repaired.
    pub shortened_from: Option<String>,
    pub rule: RuleSpec,
    pub backfill: Backfill,
    /// The `[[replication]]` block this pair comes from.
    pub block: usize,
}

impl Pair {
    pub fn cross_account(&self) -> bool {
        self.source.account != self.destination.account
    }
}

/// The replication role of one source account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoleRef {
    pub account: AccountId,
    pub name: String,
    pub region: Region,
    /// The role's IAM path (`/` unless an existing role has another, e.g. `/service-role/`):
    /// principals and rules must name the role by its full ARN, path included.
    #[serde(default = "root_path", skip_serializing_if = "is_root_path")]
    pub path: String,
}

fn root_path() -> String {
    "/".to_string()
}

fn is_root_path(p: &str) -> bool {
    p == "/"
}

impl RoleRef {
    pub fn arn(&self) -> String {
        format!(
            "arn:{}:iam::{}:role{}{}",
            partition(&self.region),
            self.account,
            self.path,
            self.name
        )
    }
}

/// Something crossrep will not do for one source bucket, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Conflict {
    pub account: AccountId,
    pub bucket: BucketName,
    /// The destination bucket, when the conflict is about one pair only.
    pub destination: Option<BucketName>,
    pub message: String,
    /// What to do about it, when there is something specific (shown apart, as `hint:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// A stable name of the reason, for programs (`destination_taken`, `unreadable`, …).
    #[serde(default)]
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DesiredState {
    /// Sorted by source, then destination.
    pub pairs: Vec<Pair>,
    /// One role per source account that has pairs.
    pub roles: BTreeMap<AccountId, RoleRef>,
    /// Pairs that cannot exist whatever the actual state is (two sources, one destination).
    pub conflicts: Vec<Conflict>,
    /// One report bucket per source account and region that has `backfill = "batch"` or
    /// `alerts` pairs (SPEC §4.6, §10), sorted.
    pub report_buckets: Vec<BucketRef>,
    /// Selected buckets whose names S3 no longer allows (legacy us-east-1 names with capitals
    /// or `_`): they cannot be sources of crossrep's rules, and the plan says so. Filled by
    /// listing (the names are not [`BucketName`]s).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legacy_names: Vec<(AccountId, String)>,
    /// `buckets` patterns that select no bucket of their source account (a typo, or every
    /// match excluded): (block index, source account, pattern). The plan warns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmatched: Vec<(usize, AccountId, String)>,
    /// `settings.alert_email`: subscribed to the alert topics (SPEC §10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_email: Option<String>,
}

impl DesiredState {
    /// The buckets crossrep would create if they did not exist: every pair's destination and
    /// every report bucket, as (account, name), with repeats.
    pub fn own_buckets(&self) -> impl Iterator<Item = (&AccountId, &BucketName)> {
        self.pairs
            .iter()
            .map(|p| (&p.destination.account, &p.destination.bucket))
            .chain(self.report_buckets.iter().map(|r| (&r.account, &r.bucket)))
    }
}

/// The report bucket of a source account in a region: `settings.report_bucket`, shortened like
/// destination names when needed.
pub fn report_bucket(config: &Config, account: &AccountId, region: &Region) -> Option<BucketName> {
    let rendered = config.settings.report_bucket.render(&BTreeMap::from([
        ("account", account.as_str()),
        ("region", region.as_str()),
    ]));
    shorten_bucket_name(&rendered).ok().map(|(name, _)| name)
}

/// Selects the source buckets of every `[[replication]]` block and names their destinations.
///
/// A bucket is a source of a block when its name matches one of `buckets` and none of
/// `exclude`, and it is neither a report bucket of its account nor the destination of any pair
/// of this config (so a second run never replicates the replicas).
pub fn desired(config: &Config, listing: &Listing) -> DesiredState {
    let mut pairs = Vec::new();
    let mut conflicts = Vec::new();
    let mut unmatched = Vec::new();
    // A `from = "organization"` block is expanded into one block per member account
    // (`organization::expand`) before this; one that is not has no accounts yet.
    for block in config
        .replication
        .iter()
        .filter(|b| b.from != crate::config::FROM_ORGANIZATION)
    {
        let index = block.index;
        let from = config.account(&block.from);
        let listed = listing.get(&from.id);
        for g in &block.buckets {
            let hit = listed.is_some_and(|b| {
                b.keys().any(|n| {
                    g.matches(n.as_str()) && !block.exclude.iter().any(|x| x.matches(n.as_str()))
                })
            });
            if !hit {
                unmatched.push((index, from.id.clone(), g.as_str().to_string()));
            }
        }
        let to = config.account(&block.to);
        let report = Glob::new(
            config
                .settings
                .report_bucket
                .render(&BTreeMap::from([("account", from.id.as_str())])),
        )
        .expect("a rendered template is a valid glob");
        let Some(buckets) = listing.get(&from.id) else {
            continue;
        };
        for (bucket, region) in buckets {
            let name = bucket.as_str();
            // The report bucket by its pattern, and by its final name (a long template is
            // shortened with a hash, which the pattern does not match).
            if !block.buckets.iter().any(|g| g.matches(name))
                || block.exclude.iter().any(|g| g.matches(name))
                || report.matches(name)
                || report_bucket(config, &from.id, region).as_ref() == Some(bucket)
            {
                continue;
            }
            let dest_region = match &block.destination_region {
                DestinationRegion::Same => region.clone(),
                DestinationRegion::Fixed(r) => r.clone(),
            };
            let rendered = block.destination.render(&BTreeMap::from([
                ("bucket", name),
                ("account", from.id.as_str()),
                ("region", dest_region.as_str()),
                ("dest_account", to.id.as_str()),
            ]));
            let (dest, shortened_from) = match shorten_bucket_name(&rendered) {
                Ok(v) => v,
                Err(e) => {
                    conflicts.push(Conflict {
                        account: from.id.clone(),
                        bucket: bucket.clone(),
                        destination: None,
                        message: format!("cannot derive a valid destination bucket name: {e}"),
                        hint: None,
                        code: "invalid_destination_name".into(),
                    });
                    continue;
                }
            };
            pairs.push(Pair {
                source: BucketRef {
                    account: from.id.clone(),
                    bucket: bucket.clone(),
                    region: region.clone(),
                },
                destination: BucketRef {
                    account: to.id.clone(),
                    bucket: dest,
                    region: dest_region,
                },
                shortened_from,
                rule: RuleSpec {
                    storage_class: block.storage_class.clone(),
                    delete_markers: block.delete_markers,
                    prefix: block.prefix.clone(),
                    tags: block.tags.clone(),
                    owner: block.owner,
                    replication_time: block.replication_time,
                    kms: block.kms.clone(),
                    alerts: block.alerts,
                },
                backfill: block.backfill,
                block: block.index,
            });
        }
    }

    // A bucket that is some pair's destination is never a source: a config whose destination
    // account is also a source account must not replicate the replicas.
    let destinations: BTreeSet<(AccountId, BucketName)> = pairs
        .iter()
        .map(|p| (p.destination.account.clone(), p.destination.bucket.clone()))
        .collect();
    pairs.retain(|p| !destinations.contains(&(p.source.account.clone(), p.source.bucket.clone())));

    // The same (source, destination) from two blocks: the first block wins, silently — it is
    // the same replication. Two different sources into one destination is a conflict, and so
    // is one name in two destination accounts: bucket names are global, and rule IDs
    // (`crossrep-<destination>`) would collide.
    pairs.sort_by(|a, b| {
        (&a.source, &a.destination, a.block).cmp(&(&b.source, &b.destination, b.block))
    });
    pairs.dedup_by(|b, a| a.source == b.source && a.destination == b.destination);
    let mut by_dest: BTreeMap<BucketName, Vec<usize>> = BTreeMap::new();
    for (i, p) in pairs.iter().enumerate() {
        by_dest
            .entry(p.destination.bucket.clone())
            .or_default()
            .push(i);
    }
    let mut dropped = BTreeSet::new();
    for idx in by_dest.values().filter(|v| v.len() > 1) {
        // The placeholder that tells these pairs apart: what differs between them.
        let differs = |f: &dyn Fn(&Pair) -> String| {
            idx.iter()
                .map(|&j| f(&pairs[j]))
                .collect::<BTreeSet<_>>()
                .len()
                > 1
        };
        let placeholder = if differs(&|p| p.destination.account.to_string()) {
            "{dest_account}"
        } else if differs(&|p| p.source.account.to_string()) {
            "{account}"
        } else if differs(&|p| p.source.region.to_string()) {
            "{region}"
        } else {
            "{bucket}"
        };
        for &i in idx {
            let p = &pairs[i];
            let others: Vec<String> = idx
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| {
                    format!(
                        "`{}` ({}) into {}",
                        pairs[j].source.bucket,
                        pairs[j].source.account,
                        pairs[j].destination.account
                    )
                })
                .collect();
            conflicts.push(Conflict {
                account: p.source.account.clone(),
                bucket: p.source.bucket.clone(),
                destination: Some(p.destination.bucket.clone()),
                message: format!(
                    "destination `{}` is also the destination of {} (bucket names are global); make the `destination` template unique with `{placeholder}`",
                    p.destination.bucket,
                    others.join(", ")
                ),
                hint: None,
                code: "destination_shared".into(),
            });
            dropped.insert(i);
        }
    }
    let pairs: Vec<Pair> = pairs
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !dropped.contains(i))
        .map(|(_, p)| p)
        .collect();

    let mut roles = BTreeMap::new();
    for p in &pairs {
        let home = &config
            .accounts
            .values()
            .find(|a| a.id == p.source.account)
            .expect("pairs come from configured accounts")
            .region;
        roles
            .entry(p.source.account.clone())
            .or_insert_with(|| RoleRef {
                account: p.source.account.clone(),
                name: config.settings.role_name.clone(),
                region: home.clone(),
                path: root_path(),
            });
    }
    // Backfill manifests and reports, and the failure summaries of alerts (SPEC §10).
    let report_buckets: BTreeSet<BucketRef> = pairs
        .iter()
        .filter(|p| p.backfill == Backfill::Batch || p.rule.alerts)
        .filter_map(|p| {
            report_bucket(config, &p.source.account, &p.source.region).map(|bucket| BucketRef {
                account: p.source.account.clone(),
                bucket,
                region: p.source.region.clone(),
            })
        })
        .collect();
    conflicts.sort();
    DesiredState {
        pairs,
        roles,
        conflicts,
        report_buckets: report_buckets.into_iter().collect(),
        legacy_names: Vec::new(),
        unmatched,
        alert_email: config.settings.alert_email.clone(),
    }
}

/// The pairs with each bucket's region as discovery found it, for reports (`status`,
/// `verify`): a destination that exists in another region than the configured one is a
/// conflict for the planner, but a report must say where the bucket really is (SPEC §4.1).
/// Buckets not found (or not readable) keep the configured region.
pub fn located(pairs: &[Pair], actual: &crate::kinds::ActualState) -> Vec<Pair> {
    use crate::kinds::{bucket::Bucket, BucketAddr};
    let region = |b: &BucketRef| {
        actual
            .present::<Bucket>(&BucketAddr::new(&b.account, &b.bucket))
            .map_or_else(|| b.region.clone(), |spec| spec.region.clone())
    };
    pairs
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.source.region = region(&p.source);
            p.destination.region = region(&p.destination);
            p
        })
        .collect()
}

/// The source accounts of a config and, for each, whether a bucket name can be a source of
/// any block (used to skip regions lookups of buckets no block selects).
pub fn selects(config: &Config, account: &AccountId, bucket: &str) -> bool {
    config.replication.iter().any(|block| {
        block.from != crate::config::FROM_ORGANIZATION
            && config.account(&block.from).id == *account
            && block.buckets.iter().any(|g| g.matches(bucket))
            && !block.exclude.iter().any(|g| g.matches(bucket))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(extra: &str) -> Config {
        Config::parse(
            &format!(
                r#"
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
exclude = ["cdk-*"]
{extra}
"#
            ),
            Path::new("t.toml"),
        )
        .unwrap()
    }

    fn listing(names: &[(&str, &str)]) -> Listing {
        BTreeMap::from([(
            AccountId::new("111111111111").unwrap(),
            names
                .iter()
                .map(|(b, r)| (BucketName::new(*b).unwrap(), Region::new(*r).unwrap()))
                .collect(),
        )])
    }

    #[test]
    fn selects_and_names() {
        let d = desired(
            &config(""),
            &listing(&[
                ("data", "eu-west-1"),
                ("cdk-assets", "us-east-1"),
                ("crossrep-reports-111111111111-us-east-1", "us-east-1"),
            ]),
        );
        assert_eq!(d.pairs.len(), 1);
        let p = &d.pairs[0];
        assert_eq!(p.destination.bucket.as_str(), "replicated-data");
        assert_eq!(p.destination.region.as_str(), "eu-west-1");
        assert_eq!(p.destination.account.as_str(), "222222222222");
        assert_eq!(d.roles.len(), 1);
        assert_eq!(
            d.roles.values().next().unwrap().arn(),
            "arn:aws:iam::111111111111:role/crossrep-replication"
        );
    }

    #[test]
    fn located_pairs_carry_the_region_discovery_found() {
        use crate::kinds::{bucket::BucketSpec, BucketAddr};
        use crate::observed::Observed;
        let d = desired(&config(""), &listing(&[("data", "eu-west-1")]));
        let p = &d.pairs[0];
        let mut actual = crate::kinds::ActualState::default();
        // The destination exists, in another region than the configured one.
        actual.bucket.insert(
            BucketAddr::new(&p.destination.account, &p.destination.bucket),
            Observed::Present(BucketSpec::at(Region::new("ap-south-1").unwrap())),
        );
        let located = located(&d.pairs, &actual);
        assert_eq!(located[0].destination.region.as_str(), "ap-south-1");
        // The source was not read here: its configured (listed) region stays.
        assert_eq!(located[0].source.region.as_str(), "eu-west-1");
        assert_eq!(
            p.destination.region.as_str(),
            "eu-west-1",
            "input untouched"
        );
    }

    /// Issue 9 (REVIEW R11): a report bucket whose template renders over 63 characters is
    /// shortened with a hash, which the template's pattern does not match: it became a source.
    #[test]
    fn a_shortened_report_bucket_is_never_a_source() {
        let c = config(
            "[settings]\nreport_bucket = \"crossrep-backfill-completion-reports-of-{account}-in-{region}\"",
        );
        let account = AccountId::new("111111111111").unwrap();
        let region = Region::new("eu-west-1").unwrap();
        let report = report_bucket(&c, &account, &region).unwrap();
        assert_eq!(report.as_str().len(), 63, "{report}");
        let d = desired(
            &c,
            &listing(&[("data", "eu-west-1"), (report.as_str(), "eu-west-1")]),
        );
        let sources: Vec<&str> = d.pairs.iter().map(|p| p.source.bucket.as_str()).collect();
        assert_eq!(sources, ["data"]);
    }

    /// Issue 9: `buckets = ["alpah"]` (a typo) selected nothing, silently.
    #[test]
    fn a_pattern_that_selects_nothing_is_recorded() {
        let c = config("");
        let d = desired(
            &c,
            &listing(&[("data", "eu-west-1"), ("cdk-assets", "eu-west-1")]),
        );
        assert!(d.unmatched.is_empty(), "{:?}", d.unmatched);
        let c = Config::parse(
            r#"
[accounts.prod]
id = "111111111111"
region = "us-east-1"
[accounts.backup]
id = "222222222222"
region = "us-west-2"
[[replication]]
from = "prod"
to = "backup"
buckets = ["data", "alpah", "cdk-*"]
exclude = ["cdk-*"]
"#,
            Path::new("t.toml"),
        )
        .unwrap();
        let d = desired(
            &c,
            &listing(&[("data", "eu-west-1"), ("cdk-assets", "eu-west-1")]),
        );
        let patterns: Vec<&str> = d.unmatched.iter().map(|u| u.2.as_str()).collect();
        assert_eq!(patterns, ["alpah", "cdk-*"]);
    }

    #[test]
    fn long_names_are_shortened() {
        let long = format!("a{}", "b".repeat(60));
        let d = desired(&config(""), &listing(&[(long.as_str(), "us-east-1")]));
        let p = &d.pairs[0];
        assert_eq!(p.destination.bucket.as_str().len(), 63);
        assert_eq!(
            p.shortened_from.as_deref(),
            Some(format!("replicated-{long}").as_str())
        );
    }

    #[test]
    fn destinations_are_never_sources() {
        // Same-account replication: `replicated-data` is in the listing too.
        let c = Config::parse(
            r#"
[accounts.prod]
id = "111111111111"
region = "us-east-1"
[[replication]]
from = "prod"
to = "prod"
buckets = ["*"]
destination_region = "eu-west-1"
"#,
            Path::new("t.toml"),
        )
        .unwrap();
        let d = desired(
            &c,
            &listing(&[("data", "us-east-1"), ("replicated-data", "eu-west-1")]),
        );
        let names: Vec<&str> = d.pairs.iter().map(|p| p.source.bucket.as_str()).collect();
        assert_eq!(names, ["data"]);
    }

    #[test]
    fn two_sources_one_destination_conflict() {
        let c = config(
            r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["data"]
destination = "replicated-{bucket}-x"
[[replication]]
from = "prod"
to = "backup"
buckets = ["data-x"]
destination = "replicated-{bucket}"
"#,
        );
        let d = desired(
            &c,
            &listing(&[("data", "us-east-1"), ("data-x", "us-east-1")]),
        );
        // data -> replicated-data (block 0) and data -> replicated-data-x (block 1) and
        // data-x -> replicated-data-x (blocks 0 and 2): replicated-data-x has two sources.
        assert_eq!(d.pairs.len(), 1, "{:#?}", d.pairs);
        assert_eq!(d.conflicts.len(), 2);
        assert!(d.conflicts[0].message.contains("also the destination of"));
    }
}
