//! Lifecycle configuration: GetBucketLifecycleConfiguration (`NoSuchLifecycleConfiguration`:
//! none), PutBucketLifecycleConfiguration (replaces the whole configuration).

use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule as SdkRule,
    LifecycleRuleFilter,
};

use crossrep_core::kinds::lifecycle::{Lifecycle, LifecycleRule, LifecycleSpec};
use crossrep_core::kinds::Change;
use crossrep_core::names::BucketName;
use crossrep_core::observed::Observed;

use super::{never_deleted, observed};
use crate::error::{call_error, CallError};
use crate::session::Sessions;

/// A rule in the core's model: whole-bucket expiry after days, or `unmodelled` when it has
/// anything else (a filter, transitions, noncurrent-version or multipart actions, a date).
// A V1-style rule-level `Prefix` is deprecated in the SDK, but a rule someone wrote may have one.
#[allow(deprecated)]
fn from_sdk(r: &SdkRule) -> LifecycleRule {
    let whole_bucket = r.filter().is_none_or(|f| {
        f.prefix().is_none_or(str::is_empty)
            && f.tag().is_none()
            && f.and().is_none()
            && f.object_size_greater_than().is_none()
            && f.object_size_less_than().is_none()
    }) && r.prefix().is_none_or(str::is_empty);
    let expiration = r.expiration();
    let days = expiration
        .and_then(|e| e.days())
        .and_then(|d| u32::try_from(d).ok());
    let plain_expiry =
        expiration.is_none_or(|e| e.date().is_none() && e.expired_object_delete_marker().is_none());
    let other_actions = !r.transitions().is_empty()
        || r.noncurrent_version_expiration().is_some()
        || !r.noncurrent_version_transitions().is_empty()
        || r.abort_incomplete_multipart_upload().is_some();
    LifecycleRule {
        id: r.id().map(str::to_string),
        enabled: r.status() == &ExpirationStatus::Enabled,
        expire_after_days: days,
        unmodelled: !whole_bucket || !plain_expiry || other_actions || days.is_none(),
    }
}

pub(crate) async fn read(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
) -> Observed<LifecycleSpec> {
    let r = s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket.as_str())
        .send()
        .await
        .map(|out| LifecycleSpec {
            rules: out.rules().iter().map(from_sdk).collect(),
        });
    observed(r, &["NoSuchLifecycleConfiguration"], |e| {
        call_error(e, account, "s3:GetLifecycleConfiguration", bucket.as_str())
    })
}

pub(crate) async fn apply(c: &Change<Lifecycle>, sessions: &Sessions) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let bucket = c.addr.bucket.as_str();
    let action = "s3:PutLifecycleConfiguration";
    let Some(spec) = &c.after else {
        return Err(never_deleted(account, "lifecycle configuration", bucket));
    };
    let mut config = BucketLifecycleConfiguration::builder();
    for r in &spec.rules {
        // The planner never writes a rule it could not read in full; refuse rather than lose
        // settings if a plan says otherwise.
        let Some(days) = r.expire_after_days.filter(|_| !r.unmodelled) else {
            return Err(CallError::invalid(
                account,
                action,
                bucket,
                format!(
                    "lifecycle rule `{}` cannot be written back unchanged",
                    r.id.as_deref().unwrap_or("")
                ),
            ));
        };
        let mut rule = SdkRule::builder()
            .status(if r.enabled {
                ExpirationStatus::Enabled
            } else {
                ExpirationStatus::Disabled
            })
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .expiration(LifecycleExpiration::builder().days(days as i32).build());
        if let Some(id) = &r.id {
            rule = rule.id(id);
        }
        config = config.rules(
            rule.build()
                .map_err(|e| CallError::invalid(account, action, bucket, e))?,
        );
    }
    let config = config
        .build()
        .map_err(|e| CallError::invalid(account, action, bucket, e))?;
    let s3 = session.s3(&c.region);
    super::retry_aborted(|| async {
        s3.put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(config.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| call_error(e, account, action, bucket))
    })
    .await
}
