//! Bucket: CreateBucket in the change's region. Existence and region are read by discovery
//! (ListBuckets, GetBucketLocation, HeadBucket); crossrep never deletes a bucket.

use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

use crossrep_core::kinds::bucket::Bucket;
use crossrep_core::kinds::Change;

use super::never_deleted;
use crate::error::{call_error, CallError};
use crate::session::Sessions;

pub(crate) async fn apply(c: &Change<Bucket>, sessions: &Sessions) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let bucket = c.addr.bucket.as_str();
    let Some(spec) = &c.after else {
        return Err(never_deleted(account, "bucket", bucket));
    };
    let s3 = session.s3(&c.region);
    let mut req = s3.create_bucket().bucket(bucket);
    if spec.object_lock {
        // The destination of an Object Lock source (S3 also enables versioning with it).
        req = req.object_lock_enabled_for_bucket(true);
    }
    // us-east-1 takes no LocationConstraint (sending it is InvalidLocationConstraint);
    // every other region requires one matching the endpoint.
    if c.region.as_str() != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(c.region.as_str()))
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => Ok(()),
        // Ours already (an interrupted apply, or us-east-1's legacy answer): carry on; its
        // settings are changes of their own.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(e) => Err(call_error(e, account, "s3:CreateBucket", bucket)),
    }
}
