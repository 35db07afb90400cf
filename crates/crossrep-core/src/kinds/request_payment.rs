//! Who pays for requests to a bucket (observed, never written): a cross-account replication
//! destination cannot be Requester Pays (AWS-NOTES, "Object Lock, Requester Pays"), so such a
//! destination is a conflict, left for its owner to change.

use serde::{Deserialize, Serialize};

use super::{BucketAddr, Kind};
use crate::names::Region;
use crate::observed::Observed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestPayment;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestPaymentSpec {
    /// `BucketOwner` (the default) or `Requester`.
    pub payer: String,
}

impl RequestPaymentSpec {
    pub fn is_requester_pays(&self) -> bool {
        self.payer == "Requester"
    }
}

impl Kind for RequestPayment {
    const NAME: &'static str = "request_payment";
    const PHASE: u8 = 1;
    type Addr = BucketAddr;
    type Spec = RequestPaymentSpec;

    fn describe(addr: &BucketAddr, _: &Region) -> String {
        format!(
            "request payment of bucket `{}` in {}",
            addr.bucket, addr.account
        )
    }

    /// "By default, the bucket is not a Requester Pays bucket" (AWS "Configuring Requester
    /// Pays on a bucket").
    fn bucket_default(b: &BucketAddr) -> Option<(BucketAddr, Observed<RequestPaymentSpec>)> {
        Some((
            b.clone(),
            Observed::Present(RequestPaymentSpec {
                payer: "BucketOwner".into(),
            }),
        ))
    }

    super::stored_as!(RequestPayment, request_payment);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requester_is_requester_pays() {
        let s = |p: &str| RequestPaymentSpec { payer: p.into() };
        assert!(s("Requester").is_requester_pays());
        assert!(!s("BucketOwner").is_requester_pays());
        assert!(RequestPayment::same(&s("Requester"), &s("Requester")));
        assert!(!RequestPayment::same(&s("Requester"), &s("BucketOwner")));
    }
}
