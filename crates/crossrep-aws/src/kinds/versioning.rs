//! Versioning: GetBucketVersioning, PutBucketVersioning.

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};

use crossrep_core::kinds::versioning::{Versioning, VersioningSpec};
use crossrep_core::kinds::Change;
use crossrep_core::model;
use crossrep_core::names::BucketName;
use crossrep_core::observed::Observed;

use super::{never_deleted, observed};
use crate::error::{call_error, CallError};
use crate::session::Sessions;

pub(crate) async fn read(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
) -> Observed<VersioningSpec> {
    let r = s3
        .get_bucket_versioning()
        .bucket(bucket.as_str())
        .send()
        .await
        .map(|out| VersioningSpec {
            status: match out.status() {
                Some(BucketVersioningStatus::Enabled) => model::Versioning::Enabled,
                Some(BucketVersioningStatus::Suspended) => model::Versioning::Suspended,
                _ => model::Versioning::Off,
            },
        });
    observed(r, &[], |e| {
        call_error(e, account, "s3:GetBucketVersioning", bucket.as_str())
    })
}

pub(crate) async fn apply(c: &Change<Versioning>, sessions: &Sessions) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let bucket = c.addr.bucket.as_str();
    let Some(spec) = &c.after else {
        return Err(never_deleted(account, "versioning configuration", bucket));
    };
    let status = match spec.status {
        model::Versioning::Enabled => BucketVersioningStatus::Enabled,
        model::Versioning::Suspended | model::Versioning::Off => BucketVersioningStatus::Suspended,
    };
    let s3 = session.s3(&c.region);
    let body = VersioningConfiguration::builder().status(status).build();
    super::retry_aborted(|| async {
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(body.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| call_error(e, account, "s3:PutBucketVersioning", bucket))
    })
    .await
}
