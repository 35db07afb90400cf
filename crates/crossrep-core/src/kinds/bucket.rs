//! A bucket's existence and region. crossrep creates destination and report buckets and never
//! updates or deletes one; its settings are sub-resources of their own (tags, ownership
//! controls, lifecycle, versioning, policy, replication), each compared and repaired.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{BucketAddr, Kind};
use crate::names::Region;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketSpec {
    pub region: Region,
}

impl Kind for Bucket {
    const NAME: &'static str = "bucket";
    const PHASE: u8 = 0;
    type Addr = BucketAddr;
    type Spec = BucketSpec;

    fn describe(addr: &BucketAddr, region: &Region) -> String {
        format!("bucket `{}` in {} ({region})", addr.bucket, addr.account)
    }

    /// An existing bucket is used where it is: a bucket is never moved or re-created.
    fn same(_: &BucketSpec, _: &BucketSpec) -> bool {
        true
    }

    fn show(spec: &BucketSpec) -> Value {
        json!({"region": spec.region})
    }

    /// A bucket created has nothing configured yet.
    fn apply_in_memory(state: &mut super::ActualState, change: &super::Change<Bucket>) {
        match &change.after {
            Some(spec) => state.insert_plain_bucket(&change.addr, &spec.region),
            None => {
                state
                    .bucket
                    .insert(change.addr.clone(), crate::observed::Observed::Absent);
            }
        }
    }

    super::stored_as!(Bucket, bucket);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_bucket_is_never_updated_even_in_another_region() {
        let east = BucketSpec {
            region: Region::new("us-east-1").unwrap(),
        };
        let west = BucketSpec {
            region: Region::new("eu-west-1").unwrap(),
        };
        assert!(Bucket::same(&east, &west));
    }
}
