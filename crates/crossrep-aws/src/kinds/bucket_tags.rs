//! Bucket tags: GetBucketTagging (`NoSuchTagSet`: no tags), PutBucketTagging (replaces the
//! whole set: the plan's document is already merged with what was there).

use aws_sdk_s3::types::{Tag, Tagging};

use crossrep_core::kinds::bucket_tags::{BucketTags, BucketTagsSpec};
use crossrep_core::kinds::Change;
use crossrep_core::names::BucketName;
use crossrep_core::observed::Observed;

use aws_sdk_s3::error::ProvideErrorMetadata;

use super::never_deleted;
use crate::error::{call_error, CallError};
use crate::session::{Session, Sessions};

pub(crate) async fn read(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
) -> Observed<BucketTagsSpec> {
    match fetch(s3, account, bucket).await {
        Ok(tags) => Observed::from_option(tags),
        Err(e) => Observed::Unreadable(e.to_read_error()),
    }
}

/// The tag set (`None`: `NoSuchTagSet`), or the call's error with its kind and code.
async fn fetch(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
) -> Result<Option<BucketTagsSpec>, CallError> {
    match s3.get_bucket_tagging().bucket(bucket.as_str()).send().await {
        Ok(out) => Ok(Some(BucketTagsSpec {
            tags: out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        })),
        Err(e) if e.code() == Some("NoSuchTagSet") => Ok(None),
        Err(e) => Err(call_error(
            e,
            account,
            "s3:GetBucketTagging",
            bucket.as_str(),
        )),
    }
}

/// The tags of a bucket (none when it has no tag set).
pub(crate) async fn tags_of(
    session: &Session,
    bucket: &BucketName,
    region: &crossrep_core::names::Region,
) -> Result<BucketTagsSpec, CallError> {
    Ok(fetch(&session.s3(region), session.id.as_str(), bucket)
        .await?
        .unwrap_or_default())
}

pub(crate) async fn apply(c: &Change<BucketTags>, sessions: &Sessions) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let bucket = c.addr.bucket.as_str();
    let Some(spec) = &c.after else {
        return Err(never_deleted(account, "bucket tag set", bucket));
    };
    let mut tagging = Tagging::builder();
    for (k, v) in &spec.tags {
        let tag = Tag::builder()
            .key(k)
            .value(v)
            .build()
            .map_err(|e| CallError::invalid(account, "s3:PutBucketTagging", bucket, e))?;
        tagging = tagging.tag_set(tag);
    }
    let tagging = tagging
        .build()
        .map_err(|e| CallError::invalid(account, "s3:PutBucketTagging", bucket, e))?;
    let s3 = session.s3(&c.region);
    super::retry_aborted(|| async {
        s3.put_bucket_tagging()
            .bucket(bucket)
            .tagging(tagging.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| call_error(e, account, "s3:PutBucketTagging", bucket))
    })
    .await
}
