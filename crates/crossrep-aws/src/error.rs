//! Errors of AWS calls, translated at this crate's boundary: each names the account, the
//! operation and its target, and access denials carry a hint naming the missing permission.

use std::fmt;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

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
    pub target: String,
    pub code: Option<String>,
    pub message: String,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` on `{}` in account {} failed: {}",
            self.action, self.target, self.account, self.message
        )?;
        if self.message.contains("loading credentials") {
            write!(
                f,
                "\n\nhint: no usable AWS credentials for account {}: set `profile` (and run `aws sso login` for SSO profiles) or `role_arn` in crossrep.toml, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                self.account
            )?;
        } else if self.is_access_denied() {
            write!(
                f,
                "\n\nhint: the credentials used for account {} need `{}` on `{}`",
                self.account, self.action, self.target
            )?;
        }
        Ok(())
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
            target: target.to_string(),
            code: None,
            message: message.to_string(),
        }
    }

    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.code(),
            Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation")
        )
    }
}

/// Translates an SDK error; the code is the modeled or raw error code when there is one.
pub(crate) fn call_error<E, R>(
    err: SdkError<E, R>,
    account: &str,
    action: &'static str,
    target: impl Into<String>,
) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let code = err.code().map(str::to_string);
    let message = match (err.code(), err.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => cause_chain(&err),
    };
    CallError {
        account: account.to_string(),
        action,
        target: target.into(),
        code,
        message,
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
