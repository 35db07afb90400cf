//! Preflight reads (SPEC §12): the account-level facts [`crossrep_core::preflight`] checks.
//! Each is read only where it can matter, so a run that creates nothing in an estate of
//! default regions makes none of these calls.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::{stream, StreamExt};

use crossrep_core::desired::DesiredState;
use crossrep_core::kinds::role::{Role, RoleAddr};
use crossrep_core::model::ActualState;
use crossrep_core::names::{AccountId, BucketName, Region};
use crossrep_core::observed::{ErrorKind, Observed, ReadError};
use crossrep_core::preflight::{Denied, RegionOptStatus, RoleQuota, Simulation, BUCKET_QUOTA_CODE};

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

/// The bucket quota of each account where a bucket may be created: a destination or report
/// bucket it does not own (`owned`: what listing found).
pub async fn bucket_quotas(
    desired: &DesiredState,
    owned: &BTreeMap<AccountId, BTreeMap<BucketName, Option<Region>>>,
    sessions: &Sessions,
    concurrency: usize,
) -> BTreeMap<AccountId, Observed<u64>> {
    let creating: BTreeSet<&AccountId> = desired
        .own_buckets()
        .filter(|(a, b)| !owned.get(*a).is_some_and(|o| o.contains_key(*b)))
        .map(|(a, _)| a)
        .collect();
    stream::iter(creating)
        .map(|a| async move { (a.clone(), bucket_quota(sessions.get(a)).await) })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// The role count and quota of each account where crossrep's role does not exist yet.
pub async fn role_quotas(
    desired: &DesiredState,
    actual: &ActualState,
    sessions: &Sessions,
    concurrency: usize,
) -> BTreeMap<AccountId, Observed<RoleQuota>> {
    let absent: Vec<&AccountId> = desired
        .roles
        .values()
        .filter(|r| {
            let addr = RoleAddr {
                account: r.account.clone(),
                name: r.name.clone(),
            };
            matches!(actual.observed::<Role>(&addr), Some(Observed::Absent))
        })
        .map(|r| &r.account)
        .collect();
    stream::iter(absent)
        .map(|a| async move { (a.clone(), role_quota(sessions.get(a)).await) })
        .buffer_unordered(concurrency)
        .collect()
        .await
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

/// At most this many resources of one action are simulated per account (the first, sorted):
/// the message says when there were more.
pub const SIMULATED_RESOURCES: usize = 200;

/// Asks the IAM policy simulator, per account with changes, whether its caller may make them
/// (`iam:SimulatePrincipalPolicy` on the caller's role or user; SPEC §12).
pub async fn simulate_all(
    required: &BTreeMap<AccountId, BTreeMap<&'static str, BTreeSet<String>>>,
    sessions: &Sessions,
    concurrency: usize,
) -> BTreeMap<AccountId, Simulation> {
    stream::iter(required.iter())
        .map(|(account, actions)| {
            let session = sessions.get(account).clone();
            async move { (account.clone(), simulate(&session, actions).await) }
        })
        .buffer_unordered(concurrency.clamp(1, 16))
        .collect()
        .await
}

/// The IAM ARN policies are simulated for: an IAM user's ARN as STS names it; an assumed
/// role's ARN as `GetRole` names it (STS drops the role's path).
async fn principal(session: &Session) -> Result<String, String> {
    let arn = session.caller_arn().await.map_err(|e| e.summary())?;
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let resource = parts.get(5).copied().unwrap_or_default();
    if let Some(rest) = resource.strip_prefix("assumed-role/") {
        let role = rest.split('/').next().unwrap_or_default();
        let out = session
            .iam
            .get_role()
            .role_name(role)
            .send()
            .await
            .map_err(|e| call_error(e, session.id.as_str(), "iam:GetRole", role).summary())?;
        return Ok(out.role().map(|r| r.arn().to_string()).unwrap_or_default());
    }
    if resource.starts_with("user/") {
        return Ok(arn);
    }
    Err(format!("the caller `{arn}` is not an IAM role or user"))
}

async fn simulate(
    session: &Session,
    actions: &BTreeMap<&'static str, BTreeSet<String>>,
) -> Simulation {
    let principal = match principal(session).await {
        Ok(p) => p,
        Err(why) => return Simulation::NotChecked(why),
    };
    // Actions that act on the same resources are asked together.
    let mut groups: BTreeMap<Vec<&String>, Vec<&str>> = BTreeMap::new();
    let mut capped = false;
    for (action, resources) in actions {
        capped |= resources.len() > SIMULATED_RESOURCES;
        let first: Vec<&String> = resources.iter().take(SIMULATED_RESOURCES).collect();
        groups.entry(first).or_default().push(action);
    }
    let mut denied = Vec::new();
    for (resources, actions) in groups {
        for chunk in resources.chunks(50) {
            let mut marker: Option<String> = None;
            loop {
                let mut req = session
                    .iam
                    .simulate_principal_policy()
                    .policy_source_arn(&principal)
                    .set_action_names(Some(actions.iter().map(|a| a.to_string()).collect()))
                    .set_resource_arns(Some(chunk.iter().map(|r| r.to_string()).collect()))
                    .max_items(1000);
                if let Some(m) = &marker {
                    req = req.marker(m);
                }
                let out = match req.send().await {
                    Ok(out) => out,
                    Err(e) => {
                        return Simulation::NotChecked(
                            call_error(
                                e,
                                session.id.as_str(),
                                "iam:SimulatePrincipalPolicy",
                                &principal,
                            )
                            .summary(),
                        )
                    }
                };
                denied.extend(denials(&out));
                match (out.is_truncated(), out.marker()) {
                    (true, Some(m)) => marker = Some(m.to_string()),
                    _ => break,
                }
            }
        }
    }
    denied.sort_by(|a, b| (&a.action, &a.resource).cmp(&(&b.action, &b.resource)));
    Simulation::Simulated {
        principal,
        denied,
        capped,
    }
}

/// What one simulator answer does not allow. One result per action, each resource's decision in
/// `ResourceSpecificResults` (the top-level decision is the most restrictive); older answers
/// gave one result per action and resource, without them.
fn denials(
    out: &aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyOutput,
) -> Vec<Denied> {
    let mut denied = Vec::new();
    for r in out.evaluation_results() {
        let decisions: Vec<(&str, &str, &[String])> = if r.resource_specific_results().is_empty() {
            vec![(
                r.eval_resource_name().unwrap_or("*"),
                r.eval_decision().as_str(),
                r.missing_context_values(),
            )]
        } else {
            r.resource_specific_results()
                .iter()
                .map(|rr| {
                    let missing = match rr.missing_context_values() {
                        [] => r.missing_context_values(),
                        own => own,
                    };
                    (
                        rr.eval_resource_name(),
                        rr.eval_resource_decision().as_str(),
                        missing,
                    )
                })
                .collect()
        };
        for (resource, decision, missing) in decisions {
            if decision != "allowed" {
                denied.push(Denied {
                    action: r.eval_action_name().to_string(),
                    resource: resource.to_string(),
                    decision: decision.to_string(),
                    missing_context: missing.to_vec(),
                });
            }
        }
    }
    denied
}
