//! Credentials that expire during a run (issue 12, item 2): role sessions last an hour at most
//! when chained, and `backfill --wait` runs outlive them. The emulator refuses expired
//! credentials as AWS does (emulator/README "STS credentials") and its lifetime knob makes them
//! last seconds, not an hour.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_s3::error::ProvideErrorMetadata;
use serde_json::Value;

use crate::harness::*;

/// How long the emulator's credentials live (knob): the SDK refreshes cached credentials 5 to
/// 10 s before they expire (identity cache buffer 10 s, minus up to half of it in jitter), so
/// each set is used for a few seconds and a 16 s run needs at least two per account.
const LIFETIME_S: u64 = 12;
/// Each batch task sleeps this long: 6 versions make a ~16 s job.
const TASK_MS: &str = "2700";

/// An emulator of its own: the task delay is server-wide and would slow every other test.
fn slow_batch() -> &'static Emulator {
    static SLOW: OnceLock<Emulator> = OnceLock::new();
    SLOW.get_or_init(|| start_emulator(&[("CROSSREP_EMULATOR_TASK_MS", TASK_MS)]))
}

/// The credentials the emulator issued for roles of `account` at or after `since` (its clock),
/// and the requests it refused with expired ones.
fn issued(emu: &Emulator, account: &str, since: f64) -> (Vec<Value>, Vec<Value>) {
    let v = emu.get_json(&format!("/_crossrep/sts/credentials?account={account}"));
    let pick = |key: &str, time: &str| -> Vec<Value> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c[time].as_f64().unwrap() >= since)
            .cloned()
            .collect()
    };
    (pick("credentials", "issued"), pick("refused", "time"))
}

fn now(emu: &Emulator) -> f64 {
    emu.get_json("/_crossrep/sts/credentials?account=none")["now"]
        .as_f64()
        .unwrap()
}

/// One `crossrep backfill --wait` outlives its first credentials in a configured `role_arn`
/// account (source and destination) and in an `[organization]` member reached by role
/// chaining through the listing account: it succeeds, every account's role is assumed again
/// while the run goes on, and not one request is signed with expired credentials. The control:
/// credentials taken the same way but not refreshed are refused (`ExpiredToken`) by then.
#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_wait_outlives_its_credentials_configured_and_chained() {
    let emu = slow_batch();
    let env = Env::on(emu, 96);
    let member = "330000009601";
    let admin = env.admin().await;
    let prod = admin.src();
    let org = prod.organizations();
    org.create_organization().send().await.unwrap();
    env.emu.call(
        "POST",
        &format!(
            "/_crossrep/organizations/invite?management={}&account_id={member}&name=m",
            env.src
        ),
    );
    // The member, reached as crossrep reaches it: through the listing account's session.
    let mut members = crossrep_core::config::Config::parse(
        &format!(
            "{}\n[accounts.m]\nid = \"{member}\"\nrole_arn = \"arn:aws:iam::{member}:role/admin\"\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\n",
            env.accounts_toml(),
            env.emu.endpoint()
        ),
        std::path::Path::new("members.toml"),
    )
    .unwrap();
    members.accounts.get_mut("m").unwrap().via = Some("prod".into());
    let member_sessions = crossrep_aws::Sessions::new(&members).await.unwrap();
    let m = member_sessions.get(&crossrep_core::names::AccountId::new(member).unwrap());
    let (pb, mb) = (env.bucket("prod"), env.bucket("member"));
    for (s, b) in [(prod, &pb), (m, &mb)] {
        create_bucket(s, b, "us-east-1").await;
        enable_versioning(s, b, "us-east-1").await;
        for i in 0..6 {
            put_object(s, b, "us-east-1", &format!("k{i}"), "v").await;
        }
    }
    env.write_raw_config(&format!(
        "{}\n[[replication]]\nfrom = \"prod\"\nto = \"backup\"\nbuckets = [\"{p}prod\"]\n\n[[replication]]\nfrom = \"organization\"\nto = \"backup\"\nbuckets = [\"{p}member\"]\n\n[organization]\naccount = \"prod\"\nrole_name = \"admin\"\ninclude = [\"{member}\"]\n",
        env.accounts_toml(),
        p = env.prefix
    ));
    env.ok(&["apply", "--yes"]);

    // From now on the credentials of these accounts' roles live LIFETIME_S seconds.
    let accounts = [env.src.as_str(), member, env.dst.as_str()];
    for a in accounts {
        env.emu.call(
            "POST",
            &format!("/_crossrep/sts/lifetime?seconds={LIFETIME_S}&account={a}"),
        );
    }
    let since = now(env.emu);
    // The control: the member's credentials taken once, through the listing account, as
    // crossrep takes them, and never refreshed.
    let listing = prod
        .sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{}:role/admin", env.src))
        .role_session_name("control")
        .send()
        .await
        .unwrap();
    let c = listing.credentials().unwrap();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut control = vec![c.access_key_id().to_string()];
    let chained = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&aws_config::SdkConfig::builder().build())
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .http_client(http.clone())
            .region(aws_sdk_sts::config::Region::new("us-east-1"))
            .endpoint_url(env.emu.endpoint())
            .credentials_provider(fixed(c))
            .build(),
    )
    .assume_role()
    .role_arn(format!("arn:aws:iam::{member}:role/admin"))
    .role_session_name("control")
    .send()
    .await
    .unwrap();
    let c = chained.credentials().unwrap();
    control.push(c.access_key_id().to_string());
    let frozen = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .http_client(http)
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(env.emu.endpoint())
            .force_path_style(true)
            .credentials_provider(fixed(c))
            .build(),
    );
    frozen.list_buckets().send().await.unwrap();

    let started = Instant::now();
    let out = env.ok(&["backfill", "--wait"]);
    let took = started.elapsed();
    let end = now(env.emu);
    assert_eq!(out.matches(" created (all versions)").count(), 2, "{out}");
    assert_eq!(
        out.matches("Complete: 6/6 tasks, 6 succeeded, 0 failed")
            .count(),
        2,
        "{out}"
    );
    assert!(
        took > Duration::from_secs(LIFETIME_S + 2),
        "the run ({took:?}) must outlive its credentials ({LIFETIME_S} s)"
    );

    for a in accounts {
        let (creds, refused) = issued(env.emu, a, since);
        assert!(
            refused.is_empty(),
            "{a}: crossrep sent expired credentials: {refused:?}"
        );
        // The run's credentials: not the control's, and used.
        let run: Vec<&Value> = creds
            .iter()
            .filter(|c| !control.iter().any(|k| c["access_key_id"] == k.as_str()))
            .filter(|c| c["requests"].as_u64() > Some(0))
            .collect();
        assert!(run.len() >= 2, "{a}: the role was assumed once: {creds:?}");
        let first = run[0]["expiration"].as_f64().unwrap();
        assert!(first < end, "{a}: its first credentials outlived the run");
        let later = run
            .iter()
            .filter_map(|c| c["last_used"].as_f64())
            .fold(0.0, f64::max);
        assert!(
            later > first,
            "{a}: nothing was signed after its first credentials expired: {creds:?}"
        );
        for c in &run {
            if c["chained"] == true {
                assert!(
                    c["duration_seconds"].as_i64().unwrap() <= 3600,
                    "{a}: a chained session asked for more than an hour: {c}"
                );
            }
        }
    }
    // The member's sessions were chained through the listing account.
    let (member_creds, _) = issued(env.emu, member, since);
    assert!(member_creds.len() >= 3, "{member_creds:?}");
    assert!(
        member_creds.iter().all(|c| c["chained"] == true),
        "{member_creds:?}"
    );

    // The control, now: the same chain without refresh is refused, as AWS refuses it.
    let e = frozen.list_buckets().send().await.unwrap_err();
    assert_eq!(e.code(), Some("ExpiredToken"), "{e:?}");
    assert_eq!(
        e.message(),
        Some("The provided token has expired."),
        "{e:?}"
    );
    let (_, refused) = issued(env.emu, member, since);
    assert_eq!(
        refused.len(),
        1,
        "only the control was refused: {refused:?}"
    );
    assert_eq!(
        refused[0]["access_key_id"].as_str(),
        Some(c.access_key_id()),
        "{refused:?}"
    );
}

/// STS credentials as a provider that never refreshes them (the control of the test).
fn fixed(c: &aws_sdk_sts::types::Credentials) -> aws_sdk_sts::config::Credentials {
    aws_sdk_sts::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "control",
    )
}
