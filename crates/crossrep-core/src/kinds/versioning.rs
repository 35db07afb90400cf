//! Bucket versioning: replication needs it `Enabled` on source and destination (and it can
//! only be suspended, never turned off, afterwards).

use serde::{Deserialize, Serialize};

use super::{BucketAddr, Kind};
use crate::model;
use crate::names::Region;
use crate::observed::Observed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versioning;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersioningSpec {
    pub status: model::Versioning,
}

impl VersioningSpec {
    pub const ENABLED: VersioningSpec = VersioningSpec {
        status: model::Versioning::Enabled,
    };
}

impl Kind for Versioning {
    const NAME: &'static str = "versioning";
    const PHASE: u8 = 1;
    type Addr = BucketAddr;
    type Spec = VersioningSpec;

    fn describe(addr: &BucketAddr, _: &Region) -> String {
        format!("versioning of bucket `{}` in {}", addr.bucket, addr.account)
    }

    fn bucket_default(b: &BucketAddr) -> Option<(BucketAddr, Observed<VersioningSpec>)> {
        Some((
            b.clone(),
            Observed::Present(VersioningSpec {
                status: model::Versioning::Off,
            }),
        ))
    }

    super::stored_as!(Versioning, versioning);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_enabled_is_enabled() {
        let s = |status| VersioningSpec { status };
        assert!(Versioning::same(
            &s(model::Versioning::Enabled),
            &VersioningSpec::ENABLED
        ));
        assert!(!Versioning::same(
            &s(model::Versioning::Suspended),
            &VersioningSpec::ENABLED
        ));
        assert!(!Versioning::same(
            &s(model::Versioning::Off),
            &VersioningSpec::ENABLED
        ));
    }
}
