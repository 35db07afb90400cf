//! The replica key and its key policy (KMS): found by alias or by the ARN `kms` names
//! (`DescribeKey`, `GetKeyPolicy`), created with its tag and alias (`CreateKey`, `CreateAlias`), its policy
//! written merged (`PutKeyPolicy`, retried while a new role is not yet a valid principal). And
//! the substitution of the token a plan writes for the ARN of a key it creates.

use std::collections::BTreeMap;
use std::sync::Mutex;

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::types::{KeyManagerType, KeySpec, KeyState, KeyUsageType, Tag};
use serde_json::Value;

use crossrep_core::kinds::key_policy::{KeyPolicy, KeyPolicySpec};
use crossrep_core::kinds::replica_key::{self, KeyAddr, ReplicaKey, ReplicaKeySpec, ALIAS};
use crossrep_core::kinds::Change;
use crossrep_core::observed::{ErrorKind, Observed};

use super::{never_deleted, with_consistency_retry};
use crate::error::{call_error, CallError};
use crate::session::{Session, Sessions};

const DESCRIPTION: &str = "crossrep: replicas of SSE-KMS objects (never delete or disable it: the replicas would become unreadable)";

/// The key `alias/crossrep-replica` names in the session's account and `region`, with its key
/// policy; both absent when there is no such alias.
pub(crate) async fn read(
    session: &Session,
    addr: &KeyAddr,
) -> (Observed<ReplicaKeySpec>, Observed<KeyPolicySpec>) {
    match read_all(session, addr).await {
        Ok(Some((k, p))) => (Observed::Present(k), Observed::Present(p)),
        Ok(None) => (Observed::Absent, Observed::Absent),
        Err(e) => {
            let e = e.to_read_error();
            (Observed::Unreadable(e.clone()), Observed::Unreadable(e))
        }
    }
}

/// The key `key_id` names (crossrep's alias, or the ARN `kms` names), if it exists
/// (`DescribeKey` accepts an alias name).
async fn describe(
    kms: &aws_sdk_kms::Client,
    account: &str,
    key_id: &str,
) -> Result<Option<aws_sdk_kms::types::KeyMetadata>, CallError> {
    match kms.describe_key().key_id(key_id).send().await {
        Ok(out) => Ok(out.key_metadata().cloned()),
        Err(e) if e.code() == Some("NotFoundException") => Ok(None),
        Err(e) => Err(call_error(e, account, "kms:DescribeKey", key_id)),
    }
}

/// The ARN of the key `key_id` names, if it exists.
async fn find(
    kms: &aws_sdk_kms::Client,
    account: &str,
    key_id: &str,
) -> Result<Option<String>, CallError> {
    Ok(describe(kms, account, key_id)
        .await?
        .map(|m| m.arn().unwrap_or_default().to_string()))
}

async fn read_all(
    session: &Session,
    addr: &KeyAddr,
) -> Result<Option<(ReplicaKeySpec, KeyPolicySpec)>, CallError> {
    let account = session.id.as_str();
    let kms = session.kms(&addr.region);
    let Some(meta) = describe(&kms, account, addr.key_id()).await? else {
        return Ok(None);
    };
    let arn = meta.arn().unwrap_or_default().to_string();
    let policy = kms
        .get_key_policy()
        .key_id(&arn)
        .policy_name("default")
        .send()
        .await
        .map_err(|e| call_error(e, account, "kms:GetKeyPolicy", &arn))?;
    let document: Value = serde_json::from_str(policy.policy().unwrap_or("{}")).map_err(|e| {
        CallError::invalid(
            account,
            "kms:GetKeyPolicy",
            &arn,
            format!("the key policy is not valid JSON: {e}"),
        )
    })?;
    let symmetric = meta.key_spec() == Some(&KeySpec::SymmetricDefault)
        && meta
            .key_usage()
            .is_none_or(|u| u == &KeyUsageType::EncryptDecrypt);
    Ok(Some((
        ReplicaKeySpec {
            arn: Some(arn),
            alias: ALIAS.to_string(),
            // Not read: a key is found by its alias and never updated, so its tags decide
            // nothing (`ReplicaKey::same`).
            tags: Default::default(),
            enabled: meta.key_state() == Some(&KeyState::Enabled),
            symmetric,
            aws_managed: meta.key_manager() == Some(&KeyManagerType::Aws),
        },
        KeyPolicySpec { document },
    )))
}

pub(crate) async fn apply(c: &Change<ReplicaKey>, sessions: &Sessions) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let Some(spec) = &c.after else {
        return Err(never_deleted(account, "kms:ScheduleKeyDeletion", ALIAS));
    };
    if let Some(arn) = &c.addr.key {
        // The planner never creates a key `kms` names (a missing one is a conflict).
        return Err(CallError::invalid(
            account,
            "kms:CreateKey",
            arn,
            "crossrep creates only its own replica key, never one `kms` names",
        ));
    }
    let kms = session.kms(&c.addr.region);
    // A lost response to an earlier attempt may have left the key with its alias: use it.
    if find(&kms, account, ALIAS).await?.is_some() {
        return Ok(());
    }
    let tags: Vec<Tag> = spec
        .tags
        .iter()
        .filter_map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build().ok())
        .collect();
    let created = kms
        .create_key()
        .description(DESCRIPTION)
        .key_spec(KeySpec::SymmetricDefault)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| call_error(e, account, "kms:CreateKey", ALIAS))?;
    let key_id = created
        .key_metadata()
        .map(|m| m.key_id().to_string())
        .unwrap_or_default();
    match kms
        .create_alias()
        .alias_name(ALIAS)
        .target_key_id(&key_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // Someone (a concurrent apply) made it meanwhile: theirs is the replica key.
        Err(e) if e.code() == Some("AlreadyExistsException") => Ok(()),
        Err(e) => Err(call_error(e, account, "kms:CreateAlias", ALIAS)),
    }
}

pub(crate) async fn apply_policy(
    c: &Change<KeyPolicy>,
    sessions: &Sessions,
    fresh: bool,
) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let Some(spec) = &c.after else {
        return Err(never_deleted(account, "kms:PutKeyPolicy", ALIAS));
    };
    let kms = session.kms(&c.addr.region);
    let key_id = c.addr.key_id();
    let Some(arn) = find(&kms, account, key_id).await? else {
        return Err(CallError::invalid(
            account,
            "kms:PutKeyPolicy",
            key_id,
            format!(
                "the replica key `{key_id}` does not exist in {} ({}); run `crossrep apply` again",
                c.addr.account, c.addr.region
            ),
        ));
    };
    // Merged at plan time: written only over what was merged into (a new key has the default).
    if c.before.is_some() {
        let (_, now) = read(session, &c.addr).await;
        super::unchanged_since_plan(now, c, account, "kms:PutKeyPolicy")?;
    }
    let body = spec.document.to_string();
    // A role created moments ago is not yet a principal KMS accepts
    // (`MalformedPolicyDocumentException`, AWS-NOTES): retried only then.
    let propagating = |e: &CallError| {
        e.code() == Some("MalformedPolicyDocumentException") || e.kind == ErrorKind::Propagating
    };
    with_consistency_retry(propagating, fresh, || async {
        kms.put_key_policy()
            .key_id(&arn)
            .policy_name("default")
            .policy(&body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| call_error(e, account, "kms:PutKeyPolicy", &arn))
    })
    .await
}

/// ARNs of replica keys found during this run, by where they are (tokens are resolved once).
static FOUND: Mutex<BTreeMap<KeyAddr, String>> = Mutex::new(BTreeMap::new());

/// `text` with every replica-key token replaced by the ARN of the key its alias names now
/// (created earlier in this run: the plan put the token where the ARN goes). A token whose key
/// does not exist is an error: the change that needs it does not run.
pub(crate) async fn resolve(text: &str, sessions: &Sessions) -> Result<String, CallError> {
    let mut arns = BTreeMap::new();
    for addr in replica_key::tokens_in(text) {
        let cached = FOUND.lock().ok().and_then(|m| m.get(&addr).cloned());
        let arn = match cached {
            Some(arn) => arn,
            None => {
                let session = sessions.get(&addr.account);
                let found = find(&session.kms(&addr.region), session.id.as_str(), ALIAS).await?;
                let Some(arn) = found else {
                    return Err(CallError::invalid(
                        addr.account.as_str(),
                        "kms:DescribeKey",
                        ALIAS,
                        format!(
                            "the replica key `{ALIAS}` in {} ({}) was not created; run `crossrep apply` again",
                            addr.account, addr.region
                        ),
                    ));
                };
                if let Ok(mut m) = FOUND.lock() {
                    m.insert(addr.clone(), arn.clone());
                }
                arn
            }
        };
        arns.insert(addr, arn);
    }
    Ok(replica_key::substitute(text, |a| arns.get(a).cloned()))
}
