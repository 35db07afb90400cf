//! Bucket policy: GetBucketPolicy (`NoSuchBucketPolicy`: none), PutBucketPolicy (retried while
//! a new role is not yet a valid principal), DeleteBucketPolicy.

use aws_sdk_s3::error::ProvideErrorMetadata;
use serde_json::Value;

use crossrep_core::kinds::bucket_policy::{BucketPolicy, BucketPolicySpec};
use crossrep_core::kinds::Change;
use crossrep_core::names::BucketName;
use crossrep_core::observed::{ErrorKind, Observed};

use super::{observed, with_consistency_retry};
use crate::error::{call_error, CallError};
use crate::session::Sessions;

pub(crate) async fn read(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
) -> Observed<BucketPolicySpec> {
    let r = s3.get_bucket_policy().bucket(bucket.as_str()).send().await;
    observed(r, &["NoSuchBucketPolicy"], |e| {
        call_error(e, account, "s3:GetBucketPolicy", bucket.as_str())
    })
    .and_then(
        |out| match serde_json::from_str::<Value>(out.policy().unwrap_or_default()) {
            Ok(document) => Observed::Present(BucketPolicySpec { document }),
            Err(e) => Observed::Unreadable(
                CallError::invalid(
                    account,
                    "s3:GetBucketPolicy",
                    bucket,
                    format!("the bucket policy is not valid JSON: {e}"),
                )
                .to_read_error(),
            ),
        },
    )
}

pub(crate) async fn apply(
    c: &Change<BucketPolicy>,
    sessions: &Sessions,
    fresh: bool,
) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let bucket = c.addr.bucket.as_str();
    let s3 = session.s3(&c.region);
    // Merged at plan time: write it only over what was merged into.
    super::unchanged_since_plan(
        read(&s3, account, &c.addr.bucket).await,
        c,
        account,
        "s3:PutBucketPolicy",
    )?;
    let Some(spec) = &c.after else {
        return match s3.delete_bucket_policy().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("NoSuchBucketPolicy") => Ok(()),
            Err(e) => Err(call_error(e, account, "s3:DeleteBucketPolicy", bucket)),
        };
    };
    let body = spec.document.to_string();
    // A role created moments ago may not be a valid principal yet
    // (`MalformedPolicy: Invalid principal in policy`); any other malformation is real.
    let propagating = |e: &CallError| e.kind == ErrorKind::Propagating;
    with_consistency_retry(propagating, fresh, || async {
        s3.put_bucket_policy()
            .bucket(bucket)
            .policy(&body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| call_error(e, account, "s3:PutBucketPolicy", bucket))
    })
    .await
}
