//! Bad input and wrong credentials: a clear error, exit 1, and nothing written.

use crate::harness::*;

/// Credentials that act in another account must stop everything before any write.
#[test]
fn credentials_of_another_account_are_refused_before_any_write() {
    let env = Env::new(10);
    let wrong = "999999999910";
    let text = env.accounts_toml().replace(
        &format!("arn:aws:iam::{}:role/admin", env.src),
        &format!("arn:aws:iam::{wrong}:role/admin"),
    );
    env.write_raw_config(&format!(
        "{text}\n[[replication]]\nfrom = \"prod\"\nto = \"backup\"\nbuckets = [\"*\"]\n"
    ));
    for args in [&["plan"][..], &["apply", "--yes"][..]] {
        let out = env.crossrep().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(&env.src) && err.contains(wrong),
            "must name both ids: {err}"
        );
        assert!(err.contains("nothing was written"), "{err}");
    }
    for account in [&env.src, &env.dst, &wrong.to_string()] {
        assert_eq!(env.emu.writes(account), 0, "{account}");
    }
}

/// Malformed configs: file, line, column and key in the message, exit 1, no request at all.
#[test]
fn malformed_configs_name_the_place_and_touch_nothing() {
    let env = Env::new(11);
    let good = format!(
        "{}\n[[replication]]\nfrom = \"prod\"\nto = \"backup\"\nbuckets = [\"*\"]\n",
        env.accounts_toml()
    );
    let cases = [
        (
            good.replace("buckets = [\"*\"]", "buckets = [\"*\"]\nbuckts = [\"x\"]"),
            "crossrep.toml:17:1: `buckts`",
            "unknown field",
        ),
        (
            good.replace(&format!("id = \"{}\"", env.src), "id = \"12345\""),
            "crossrep.toml:2:6: `accounts.prod.id`",
            "12 digits",
        ),
        (
            good.replace(
                "buckets = [\"*\"]",
                "buckets = [\"*\"]\ndestination = \"Copy_{bucket}\"",
            ),
            "crossrep.toml:17:15: `replication[0].destination`",
            "bucket names cannot contain",
        ),
        (
            good.replace("to = \"backup\"", "to = \"bakup\""),
            "crossrep.toml:15:6: `replication[0].to`",
            "no account named `bakup`",
        ),
    ];
    for (text, place, what) in cases {
        env.write_raw_config(&text);
        let out = env.crossrep().arg("plan").output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(err.contains(place), "expected `{place}` in: {err}");
        assert!(err.contains(what), "expected `{what}` in: {err}");
    }
    assert_eq!(env.emu.requests(&env.src), 0);
    assert_eq!(env.emu.requests(&env.dst), 0);
}

#[test]
fn init_writes_an_example_that_parses_and_refuses_to_overwrite() {
    let env = Env::new(12);
    let out = env.crossrep().arg("init").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(env.dir.path().join("crossrep.toml")).unwrap();
    crossrep_core::config::Config::parse(&text, std::path::Path::new("crossrep.toml")).unwrap();
    let again = env.crossrep().arg("init").output().unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("--force"));
}

/// The emulator's own self-tests (plain Python + boto3): the fixes, the Batch Operations jobs
/// and the permission checks the other tests rely on.
#[test]
fn emulator_self_tests() {
    // Make sure its dependencies are installed (the shared emulator's start does that).
    emulator();
    for script in ["test_emulator.py", "test_batch.py", "test_replicate.py"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../emulator")
            .join(script);
        let out = std::process::Command::new("python3")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            stdout(&out).contains("ALL OK"),
            "{script}: {}",
            stdout(&out)
        );
    }
}

/// No credentials at all: a short error that says what to set, not an SDK dump.
#[test]
fn missing_credentials_are_explained() {
    let env = Env::new(13);
    env.write_config("");
    let out = env
        .crossrep()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .arg("plan")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("hint: no usable AWS credentials for account"),
        "{err}"
    );
    assert!(!err.contains("DispatchFailure("), "no Debug dump: {err}");
}

/// `init` with profiles: the account ids come from the profiles' real identities (here, SSO-less
/// profiles that assume a role through the emulator, as an Organizations user's would).
#[test]
fn init_fills_in_the_accounts_of_the_given_profiles() {
    let env = Env::new(14);
    let ep = env.emu.endpoint();
    let aws_config = env.dir.path().join("aws-config");
    std::fs::write(
        &aws_config,
        format!(
            "[profile base]\naws_access_key_id = testing\naws_secret_access_key = testing\nregion = us-east-1\nendpoint_url = {ep}\n\n\
             [profile prod-admin]\nrole_arn = arn:aws:iam::{src}:role/admin\nsource_profile = base\nregion = us-east-1\nendpoint_url = {ep}\n\n\
             [profile dr-admin]\nrole_arn = arn:aws:iam::{dst}:role/admin\nsource_profile = base\nregion = us-east-1\nendpoint_url = {ep}\n",
            src = env.src,
            dst = env.dst
        ),
    )
    .unwrap();
    let out = env
        .crossrep()
        .env("AWS_CONFIG_FILE", &aws_config)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args([
            "init",
            "--source-profile",
            "prod-admin",
            "--destination-profile",
            "dr-admin",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(env.dir.path().join("crossrep.toml")).unwrap();
    let config =
        crossrep_core::config::Config::parse(&text, std::path::Path::new("crossrep.toml")).unwrap();
    assert_eq!(config.accounts["prod"].id.as_str(), env.src);
    assert_eq!(
        config.accounts["prod"].profile.as_deref(),
        Some("prod-admin")
    );
    assert_eq!(config.accounts["backup"].id.as_str(), env.dst);
    assert_eq!(
        config.accounts["backup"].profile.as_deref(),
        Some("dr-admin")
    );
}

/// Issue 8: STS throttling while assuming an account's role was reported as "no usable AWS
/// credentials". It says the call was throttled, and does not send people to fix credentials.
#[test]
fn a_throttled_assume_role_says_throttled() {
    let env = Env::new(18);
    env.write_config("");
    let role = format!("arn:aws:iam::{}:role/admin", env.src);
    env.emu.inject_fault(&format!(
        "operation=AssumeRole&role_arn={role}&code=Throttling&status=400&message=Rate%20exceeded"
    ));
    let out = env.crossrep().arg("plan").output().unwrap();
    env.emu.clear_role_faults(&role);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("throttled"), "{err}");
    assert!(!err.contains("no usable AWS credentials"), "{err}");
}

/// Issue 8 (retries with one owner): throttling is the SDK's to retry, with enough attempts
/// that a burst of it does not surface. Three `SlowDown` answers in a row (the SDK's default of
/// three attempts would give up) are absorbed, and the plan is the plan.
#[test]
fn a_burst_of_throttling_is_absorbed_by_the_sdk_retries() {
    let env = Env::new(44);
    let data = env.bucket("data");
    env.write_config("backfill = \"none\"");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let admin = env.admin().await;
        create_bucket(admin.src(), &data, "us-east-1").await;
    });
    env.emu.inject_fault(&format!(
        "operation=GetBucketVersioning&bucket={data}&code=SlowDown&status=503&times=3&message=Please%20reduce%20your%20request%20rate."
    ));
    let plan = env.ok(&["plan"]);
    assert!(
        plan.contains(&format!(
            "# versioning[{}/{data}] will be updated in-place",
            env.src
        )),
        "{plan}"
    );
    assert!(!plan.contains("conflict:"), "{plan}");
    // All three injected answers were used: the SDK asked again each time.
    assert_eq!(
        env.emu.summary(&env.src)["by_operation"]["GetBucketVersioning"]["count"],
        4,
        "three throttled attempts, then the answer"
    );
}
