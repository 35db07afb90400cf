//! Validated newtypes for the identifiers crossrep handles. Each is checked once, at parse time,
//! so the rest of the code can rely on it.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a string is not a valid identifier of some kind. The message is a full sentence fragment
/// meant to follow the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidName(pub String);

macro_rules! newtype {
    ($(#[$m:meta])* $name:ident, $check:path) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Result<Self, InvalidName> {
                let s = s.into();
                $check(&s)?;
                Ok(Self(s))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = InvalidName;
            fn try_from(s: String) -> Result<Self, InvalidName> {
                Self::new(s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

newtype!(
    /// A 12-digit AWS account id.
    AccountId,
    check_account_id
);
newtype!(
    /// An S3 bucket name valid under the current naming rules (AWS `bucketnamingrules.md`).
    BucketName,
    check_bucket_name
);
newtype!(
    /// An AWS region code such as `eu-west-1`.
    Region,
    check_region
);

/// Prefixes S3 reserves: no bucket name may start with them (AWS `bucketnamingrules.md`).
pub const RESERVED_PREFIXES: &[&str] = &["xn--", "sthree-", "amzn-s3-demo-"];

/// Suffixes S3 reserves for access point aliases (`-s3alias`), Object Lambda access point
/// aliases (`--ol-s3`), directory buckets (`--x-s3`), table buckets (`--table-s3`) and
/// Multi-Region Access Point aliases (`.mrap`): no bucket name may end with them.
pub const RESERVED_SUFFIXES: &[&str] = &["-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap"];

/// The regions a configuration may name: the commercial regions (opt-in ones included), China
/// and GovCloud, as of 2026. [`Region::new`] checks only the shape, because discovery must
/// accept whatever region AWS reports a bucket in; the configuration is held to this list so
/// that a typo fails before any request instead of as an endpoint that does not resolve. Add a
/// region here when AWS launches one.
pub const KNOWN_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-east-1",
    "us-gov-west-1",
];

impl Region {
    /// Whether this is one of [`KNOWN_REGIONS`].
    pub fn is_known(&self) -> bool {
        KNOWN_REGIONS.contains(&self.as_str())
    }
}

/// The known region closest to `s` (case aside) if one is within edit distance 2, for "did you
/// mean" hints; ties go to the first in [`KNOWN_REGIONS`].
pub fn nearest_known_region(s: &str) -> Option<&'static str> {
    let s = s.to_ascii_lowercase();
    KNOWN_REGIONS
        .iter()
        .map(|r| (edit_distance(&s, r), *r))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, r)| r)
}

/// Levenshtein distance over bytes (region codes are ASCII), one row at a time.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &x) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &y) in b.iter().enumerate() {
            let next = (diag + usize::from(x != y))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

fn check_account_id(s: &str) -> Result<(), InvalidName> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(InvalidName(format!(
            "`{s}` is not an AWS account id (expected 12 digits)"
        )))
    }
}

fn check_region(s: &str) -> Result<(), InvalidName> {
    // Shapes seen in every partition: `us-east-1`, `us-gov-west-1`, `eu-central-2`,
    // `us-isob-east-1`, `ap-southeast-5`. Lowercase words separated by `-`, ending in a number.
    let parts: Vec<&str> = s.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if ok {
        Ok(())
    } else {
        Err(InvalidName(format!(
            "`{s}` is not an AWS region (expected something like `eu-west-1`)"
        )))
    }
}

/// Checks the general-purpose bucket naming rules and returns the first one broken.
pub fn bucket_name_problem(s: &str) -> Option<String> {
    let len = s.len();
    if !(3..=63).contains(&len) {
        return Some(format!("is {len} characters long (3 to 63 allowed)"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
    {
        return Some(format!(
            "contains `{c}` (only lowercase letters, digits, `.` and `-` are allowed)"
        ));
    }
    let first = s.as_bytes()[0];
    let last = s.as_bytes()[len - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Some("must start and end with a letter or digit".into());
    }
    if s.contains("..") || s.contains(".-") || s.contains("-.") {
        return Some("must not contain `..`, `.-` or `-.`".into());
    }
    for prefix in RESERVED_PREFIXES {
        if s.starts_with(prefix) {
            return Some(format!("must not start with `{prefix}`"));
        }
    }
    for suffix in RESERVED_SUFFIXES {
        if s.ends_with(suffix) {
            return Some(format!("must not end with `{suffix}`"));
        }
    }
    if s.split('.').count() == 4 && s.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Some("must not be formatted as an IP address".into());
    }
    None
}

fn check_bucket_name(s: &str) -> Result<(), InvalidName> {
    match bucket_name_problem(s) {
        None => Ok(()),
        Some(p) => Err(InvalidName(format!("bucket name `{s}` {p}"))),
    }
}

/// Length of the hash suffix appended to shortened names (`-` + 8 hex digits).
const HASH_SUFFIX_LEN: usize = 9;

/// Turns a rendered destination name into a valid bucket name.
///
/// A valid name is returned unchanged (`None` as the second value). Otherwise, deterministically:
/// the characters not allowed in bucket names are replaced by `-`, runs of separators collapsed,
/// the result cut to leave room for the suffix, trailing separators trimmed, and `-` plus the
/// first 8 hex digits of SHA-256 of the *original* rendered name appended. The hash keeps two
/// long names that share their first 54 characters apart, and the same input always gives the
/// same name, so re-planning finds the bucket it created before.
pub fn shorten_bucket_name(rendered: &str) -> Result<(BucketName, Option<String>), InvalidName> {
    if bucket_name_problem(rendered).is_none() {
        return Ok((BucketName(rendered.to_string()), None));
    }
    let mut mapped = String::with_capacity(rendered.len());
    for c in rendered.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' {
            c
        } else {
            '-'
        };
        let prev_sep = matches!(mapped.chars().last(), Some('-') | Some('.'));
        if (c == '-' || c == '.') && prev_sep {
            continue;
        }
        mapped.push(c);
    }
    // A reserved prefix is dropped (a template cannot start with one, but `s{bucket}` can still
    // render `sthree-…`); what follows it may start with a separator again.
    let mut cleaned = mapped.trim_start_matches(['-', '.']);
    while let Some(rest) = RESERVED_PREFIXES
        .iter()
        .find_map(|p| cleaned.strip_prefix(p))
    {
        cleaned = rest.trim_start_matches(['-', '.']);
    }
    let budget = 63 - HASH_SUFFIX_LEN;
    let mut stem: String = cleaned.chars().take(budget).collect();
    while stem.ends_with(['-', '.']) {
        stem.pop();
    }
    let digest = Sha256::digest(rendered.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let name = if stem.is_empty() {
        format!("crossrep-{hex}")
    } else {
        format!("{stem}-{hex}")
    };
    BucketName::new(name).map(|b| (b, Some(rendered.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids() {
        assert!(AccountId::new("111111111111").is_ok());
        assert!(AccountId::new("11111111111").is_err());
        assert!(AccountId::new("11111111111a").is_err());
    }

    #[test]
    fn regions() {
        for ok in ["us-east-1", "eu-west-1", "us-gov-west-1", "ap-southeast-5"] {
            assert!(Region::new(ok).is_ok(), "{ok}");
        }
        for bad in ["useast1", "US-EAST-1", "us-east-", "eu-west-1a", ""] {
            assert!(Region::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn known_regions() {
        for r in [
            "us-east-1",
            "eu-west-1",
            "us-gov-west-1",
            "cn-northwest-1",
            "mx-central-1",
        ] {
            assert!(Region::new(r).unwrap().is_known(), "{r}");
        }
        // The shape is all `Region::new` checks: discovery takes what AWS reports.
        assert!(!Region::new("mars-north-1").unwrap().is_known());
        assert_eq!(nearest_known_region("eu-wset-1"), Some("eu-west-1"));
        assert_eq!(nearest_known_region("EU-WEST-1"), Some("eu-west-1"));
        assert_eq!(nearest_known_region("us-east-3"), Some("us-east-1"));
        assert_eq!(nearest_known_region("euwest1"), Some("eu-west-1"));
        assert_eq!(nearest_known_region("mars-north-1"), None);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn bucket_names() {
        assert!(BucketName::new("my-bucket.logs").is_ok());
        for bad in [
            "ab",
            "My-bucket",
            "bucket-",
            "-bucket",
            "a..b",
            "xn--abc",
            "foo-s3alias",
            "sthree-foo",
            "amzn-s3-demo-foo",
            "foo--x-s3",
            "foo--table-s3",
            "foo.mrap",
            "foo--ol-s3",
            "192.168.1.1",
            "under_score",
        ] {
            assert!(BucketName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn valid_names_are_kept() {
        let (n, from) = shorten_bucket_name("replicated-data").unwrap();
        assert_eq!(n.as_str(), "replicated-data");
        assert_eq!(from, None);
    }

    #[test]
    fn long_names_are_shortened_deterministically() {
        let long = format!("replicated-{}", "a".repeat(60));
        let (a, from) = shorten_bucket_name(&long).unwrap();
        let (b, _) = shorten_bucket_name(&long).unwrap();
        assert_eq!(a, b);
        assert_eq!(from.as_deref(), Some(long.as_str()));
        assert_eq!(a.as_str().len(), 63);
        assert!(a.as_str().starts_with("replicated-aaaa"));
        let other = format!("replicated-{}b", "a".repeat(60));
        assert_ne!(shorten_bucket_name(&other).unwrap().0, a);
    }

    #[test]
    fn shortened_names_never_end_in_a_separator() {
        // The cut falls right after a `-`: it must be trimmed before the suffix.
        let long = format!("{}-{}", "a".repeat(53), "b".repeat(20));
        let (n, _) = shorten_bucket_name(&long).unwrap();
        assert!(!n.as_str().contains("--"), "{n}");
        assert!(bucket_name_problem(n.as_str()).is_none());
    }

    #[test]
    fn reserved_prefixes_are_dropped_when_shortening() {
        // `s{bucket}` with bucket `three-data` renders a reserved prefix.
        for rendered in [
            "sthree-data",
            "amzn-s3-demo-data",
            "sthree-amzn-s3-demo-data",
        ] {
            let (n, from) = shorten_bucket_name(rendered).unwrap();
            assert!(n.as_str().starts_with("data-"), "{rendered}: {n}");
            assert_eq!(from.as_deref(), Some(rendered));
        }
        let (n, _) = shorten_bucket_name("sthree-").unwrap();
        assert!(n.as_str().starts_with("crossrep-"), "{n}");
    }
}
