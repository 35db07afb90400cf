//! The command line itself (SPEC §3, README "Commands"): exit codes of bad usage, a closed
//! stdout, what goes to stdout and what to stderr, `-q`, `-v`, `--format json` of the commands
//! that write, completions and the man page.

use std::process::Stdio;

use serde_json::Value;

use crate::harness::*;

/// A `crossrep` that needs no emulator (no config is read).
fn bare() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_crossrep"));
    cmd.env_clear().env("NO_COLOR", "1");
    cmd
}

/// README "Exit codes": 1 is bad usage too (clap alone would exit 2, crossrep's "changes").
#[test]
fn bad_usage_exits_1_and_help_and_version_exit_0() {
    for args in [&["plan", "--bogus"][..], &["no-such-command"], &[]] {
        let out = bare().args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "crossrep {args:?}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).is_empty(), "crossrep {args:?} says why");
    }
    for args in [&["--help"][..], &["plan", "--help"], &["--version"]] {
        let out = bare().args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "crossrep {args:?}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).contains("crossrep"), "{}", stdout(&out));
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_cli_definition() {
    let bash = bare().args(["completions", "bash"]).output().unwrap();
    assert!(bash.status.success(), "{}", stderr(&bash));
    let script = stdout(&bash);
    assert!(script.contains("_crossrep()"), "{script}");
    assert!(script.contains("--detailed-exitcode"), "{script}");
    assert!(script.contains("complete -F _crossrep"), "{script}");

    let man = bare().arg("man").output().unwrap();
    assert!(man.status.success(), "{}", stderr(&man));
    let page = stdout(&man);
    assert!(
        page.starts_with(".ie") || page.contains(".TH crossrep"),
        "{page}"
    );
    assert!(page.contains("backfill"), "{page}");
    let plan = bare().args(["man", "plan"]).output().unwrap();
    assert!(plan.status.success(), "{}", stderr(&plan));
    assert!(
        stdout(&plan).contains("detailed\\-exitcode"),
        "{}",
        stdout(&plan)
    );
    let unknown = bare().args(["man", "nope"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("`plan`"), "{}", stderr(&unknown));
}

/// R17: `crossrep plan | head -1` used to panic on the closed pipe and exit 101.
#[test]
fn a_closed_stdout_ends_quietly_with_0() {
    let env = Env::new(50);
    env.write_config("");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let admin = env.admin().await;
        create_bucket(admin.src(), &env.bucket("pipe"), "us-east-1").await;
    });
    for args in [&["plan"][..], &["plan", "--format", "json"], &["--help"]] {
        let mut child = env
            .command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before crossrep writes a byte (discovery comes first).
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "crossrep {args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!err.contains("error"), "{err}");
    }
    // Through a shell, as people type it.
    let out = std::process::Command::new("bash")
        .current_dir(env.dir.path())
        .envs(env.command().get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("CROSSREP", env!("CARGO_BIN_EXE_crossrep"))
        .args([
            "-c",
            "\"$CROSSREP\" plan | head -1; exit \"${PIPESTATUS[0]}\"",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
}

/// `-q` leaves stderr to errors: no "Saved the plan" message; stdout is still the plan.
#[test]
fn quiet_plan_out_prints_nothing_on_stderr() {
    let env = Env::new(51);
    env.write_config("");
    let out = env
        .crossrep()
        .args(["-q", "plan", "--out", "p.json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert!(stdout(&out).contains("No changes."), "{}", stdout(&out));
    assert!(env.dir.path().join("p.json").exists());

    // Without -q, the message is there, on stderr, and stdout is only the plan.
    let out = env
        .crossrep()
        .args(["plan", "--out", "p.json"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("Saved the plan to p.json"),
        "{}",
        stderr(&out)
    );
    assert!(!stdout(&out).contains("Saved"), "{}", stdout(&out));

    // Errors are still shown with -q.
    let out = env
        .crossrep()
        .args(["-q", "-c", "missing.toml", "plan"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
    assert!(stderr(&out).contains("missing.toml"), "{}", stderr(&out));
}

/// R17: the question is never asked on stdout; with stdin closed apply explains why it cannot
/// ask, on stderr, and exits 1 before calling AWS.
#[test]
fn apply_and_destroy_without_yes_and_stdin_closed_explain_themselves() {
    let env = Env::new(52);
    env.write_config("");
    for command in ["apply", "destroy"] {
        let out = env
            .command()
            .arg(command)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("cannot ask for confirmation"), "{err}");
        assert!(
            err.contains(&format!("`crossrep {command} --yes`")),
            "{err}"
        );
        assert_eq!(stdout(&out), "", "nothing on stdout");
    }
    assert_eq!(
        env.emu.requests(&env.src),
        0,
        "it must stop before calling AWS"
    );
}

/// `--format json` on the commands that write: stdout is one JSON document each time.
#[tokio::test(flavor = "multi_thread")]
async fn apply_backfill_and_destroy_speak_json() {
    let env = Env::new(53);
    let admin = env.admin().await;
    let data = env.bucket("data");
    create_bucket(admin.src(), &data, "us-east-1").await;
    enable_versioning(admin.src(), &data, "us-east-1").await;
    put_object(admin.src(), &data, "us-east-1", "a.txt", "a").await;
    env.write_config("");

    let json = |args: &[&str]| -> Value {
        let out = env.crossrep().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "crossrep {args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("crossrep {args:?}: {e}: {}", stdout(&out)))
    };

    let apply = json(&["apply", "--yes", "--format", "json"]);
    assert_eq!(apply["complete"], true, "{apply:#}");
    let changes = apply["plan"]["changes"].as_array().unwrap().len();
    assert!(changes > 0, "{apply:#}");
    assert_eq!(
        apply["counts"]["added"].as_u64().unwrap() + apply["counts"]["changed"].as_u64().unwrap(),
        changes as u64,
        "{apply:#}"
    );
    assert_eq!(apply["applied"].as_array().unwrap().len(), changes);
    assert!(
        apply["applied"]
            .as_array()
            .unwrap()
            .contains(&Value::from(format!("replication[{}/{data}]", env.src))),
        "{apply:#}"
    );
    assert_eq!(apply["failed"], Value::Array(vec![]));

    // Nothing left to do: the same document with an empty plan.
    let again = json(&["apply", "--yes", "--format", "json"]);
    assert_eq!(again["complete"], true);
    assert_eq!(again["plan"]["changes"], Value::Array(vec![]));

    let backfill = json(&["backfill", "--wait", "--format", "json"]);
    assert_eq!(backfill["ok"], true, "{backfill:#}");
    let bucket = &backfill["buckets"][0];
    assert_eq!(bucket["source"]["bucket"], data.as_str(), "{backfill:#}");
    assert_eq!(bucket["decision"], "create", "{backfill:#}");
    let id = bucket["job_id"].as_str().unwrap();
    assert_eq!(backfill["finished"][0]["id"], id, "{backfill:#}");
    assert_eq!(
        backfill["finished"][0]["status"], "Complete",
        "{backfill:#}"
    );
    assert_eq!(backfill["status"][0]["rule"], "enabled", "{backfill:#}");
    // The job completed without a failure: the second run does not start another.
    let second = json(&["backfill", "--format", "json"]);
    assert_eq!(second["buckets"][0]["decision"], "done", "{second:#}");
    assert_eq!(second["buckets"][0]["job"]["id"], id, "{second:#}");
    assert!(second.get("finished").is_none(), "{second:#}");

    let destroy = json(&["destroy", "--yes", "--format", "json"]);
    assert_eq!(destroy["complete"], true, "{destroy:#}");
    assert!(
        destroy["counts"]["destroyed"].as_u64().unwrap() > 0,
        "{destroy:#}"
    );
}

/// `-v`: one line per AWS call on stderr, with operation, account, region, target, outcome and
/// duration; errors with their code.
#[test]
fn verbose_logs_each_aws_call() {
    let env = Env::new(54);
    env.write_config("");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = env.bucket("logged");
    rt.block_on(async {
        let admin = env.admin().await;
        create_bucket(admin.src(), &data, "us-east-1").await;
    });
    let out = env.crossrep().args(["-v", "plan"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let identity = err
        .lines()
        .find(|l| l.contains("GetCallerIdentity") && l.contains(&env.src))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(identity.contains("region=us-east-1"), "{identity}");
    assert!(identity.contains("outcome=ok"), "{identity}");
    assert!(identity.contains("ms="), "{identity}");
    // The source bucket has no replication configuration yet: an error S3 answers with a code.
    let replication = err
        .lines()
        .find(|l| l.contains("GetBucketReplication") && l.contains(&data))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(replication.contains("outcome=error"), "{replication}");
    assert!(
        replication.contains("code=ReplicationConfigurationNotFoundError status=404"),
        "{replication}"
    );
    assert!(
        replication.contains(&format!("target={data} ")),
        "{replication}"
    );
    // Without -v there are none of these lines.
    let quiet = env.crossrep().arg("plan").output().unwrap();
    assert!(
        !stderr(&quiet).contains("GetCallerIdentity"),
        "{}",
        stderr(&quiet)
    );
}

/// R17: the confirmation question goes to stderr, so `crossrep apply > out.txt` in a terminal
/// shows it; stdout (the file) gets the plan only. A pseudo-terminal (Python's `pty`) stands
/// in for the person, who answers `no`.
#[tokio::test(flavor = "multi_thread")]
async fn the_question_is_asked_on_stderr() {
    let env = Env::new(55);
    let admin = env.admin().await;
    create_bucket(admin.src(), &env.bucket("asked"), "us-east-1").await;
    env.write_config("");
    const PERSON: &str = r#"
import os, pty, select, subprocess, sys
master, slave = pty.openpty()
with open("out.txt", "wb") as out:
    p = subprocess.Popen([sys.argv[1], "apply"], stdin=slave, stdout=out, stderr=slave)
os.close(slave)
seen = b""
while b"Only `yes` will be accepted" not in seen:
    # A question that never shows up (asked on stdout) must not hang the test.
    if not select.select([master], [], [], 120)[0]:
        p.kill()
        break
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
os.write(master, b"no\n")
code = p.wait()
try:
    while True:
        chunk = os.read(master, 4096)
        if not chunk:
            break
        seen += chunk
except OSError:
    pass
sys.stdout.buffer.write(seen)
sys.exit(code)
"#;
    let before = env.emu.writes(&env.src);
    let out = std::process::Command::new("python3")
        .current_dir(env.dir.path())
        .env_clear()
        .envs(env.command().get_envs().filter_map(|(k, v)| Some((k, v?))))
        .args(["-c", PERSON, env!("CARGO_BIN_EXE_crossrep")])
        .output()
        .unwrap();
    let terminal = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{terminal}{}", stderr(&out));
    assert!(
        terminal.contains("Do you want to perform these actions?"),
        "{terminal}"
    );
    assert!(terminal.contains("Apply cancelled."), "{terminal}");
    let file = std::fs::read_to_string(env.dir.path().join("out.txt")).unwrap();
    assert!(file.contains("will be created"), "{file}");
    assert!(!file.contains("Do you want"), "{file}");
    assert!(!file.contains("cancelled"), "{file}");
    assert_eq!(env.emu.writes(&env.src), before, "nothing was applied");
}
