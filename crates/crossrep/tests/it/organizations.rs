//! Organizations (SPEC §11, issue 12): source accounts listed from AWS Organizations, selected
//! by OU (recursively), `exclude`, tags and state; an unreachable member skipped and named.

use std::path::Path;

use crossrep_aws::Sessions;
use crossrep_core::config::Config;
use crossrep_core::names::AccountId;

use crate::harness::*;

/// Issue 12, done when (1): an OU with two accounts and a nested OU with one more, a second OU,
/// an excluded account, an account without the selecting tag, a suspended account: exactly the
/// three selected accounts get rules and destinations; the plan names every skipped account
/// with its reason; a second apply makes zero writes. Then a member whose role cannot be
/// assumed is skipped and named while the others are applied, and exit code 1 says so.
#[tokio::test(flavor = "multi_thread")]
async fn an_organization_selects_its_accounts_by_ou_tags_and_state() {
    use aws_sdk_organizations::types::{ChildType, Tag};
    let env = Env::new(91);
    let admin = env.admin().await;
    let mgmt = admin.src();
    let org = mgmt.organizations();
    org.create_organization().send().await.unwrap();
    let root = org.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_string();
    let ou = |name: &'static str, parent: String| {
        let org = org.clone();
        async move {
            org.create_organizational_unit()
                .parent_id(parent)
                .name(name)
                .send()
                .await
                .unwrap()
                .organizational_unit()
                .unwrap()
                .id()
                .unwrap()
                .to_string()
        }
    };
    let apps = ou("apps", root.clone()).await;
    let team = ou("team", apps.clone()).await;
    let other = ou("other", root.clone()).await;
    // (id, OU, tagged, suspended)
    let members: Vec<(String, &String, bool, bool)> = vec![
        (format!("3300000091{:02}", 1), &apps, true, false),
        (format!("3300000091{:02}", 2), &apps, true, false),
        (format!("3300000091{:02}", 3), &team, true, false),
        (format!("3300000091{:02}", 4), &apps, true, false), // excluded
        (format!("3300000091{:02}", 5), &apps, false, false), // no tag
        (format!("3300000091{:02}", 6), &apps, true, true),  // suspended
        (format!("3300000091{:02}", 7), &other, true, false), // another OU
    ];
    let mut accounts = String::new();
    for (id, parent, tagged, suspended) in &members {
        env.emu.call(
            "POST",
            &format!(
                "/_crossrep/organizations/invite?management={}&account_id={id}&name=m{id}",
                env.src
            ),
        );
        org.move_account()
            .account_id(id)
            .source_parent_id(&root)
            .destination_parent_id(parent.as_str())
            .send()
            .await
            .unwrap();
        if *tagged {
            org.tag_resource()
                .resource_id(id)
                .tags(Tag::builder().key("backup").value("yes").build().unwrap())
                .send()
                .await
                .unwrap();
        }
        if *suspended {
            env.emu.call(
                "POST",
                &format!("/_crossrep/organizations/account-state?account_id={id}&state=SUSPENDED"),
            );
        }
        accounts.push_str(&format!(
            "[accounts.m{id}]\nid = \"{id}\"\nrole_arn = \"arn:aws:iam::{id}:role/admin\"\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\n\n",
            env.emu.endpoint()
        ));
    }
    let children = org
        .list_children()
        .parent_id(&apps)
        .child_type(ChildType::Account)
        .send()
        .await
        .unwrap();
    assert_eq!(children.children().len(), 5);
    // One bucket in each member account.
    let config = Config::parse(&accounts, Path::new("members.toml")).unwrap();
    let sessions = Sessions::new(&config).await.unwrap();
    for (id, ..) in &members {
        let s = sessions.get(&AccountId::new(id.as_str()).unwrap());
        create_bucket(s, &env.bucket(&format!("b{id}")), "us-east-1").await;
    }

    env.write_raw_config(&format!(
        "{}\n[[replication]]\nfrom = \"organization\"\nto = \"backup\"\nbuckets = [\"{}*\"]\nbackfill = \"none\"\n\n[organization]\naccount = \"prod\"\nrole_name = \"admin\"\ninclude = [\"{apps}\"]\nexclude = [\"330000009104\"]\ntags = {{ backup = \"yes\" }}\n",
        env.accounts_toml(),
        env.prefix
    ));
    let plan = env.ok(&["plan"]);
    assert!(
        plan.contains(
            "Organization: 3 account(s) selected (330000009101, 330000009102, 330000009103)"
        ),
        "{plan}"
    );
    for line in [
        "skipped 330000009104 (m330000009104): excluded by `330000009104`",
        "skipped 330000009105 (m330000009105): does not carry `backup = \"yes\"`",
        "skipped 330000009106 (m330000009106): not active (state SUSPENDED)",
        "skipped 330000009107 (m330000009107): not in `include`",
    ] {
        assert!(plan.contains(line), "{line}\n{plan}");
    }
    env.ok(&["apply", "--yes"]);
    for (id, ..) in &members {
        let s = sessions.get(&AccountId::new(id.as_str()).unwrap());
        let rules = s
            .s3(&region("us-east-1"))
            .get_bucket_replication()
            .bucket(env.bucket(&format!("b{id}")))
            .send()
            .await;
        let selected = ["330000009101", "330000009102", "330000009103"].contains(&id.as_str());
        assert_eq!(rules.is_ok(), selected, "{id}: {rules:?}");
    }
    let again = env
        .crossrep()
        .args(["plan", "--detailed-exitcode"])
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}{}",
        stdout(&again),
        stderr(&again)
    );

    // A member's role cannot be assumed any more: it is skipped and named, the others go on.
    env.emu.call(
        "POST",
        "/_crossrep/sts/deny?role_arn=arn:aws:iam::330000009102:role/admin",
    );
    let out = env.crossrep().args(["apply", "--yes"]).output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("unreachable 330000009102"), "{text}");
    assert!(
        text.contains("Organization: 2 account(s) selected (330000009101, 330000009103)"),
        "{text}"
    );
    assert!(
        stderr(&out).contains("1 selected account(s) could not be reached"),
        "{}",
        stderr(&out)
    );
    env.emu.call(
        "DELETE",
        "/_crossrep/sts/deny?role_arn=arn:aws:iam::330000009102:role/admin",
    );

    // A member whose buckets cannot be listed: skipped and named, the others go on, exit 1.
    env.emu
        .inject_fault("operation=ListBuckets&account=330000009103&code=AccessDenied&status=403");
    let out = env.crossrep().args(["plan"]).output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        text.contains("unreachable 330000009103 (): its buckets could not be listed"),
        "{text}"
    );
    assert!(
        text.contains("Organization: 2 account(s) selected (330000009101, 330000009102)"),
        "{text}"
    );
    // The fault stays: it is this test's account only (clearing all faults would clear other
    // tests' too).
}

/// The listing account's role is assumed a fixed number of times per run, whatever the number
/// of members: the members' `AssumeRole`s (role chaining) are signed with the listing session's
/// credentials, cached (`session.rs`, `CachedCredentials`), not assumed again for each member.
/// Before the cache, `plan` over M members assumed the listing role 2 + M times.
#[tokio::test(flavor = "multi_thread")]
async fn members_do_not_assume_the_listing_role_again() {
    const M: usize = 3;
    let env = Env::new(92);
    let admin = env.admin().await;
    let org = admin.src().organizations();
    org.create_organization().send().await.unwrap();
    let members: Vec<String> = (1..=M).map(|i| format!("3300000092{i:02}")).collect();
    for id in &members {
        env.emu.call(
            "POST",
            &format!(
                "/_crossrep/organizations/invite?management={}&account_id={id}&name=m{id}",
                env.src
            ),
        );
    }
    env.write_raw_config(&format!(
        "{}\n[[replication]]\nfrom = \"organization\"\nto = \"backup\"\nbuckets = [\"{}*\"]\nbackfill = \"none\"\n\n[organization]\naccount = \"prod\"\nrole_name = \"admin\"\ninclude = [{}]\n",
        env.accounts_toml(),
        env.prefix,
        members.iter().map(|m| format!("\"{m}\"")).collect::<Vec<_>>().join(", ")
    ));
    // The listing role's sessions (assumed with the base credentials: not chained), and the
    // members' (chained: `AssumeRole` logged under the caller, the listing account).
    let listing_sessions = || {
        let v = env
            .emu
            .get_json(&format!("/_crossrep/sts/credentials?account={}", env.src));
        v["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["chained"] == false)
            .count()
    };
    let chained = || {
        env.emu.summary(&env.src)["by_operation"]["AssumeRole"]["count"]
            .as_u64()
            .unwrap_or(0)
    };
    let (listing_before, chained_before) = (listing_sessions(), chained());
    let plan = env.ok(&["plan"]);
    assert!(
        plan.contains(&format!("Organization: {M} account(s) selected")),
        "{plan}"
    );
    let listing = listing_sessions() - listing_before;
    let chained = chained() - chained_before;
    assert_eq!(chained, M as u64, "one AssumeRole per member");
    // Once to list the organization, once for the listing account's clients and as the
    // members' source (one cache); without it, 2 + M (5 here), then 3 while the clients and
    // the members' source had a cache each.
    assert_eq!(
        listing, 2,
        "the listing role must not be assumed again per member or per client"
    );
}
