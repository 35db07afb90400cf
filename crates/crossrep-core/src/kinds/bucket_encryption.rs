//! A bucket's default encryption. Read on sources: S3 does not replicate SSE-KMS or DSSE-KMS
//! objects unless the rule opts in (`SourceSelectionCriteria`), so a source that encrypts with
//! KMS by default replicates only part of what it holds (AWS-NOTES, SSE-KMS); and whether it
//! accepts SSE-C writes. Written only on destinations crossrep manages, to accept SSE-C
//! replicas when the source has SSE-C objects ([`sse_c_needed`]): since April 2026 new buckets
//! block SSE-C writes, replication included (AWS "Blocking or unblocking SSE-C for a general
//! purpose bucket").

use serde::{Deserialize, Serialize};

use super::object_encryption::ObjectEncryption;
use super::{ActualState, BucketAddr, Kind};
use crate::names::Region;
use crate::observed::Observed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketEncryption;

/// The default encryption rule: `AES256` (SSE-S3), `aws:kms` (SSE-KMS) or `aws:kms:dsse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionSpec {
    pub algorithm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bucket_key: bool,
    /// `BlockedEncryptionTypes` holds `SSE-C`: writes that specify SSE-C are refused (403),
    /// replicas included.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sse_c_blocked: bool,
}

impl EncryptionSpec {
    /// SSE-KMS or DSSE-KMS: objects that replicate only with an opt-in.
    pub fn is_kms(&self) -> bool {
        self.algorithm.starts_with("aws:kms")
    }

    /// For people: `SSE-KMS (key …, Bucket Keys on)`.
    pub fn describe(&self) -> String {
        let name = match self.algorithm.as_str() {
            "aws:kms:dsse" => "DSSE-KMS",
            "aws:kms" => "SSE-KMS",
            "AES256" => "SSE-S3",
            other => other,
        };
        let key = match &self.kms_key {
            Some(k) => format!("key `{k}`"),
            None => "the AWS managed key `aws/s3`".to_string(),
        };
        match (self.is_kms(), self.bucket_key) {
            (false, _) => name.to_string(),
            (true, true) => format!("{name} ({key}, Bucket Keys on)"),
            (true, false) => format!("{name} ({key})"),
        }
    }
}

impl Kind for BucketEncryption {
    const NAME: &'static str = "bucket_encryption";
    const PHASE: u8 = 1;
    type Addr = BucketAddr;
    type Spec = EncryptionSpec;

    fn describe(addr: &BucketAddr, _: &Region) -> String {
        format!(
            "default encryption of bucket `{}` in {}",
            addr.bucket, addr.account
        )
    }

    /// New buckets encrypt with SSE-S3 by default since January 2023 (AWS "Default encryption
    /// FAQ") and block SSE-C writes since April 2026.
    fn bucket_default(b: &BucketAddr) -> Option<(BucketAddr, Observed<EncryptionSpec>)> {
        Some((
            b.clone(),
            Observed::Present(EncryptionSpec {
                algorithm: "AES256".into(),
                kms_key: None,
                bucket_key: false,
                sse_c_blocked: true,
            }),
        ))
    }

    super::stored_as!(BucketEncryption, bucket_encryption);
}

/// Why replicas from `source` may be SSE-C objects, if they may: a sampled version is SSE-C,
/// or the source accepts SSE-C writes (`BlockedEncryptionTypes` does not hold `SSE-C`), so an
/// SSE-C object may be written tomorrow. For people: "holds SSE-C objects (1 of 5 sampled
/// versions)".
pub fn sse_c_needed(actual: &ActualState, source: &BucketAddr) -> Option<String> {
    let sampled = actual
        .present::<ObjectEncryption>(source)
        .filter(|o| o.sse_c > 0);
    if let Some(o) = sampled {
        return Some(format!(
            "holds SSE-C objects ({} of {} sampled version(s))",
            o.sse_c, o.sampled
        ));
    }
    actual
        .present::<BucketEncryption>(source)
        .filter(|e| !e.sse_c_blocked)
        .map(|_| "accepts SSE-C writes (its default encryption does not block them)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(algorithm: &str, key: Option<&str>, bucket_key: bool) -> EncryptionSpec {
        EncryptionSpec {
            algorithm: algorithm.into(),
            kms_key: key.map(str::to_string),
            bucket_key,
            sse_c_blocked: false,
        }
    }

    #[test]
    fn kms_algorithms_are_told_apart_and_described() {
        assert!(!spec("AES256", None, false).is_kms());
        assert!(spec("aws:kms", None, false).is_kms());
        assert!(spec("aws:kms:dsse", Some("k"), false).is_kms());
        assert_eq!(spec("AES256", None, false).describe(), "SSE-S3");
        assert_eq!(
            spec("aws:kms", Some("arn:aws:kms:us-east-1:1:key/a"), true).describe(),
            "SSE-KMS (key `arn:aws:kms:us-east-1:1:key/a`, Bucket Keys on)"
        );
        assert_eq!(
            spec("aws:kms", None, false).describe(),
            "SSE-KMS (the AWS managed key `aws/s3`)"
        );
        assert!(BucketEncryption::same(
            &spec("aws:kms", None, true),
            &spec("aws:kms", None, true)
        ));
    }
}
