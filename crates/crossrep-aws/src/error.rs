//! Errors of AWS calls, translated at this crate's boundary: each names the account, the
//! operation and its target, and access denials carry a hint naming the missing permission.

use std::fmt;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use crossrep_core::observed::{ErrorKind, ReadError};

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The credentials of a configured account act in another account.
    #[error(
        "the credentials for account `{name}` act in account {actual} ({arn}), but crossrep.toml says `id = \"{expected}\"`; nothing was written\n\nhint: check the `profile` / `role_arn` of `[accounts.{name}]`, or the AWS_* environment variables"
    )]
    WrongAccount {
        name: String,
        expected: String,
        actual: String,
        arn: String,
    },
    #[error("cannot set up AWS access for account `{name}`: {message}")]
    Setup { name: String, message: String },
    #[error("{0}")]
    Call(CallError),
}

/// One failed AWS request.
#[derive(Debug)]
pub struct CallError {
    pub account: String,
    /// IAM action of the operation, e.g. `s3:PutBucketReplication`.
    pub action: &'static str,
    pub target: Box<str>,
    pub code: Option<Box<str>>,
    pub message: String,
    /// What kind of failure, computed once from the error code and HTTP status.
    pub kind: ErrorKind,
    /// The request id AWS gave the failed request, for support cases.
    pub request_id: Option<Box<str>>,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())?;
        if let Some(hint) = self.hint() {
            write!(f, "\n\nhint: {hint}")?;
        }
        Ok(())
    }
}

/// Why credentials could not be loaded, read from the provider's error text (the SDK gives no
/// modelled error for it): say what happened, not "no credentials" for every cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CredentialProblem {
    Throttled,
    Denied,
    Expired,
    ProfileNotFound,
    Missing,
}

fn credential_problem(message: &str) -> Option<CredentialProblem> {
    if !message.contains("loading credentials") {
        return None;
    }
    let has = |needles: &[&str]| needles.iter().any(|n| message.contains(n));
    Some(
        if has(&[
            "Throttling",
            "Rate exceeded",
            "TooManyRequests",
            "RequestLimitExceeded",
        ]) {
            CredentialProblem::Throttled
        } else if has(&["AccessDenied", "not authorized to perform: sts:AssumeRole"]) {
            CredentialProblem::Denied
        } else if has(&["ExpiredToken", "expired"]) {
            CredentialProblem::Expired
        } else if has(&["profile", "Profile"])
            && has(&["not found", "could not be found", "missing"])
        {
            CredentialProblem::ProfileNotFound
        } else {
            CredentialProblem::Missing
        },
    )
}

/// Error codes by kind (S3, IAM, STS and S3 Control use different spellings).
fn classify(code: Option<&str>, status: Option<u16>, message: &str) -> ErrorKind {
    match code {
        Some(
            "NoSuchBucket"
            | "NoSuchEntity"
            | "NoSuchKey"
            | "NoSuchTagSet"
            | "NoSuchBucketPolicy"
            | "NoSuchLifecycleConfiguration"
            | "ReplicationConfigurationNotFoundError"
            | "OwnershipControlsNotFoundError"
            | "NotFound"
            | "NoSuchJob",
        ) => ErrorKind::NotFound,
        Some(
            "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "AllAccessDisabled",
        ) => ErrorKind::AccessDenied,
        Some(
            "Throttling"
            | "ThrottlingException"
            | "SlowDown"
            | "TooManyRequests"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "ServiceUnavailable"
            | "RequestThrottled",
        ) => ErrorKind::Throttled,
        Some("MalformedPolicy") if message.to_ascii_lowercase().contains("principal") => {
            ErrorKind::Propagating
        }
        Some(
            "InvalidRequest"
            | "InvalidArgument"
            | "MalformedXML"
            | "MalformedPolicy"
            | "MalformedPolicyDocument"
            | "ValidationError"
            | "InvalidBucketName"
            | "InvalidLocationConstraint",
        ) => ErrorKind::Invalid,
        _ => match status {
            Some(404) => ErrorKind::NotFound,
            Some(403) => ErrorKind::AccessDenied,
            Some(429 | 503) => ErrorKind::Throttled,
            Some(400) => ErrorKind::Invalid,
            _ => ErrorKind::Other,
        },
    }
}

impl std::error::Error for CallError {}

impl CallError {
    /// A call that succeeded but answered something unusable (bad JSON, an impossible value).
    pub(crate) fn invalid(
        account: impl fmt::Display,
        action: &'static str,
        target: impl fmt::Display,
        message: impl fmt::Display,
    ) -> CallError {
        CallError {
            account: account.to_string(),
            action,
            target: target.to_string().into_boxed_str(),
            code: None,
            message: message.to_string(),
            kind: ErrorKind::Invalid,
            request_id: None,
        }
    }

    /// One line: the action, its target, the account and what AWS said (no hint).
    pub fn summary(&self) -> String {
        format!(
            "`{}` on `{}` in account {} failed: {}",
            self.action, self.target, self.account, self.message
        )
    }

    /// What to do about it, for people (printed after the message as `hint:`).
    pub fn hint(&self) -> Option<String> {
        if let Some(problem) = credential_problem(&self.message) {
            let account = &self.account;
            Some(match problem {
                CredentialProblem::Throttled => format!(
                    "STS throttled getting the credentials of account {account} (its `role_arn` was not assumed): nothing is wrong with them; run again in a minute, or with a lower `--concurrency`"
                ),
                CredentialProblem::Denied => format!(
                    "the base credentials may not assume the `role_arn` of account {account}: the role's trust policy must allow them (`sts:AssumeRole`)"
                ),
                CredentialProblem::Expired => format!(
                    "the credentials for account {account} have expired: refresh them (`aws sso login` for SSO profiles)"
                ),
                CredentialProblem::ProfileNotFound => format!(
                    "the `profile` of account {account} is not in ~/.aws/config or ~/.aws/credentials"
                ),
                CredentialProblem::Missing => format!(
                    "no usable AWS credentials for account {account}: set `profile` (and run `aws sso login` for SSO profiles) or `role_arn` in crossrep.toml, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                ),
            })
        } else if matches!(
            self.code.as_deref(),
            Some("OperationAborted" | "ConcurrentModification" | "ConcurrentModificationException")
        ) {
            Some(format!(
                "something else was changing `{}` at the same moment (perhaps another `crossrep apply`); let it finish, then run again",
                self.target
            ))
        } else if self.is_access_denied() && self.message.contains("iam:PassRole") {
            // PutBucketReplication hands the role to S3: the caller must be allowed to pass it.
            Some(format!(
                "the credentials used for account {} need `iam:PassRole` on the replication role (condition `iam:PassedToService` = `s3.amazonaws.com`) to put the replication configuration of `{}`",
                self.account, self.target
            ))
        } else if self.is_access_denied() && self.action == "s3:PutReplicationConfiguration" {
            Some(format!(
                "the credentials used for account {} need `s3:PutReplicationConfiguration` on `{}` and `iam:PassRole` on the replication role",
                self.account, self.target
            ))
        } else if self.is_access_denied() {
            Some(format!(
                "the credentials used for account {} need `{}` on `{}`",
                self.account, self.action, self.target
            ))
        } else {
            None
        }
    }

    /// As the planner keeps it: kind, one-line message, hint apart.
    pub fn to_read_error(&self) -> ReadError {
        ReadError {
            kind: self.kind,
            message: self.summary(),
            hint: self.hint(),
        }
    }

    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    pub fn is_access_denied(&self) -> bool {
        self.kind == ErrorKind::AccessDenied
    }
}

/// Translates an SDK error; the code is the modeled or raw error code when there is one.
pub(crate) fn call_error<E>(
    err: SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
    account: &str,
    action: &'static str,
    target: impl Into<String>,
) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code: Option<Box<str>> = err.code().map(Box::from);
    let message = match (err.code(), err.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => cause_chain(&err),
    };
    let status = err.raw_response().map(|r| r.status().as_u16());
    let request_id = err
        .raw_response()
        .and_then(|r| {
            r.headers()
                .get("x-amz-request-id")
                .or(r.headers().get("x-amzn-requestid"))
        })
        .map(str::to_string);
    let kind = match credential_problem(&message) {
        Some(CredentialProblem::Throttled) => ErrorKind::Throttled,
        Some(CredentialProblem::Denied) => ErrorKind::AccessDenied,
        Some(_) => ErrorKind::Other,
        None => classify(code.as_deref(), status, &message),
    };
    CallError {
        account: account.to_string(),
        action,
        target: target.into().into_boxed_str(),
        kind,
        code,
        message,
        request_id: request_id.map(String::into_boxed_str),
    }
}

/// The Display of an error and its sources, joined, without repeats: the SDK's own
/// `DisplayErrorContext` ends with a Debug dump that buries the cause.
fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    if parts.is_empty() {
        DisplayErrorContext(err).to_string()
    } else {
        parts.join(": ")
    }
}

impl From<CallError> for AwsError {
    fn from(e: CallError) -> Self {
        AwsError::Call(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_concurrent_change_suggests_another_apply() {
        let e = CallError {
            account: "111111111111".into(),
            action: "s3:PutReplicationConfiguration",
            target: "data".into(),
            code: Some("OperationAborted".into()),
            message:
                "OperationAborted: A conflicting conditional operation is currently in progress"
                    .into(),
            kind: ErrorKind::Other,
            request_id: None,
        };
        assert!(e.hint().unwrap().contains("another `crossrep apply`"));
    }

    #[test]
    fn codes_and_statuses_map_to_kinds() {
        assert_eq!(
            classify(Some("SlowDown"), Some(503), ""),
            ErrorKind::Throttled
        );
        assert_eq!(
            classify(Some("Throttling"), Some(400), ""),
            ErrorKind::Throttled
        );
        assert_eq!(
            classify(Some("AccessDenied"), Some(403), ""),
            ErrorKind::AccessDenied
        );
        assert_eq!(
            classify(Some("NoSuchEntity"), Some(404), ""),
            ErrorKind::NotFound
        );
        assert_eq!(
            classify(
                Some("MalformedPolicy"),
                Some(400),
                "Invalid principal in policy"
            ),
            ErrorKind::Propagating
        );
        assert_eq!(
            classify(Some("MalformedPolicy"), Some(400), "bad action"),
            ErrorKind::Invalid
        );
        assert_eq!(classify(None, Some(403), ""), ErrorKind::AccessDenied);
        assert_eq!(classify(None, Some(404), ""), ErrorKind::NotFound);
        assert_eq!(classify(None, None, "dispatch failure"), ErrorKind::Other);
    }

    #[test]
    fn credential_errors_say_what_happened() {
        let p = credential_problem;
        let loading = "dispatch failure: other: an error occurred while loading credentials: ";
        assert_eq!(p("AccessDenied: nope"), None);
        assert_eq!(
            p(&format!("{loading}service error: unhandled error (Throttling): Error {{ code: \"Throttling\", message: \"Rate exceeded\" }}")),
            Some(CredentialProblem::Throttled)
        );
        assert_eq!(
            p(&format!("{loading}service error: AccessDenied: User is not authorized to perform: sts:AssumeRole")),
            Some(CredentialProblem::Denied)
        );
        assert_eq!(
            p(&format!(
                "{loading}ExpiredToken: The security token included in the request is expired"
            )),
            Some(CredentialProblem::Expired)
        );
        assert_eq!(
            p(&format!(
                "{loading}the credentials provider was not enabled"
            )),
            Some(CredentialProblem::Missing)
        );
    }
}
