//! Object Lock: GetObjectLockConfiguration (`ObjectLockConfigurationNotFoundError`: none).
//! Observed only: crossrep enables Object Lock only when it creates a destination
//! (`CreateBucket` with `ObjectLockEnabledForBucket`, `bucket.rs`).

use aws_sdk_s3::types::ObjectLockEnabled;

use crossrep_core::kinds::object_lock::{ObjectLock, ObjectLockSpec};
use crossrep_core::kinds::Change;
use crossrep_core::names::BucketName;
use crossrep_core::observed::Observed;

use super::{never_deleted, observed};
use crate::error::{call_error, CallError};
use crate::session::Sessions;

pub(crate) async fn read(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
) -> Observed<ObjectLockSpec> {
    let r = s3
        .get_object_lock_configuration()
        .bucket(bucket.as_str())
        .send()
        .await
        .map(|out| ObjectLockSpec {
            enabled: out
                .object_lock_configuration()
                .and_then(|c| c.object_lock_enabled())
                == Some(&ObjectLockEnabled::Enabled),
        });
    observed(r, &["ObjectLockConfigurationNotFoundError"], |e| {
        call_error(
            e,
            account,
            "s3:GetBucketObjectLockConfiguration",
            bucket.as_str(),
        )
    })
}

pub(crate) async fn apply(c: &Change<ObjectLock>, sessions: &Sessions) -> Result<(), CallError> {
    let account = sessions.get(&c.addr.account).id.as_str();
    Err(never_deleted(
        account,
        "Object Lock configuration",
        c.addr.bucket.as_str(),
    ))
}
