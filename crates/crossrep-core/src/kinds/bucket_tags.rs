//! A bucket's tag set. crossrep tags the buckets it creates `managed-by=crossrep`; that tag is
//! how a later run (and `destroy`, and source selection) knows them. PutBucketTagging
//! replaces the whole set, so crossrep's tag is merged into what is there.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{BucketAddr, Kind};
use crate::model::MANAGED_TAG;
use crate::names::Region;
use crate::observed::Observed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketTags;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BucketTagsSpec {
    pub tags: BTreeMap<String, String>,
}

impl BucketTagsSpec {
    pub fn is_managed(&self) -> bool {
        self.tags.get(MANAGED_TAG.0).map(String::as_str) == Some(MANAGED_TAG.1)
    }
}

/// `existing` with crossrep's tag added (every other tag kept as it is).
pub fn merged(existing: Option<&BucketTagsSpec>) -> BucketTagsSpec {
    let mut tags = existing.map(|e| e.tags.clone()).unwrap_or_default();
    tags.insert(MANAGED_TAG.0.to_string(), MANAGED_TAG.1.to_string());
    BucketTagsSpec { tags }
}

impl Kind for BucketTags {
    const NAME: &'static str = "bucket_tags";
    const PHASE: u8 = 1;
    type Addr = BucketAddr;
    type Spec = BucketTagsSpec;

    fn describe(addr: &BucketAddr, _: &Region) -> String {
        format!("tags of bucket `{}` in {}", addr.bucket, addr.account)
    }

    fn bucket_default(b: &BucketAddr) -> Option<(BucketAddr, Observed<BucketTagsSpec>)> {
        Some((b.clone(), Observed::Absent))
    }

    super::stored_as!(BucketTags, bucket_tags);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(tags: &[(&str, &str)]) -> BucketTagsSpec {
        BucketTagsSpec {
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn merge_adds_crossreps_tag_and_keeps_the_others() {
        assert_eq!(merged(None), spec(&[MANAGED_TAG]));
        let theirs = spec(&[("owner", "dr-team"), ("managed-by", "terraform")]);
        // A foreign `managed-by` is replaced only if crossrep was asked to manage the bucket,
        // which the planner never does for a bucket tagged by someone else.
        assert_eq!(merged(Some(&theirs)).tags["owner"], "dr-team");
        assert!(merged(Some(&theirs)).is_managed());
        assert!(BucketTags::same(
            &merged(Some(&spec(&[("a", "1")]))),
            &spec(&[("a", "1"), MANAGED_TAG])
        ));
        assert!(!BucketTags::same(
            &spec(&[("a", "1")]),
            &spec(&[("a", "1"), MANAGED_TAG])
        ));
    }
}
