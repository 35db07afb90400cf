//! Preflight reads (SPEC §12): the account-level facts [`crossrep_core::preflight`] checks.
//! Each is read only where it can matter, so a run that creates nothing in an estate of
//! default regions makes none of these calls.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::{stream, StreamExt};

use crossrep_core::names::{AccountId, Region};
use crossrep_core::observed::{ErrorKind, Observed, ReadError};
use crossrep_core::preflight::{RegionOptStatus, RoleQuota, BUCKET_QUOTA_CODE};

use crate::error::call_error;
use crate::kinds::observed;
use crate::session::{Session, Sessions};

#[cfg(test)]
mod tests;

/// The opt-in status of each (account, region), read by the account itself (Account
/// Management `GetRegionOptStatus` without `AccountId`: no organization permission needed).
pub async fn region_statuses(
    needs: &BTreeSet<(AccountId, Region)>,
    sessions: &Sessions,
    concurrency: usize,
) -> BTreeMap<(AccountId, Region), Observed<RegionOptStatus>> {
    stream::iter(needs.iter().cloned())
        .map(|(account, region)| {
            let session = sessions.get(&account).clone();
            async move {
                let status = region_status(&session.account(), &account, &region).await;
                ((account, region), status)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

pub(crate) async fn region_status(
    client: &aws_sdk_account::Client,
    account: &AccountId,
    region: &Region,
) -> Observed<RegionOptStatus> {
    let out = client
        .get_region_opt_status()
        .region_name(region.as_str())
        .send()
        .await;
    observed(out, &[], |e| {
        call_error(
            e,
            account.as_str(),
            "account:GetRegionOptStatus",
            region.as_str(),
        )
    })
    .and_then(|o| {
        let raw = o.region_opt_status().map(|s| s.as_str()).unwrap_or("");
        match RegionOptStatus::parse(raw) {
            Some(s) => Observed::Present(s),
            None => Observed::Unreadable(ReadError::new(
                ErrorKind::Invalid,
                format!("GetRegionOptStatus answered an unknown status `{raw}` for {region}"),
            )),
        }
    })
}

/// The general purpose bucket quota applied to an account (Service Quotas
/// `GetServiceQuota`, S3 `L-DC2B2D3D`); [`Observed::Absent`] when none is applied
/// (`NoSuchResourceException`: the documented default holds).
pub async fn bucket_quota(session: &Arc<Session>) -> Observed<u64> {
    bucket_quota_with(&session.service_quotas(), &session.id).await
}

pub(crate) async fn bucket_quota_with(
    client: &aws_sdk_servicequotas::Client,
    account: &AccountId,
) -> Observed<u64> {
    let out = client
        .get_service_quota()
        .service_code("s3")
        .quota_code(BUCKET_QUOTA_CODE)
        .send()
        .await;
    observed(out, &["NoSuchResourceException"], |e| {
        call_error(
            e,
            account.as_str(),
            "servicequotas:GetServiceQuota",
            BUCKET_QUOTA_CODE,
        )
    })
    .and_then(|o| match o.quota().and_then(|q| q.value()) {
        Some(v) if v >= 0.0 => Observed::Present(v as u64),
        _ => Observed::Absent,
    })
}

/// An account's IAM role count and quota (IAM `GetAccountSummary`).
pub async fn role_quota(session: &Arc<Session>) -> Observed<RoleQuota> {
    use aws_sdk_iam::types::SummaryKeyType;
    let out = session.iam.get_account_summary().send().await;
    observed(out, &[], |e| {
        call_error(e, session.id.as_str(), "iam:GetAccountSummary", "account")
    })
    .and_then(|o| {
        let map = o.summary_map();
        let get = |k: SummaryKeyType| map.and_then(|m| m.get(&k)).map(|v| *v as u64);
        match (get(SummaryKeyType::Roles), get(SummaryKeyType::RolesQuota)) {
            (Some(roles), Some(quota)) => Observed::Present(RoleQuota { roles, quota }),
            _ => Observed::Unreadable(ReadError::new(
                ErrorKind::Invalid,
                "GetAccountSummary answered without `Roles` and `RolesQuota`",
            )),
        }
    })
}
