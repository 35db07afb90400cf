//! Default encryption: GetBucketEncryption (`ServerSideEncryptionConfigurationNotFoundError`:
//! none), PutBucketEncryption (only on destinations crossrep manages, to accept SSE-C
//! replicas: `BlockedEncryptionTypes`).

use aws_sdk_s3::types::{
    BlockedEncryptionTypes, EncryptionType, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};

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
                sse_c_blocked: r
                    .blocked_encryption_types()
                    .is_some_and(|b| b.encryption_type().contains(&EncryptionType::SseC)),
            })
        }))
    })
}

pub(crate) async fn apply(
    c: &Change<BucketEncryption>,
    sessions: &Sessions,
) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let bucket = c.addr.bucket.as_str();
    let Some(spec) = &c.after else {
        return Err(never_deleted(
            account,
            "bucket encryption configuration",
            bucket,
        ));
    };
    let s3 = session.s3(&c.region);
    // The document replaces the bucket's: written only over what the plan saw (a bucket this
    // run created has S3's default, which the plan assumed).
    if c.before.is_some() {
        let now = read(&s3, account, &c.addr.bucket).await;
        super::unchanged_since_plan(now, c, account, "s3:PutEncryptionConfiguration")?;
    }
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::from(spec.algorithm.as_str()))
        .set_kms_master_key_id(spec.kms_key.clone())
        .build()
        .map_err(|e| CallError::invalid(account, "s3:PutEncryptionConfiguration", bucket, e))?;
    let blocked = if spec.sse_c_blocked {
        EncryptionType::SseC
    } else {
        EncryptionType::None
    };
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(default)
        .set_bucket_key_enabled(spec.bucket_key.then_some(true))
        .blocked_encryption_types(
            BlockedEncryptionTypes::builder()
                .encryption_type(blocked)
                .build(),
        )
        .build();
    let body = ServerSideEncryptionConfiguration::builder()
        .rules(rule)
        .build()
        .map_err(|e| CallError::invalid(account, "s3:PutEncryptionConfiguration", bucket, e))?;
    super::retry_aborted(|| async {
        s3.put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(body.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| call_error(e, account, "s3:PutEncryptionConfiguration", bucket))
    })
    .await
}
