//! A source bucket's replication configuration: crossrep's V2 rules `crossrep-<destination>`
//! merged by rule ID into the existing configuration, every other rule kept verbatim and in
//! place, priorities unique. PutBucketReplication replaces the whole configuration.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ActualState, BucketAddr, Kind};
use crate::config::Owner;
use crate::desired::Pair;
use crate::model::{Destination, Filter, ReplicationConfiguration, Rule, RULE_PREFIX};
use crate::names::{BucketName, Region};
use crate::observed::Observed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replication;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationSpec {
    pub configuration: ReplicationConfiguration,
}

impl Kind for Replication {
    const NAME: &'static str = "replication";
    const PHASE: u8 = 3;
    type Addr = BucketAddr;
    type Spec = ReplicationSpec;

    fn describe(addr: &BucketAddr, region: &Region) -> String {
        format!(
            "replication configuration of `{}` in {} ({region})",
            addr.bucket, addr.account
        )
    }

    fn same(actual: &ReplicationSpec, want: &ReplicationSpec) -> bool {
        same_replication(&actual.configuration, &want.configuration)
    }

    fn show(spec: &ReplicationSpec) -> Value {
        serde_json::to_value(&spec.configuration).unwrap_or(Value::Null)
    }

    fn bucket_default(b: &BucketAddr) -> Option<(BucketAddr, Observed<ReplicationSpec>)> {
        Some((b.clone(), Observed::Absent))
    }

    super::stored_as!(Replication, replication);
}

/// What removing crossrep's rules leaves (destroy): `None` when it has none, `Some(None)` when
/// no other rule is left (delete the configuration), `Some(Some(config))` otherwise.
pub fn clean(config: &ReplicationConfiguration) -> Option<Option<ReplicationConfiguration>> {
    if !config.rules.iter().any(Rule::is_managed) {
        return None;
    }
    let rest: Vec<Rule> = config
        .rules
        .iter()
        .filter(|r| !r.is_managed())
        .cloned()
        .collect();
    if rest.is_empty() {
        return Some(None);
    }
    Some(Some(ReplicationConfiguration {
        role: config.role.clone(),
        rules: rest,
    }))
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
            // Failure events and the `OperationsFailedReplication` metric need metrics on
            // (AWS-NOTES, alerts); Replication Time Control needs them too.
            metrics_enabled: r.replication_time || r.alerts,
            metrics_minutes: r.replication_time.then_some(15),
        },
    }
}

pub fn rule_id(destination: &BucketName) -> String {
    format!("{RULE_PREFIX}{destination}")
}

/// The pair's rule (`crossrep-<destination>`) in a configuration.
pub fn pair_rule<'c>(config: &'c ReplicationConfiguration, pair: &Pair) -> Option<&'c Rule> {
    let id = rule_id(&pair.destination.bucket);
    config
        .rules
        .iter()
        .find(|r| r.id.as_deref() == Some(id.as_str()))
}

/// The pair's rule as discovery found it on its source.
pub fn current_rule<'a>(actual: &'a ActualState, pair: &Pair) -> Option<&'a Rule> {
    let src = BucketAddr::new(&pair.source.account, &pair.source.bucket);
    pair_rule(&actual.present::<Replication>(&src)?.configuration, pair)
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
        if let (Some(p), Some(id)) = (r.priority, r.id.as_deref()) {
            if used.insert(p) {
                priorities.insert(id, p);
            }
        }
    }
    let mut sorted: Vec<&Rule> = ours.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    // crossrep's rules always have an ID (`rule_id`); one without is kept without a priority.
    for id in sorted.iter().filter_map(|r| r.id.as_deref()) {
        if !priorities.contains_key(id) {
            // The set of used priorities is finite, so a free one exists.
            let p = (1..=i32::MAX)
                .find(|p| !used.contains(p))
                .unwrap_or(i32::MAX);
            used.insert(p);
            priorities.insert(id, p);
        }
    }
    let with_priority = |r: &Rule| {
        let mut r = r.clone();
        r.priority = r.id.as_deref().and_then(|id| priorities.get(id).copied());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Destination;

    fn rule(id: &str, priority: Option<i32>, prefix: Option<&str>) -> Rule {
        Rule {
            id: Some(id.to_string()),
            priority,
            enabled: true,
            prefix: None,
            filter: Some(Filter {
                prefix: prefix.map(str::to_string),
                ..Filter::default()
            }),
            delete_marker_replication: Some(true),
            sse_kms_encrypted_objects: None,
            replica_modifications: None,
            existing_object_replication: None,
            destination: Destination {
                bucket: format!("arn:aws:s3:::{id}-target"),
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

    fn spec(rules: Vec<Rule>) -> ReplicationSpec {
        ReplicationSpec {
            configuration: ReplicationConfiguration {
                role: "arn:aws:iam::111111111111:role/crossrep-replication".into(),
                rules,
            },
        }
    }

    #[test]
    fn an_empty_prefix_is_no_prefix_and_and_is_a_shape() {
        let mut read_back = rule("crossrep-a", Some(1), None);
        if let Some(f) = &mut read_back.filter {
            f.and = true; // how S3 returns a filter it needed `And` for, or not
        }
        assert!(Replication::same(
            &spec(vec![rule("crossrep-a", Some(1), Some(""))]),
            &spec(vec![read_back])
        ));
        assert!(!Replication::same(
            &spec(vec![rule("crossrep-a", Some(1), Some("logs/"))]),
            &spec(vec![rule("crossrep-a", Some(1), None)])
        ));
        assert!(!Replication::same(
            &spec(vec![rule("crossrep-a", Some(1), None)]),
            &spec(vec![rule("crossrep-a", Some(2), None)])
        ));
    }

    #[test]
    fn merge_keeps_foreign_rules_in_place_with_unique_priorities() {
        let existing = spec(vec![
            rule("theirs", Some(1), Some("x/")),
            rule("crossrep-a", Some(1), None),
        ])
        .configuration;
        let ours = vec![
            rule("crossrep-b", None, None),
            rule("crossrep-a", None, None),
        ];
        let merged = merge_replication(Some(&existing), &existing.role, &ours);
        let got: Vec<(Option<&str>, Option<i32>)> = merged
            .rules
            .iter()
            .map(|r| (r.id.as_deref(), r.priority))
            .collect();
        // Theirs keeps 1; ours was on 1 too, so it takes the next free one; the new one after.
        assert_eq!(
            got,
            [
                (Some("theirs"), Some(1)),
                (Some("crossrep-a"), Some(2)),
                (Some("crossrep-b"), Some(3))
            ]
        );
        assert_eq!(merged.rules[0], existing.rules[0]);
    }

    #[test]
    fn clean_removes_only_crossreps_rules() {
        let both = spec(vec![
            rule("theirs", Some(1), None),
            rule("crossrep-a", Some(2), None),
        ]);
        let Some(Some(left)) = clean(&both.configuration) else {
            panic!("their rule must stay")
        };
        assert_eq!(left.rules, vec![rule("theirs", Some(1), None)]);
        assert_eq!(clean(&left), None);
        let ours = spec(vec![rule("crossrep-a", Some(2), None)]);
        assert_eq!(clean(&ours.configuration), Some(None));
    }
}
