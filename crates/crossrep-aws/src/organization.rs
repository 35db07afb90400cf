//! Member accounts from AWS Organizations (SPEC §11), with the listing account's credentials:
//! `ListRoots`, then `ListChildren` down every OU (each account's path from the root), then
//! `ListAccounts` (names and states) and, when `[organization]` selects by tags,
//! `ListTagsForResource` per account. Every page is followed to its end: Organizations returns
//! at most 20 results a page and may return empty pages before the last one (AWS-NOTES).

use std::collections::{BTreeMap, VecDeque};

use aws_sdk_organizations::types::ChildType;

use crossrep_core::names::AccountId;
use crossrep_core::organization::OrgAccount;

use crate::error::{call_error, CallError};
use crate::session::Session;

/// Every account of the organization `session`'s account lists, with its path.
pub async fn list(session: &Session, with_tags: bool) -> Result<Vec<OrgAccount>, CallError> {
    let account = session.id.as_str();
    let org = session.organizations();
    let mut roots = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = org
            .list_roots()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| call_error(e, account, "organizations:ListRoots", "organization"))?;
        roots.extend(
            page.roots()
                .iter()
                .filter_map(|r| r.id().map(str::to_string)),
        );
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    // Breadth first from each root: (parent, its path from the root).
    let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut queue: VecDeque<(String, Vec<String>)> =
        roots.into_iter().map(|r| (r.clone(), vec![r])).collect();
    while let Some((parent, path)) = queue.pop_front() {
        for (kind, ids) in [
            (
                ChildType::OrganizationalUnit,
                children(&org, account, &parent, ChildType::OrganizationalUnit).await?,
            ),
            (
                ChildType::Account,
                children(&org, account, &parent, ChildType::Account).await?,
            ),
        ] {
            for id in ids {
                if kind == ChildType::OrganizationalUnit {
                    let mut below = path.clone();
                    below.push(id.clone());
                    queue.push_back((id, below));
                } else {
                    paths.insert(id, path.clone());
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = org
            .list_accounts()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| call_error(e, account, "organizations:ListAccounts", "organization"))?;
        for a in page.accounts() {
            let Some(id) = a.id().and_then(|i| AccountId::new(i).ok()) else {
                continue;
            };
            let state = match (a.state(), a.status()) {
                (Some(s), _) => s.as_str().to_string(),
                (None, Some(s)) => s.as_str().to_string(),
                (None, None) => "UNKNOWN".to_string(),
            };
            out.push(OrgAccount {
                path: paths.get(id.as_str()).cloned().unwrap_or_default(),
                id,
                name: a.name().unwrap_or_default().to_string(),
                state,
                tags: BTreeMap::new(),
            });
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    if with_tags {
        for a in &mut out {
            let mut token: Option<String> = None;
            loop {
                let page = org
                    .list_tags_for_resource()
                    .resource_id(a.id.as_str())
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| {
                        call_error(
                            e,
                            account,
                            "organizations:ListTagsForResource",
                            a.id.as_str(),
                        )
                    })?;
                for t in page.tags() {
                    a.tags.insert(t.key().to_string(), t.value().to_string());
                }
                match page.next_token() {
                    Some(t) => token = Some(t.to_string()),
                    None => break,
                }
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The ids of `parent`'s children of `kind`, every page.
async fn children(
    org: &aws_sdk_organizations::Client,
    account: &str,
    parent: &str,
    kind: ChildType,
) -> Result<Vec<String>, CallError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = org
            .list_children()
            .parent_id(parent)
            .child_type(kind.clone())
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| call_error(e, account, "organizations:ListChildren", parent))?;
        out.extend(
            page.children()
                .iter()
                .filter_map(|c| c.id().map(str::to_string)),
        );
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    Ok(out)
}
