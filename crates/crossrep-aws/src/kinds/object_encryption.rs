//! The encryption of a bounded sample of a source's object versions: `ListObjectVersions`
//! (the first [`SAMPLE`]) and one `HeadObject` per version (400 for an SSE-C version, whose
//! metadata needs its key), except for versions an earlier run read (`SampleCache`). Observed
//! only.

use std::collections::BTreeMap;

use futures::future::join_all;

use crossrep_core::kinds::object_encryption::{
    version_key, ObjectEncryption, ObjectEncryptionSpec, VersionEncryption, SAMPLE,
};
use crossrep_core::kinds::Change;
use crossrep_core::names::BucketName;
use crossrep_core::observed::Observed;

use super::never_deleted;
use crate::error::{call_error, CallError};
use crate::session::Sessions;

/// Sampled versions, by their [`version_key`].
pub(crate) type Sampled = BTreeMap<String, VersionEncryption>;

/// The encryption of the bucket's latest versions, and those of them that can be remembered.
/// A version in `known` (read by an earlier run) is not read again.
pub(crate) async fn read(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
    known: &Sampled,
) -> (Observed<ObjectEncryptionSpec>, Option<Sampled>) {
    match sample(s3, account, bucket, known).await {
        Ok((spec, sampled)) => (Observed::Present(spec), Some(sampled)),
        Err(e) => (Observed::Unreadable(e.to_read_error()), None),
    }
}

async fn sample(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
    known: &Sampled,
) -> Result<(ObjectEncryptionSpec, Sampled), CallError> {
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
        let modified = v
            .last_modified()
            .map(|t| format!("{}.{:09}", t.secs(), t.subsec_nanos()));
        let remembered = version_key(&key, version.as_deref(), v.e_tag(), modified.as_deref());
        async move {
            if let Some(seen) = remembered.as_ref().and_then(|k| known.get(k)) {
                return Ok((remembered, seen.clone()));
            }
            let seen = head(s3, account, bucket, &key, version).await?;
            Ok::<_, CallError>((remembered, seen))
        }
    });
    let mut versions = Vec::new();
    let mut sampled = Sampled::new();
    for head in join_all(heads).await {
        let (remembered, seen) = head?;
        if let Some(k) = remembered {
            sampled.insert(k, seen.clone());
        }
        versions.push(seen);
    }
    Ok((ObjectEncryptionSpec::of(&versions), sampled))
}

async fn head(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
    key: &str,
    version: Option<String>,
) -> Result<VersionEncryption, CallError> {
    match s3
        .head_object()
        .bucket(bucket.as_str())
        .key(key)
        .set_version_id(version.filter(|v| v != "null"))
        .send()
        .await
    {
        Ok(head) => Ok(VersionEncryption {
            algorithm: head
                .server_side_encryption()
                .map(|a| a.as_str().to_string())
                .unwrap_or_default(),
            key: head.ssekms_key_id().map(str::to_string),
            bucket_key: head.bucket_key_enabled().unwrap_or(false),
            sse_c: false,
        }),
        // An SSE-C object's metadata is read only with its key: without it, 400 (AWS
        // "Specifying server-side encryption with customer-provided keys").
        Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(400) => {
            Ok(VersionEncryption {
                sse_c: true,
                ..VersionEncryption::default()
            })
        }
        Err(e) => Err(call_error(
            e,
            account,
            "s3:GetObjectVersion",
            format!("{bucket}/{key}"),
        )),
    }
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
