//! Source accounts from AWS Organizations (SPEC §11): which member accounts `[organization]`
//! selects, and why each other one is skipped; the configuration those accounts expand into.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::config::{Account, Config, OrgTarget, FROM_ORGANIZATION};
use crate::names::AccountId;

/// One member account as listing the organization found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    pub id: AccountId,
    pub name: String,
    /// `State` (`ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, …), or `Status` where `State` is not
    /// given (AWS-NOTES: `Status` stops being returned on 2026-09-09).
    pub state: String,
    pub tags: BTreeMap<String, String>,
    /// The ids of its parents from the root down (`r-…`, then each `ou-…`).
    pub path: Vec<String>,
}

/// A member account that is not a source, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Skipped {
    pub account: AccountId,
    pub name: String,
    pub reason: String,
    /// Selected but could not be reached (its role could not be assumed, its identity is
    /// wrong): nothing of it is planned, and the command says so with exit 1 (SPEC §11).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreachable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Selection {
    /// Sorted.
    pub selected: Vec<AccountId>,
    /// Sorted by account.
    pub skipped: Vec<Skipped>,
}

fn matches(target: &OrgTarget, a: &OrgAccount) -> bool {
    match target {
        OrgTarget::Account(id) => id == &a.id,
        OrgTarget::Parent(p) => a.path.iter().any(|x| x == p),
    }
}

fn shown(target: &OrgTarget) -> String {
    match target {
        OrgTarget::Account(id) => id.to_string(),
        OrgTarget::Parent(p) => p.clone(),
    }
}

/// The accounts of `accounts` that `org` selects: included (every account when `include` is
/// empty; an OU includes every OU below it), not excluded, `ACTIVE`, carrying every tag; the
/// destination accounts and the listing account only when `include` names them by id.
pub fn select(
    org: &crate::config::Organization,
    accounts: &[OrgAccount],
    destinations: &BTreeSet<AccountId>,
    listing: &AccountId,
) -> Selection {
    let mut out = Selection::default();
    let mut seen = BTreeSet::new();
    for a in accounts {
        if !seen.insert(a.id.clone()) {
            continue;
        }
        let by_id = org
            .include
            .iter()
            .any(|t| matches!(t, OrgTarget::Account(id) if id == &a.id));
        let reason = if let Some(t) = org.exclude.iter().find(|t| matches(t, a)) {
            Some(format!("excluded by `{}`", shown(t)))
        } else if !org.include.is_empty() && !org.include.iter().any(|t| matches(t, a)) {
            Some("not in `include`".to_string())
        } else if a.state != "ACTIVE" {
            Some(format!("not active (state {})", a.state))
        } else if destinations.contains(&a.id) && !by_id {
            Some("the destination account (name it in `include` to replicate its buckets)".into())
        } else if &a.id == listing && !by_id {
            Some("the listing account (name it in `include` to replicate its buckets)".into())
        } else {
            let missing: Vec<String> = org
                .tags
                .iter()
                .filter(|(k, v)| a.tags.get(*k) != Some(*v))
                .map(|(k, v)| format!("`{k} = \"{v}\"`"))
                .collect();
            (!missing.is_empty()).then(|| format!("does not carry {}", missing.join(", ")))
        };
        match reason {
            None => out.selected.push(a.id.clone()),
            Some(reason) => out.skipped.push(Skipped {
                account: a.id.clone(),
                name: a.name.clone(),
                reason,
                unreachable: false,
            }),
        }
    }
    out.selected.sort();
    out.skipped.sort();
    out
}

/// `config` without the member account `id` (it could not be reached).
pub fn without(config: &Config, id: &AccountId) -> Config {
    let mut out = config.clone();
    let name = member_name(id);
    out.accounts.remove(&name);
    out.replication.retain(|r| r.from != name);
    out
}

/// The name a member account has in the expanded configuration.
pub fn member_name(id: &AccountId) -> String {
    format!("{FROM_ORGANIZATION}/{id}")
}

/// `config` with each `from = "organization"` block made one block per member (same index, so
/// messages name the block the user wrote), and each member an account reached by assuming
/// `role_name` from the listing account's credentials.
pub fn expand(config: &Config, members: &[AccountId]) -> Config {
    let Some(org) = &config.organization else {
        return config.clone();
    };
    let listing = config.account(&org.account).clone();
    let mut out = config.clone();
    for id in members {
        // A member that is also a configured account is reached as configured.
        if config.accounts.values().any(|a| &a.id == id) {
            continue;
        }
        let name = member_name(id);
        out.accounts.insert(
            name.clone(),
            Account {
                name,
                id: id.clone(),
                profile: listing.profile.clone(),
                role_arn: Some(format!("arn:aws:iam::{id}:role/{}", org.role_name)),
                external_id: None,
                region: org.region.clone(),
                endpoint_url: listing.endpoint_url.clone(),
                via: Some(listing.name.clone()),
            },
        );
    }
    out.replication = config
        .replication
        .iter()
        .flat_map(|r| {
            if r.from != FROM_ORGANIZATION {
                return vec![r.clone()];
            }
            members
                .iter()
                .map(|id| {
                    let from = config
                        .accounts
                        .values()
                        .find(|a| &a.id == id)
                        .map(|a| a.name.clone())
                        .unwrap_or_else(|| member_name(id));
                    crate::config::Replication { from, ..r.clone() }
                })
                .collect()
        })
        .collect();
    out
}

/// The destination accounts of the `from = "organization"` blocks and the listing account.
pub fn never_sources(config: &Config) -> (BTreeSet<AccountId>, Option<AccountId>) {
    let destinations = config
        .replication
        .iter()
        .filter(|r| r.from == FROM_ORGANIZATION)
        .map(|r| config.account(&r.to).id.clone())
        .collect();
    let listing = config
        .organization
        .as_ref()
        .map(|o| config.account(&o.account).id.clone());
    (destinations, listing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Organization;
    use crate::names::Region;

    fn acct(id: &str, state: &str, path: &[&str], tags: &[(&str, &str)]) -> OrgAccount {
        OrgAccount {
            id: AccountId::new(id).unwrap(),
            name: format!("n{id}"),
            state: state.into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            path: path.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn org(include: &[&str], exclude: &[&str], tags: &[(&str, &str)]) -> Organization {
        Organization {
            account: "mgmt".into(),
            role_name: "OrganizationAccountAccessRole".into(),
            region: Region::new("us-east-1").unwrap(),
            include: include
                .iter()
                .map(|t| OrgTarget::parse(t).unwrap())
                .collect(),
            exclude: exclude
                .iter()
                .map(|t| OrgTarget::parse(t).unwrap())
                .collect(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// Issue 12's estate: an OU with two accounts and a nested OU with one more, a second OU,
    /// an excluded account, one without the tag, a suspended one; the listing and destination
    /// accounts at the root.
    #[test]
    fn selects_by_ou_recursively_and_names_every_skipped_account_with_its_reason() {
        let ou1 = "ou-root-11111111";
        let nested = "ou-root-22222222";
        let ou2 = "ou-root-33333333";
        let yes = [("backup", "yes")];
        let accounts = vec![
            acct("100000000001", "ACTIVE", &["r-root", ou1], &yes),
            acct("100000000002", "ACTIVE", &["r-root", ou1], &yes),
            acct("100000000003", "ACTIVE", &["r-root", ou1, nested], &yes),
            acct("100000000004", "ACTIVE", &["r-root", ou1], &yes),
            acct("100000000005", "ACTIVE", &["r-root", ou1], &[]),
            acct("100000000006", "SUSPENDED", &["r-root", ou1], &yes),
            acct("100000000007", "ACTIVE", &["r-root", ou2], &yes),
            acct("900000000000", "ACTIVE", &["r-root"], &yes),
            acct("222222222222", "ACTIVE", &["r-root", ou1], &yes),
            // Listed twice (pages may repeat nothing, but a traversal could): once.
            acct("100000000001", "ACTIVE", &["r-root", ou1], &yes),
        ];
        let o = org(&[ou1], &["100000000004"], &yes);
        let dests = BTreeSet::from([AccountId::new("222222222222").unwrap()]);
        let listing = AccountId::new("900000000000").unwrap();
        let s = select(&o, &accounts, &dests, &listing);
        let ids: Vec<&str> = s.selected.iter().map(|a| a.as_str()).collect();
        assert_eq!(ids, ["100000000001", "100000000002", "100000000003"]);
        let why: Vec<(&str, &str)> = s
            .skipped
            .iter()
            .map(|k| (k.account.as_str(), k.reason.as_str()))
            .collect();
        assert_eq!(
            why,
            [
                ("100000000004", "excluded by `100000000004`"),
                ("100000000005", "does not carry `backup = \"yes\"`"),
                ("100000000006", "not active (state SUSPENDED)"),
                ("100000000007", "not in `include`"),
                (
                    "222222222222",
                    "the destination account (name it in `include` to replicate its buckets)"
                ),
                ("900000000000", "not in `include`"),
            ]
        );
        // With no `include`, the listing account is skipped for what it is; named by id, it is
        // a source.
        let s = select(&org(&[], &[], &[]), &accounts, &dests, &listing);
        assert!(s
            .skipped
            .iter()
            .any(|k| k.account == listing && k.reason.starts_with("the listing account")));
        let s = select(
            &org(&["900000000000"], &[], &[]),
            &accounts,
            &dests,
            &listing,
        );
        assert_eq!(s.selected, vec![listing]);
    }
}
