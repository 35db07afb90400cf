//! Replication configuration: GetBucketReplication
//! (`ReplicationConfigurationNotFoundError`: none), PutBucketReplication (retried while new
//! versioning or a new role propagates), DeleteBucketReplication.

use aws_sdk_s3::error::ProvideErrorMetadata;

use crossrep_core::kinds::replication::{Replication, ReplicationSpec};
use crossrep_core::kinds::Change;
use crossrep_core::names::BucketName;
use crossrep_core::observed::Observed;

use super::{observed, with_consistency_retry};
use crate::error::{call_error, CallError};
use crate::session::Sessions;

pub(crate) async fn read(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
) -> Observed<ReplicationSpec> {
    let r = s3
        .get_bucket_replication()
        .bucket(bucket.as_str())
        .send()
        .await;
    observed(r, &["ReplicationConfigurationNotFoundError"], |e| {
        call_error(
            e,
            account,
            "s3:GetReplicationConfiguration",
            bucket.as_str(),
        )
    })
    .and_then(|out| {
        Observed::from_option(
            out.replication_configuration()
                .map(crate::convert::from_sdk)
                .map(|configuration| ReplicationSpec { configuration }),
        )
    })
}

/// PutBucketReplication's propagation errors: new versioning (`InvalidRequest` naming
/// versioning) or a new role (`InvalidArgument` / `AccessDenied`). Other `InvalidRequest`s are
/// real validation errors and fail at once.
pub(crate) fn is_propagating(e: &CallError) -> bool {
    match e.code() {
        Some("InvalidRequest") => e.message.contains("ersioning"),
        Some("InvalidArgument" | "AccessDenied") => true,
        _ => false,
    }
}

pub(crate) async fn apply(
    c: &Change<Replication>,
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
        "s3:PutReplicationConfiguration",
    )?;
    let Some(spec) = &c.after else {
        return match s3.delete_bucket_replication().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ReplicationConfigurationNotFoundError") => Ok(()),
            Err(e) => Err(call_error(
                e,
                account,
                "s3:PutReplicationConfiguration",
                bucket,
            )),
        };
    };
    // The ARN of a replica key this run created goes where the plan has its token.
    let mut configuration = spec.configuration.clone();
    for rule in &mut configuration.rules {
        if let Some(k) = &rule.destination.replica_kms_key_id {
            rule.destination.replica_kms_key_id =
                Some(super::replica_key::resolve(k, sessions).await?);
        }
    }
    let body = crate::convert::to_sdk(&configuration);
    with_consistency_retry(is_propagating, fresh, || async {
        s3.put_bucket_replication()
            .bucket(bucket)
            .replication_configuration(body.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| call_error(e, account, "s3:PutReplicationConfiguration", bucket))
    })
    .await
}
