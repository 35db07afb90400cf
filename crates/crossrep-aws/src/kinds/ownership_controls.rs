//! Object Ownership: GetBucketOwnershipControls (`OwnershipControlsNotFoundError`: none),
//! PutBucketOwnershipControls.

use aws_sdk_s3::types::{ObjectOwnership, OwnershipControls as SdkControls, OwnershipControlsRule};

use crossrep_core::kinds::ownership_controls::{OwnershipControls, OwnershipSpec};
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
) -> Observed<OwnershipSpec> {
    let r = s3
        .get_bucket_ownership_controls()
        .bucket(bucket.as_str())
        .send()
        .await;
    observed(r, &["OwnershipControlsNotFoundError"], |e| {
        call_error(e, account, "s3:GetBucketOwnershipControls", bucket.as_str())
    })
    .and_then(|out| {
        let rule = out
            .ownership_controls()
            .and_then(|c| c.rules().first())
            .map(|r| r.object_ownership().as_str().to_string());
        Observed::from_option(rule.map(|object_ownership| OwnershipSpec { object_ownership }))
    })
}

pub(crate) async fn apply(
    c: &Change<OwnershipControls>,
    sessions: &Sessions,
) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let bucket = c.addr.bucket.as_str();
    let Some(spec) = &c.after else {
        return Err(never_deleted(account, "bucket ownership control", bucket));
    };
    let invalid = |e| CallError::invalid(account, "s3:PutBucketOwnershipControls", bucket, e);
    let rule = OwnershipControlsRule::builder()
        .object_ownership(ObjectOwnership::from(spec.object_ownership.as_str()))
        .build()
        .map_err(invalid)?;
    let controls = SdkControls::builder()
        .rules(rule)
        .build()
        .map_err(invalid)?;
    let s3 = session.s3(&c.region);
    super::retry_aborted(|| async {
        s3.put_bucket_ownership_controls()
            .bucket(bucket)
            .ownership_controls(controls.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| call_error(e, account, "s3:PutBucketOwnershipControls", bucket))
    })
    .await
}
