//! A bucket's Object Ownership (ownership controls). Destinations with `owner = "destination"`
//! and report buckets use `BucketOwnerEnforced`: ACLs disabled, the bucket owner owns every
//! object, replicas included.

use serde::{Deserialize, Serialize};

use super::{BucketAddr, Kind};
use crate::names::Region;
use crate::observed::Observed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnershipControls;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnershipSpec {
    pub object_ownership: String,
}

pub const BUCKET_OWNER_ENFORCED: &str = "BucketOwnerEnforced";

impl OwnershipSpec {
    pub fn enforced() -> OwnershipSpec {
        OwnershipSpec {
            object_ownership: BUCKET_OWNER_ENFORCED.to_string(),
        }
    }
}

impl Kind for OwnershipControls {
    const NAME: &'static str = "ownership_controls";
    const PHASE: u8 = 1;
    type Addr = BucketAddr;
    type Spec = OwnershipSpec;

    fn describe(addr: &BucketAddr, _: &Region) -> String {
        format!(
            "object ownership of bucket `{}` in {}",
            addr.bucket, addr.account
        )
    }

    /// New buckets have had ACLs disabled by default since April 2023 (AWS "Default settings
    /// for new S3 buckets FAQ").
    fn bucket_default(b: &BucketAddr) -> Option<(BucketAddr, Observed<OwnershipSpec>)> {
        Some((b.clone(), Observed::Present(OwnershipSpec::enforced())))
    }

    super::stored_as!(OwnershipControls, ownership_controls);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_the_setting() {
        let preferred = OwnershipSpec {
            object_ownership: "BucketOwnerPreferred".into(),
        };
        assert!(OwnershipControls::same(
            &OwnershipSpec::enforced(),
            &OwnershipSpec::enforced()
        ));
        assert!(!OwnershipControls::same(
            &preferred,
            &OwnershipSpec::enforced()
        ));
    }
}
