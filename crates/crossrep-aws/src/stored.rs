//! crossrep's own JSON documents in its report buckets (failure summaries, sampled object
//! encryption): read as a default when there is none yet, written whole.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crossrep_core::names::BucketName;

use crate::error::{call_error, CallError};

/// The document at `key`, or `T::default()` when there is none yet, or no report bucket yet.
/// `what` names the document in the error of one that does not parse.
pub(crate) async fn read_json<T: DeserializeOwned + Default>(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
    key: &str,
    what: &str,
) -> Result<T, CallError> {
    let at = || format!("{bucket}/{key}");
    match s3
        .get_object()
        .bucket(bucket.as_str())
        .key(key)
        .send()
        .await
    {
        Ok(out) => {
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| CallError::invalid(account, "s3:GetObject", at(), e))?
                .into_bytes();
            serde_json::from_slice(&bytes).map_err(|e| {
                CallError::invalid(account, "s3:GetObject", at(), format!("not {what}: {e}"))
            })
        }
        Err(e) if matches!(e.code(), Some("NoSuchKey" | "NoSuchBucket")) => Ok(T::default()),
        Err(e) => Err(call_error(e, account, "s3:GetObject", at())),
    }
}

pub(crate) async fn write_json<T: Serialize>(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
    key: &str,
    doc: &T,
) -> Result<(), CallError> {
    let body = serde_json::to_vec(doc).unwrap_or_default();
    s3.put_object()
        .bucket(bucket.as_str())
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| call_error(e, account, "s3:PutObject", format!("{bucket}/{key}")))
}
