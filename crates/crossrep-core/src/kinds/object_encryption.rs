//! What server-side encryption a bounded sample of a bucket's latest object versions uses
//! (observed only, `HeadObject`). A bucket's default encryption says nothing about older
//! objects, or objects written with an explicit SSE-KMS key (AWS-NOTES, SSE-KMS): a bucket
//! whose default is SSE-S3 can hold SSE-KMS objects that never replicate without the opt-in.

use std::collections::{BTreeMap, BTreeSet};

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

/// One sampled version's encryption, as `HeadObject` gave it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VersionEncryption {
    /// `AES256`, `aws:kms`, `aws:kms:dsse`; empty for none (or SSE-C).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub algorithm: String,
    /// `SSEKMSKeyId`, as S3 returned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bucket_key: bool,
    /// `HeadObject` without the customer's key answered 400.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sse_c: bool,
}

/// Where crossrep remembers sampled versions: in the report bucket of the source's account
/// and region (the bucket is crossrep's, in the source account).
pub const SAMPLE_CACHE_KEY: &str = "crossrep/sampled-object-encryption.json";

/// The sampled versions of each source bucket whose report bucket is the one holding this,
/// by bucket name and then [`version_key`]. An object version never changes: its data and
/// its encryption are fixed when it is written, and a later write or copy makes a new version
/// (S3 User Guide, "Retaining multiple versions of objects with S3 Versioning"). So a version
/// `HeadObject` read once need not be read again, and a run whose sources gained no versions
/// sends no `HeadObject` at all (see [`version_key`] for the `null` version). A bucket's entry
/// is its latest sample, so the cache holds at
/// most [`SAMPLE`] versions per bucket.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SampleCache {
    pub buckets: BTreeMap<String, BTreeMap<String, VersionEncryption>>,
}

/// The cache key of a listed version: its id and key. The `null` version (written while
/// versioning was off or suspended) is replaced in place by a write while versioning is
/// suspended, so its key also holds what the listing says of its content, its ETag and last
/// modification: a null version rewritten since has another key. (Versioning cannot be
/// suspended while a replication configuration exists, so on a replicated source this does not
/// happen; the ETag and time cover a configuration removed and put back between two runs.)
/// `None` when the listing does not say enough.
pub fn version_key(
    key: &str,
    version_id: Option<&str>,
    etag: Option<&str>,
    last_modified: Option<&str>,
) -> Option<String> {
    match version_id {
        None | Some("") => None,
        Some("null") => match (etag, last_modified) {
            (Some(e), Some(t)) if !e.is_empty() && !t.is_empty() => {
                Some(format!("null {e} {t} {key}"))
            }
            _ => None,
        },
        Some(v) => Some(format!("{v} {key}")),
    }
}

impl ObjectEncryptionSpec {
    /// What a sample of versions holds.
    pub fn of<'a>(versions: impl IntoIterator<Item = &'a VersionEncryption>) -> Self {
        let mut spec = ObjectEncryptionSpec::default();
        for v in versions {
            spec.sampled += 1;
            if v.sse_c {
                spec.sse_c += 1;
                continue;
            }
            if v.algorithm.starts_with("aws:kms") {
                spec.kms += 1;
                if let Some(k) = &v.key {
                    spec.kms_keys.insert(k.clone());
                }
                spec.bucket_key |= v.bucket_key;
            }
            if !v.algorithm.is_empty() {
                spec.algorithms.insert(v.algorithm.clone());
            }
        }
        spec
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_counts_each_kind_of_version() {
        let kms = |k: &str| VersionEncryption {
            algorithm: "aws:kms".into(),
            key: Some(k.into()),
            bucket_key: true,
            sse_c: false,
        };
        let s3 = VersionEncryption {
            algorithm: "AES256".into(),
            ..Default::default()
        };
        let c = VersionEncryption {
            sse_c: true,
            ..Default::default()
        };
        let spec = ObjectEncryptionSpec::of(&[kms("k1"), kms("k2"), kms("k1"), s3, c]);
        assert_eq!(spec.sampled, 5);
        assert_eq!(spec.kms, 3);
        assert_eq!(spec.sse_c, 1);
        assert_eq!(spec.kms_keys.len(), 2);
        assert!(spec.bucket_key);
        assert_eq!(
            spec.algorithms,
            BTreeSet::from(["AES256".to_string(), "aws:kms".to_string()])
        );
        assert_eq!(
            ObjectEncryptionSpec::of(&[]),
            ObjectEncryptionSpec::default()
        );
    }

    #[test]
    fn a_null_version_is_remembered_with_its_content() {
        let k = |v, e, t| version_key("a/b", v, e, t);
        assert_eq!(
            k(Some("3HL4kq"), Some("\"e\""), None).as_deref(),
            Some("3HL4kq a/b")
        );
        assert_eq!(
            k(Some("null"), Some("\"e\""), Some("1764600000.5")).as_deref(),
            Some("null \"e\" 1764600000.5 a/b")
        );
        // Rewritten in place: another key.
        assert_ne!(
            k(Some("null"), Some("\"e\""), Some("1764600000.5")),
            k(Some("null"), Some("\"f\""), Some("1764600000.5"))
        );
        assert_eq!(k(Some("null"), None, Some("1764600000.5")), None);
        assert_eq!(k(Some("null"), Some("\"e\""), None), None);
        assert_eq!(k(None, Some("\"e\""), Some("1")), None);
        assert_eq!(k(Some(""), Some("\"e\""), Some("1")), None);
    }
}
