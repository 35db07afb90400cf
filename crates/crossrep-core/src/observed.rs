//! What discovery saw of one resource: [`Observed`], and why a read failed: [`ReadError`].
//!
//! One rule for every kind: a resource the plan needs that is [`Observed::Unread`] or
//! [`Observed::Unreadable`] makes its pairs conflicts (writing over something nobody read could
//! drop what someone else configured); "not found" is [`Observed::Absent`], a state, not an
//! error.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The state of one resource as discovery saw it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observed<T> {
    /// Discovery did not look (the plan must not rely on it).
    #[default]
    Unread,
    /// Looked, and there is none.
    Absent,
    Present(T),
    /// Looked, and the read failed.
    Unreadable(ReadError),
}

impl<T> Observed<T> {
    pub fn present(&self) -> Option<&T> {
        match self {
            Observed::Present(t) => Some(t),
            _ => None,
        }
    }

    pub fn is_present(&self) -> bool {
        matches!(self, Observed::Present(_))
    }

    /// `Absent` or `Present` as an option; `None` when not read.
    pub fn known(&self) -> Option<Option<&T>> {
        match self {
            Observed::Present(t) => Some(Some(t)),
            Observed::Absent => Some(None),
            Observed::Unread | Observed::Unreadable(_) => None,
        }
    }

    /// Why the plan cannot rely on this resource, if it cannot.
    pub fn problem(&self) -> Option<ReadProblem<'_>> {
        match self {
            Observed::Unread => Some(ReadProblem::Unread),
            Observed::Unreadable(e) => Some(ReadProblem::Unreadable(e)),
            Observed::Absent | Observed::Present(_) => None,
        }
    }

    /// What is present, transformed; the other states as they are.
    pub fn and_then<U>(self, f: impl FnOnce(T) -> Observed<U>) -> Observed<U> {
        match self {
            Observed::Present(t) => f(t),
            Observed::Absent => Observed::Absent,
            Observed::Unread => Observed::Unread,
            Observed::Unreadable(e) => Observed::Unreadable(e),
        }
    }

    pub fn from_option(value: Option<T>) -> Observed<T> {
        match value {
            Some(t) => Observed::Present(t),
            None => Observed::Absent,
        }
    }
}

/// Why a needed resource cannot be relied on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadProblem<'a> {
    Unread,
    Unreadable(&'a ReadError),
}

/// What kind of failure an AWS call met, computed once where SDK errors are translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    NotFound,
    AccessDenied,
    Throttled,
    /// AWS eventual consistency: a new role or new versioning not visible yet.
    Propagating,
    /// The request or the answer was invalid.
    Invalid,
    Other,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::AccessDenied => "access denied",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Propagating => "propagating",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Other => "other",
        })
    }
}

/// A failed read: its kind, the message (one line, no hint) and the hint for people.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReadError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl ReadError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ReadError {
        ReadError {
            kind,
            message: message.into(),
            hint: None,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_then_transforms_only_what_is_present() {
        let e = ReadError::new(ErrorKind::Throttled, "slow down");
        let half = |n: u32| {
            if n.is_multiple_of(2) {
                Observed::Present(n / 2)
            } else {
                Observed::Absent
            }
        };
        assert_eq!(Observed::Present(4).and_then(half), Observed::Present(2));
        assert_eq!(Observed::Present(3).and_then(half), Observed::Absent);
        assert_eq!(Observed::Absent.and_then(half), Observed::Absent);
        assert_eq!(Observed::Unread.and_then(half), Observed::Unread);
        assert_eq!(
            Observed::Unreadable(e.clone()).and_then(half),
            Observed::Unreadable(e.clone())
        );
        assert_eq!(
            Observed::<u32>::Unreadable(e.clone()).problem(),
            Some(ReadProblem::Unreadable(&e))
        );
        assert_eq!(Observed::<u32>::Unread.problem(), Some(ReadProblem::Unread));
        assert_eq!(Observed::Present(1).known(), Some(Some(&1)));
        assert_eq!(Observed::<u32>::Absent.known(), Some(None));
    }
}
