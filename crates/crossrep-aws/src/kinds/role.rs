//! IAM role: GetRole (with its inline policies), CreateRole, UpdateAssumeRolePolicy,
//! DeleteRole.

use std::collections::BTreeMap;

use serde_json::Value;

use crossrep_core::kinds::role::{Role, RoleAddr, RoleSpec};
use crossrep_core::kinds::role_policy::{RolePolicyAddr, RolePolicySpec};
use crossrep_core::kinds::{Action, Change};
use crossrep_core::observed::Observed;

use crate::error::{call_error, CallError};
use crate::session::{Session, Sessions};

/// IAM returns policy documents URL-encoded.
pub(crate) fn parse_iam_document(text: &str) -> Result<Value, String> {
    let decoded = if text.trim_start().starts_with('{') {
        text.to_string()
    } else {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map_err(|e| e.to_string())?
            .into_owned()
    };
    serde_json::from_str(&decoded).map_err(|e| e.to_string())
}

/// The role and every inline policy on it. `policy_name` is recorded absent when the role has
/// no policy of that name.
pub(crate) async fn read(
    session: &Session,
    addr: &RoleAddr,
    policy_name: &str,
) -> (
    Observed<RoleSpec>,
    Vec<(RolePolicyAddr, Observed<RolePolicySpec>)>,
) {
    match read_all(session, addr, policy_name).await {
        Ok(Some((role, policies))) => (Observed::Present(role), policies),
        Ok(None) => (Observed::Absent, vec![]),
        Err(e) => (Observed::Unreadable(e.to_read_error()), vec![]),
    }
}

#[allow(clippy::type_complexity)]
async fn read_all(
    session: &Session,
    addr: &RoleAddr,
    policy_name: &str,
) -> Result<Option<(RoleSpec, Vec<(RolePolicyAddr, Observed<RolePolicySpec>)>)>, CallError> {
    let account = session.id.as_str();
    let name = &addr.name;
    let out = match session.iam.get_role().role_name(name).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(call_error(e, account, "iam:GetRole", name)),
    };
    let r = out.role().ok_or_else(|| {
        CallError::invalid(account, "iam:GetRole", name, "GetRole returned no role")
    })?;
    let bad_doc = |action, message| CallError::invalid(account, action, name, message);
    let trust = parse_iam_document(r.assume_role_policy_document().unwrap_or("{}"))
        .map_err(|m| bad_doc("iam:GetRole", m))?;
    let tags: BTreeMap<String, String> = r
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let names: Vec<String> = session
        .iam
        .list_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| call_error(e, account, "iam:ListRolePolicies", name))?;
    let policy_addr = |n: &str| RolePolicyAddr {
        account: addr.account.clone(),
        role: name.clone(),
        name: n.to_string(),
    };
    let mut policies = Vec::new();
    if !names.iter().any(|n| n == policy_name) {
        policies.push((policy_addr(policy_name), Observed::Absent));
    }
    for n in names {
        let doc = session
            .iam
            .get_role_policy()
            .role_name(name)
            .policy_name(&n)
            .send()
            .await
            .map_err(|e| call_error(e, account, "iam:GetRolePolicy", name))?;
        let document = parse_iam_document(doc.policy_document())
            .map_err(|m| bad_doc("iam:GetRolePolicy", m))?;
        policies.push((
            policy_addr(&n),
            Observed::Present(RolePolicySpec { document }),
        ));
    }
    Ok(Some((
        RoleSpec {
            trust_policy: trust,
            tags,
            description: r.description().unwrap_or_default().to_string(),
            arn: Some(r.arn().to_string()),
        },
        policies,
    )))
}

pub(crate) async fn apply(c: &Change<Role>, sessions: &Sessions) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let name = &c.addr.name;
    let Some(spec) = &c.after else {
        // "Already gone" is success: destroy is idempotent.
        return match session.iam.delete_role().role_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(call_error(e, account, "iam:DeleteRole", name)),
        };
    };
    let trust = spec.trust_policy.to_string();
    if c.action == Action::Create {
        let mut req = session
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust)
            .description(&spec.description);
        for (k, v) in &spec.tags {
            let tag = aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| CallError::invalid(account, "iam:CreateRole", name, e))?;
            req = req.tags(tag);
        }
        match req.send().await {
            Ok(_) => {}
            // A create whose answer was lost (and retried) finds the role there: it is this
            // run's if it carries crossrep's tag; a role someone else made meanwhile is not
            // taken over (AWS-NOTES: every create must tolerate finding its resource).
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_entity_already_exists_exception()) =>
            {
                let existing = read_all(session, &c.addr, "").await?;
                if !existing.is_some_and(|(r, _)| r.is_managed()) {
                    return Err(CallError::invalid(
                        account,
                        "iam:CreateRole",
                        name,
                        "the role was created by someone else since the plan (it has no `managed-by=crossrep` tag); run `crossrep plan` again",
                    ));
                }
            }
            Err(e) => return Err(call_error(e, account, "iam:CreateRole", name)),
        }
    } else {
        session
            .iam
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(trust)
            .send()
            .await
            .map_err(|e| call_error(e, account, "iam:UpdateAssumeRolePolicy", name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_documents_are_url_decoded() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%7D";
        assert_eq!(
            parse_iam_document(encoded).unwrap()["Version"],
            "2012-10-17"
        );
        assert_eq!(parse_iam_document("{\"a\":1}").unwrap()["a"], 1);
    }
}
