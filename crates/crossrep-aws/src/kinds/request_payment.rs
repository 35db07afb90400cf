//! Request payment: GetBucketRequestPayment. Observed only: crossrep never changes who pays.

use crossrep_core::kinds::request_payment::{RequestPayment, RequestPaymentSpec};
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
) -> Observed<RequestPaymentSpec> {
    let r = s3
        .get_bucket_request_payment()
        .bucket(bucket.as_str())
        .send()
        .await
        .map(|out| RequestPaymentSpec {
            // An answer without a payer is the default.
            payer: out
                .payer()
                .map_or("BucketOwner", |p| p.as_str())
                .to_string(),
        });
    observed(r, &[], |e| {
        call_error(e, account, "s3:GetBucketRequestPayment", bucket.as_str())
    })
}

pub(crate) async fn apply(
    c: &Change<RequestPayment>,
    sessions: &Sessions,
) -> Result<(), CallError> {
    let account = sessions.get(&c.addr.account).id.as_str();
    Err(never_deleted(
        account,
        "request payment configuration",
        c.addr.bucket.as_str(),
    ))
}
