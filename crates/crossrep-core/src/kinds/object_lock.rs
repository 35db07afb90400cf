//! Whether a bucket has Object Lock enabled (observed; crossrep enables it only by creating a
//! destination with it). Objects of an Object Lock source replicate only into an Object Lock
//! destination (`DstBucketObjectLockConfigMissing` otherwise; AWS "Amazon S3 replication
//! failure reasons"), and Object Lock cannot be turned off once on, so crossrep never enables it
//! on a bucket that exists: that is a conflict with the fix.

use serde::{Deserialize, Serialize};

use super::{BucketAddr, Kind};
use crate::names::Region;
use crate::observed::Observed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectLock;

/// `ObjectLockEnabled = Enabled` in the bucket's Object Lock configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectLockSpec {
    pub enabled: bool,
}

impl Kind for ObjectLock {
    const NAME: &'static str = "object_lock";
    const PHASE: u8 = 1;
    type Addr = BucketAddr;
    type Spec = ObjectLockSpec;

    fn describe(addr: &BucketAddr, _: &Region) -> String {
        format!(
            "Object Lock of bucket `{}` in {}",
            addr.bucket, addr.account
        )
    }

    /// A bucket has Object Lock only if it was created with it or had it enabled.
    fn bucket_default(b: &BucketAddr) -> Option<(BucketAddr, Observed<ObjectLockSpec>)> {
        Some((b.clone(), Observed::Absent))
    }

    super::stored_as!(ObjectLock, object_lock);
}

/// Whether discovery saw Object Lock enabled on the bucket at `addr`.
pub fn enabled(actual: &super::ActualState, addr: &BucketAddr) -> bool {
    actual
        .present::<ObjectLock>(addr)
        .is_some_and(|l| l.enabled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ActualState;
    use crate::names::{AccountId, BucketName};

    #[test]
    fn only_an_enabled_configuration_is_object_lock() {
        let addr = BucketAddr::new(
            &AccountId::new("111111111111").unwrap(),
            &BucketName::new("data").unwrap(),
        );
        let mut a = ActualState::default();
        assert!(!enabled(&a, &addr));
        a.set::<ObjectLock>(
            addr.clone(),
            Observed::Present(ObjectLockSpec { enabled: false }),
        );
        assert!(!enabled(&a, &addr));
        a.set::<ObjectLock>(
            addr.clone(),
            Observed::Present(ObjectLockSpec { enabled: true }),
        );
        assert!(enabled(&a, &addr));
        assert!(!ObjectLock::same(
            &ObjectLockSpec { enabled: true },
            &ObjectLockSpec { enabled: false }
        ));
    }
}
