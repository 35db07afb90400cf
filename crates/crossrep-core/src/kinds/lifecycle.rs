//! A bucket's lifecycle configuration: on report buckets, one rule `crossrep-expire-reports`
//! that expires manifests and reports after 30 days. PutBucketLifecycleConfiguration replaces
//! the whole configuration, so crossrep's rule is merged by ID; a rule crossrep cannot model
//! (transitions, filters, noncurrent-version actions...) could not be written back unchanged,
//! so a configuration holding one is left alone.

use serde::{Deserialize, Serialize};

use super::{BucketAddr, Kind};
use crate::names::Region;
use crate::observed::Observed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle;

/// One lifecycle rule: enabled or not, expiring every object of the bucket after some days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRule {
    pub id: Option<String>,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_after_days: Option<u32>,
    /// The rule has parts this model does not hold (a filter, transitions, ...): discovery
    /// says so rather than losing them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unmodelled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LifecycleSpec {
    pub rules: Vec<LifecycleRule>,
}

pub const RULE_ID: &str = "crossrep-expire-reports";

pub fn our_rule(days: u32) -> LifecycleRule {
    LifecycleRule {
        id: Some(RULE_ID.to_string()),
        enabled: true,
        expire_after_days: Some(days),
        unmodelled: false,
    }
}

/// `existing` with crossrep's rule in place of the one with its ID (or appended); `Err` with
/// the reason when a rule there could not be written back unchanged.
pub fn merged(existing: Option<&LifecycleSpec>, days: u32) -> Result<LifecycleSpec, String> {
    let ours = our_rule(days);
    let mut rules = Vec::new();
    let mut placed = false;
    for r in existing.map(|e| e.rules.as_slice()).unwrap_or_default() {
        if r.id == ours.id {
            if !placed {
                rules.push(ours.clone());
                placed = true;
            }
        } else if r.unmodelled {
            return Err(format!(
                "its lifecycle rule `{}` has settings crossrep cannot write back unchanged",
                r.id.as_deref().unwrap_or("(no id)")
            ));
        } else {
            rules.push(r.clone());
        }
    }
    if !placed {
        rules.push(ours);
    }
    Ok(LifecycleSpec { rules })
}

impl Kind for Lifecycle {
    const NAME: &'static str = "lifecycle";
    const PHASE: u8 = 1;
    type Addr = BucketAddr;
    type Spec = LifecycleSpec;

    fn describe(addr: &BucketAddr, _: &Region) -> String {
        format!(
            "lifecycle rules of bucket `{}` in {}",
            addr.bucket, addr.account
        )
    }

    fn bucket_default(b: &BucketAddr) -> Option<(BucketAddr, Observed<LifecycleSpec>)> {
        Some((b.clone(), Observed::Absent))
    }

    super::stored_as!(Lifecycle, lifecycle);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, days: u32) -> LifecycleRule {
        LifecycleRule {
            id: Some(id.into()),
            enabled: true,
            expire_after_days: Some(days),
            unmodelled: false,
        }
    }

    #[test]
    fn merge_by_id_keeps_other_rules_in_place() {
        assert_eq!(merged(None, 30).unwrap().rules, vec![our_rule(30)]);
        let existing = LifecycleSpec {
            rules: vec![rule("theirs", 7), rule(RULE_ID, 90), rule("more", 1)],
        };
        assert_eq!(
            merged(Some(&existing), 30).unwrap().rules,
            vec![rule("theirs", 7), our_rule(30), rule("more", 1)]
        );
        let done = merged(Some(&existing), 30).unwrap();
        assert!(Lifecycle::same(&merged(Some(&done), 30).unwrap(), &done));
    }

    #[test]
    fn a_rule_that_cannot_be_written_back_stops_the_merge() {
        let existing = LifecycleSpec {
            rules: vec![LifecycleRule {
                unmodelled: true,
                ..rule("archive", 365)
            }],
        };
        let e = merged(Some(&existing), 30).unwrap_err();
        assert!(e.contains("`archive`"), "{e}");
    }
}
