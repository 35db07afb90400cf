//! Default encryption: GetBucketEncryption (`ServerSideEncryptionConfigurationNotFoundError`:
//! none). Observed only: crossrep never writes a bucket's encryption.

use crossrep_core::kinds::bucket_encryption::{BucketEncryption, EncryptionSpec};
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
) -> Observed<EncryptionSpec> {
    let r = s3
        .get_bucket_encryption()
        .bucket(bucket.as_str())
        .send()
        .await;
    observed(
        r,
        &["ServerSideEncryptionConfigurationNotFoundError"],
        |e| call_error(e, account, "s3:GetEncryptionConfiguration", bucket.as_str()),
    )
    .and_then(|out| {
        // The first rule is the default (S3 holds one).
        let rule = out
            .server_side_encryption_configuration()
            .and_then(|c| c.rules().first());
        Observed::from_option(rule.and_then(|r| {
            let default = r.apply_server_side_encryption_by_default()?;
            Some(EncryptionSpec {
                algorithm: default.sse_algorithm().as_str().to_string(),
                kms_key: default.kms_master_key_id().map(str::to_string),
                bucket_key: r.bucket_key_enabled().unwrap_or(false),
            })
        }))
    })
}

pub(crate) async fn apply(
    c: &Change<BucketEncryption>,
    sessions: &Sessions,
) -> Result<(), CallError> {
    let account = sessions.get(&c.addr.account).id.as_str();
    // No plan writes a bucket's encryption; refuse rather than guess.
    Err(never_deleted(
        account,
        "bucket encryption configuration",
        c.addr.bucket.as_str(),
    ))
}
