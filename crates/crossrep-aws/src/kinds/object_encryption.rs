//! The encryption of a bounded sample of a source's object versions: `ListObjectVersions`
//! (the first [`SAMPLE`]) and one `HeadObject` per version (400 for an SSE-C version, whose
//! metadata needs its key). Observed only.

use futures::future::join_all;

use crossrep_core::kinds::object_encryption::{ObjectEncryption, ObjectEncryptionSpec, SAMPLE};
use crossrep_core::kinds::Change;
use crossrep_core::names::BucketName;
use crossrep_core::observed::Observed;

use super::never_deleted;
use crate::error::{call_error, CallError};
use crate::session::Sessions;

pub(crate) async fn read(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
) -> Observed<ObjectEncryptionSpec> {
    match sample(s3, account, bucket).await {
        Ok(spec) => Observed::Present(spec),
        Err(e) => Observed::Unreadable(e.to_read_error()),
    }
}

async fn sample(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
) -> Result<ObjectEncryptionSpec, CallError> {
    let listed = s3
        .list_object_versions()
        .bucket(bucket.as_str())
        .max_keys(SAMPLE)
        .send()
        .await
        .map_err(|e| call_error(e, account, "s3:ListBucketVersions", bucket.as_str()))?;
    let heads = listed.versions().iter().take(SAMPLE as usize).map(|v| {
        let key = v.key().unwrap_or_default().to_string();
        let version = v.version_id().map(str::to_string);
        async move {
            match s3
                .head_object()
                .bucket(bucket.as_str())
                .key(&key)
                .set_version_id(version.filter(|v| v != "null"))
                .send()
                .await
            {
                Ok(head) => Ok(Some(head)),
                // An SSE-C object's metadata is read only with its key: without it, 400 (AWS
                // "Specifying server-side encryption with customer-provided keys").
                Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(400) => Ok(None),
                Err(e) => Err(call_error(
                    e,
                    account,
                    "s3:GetObjectVersion",
                    format!("{bucket}/{key}"),
                )),
            }
        }
    });
    let mut spec = ObjectEncryptionSpec::default();
    for head in join_all(heads).await {
        spec.sampled += 1;
        let Some(head) = head? else {
            spec.sse_c += 1;
            continue;
        };
        let algorithm = head
            .server_side_encryption()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default();
        if algorithm.starts_with("aws:kms") {
            spec.kms += 1;
            if let Some(k) = head.ssekms_key_id() {
                spec.kms_keys.insert(k.to_string());
            }
            spec.bucket_key |= head.bucket_key_enabled().unwrap_or(false);
        }
        if !algorithm.is_empty() {
            spec.algorithms.insert(algorithm);
        }
    }
    Ok(spec)
}

pub(crate) async fn apply(
    c: &Change<ObjectEncryption>,
    sessions: &Sessions,
) -> Result<(), CallError> {
    let account = sessions.get(&c.addr.account).id.as_str();
    Err(never_deleted(
        account,
        "s3:PutObject",
        c.addr.bucket.as_str(),
    ))
}
