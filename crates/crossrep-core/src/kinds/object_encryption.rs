//! What server-side encryption a bounded sample of a bucket's latest object versions uses
//! (observed only, `HeadObject`). A bucket's default encryption says nothing about older
//! objects, or objects written with an explicit SSE-KMS key (AWS-NOTES, SSE-KMS): a bucket
//! whose default is SSE-S3 can hold SSE-KMS objects that never replicate without the opt-in.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{BucketAddr, Kind};
use crate::names::Region;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectEncryption;

/// How many of a source bucket's latest versions discovery looks at.
pub const SAMPLE: i32 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ObjectEncryptionSpec {
    /// Versions looked at (delete markers are not objects).
    pub sampled: u32,
    /// Those encrypted with SSE-KMS or DSSE-KMS.
    pub kms: u32,
    /// The KMS keys they name (`SSEKMSKeyId`), as S3 returned them.
    pub kms_keys: BTreeSet<String>,
    /// Algorithms seen (`AES256`, `aws:kms`, `aws:kms:dsse`).
    pub algorithms: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bucket_key: bool,
    /// Versions encrypted with SSE-C: `HeadObject` without their key answers 400 (AWS
    /// "Specifying server-side encryption with customer-provided keys"). Counted in `sampled`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sse_c: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl ObjectEncryptionSpec {
    pub fn is_kms(&self) -> bool {
        self.kms > 0
    }

    /// For people: `SSE-KMS in 2 of 5 sampled versions (2 keys, Bucket Keys on)`.
    pub fn describe(&self) -> String {
        let name = if self.algorithms.contains("aws:kms:dsse") {
            "DSSE-KMS"
        } else {
            "SSE-KMS"
        };
        format!(
            "{name} in {} of {} sampled version(s) ({} key(s){})",
            self.kms,
            self.sampled,
            self.kms_keys.len(),
            if self.bucket_key {
                ", Bucket Keys on"
            } else {
                ""
            }
        )
    }
}

impl Kind for ObjectEncryption {
    const NAME: &'static str = "object_encryption";
    const PHASE: u8 = 1;
    type Addr = BucketAddr;
    type Spec = ObjectEncryptionSpec;

    fn describe(addr: &BucketAddr, _: &Region) -> String {
        format!(
            "encryption of sampled objects of bucket `{}` in {}",
            addr.bucket, addr.account
        )
    }

    /// A bucket crossrep creates holds no objects.
    fn bucket_default(
        b: &BucketAddr,
    ) -> Option<(BucketAddr, crate::observed::Observed<ObjectEncryptionSpec>)> {
        Some((
            b.clone(),
            crate::observed::Observed::Present(ObjectEncryptionSpec::default()),
        ))
    }

    super::stored_as!(ObjectEncryption, object_encryption);
}
