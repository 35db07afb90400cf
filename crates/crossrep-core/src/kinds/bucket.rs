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
    /// Created with Object Lock (the destination of an Object Lock source). It cannot be
    /// added later by crossrep: enabling it on an existing bucket is irreversible.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub object_lock: bool,
}

impl BucketSpec {
    /// A bucket in `region` (as discovery records one: whether it has Object Lock is the
    /// `object_lock` kind's to say; `object_lock` here is only how a new bucket is created).
    pub fn at(region: Region) -> BucketSpec {
        BucketSpec {
            region,
            object_lock: false,
        }
    }
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
        let mut v = json!({"region": spec.region});
        if spec.object_lock {
            v["object_lock"] = json!(true);
        }
        v
    }

    /// A bucket created has nothing configured yet.
    fn apply_in_memory(state: &mut super::ActualState, change: &super::Change<Bucket>) {
        match &change.after {
            Some(spec) => {
                state.insert_plain_bucket(&change.addr, &spec.region);
                if spec.object_lock {
                    // S3 enables versioning with Object Lock at creation.
                    state.set::<super::object_lock::ObjectLock>(
                        change.addr.clone(),
                        crate::observed::Observed::Present(super::object_lock::ObjectLockSpec {
                            enabled: true,
                        }),
                    );
                    state.set::<super::versioning::Versioning>(
                        change.addr.clone(),
                        crate::observed::Observed::Present(
                            super::versioning::VersioningSpec::ENABLED,
                        ),
                    );
                }
            }
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
            object_lock: false,
        };
        let west = BucketSpec {
            region: Region::new("eu-west-1").unwrap(),
            object_lock: true,
        };
        assert!(Bucket::same(&east, &west));
    }
}
