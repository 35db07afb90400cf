//! `crossrep.toml`: parsing and validation (SPEC §2).
//!
//! Parsing happens in two steps: `toml` + serde into raw structs that keep the span of every
//! value (so unknown keys and type errors come with a location), then validation into
//! [`Config`], whose fields are the validated newtypes. Every error names the file, line,
//! column and key.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::names::{bucket_name_problem, nearest_known_region, AccountId, Region, KNOWN_REGIONS};
use crate::template::{Glob, Template};

/// Placeholders a destination template may use.
pub const DESTINATION_VARS: &[&str] = &["bucket", "account", "region", "dest_account"];
/// Placeholders a report bucket template may use.
pub const REPORT_VARS: &[&str] = &["account", "region"];

/// The longest replication filter prefix S3 accepts, in bytes: the longest object key.
pub const MAX_PREFIX_BYTES: usize = 1024;

/// Storage classes S3 accepts as a replication destination (`Destination.StorageClass`).
pub const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line and column; `None` when the problem has no single place (empty file).
    pub location: Option<(usize, usize)>,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.location {
            write!(f, ":{line}:{col}")?;
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": `{}`: {}", self.key, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// A named account from `[accounts.<name>]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub name: String,
    pub id: AccountId,
    pub profile: Option<String>,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub region: Region,
    pub endpoint_url: Option<String>,
    /// `role_arn` is assumed from this account's credentials instead of the base ones (member
    /// accounts of `[organization]`, from the listing account's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationRegion {
    /// Each source bucket's own region.
    Same,
    Fixed(Region),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    /// Replicas owned by the destination account (`AccessControlTranslation`).
    Destination,
    /// Replicas keep the source object's owner.
    Source,
}

/// SSE-KMS handling (SPEC §8).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kms {
    /// Sources that hold or default to SSE-KMS / DSSE-KMS replicate those objects under the
    /// replica key crossrep manages in the destination account and region.
    Auto,
    /// Never opted in: SSE-KMS and DSSE-KMS objects do not replicate.
    Off,
    /// As `Auto`, under this key (a full key ARN) instead of crossrep's.
    Key(String),
}

impl Kms {
    /// Whether KMS objects of a source that uses KMS are replicated.
    pub fn replicates(&self) -> bool {
        !matches!(self, Kms::Off)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backfill {
    Batch,
    None,
}

/// One `[[replication]]` block, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replication {
    /// Index of the block in the file, for messages (`replication[0]`).
    pub index: usize,
    pub from: String,
    pub to: String,
    pub buckets: Vec<Glob>,
    pub exclude: Vec<Glob>,
    pub destination: Template,
    pub destination_region: DestinationRegion,
    pub storage_class: String,
    pub delete_markers: bool,
    pub prefix: String,
    pub tags: BTreeMap<String, String>,
    pub owner: Owner,
    pub kms: Kms,
    pub replication_time: bool,
    /// Replication metrics, failure events to a queue, an alarm (SPEC §10).
    pub alerts: bool,
    pub backfill: Backfill,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    pub role_name: String,
    pub report_bucket: Template,
    /// Subscribed to the alert topics (SPEC §10).
    pub alert_email: Option<String>,
    pub concurrency: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            role_name: "crossrep-replication".into(),
            report_bucket: Template::parse("crossrep-reports-{account}-{region}", REPORT_VARS)
                .expect("default template is valid"),
            alert_email: None,
            concurrency: 16,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    pub accounts: BTreeMap<String, Account>,
    pub replication: Vec<Replication>,
    pub settings: Settings,
    /// `[organization]`: where `from = "organization"` blocks get their source accounts (SPEC
    /// §11).
    pub organization: Option<Organization>,
}

/// What `from` names for source accounts listed from AWS Organizations.
pub const FROM_ORGANIZATION: &str = "organization";

/// `[organization]`, validated (SPEC §2, §11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organization {
    /// The `[accounts.*]` entry whose credentials list the organization (the management
    /// account or a delegated administrator); member sessions are made from its credentials.
    pub account: String,
    /// Assumed in each selected member account.
    pub role_name: String,
    /// The home region of member accounts.
    pub region: Region,
    /// OU ids (with every OU below them), root ids and account ids; empty: every account.
    pub include: Vec<OrgTarget>,
    pub exclude: Vec<OrgTarget>,
    /// Only accounts carrying all these tags.
    pub tags: BTreeMap<String, String>,
}

/// An entry of `include` / `exclude`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgTarget {
    /// `ou-…` or `r-…` (the root): the accounts in it and in every OU below it.
    Parent(String),
    Account(AccountId),
}

impl OrgTarget {
    /// `ou-<root>-<ou>` (AWS: `^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`), `r-<root>`
    /// (`^r-[0-9a-z]{4,32}$`) or a 12-digit account id.
    pub fn parse(s: &str) -> Result<OrgTarget, String> {
        let lower_alnum = |x: &str| {
            !x.is_empty()
                && x.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        if let Some(rest) = s.strip_prefix("ou-") {
            if let Some((root, ou)) = rest.split_once('-') {
                if (4..=32).contains(&root.len())
                    && (8..=32).contains(&ou.len())
                    && lower_alnum(root)
                    && lower_alnum(ou)
                {
                    return Ok(OrgTarget::Parent(s.to_string()));
                }
            }
        } else if let Some(root) = s.strip_prefix("r-") {
            if (4..=32).contains(&root.len()) && lower_alnum(root) {
                return Ok(OrgTarget::Parent(s.to_string()));
            }
        } else if let Ok(id) = AccountId::new(s) {
            return Ok(OrgTarget::Account(id));
        }
        Err(format!(
            "`{s}` is not an OU id (`ou-ab12-34567890`), a root id (`r-ab12`) or a 12-digit account id"
        ))
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            location: None,
            key: String::new(),
            message: format!("cannot read the config file: {e}"),
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates `text`; `file` is used in error messages only.
    pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let span = e.span();
            ConfigError {
                file: file.to_path_buf(),
                location: span.clone().map(|s| line_col(text, s.start)),
                key: span.map(|s| key_at(text, s)).unwrap_or_default(),
                message: e.message().trim().to_string(),
            }
        })?;
        Validator { text, file }.validate(raw)
    }

    pub fn account(&self, name: &str) -> &Account {
        &self.accounts[name]
    }
}

// ---------------------------------------------------------------------------------------------
// Raw, span-carrying form.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    accounts: BTreeMap<Spanned<String>, RawAccount>,
    #[serde(default)]
    replication: Vec<RawReplication>,
    #[serde(default)]
    settings: Option<RawSettings>,
    #[serde(default)]
    organization: Option<Spanned<RawOrganization>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrganization {
    account: Option<Spanned<String>>,
    role_name: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    #[serde(default)]
    include: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    id: Spanned<String>,
    profile: Option<Spanned<String>>,
    role_arn: Option<Spanned<String>>,
    external_id: Option<Spanned<String>>,
    region: Spanned<String>,
    endpoint_url: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReplication {
    from: Spanned<String>,
    to: Spanned<String>,
    /// Defaults to `["*"]` (SPEC §2).
    buckets: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    destination: Option<Spanned<String>>,
    destination_region: Option<Spanned<String>>,
    storage_class: Option<Spanned<String>>,
    delete_markers: Option<Spanned<bool>>,
    prefix: Option<Spanned<String>>,
    tags: Option<Spanned<BTreeMap<String, String>>>,
    owner: Option<Spanned<String>>,
    kms: Option<Spanned<String>>,
    replication_time: Option<bool>,
    alerts: Option<bool>,
    backfill: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    role_name: Option<Spanned<String>>,
    report_bucket: Option<Spanned<String>>,
    alert_email: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
}

struct Validator<'a> {
    text: &'a str,
    file: &'a Path,
}

impl Validator<'_> {
    fn err(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            location: Some(line_col(self.text, span.start)),
            key: key.into(),
            message: message.into(),
        }
    }

    fn validate(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        if raw.accounts.is_empty() {
            return Err(ConfigError {
                file: self.file.to_path_buf(),
                location: None,
                key: "accounts".into(),
                message: "no accounts are configured; add an `[accounts.<name>]` table".into(),
            });
        }
        let mut accounts = BTreeMap::new();
        // (where the id is, account name, id): accounts come sorted by name, not in file order.
        let mut ids = Vec::new();
        for (name, a) in raw.accounts {
            let key = |k: &str| format!("accounts.{}.{k}", name.get_ref());
            if name.get_ref() == FROM_ORGANIZATION {
                return Err(self.err(
                    name.span(),
                    format!("accounts.{FROM_ORGANIZATION}"),
                    "`organization` is reserved: `from = \"organization\"` means the accounts of `[organization]`; name this account otherwise",
                ));
            }
            let id = AccountId::new(a.id.get_ref().clone())
                .map_err(|e| self.err(a.id.span(), key("id"), e.0))?;
            ids.push((a.id.span(), name.get_ref().clone(), id.clone()));
            let region = known_region(a.region.get_ref(), false)
                .map_err(|m| self.err(a.region.span(), key("region"), m))?;
            if let Some(arn) = &a.role_arn {
                check_role_arn(arn.get_ref())
                    .map_err(|m| self.err(arn.span(), key("role_arn"), m))?;
            }
            if let (Some(ext), None) = (&a.external_id, &a.role_arn) {
                return Err(self.err(
                    ext.span(),
                    key("external_id"),
                    "`external_id` is only used with `role_arn`",
                ));
            }
            if let Some(url) = &a.endpoint_url {
                let u = url.get_ref();
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return Err(self.err(
                        url.span(),
                        key("endpoint_url"),
                        format!("`{u}` is not an http:// or https:// URL"),
                    ));
                }
            }
            let n = name.get_ref().clone();
            accounts.insert(
                n.clone(),
                Account {
                    name: n,
                    id,
                    profile: a.profile.map(Spanned::into_inner),
                    role_arn: a.role_arn.map(Spanned::into_inner),
                    external_id: a.external_id.map(Spanned::into_inner),
                    region,
                    endpoint_url: a.endpoint_url.map(Spanned::into_inner),
                    via: None,
                },
            );
        }

        self.unique_ids(ids)?;

        let mut replication = Vec::new();
        let mut places = Vec::new();
        let places_from: Vec<Range<usize>> =
            raw.replication.iter().map(|r| r.from.span()).collect();
        for (index, r) in raw.replication.into_iter().enumerate() {
            let (block, spans) = self.replication(index, r, &accounts)?;
            replication.push(block);
            places.push(spans);
        }
        self.no_conflicting_blocks(&replication, &places)?;

        let settings = match raw.settings {
            None => Settings::default(),
            Some(s) => self.settings(s)?,
        };
        let organization = match raw.organization {
            None => None,
            Some(o) => Some(self.organization(o, &accounts)?),
        };
        if organization.is_none() {
            if let Some(i) = replication.iter().position(|r| r.from == FROM_ORGANIZATION) {
                return Err(self.err(
                    places_from[i].clone(),
                    format!("replication[{i}].from"),
                    "`from = \"organization\"` needs an `[organization]` table naming the account that lists the organization (SPEC §2)",
                ));
            }
        }
        Ok(Config {
            accounts,
            replication,
            settings,
            organization,
        })
    }

    fn organization(
        &self,
        o: Spanned<RawOrganization>,
        accounts: &BTreeMap<String, Account>,
    ) -> Result<Organization, ConfigError> {
        let span = o.span();
        let o = o.into_inner();
        let Some(account) = o.account else {
            return Err(self.err(
                span,
                "organization.account",
                "`[organization]` needs `account`: the `[accounts.*]` entry allowed to list the organization (its management account or a delegated administrator)",
            ));
        };
        let Some(listing) = accounts.get(account.get_ref()) else {
            let known: Vec<&str> = accounts.keys().map(String::as_str).collect();
            return Err(self.err(
                account.span(),
                "organization.account",
                format!(
                    "no account named `{}` (configured: {})",
                    account.get_ref(),
                    known.join(", ")
                ),
            ));
        };
        let role_name = match o.role_name {
            None => "OrganizationAccountAccessRole".to_string(),
            Some(n) => {
                check_role_name(n.get_ref())
                    .map_err(|m| self.err(n.span(), "organization.role_name", m))?;
                n.into_inner()
            }
        };
        let region = match o.region {
            None => listing.region.clone(),
            Some(r) => known_region(r.get_ref(), false)
                .map_err(|m| self.err(r.span(), "organization.region", m))?,
        };
        let targets = |list: Vec<Spanned<String>>, field: &str| {
            list.into_iter()
                .map(|t| {
                    OrgTarget::parse(t.get_ref())
                        .map_err(|m| self.err(t.span(), format!("organization.{field}"), m))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Organization {
            account: account.into_inner(),
            role_name,
            region,
            include: targets(o.include, "include")?,
            exclude: targets(o.exclude, "exclude")?,
            tags: o.tags.unwrap_or_default(),
        })
    }

    /// Two `[accounts.*]` entries with one id would be two names for one account: sessions,
    /// roles and identity checks are per account id (SPEC §2).
    fn unique_ids(
        &self,
        mut ids: Vec<(Range<usize>, String, AccountId)>,
    ) -> Result<(), ConfigError> {
        ids.sort_by_key(|(span, _, _)| span.start);
        let mut seen: BTreeMap<&AccountId, (&str, &Range<usize>)> = BTreeMap::new();
        for (span, name, id) in &ids {
            if let Some((first, first_span)) = seen.get(id) {
                let (line, col) = line_col(self.text, first_span.start);
                return Err(self.err(
                    span.clone(),
                    format!("accounts.{name}.id"),
                    format!(
                        "account id `{id}` is also the id of `accounts.{first}` (line {line}, column {col}); configure each account once: correct the id, or remove `[accounts.{name}]` and name `{first}` in `from` and `to`"
                    ),
                ));
            }
            seen.insert(id, (name, span));
        }
        Ok(())
    }

    /// Two blocks that map one source bucket to one destination (same `from`, `to` and
    /// `destination`, and the same `destination_region` when the template has `{region}`) with
    /// different settings would each want their own version of the one rule
    /// `crossrep-<destination>`. Which buckets a pattern selects is only known after
    /// listing, so this finds the cases decidable here: a literal bucket name both blocks
    /// select, or one pattern in both blocks that some valid name outside both blocks'
    /// `exclude` matches. Identical settings are the same replication written twice: allowed.
    fn no_conflicting_blocks(
        &self,
        blocks: &[Replication],
        places: &[Vec<Range<usize>>],
    ) -> Result<(), ConfigError> {
        for (j, b) in blocks.iter().enumerate() {
            for (i, a) in blocks[..j].iter().enumerate() {
                if a.from != b.from
                    || a.to != b.to
                    || a.destination.as_str() != b.destination.as_str()
                {
                    continue;
                }
                // `{region}` is the destination region: different fixed regions make different
                // names, and `same` meets a fixed region only for the buckets listed there.
                if a.destination.uses("region") && a.destination_region != b.destination_region {
                    continue;
                }
                let Some((shared, ai, bi)) = shared_selection(a, b) else {
                    continue;
                };
                let differences: Vec<String> = settings(a)
                    .into_iter()
                    .zip(settings(b))
                    .filter(|((_, x), (_, y))| x != y)
                    .map(|((k, x), (_, y))| format!("`{k} = {x}` there, `{k} = {y}` here"))
                    .collect();
                if differences.is_empty() {
                    continue;
                }
                let (line, col) = line_col(self.text, places[i][ai].start);
                let (what, fix) = match &shared {
                    Shared::Bucket(name) => (
                        format!("bucket `{name}` is"),
                        format!("add `{name}` to the `exclude` of one of them"),
                    ),
                    Shared::Pattern(p) => (
                        format!("buckets matching `{p}` are"),
                        "change `buckets` or `exclude` so that no bucket is selected by both"
                            .to_string(),
                    ),
                };
                return Err(self.err(
                    places[j][bi].clone(),
                    format!("replication[{j}].buckets"),
                    format!(
                        "{what} also selected by `replication[{i}]` (line {line}, column {col}) from `{}` to `{}` as `{}`, with different settings: {}; a source bucket has one rule per destination, so give both blocks the same settings or {fix}",
                        b.from,
                        b.to,
                        b.destination.as_str(),
                        differences.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn replication(
        &self,
        index: usize,
        r: RawReplication,
        accounts: &BTreeMap<String, Account>,
    ) -> Result<(Replication, Vec<Range<usize>>), ConfigError> {
        let key = |k: &str| format!("replication[{index}].{k}");
        for (field, v) in [("from", &r.from), ("to", &r.to)] {
            // Source accounts may come from AWS Organizations (`[organization]`, SPEC §11).
            if field == "from" && v.get_ref() == FROM_ORGANIZATION {
                continue;
            }
            if !accounts.contains_key(v.get_ref()) {
                let known: Vec<&str> = accounts.keys().map(String::as_str).collect();
                return Err(self.err(
                    v.span(),
                    key(field),
                    format!(
                        "no account named `{}` (configured: {})",
                        v.get_ref(),
                        known.join(", ")
                    ),
                ));
            }
        }
        // Without `buckets`, every bucket: `["*"]`, placed at the block's `from` for errors.
        let r_buckets = r.buckets.unwrap_or_else(|| {
            let at = r.from.span();
            Spanned::new(at.clone(), vec![Spanned::new(at, "*".to_string())])
        });
        if r_buckets.get_ref().is_empty() {
            return Err(self.err(
                r_buckets.span(),
                key("buckets"),
                "at least one bucket pattern is required (`[\"*\"]` selects every bucket)",
            ));
        }
        let globs = |list: Vec<Spanned<String>>, field: &str| -> Result<Vec<Glob>, ConfigError> {
            list.into_iter()
                .map(|g| {
                    let span = g.span();
                    Glob::new(g.into_inner()).map_err(|m| self.err(span, key(field), m))
                })
                .collect()
        };
        let bucket_spans: Vec<Range<usize>> =
            r_buckets.get_ref().iter().map(|g| g.span()).collect();
        let buckets = globs(r_buckets.into_inner(), "buckets")?;
        let exclude = globs(r.exclude, "exclude")?;

        let destination = match r.destination {
            None => {
                Template::parse("replicated-{bucket}", DESTINATION_VARS).expect("valid default")
            }
            Some(d) => {
                let t = Template::parse(d.get_ref(), DESTINATION_VARS)
                    .map_err(|m| self.err(d.span(), key("destination"), m))?;
                if !t.uses("bucket") {
                    return Err(self.err(
                        d.span(),
                        key("destination"),
                        format!(
                            "template `{}` has no `{{bucket}}`: every source bucket would map to the same destination",
                            d.get_ref()
                        ),
                    ));
                }
                t
            }
        };
        let destination_region = match r.destination_region {
            None => DestinationRegion::Same,
            Some(v) if v.get_ref() == "same" => DestinationRegion::Same,
            Some(v) => DestinationRegion::Fixed(
                known_region(v.get_ref(), true)
                    .map_err(|m| self.err(v.span(), key("destination_region"), m))?,
            ),
        };
        let storage_class = match r.storage_class {
            None => "STANDARD".to_string(),
            Some(s) => {
                if !STORAGE_CLASSES.contains(&s.get_ref().as_str()) {
                    return Err(self.err(
                        s.span(),
                        key("storage_class"),
                        format!(
                            "`{}` is not a storage class S3 replicates into (one of {})",
                            s.get_ref(),
                            STORAGE_CLASSES.join(", ")
                        ),
                    ));
                }
                s.into_inner()
            }
        };
        let tags = r
            .tags
            .as_ref()
            .map(|t| t.get_ref().clone())
            .unwrap_or_default();
        // S3 rejects delete-marker replication in a rule with a tag filter, so with `tags` the
        // default is off (SPEC §2) and only an explicit `delete_markers = true` is an error.
        let delete_markers = match &r.delete_markers {
            None => tags.is_empty(),
            Some(d) if *d.get_ref() && !tags.is_empty() => {
                return Err(self.err(
                    d.span(),
                    key("delete_markers"),
                    "S3 does not replicate delete markers for rules with a tag filter; remove `delete_markers = true` (it defaults to false with `tags`) or remove `tags`",
                ));
            }
            Some(d) => *d.get_ref(),
        };
        let prefix = match r.prefix {
            None => String::new(),
            Some(p) => {
                self.check_prefix(&p, key("prefix"))?;
                p.into_inner()
            }
        };
        let owner = match r.owner {
            None => Owner::Destination,
            Some(o) => match o.get_ref().as_str() {
                "destination" => Owner::Destination,
                "source" => Owner::Source,
                other => {
                    return Err(self.err(
                        o.span(),
                        key("owner"),
                        format!("`{other}` is not `destination` or `source`"),
                    ))
                }
            },
        };
        let kms = match r.kms {
            None => Kms::Auto,
            Some(k) => match k.get_ref().as_str() {
                "auto" => Kms::Auto,
                "off" => Kms::Off,
                arn if arn.starts_with("arn:") => {
                    let to = &accounts[r.to.get_ref()];
                    match key_arn(arn) {
                        Err(why) => return Err(self.err(k.span(), key("kms"), why)),
                        // The replica key belongs to the destination account (AWS-NOTES).
                        Ok(owner) if owner != to.id.as_str() => {
                            return Err(self.err(
                                k.span(),
                                key("kms"),
                                format!(
                                    "the key is in account {owner}, but replicas go to account `{}` ({}): S3 encrypts replicas only under a key of the destination account",
                                    r.to.get_ref(),
                                    to.id
                                ),
                            ))
                        }
                        Ok(_) => Kms::Key(arn.to_string()),
                    }
                }
                other => {
                    return Err(self.err(
                        k.span(),
                        key("kms"),
                        format!("`{other}` is not `auto`, `off` or a KMS key ARN"),
                    ))
                }
            },
        };
        let backfill = match r.backfill {
            None => Backfill::Batch,
            Some(b) => match b.get_ref().as_str() {
                "batch" => Backfill::Batch,
                "none" => Backfill::None,
                other => {
                    return Err(self.err(
                        b.span(),
                        key("backfill"),
                        format!("`{other}` is not `batch` or `none`"),
                    ))
                }
            },
        };
        let block = Replication {
            index,
            from: r.from.into_inner(),
            to: r.to.into_inner(),
            buckets,
            exclude,
            destination,
            destination_region,
            storage_class,
            delete_markers,
            prefix,
            tags,
            owner,
            kms,
            replication_time: r.replication_time.unwrap_or(false),
            alerts: r.alerts.unwrap_or(true),
            backfill,
        };
        Ok((block, bucket_spans))
    }

    /// A replication filter's `Prefix` is compared literally with object keys (no wildcards),
    /// and a key is at most 1,024 bytes of UTF-8.
    fn check_prefix(&self, p: &Spanned<String>, key: String) -> Result<(), ConfigError> {
        let prefix = p.get_ref();
        if let Some(at) = prefix.find(['*', '?']) {
            let c = &prefix[at..at + 1];
            let fix = if at == 0 {
                "S3 filters keys by a literal prefix (and tags) only: write the literal start of the keys, or remove `prefix`".to_string()
            } else {
                format!("write the literal prefix, e.g. `{}`", &prefix[..at])
            };
            return Err(self.err(
                p.span(),
                key,
                format!("`{prefix}` contains `{c}`, but S3 matches a replication prefix literally, without wildcards; {fix}"),
            ));
        }
        if prefix.len() > MAX_PREFIX_BYTES {
            return Err(self.err(
                p.span(),
                key,
                format!(
                    "the prefix is {} bytes long in UTF-8, over S3's limit of {MAX_PREFIX_BYTES} (the longest object key); shorten it",
                    prefix.len()
                ),
            ));
        }
        Ok(())
    }

    fn settings(&self, s: RawSettings) -> Result<Settings, ConfigError> {
        let mut out = Settings::default();
        if let Some(n) = s.role_name {
            check_role_name(n.get_ref())
                .map_err(|m| self.err(n.span(), "settings.role_name", m))?;
            out.role_name = n.into_inner();
        }
        if let Some(t) = s.report_bucket {
            let tpl = Template::parse(t.get_ref(), REPORT_VARS)
                .map_err(|m| self.err(t.span(), "settings.report_bucket", m))?;
            if !(tpl.uses("account") && tpl.uses("region")) {
                return Err(self.err(
                    t.span(),
                    "settings.report_bucket",
                    "the report bucket template needs `{account}` and `{region}`: there is one report bucket per source account and region, and bucket names are global",
                ));
            }
            out.report_bucket = tpl;
        }
        if let Some(e) = s.alert_email {
            let address = e.get_ref();
            // What SNS accepts as an `email` endpoint: one address, no display name.
            let ok = address.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }) && !address
                .chars()
                .any(|c| c.is_whitespace() || "<>,;\"".contains(c))
                && address.matches('@').count() == 1;
            if !ok {
                return Err(self.err(
                    e.span(),
                    "settings.alert_email",
                    format!("`{address}` is not one email address (`name@example.com`)"),
                ));
            }
            out.alert_email = Some(e.into_inner());
        }
        if let Some(c) = s.concurrency {
            let v = *c.get_ref();
            if !(1..=256).contains(&v) {
                return Err(self.err(
                    c.span(),
                    "settings.concurrency",
                    format!("{v} is outside 1..=256"),
                ));
            }
            out.concurrency = v as usize;
        }
        Ok(out)
    }
}

fn check_role_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid IAM role name (1 to 64 of letters, digits and `+=,.@_-`)"
        ))
    }
}

fn check_role_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && AccountId::new(parts[4]).is_ok()
        && parts[5].starts_with("role/")
        && parts[5].len() > "role/".len();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{arn}` is not an IAM role ARN (`arn:aws:iam::<account id>:role/<name>`)"
        ))
    }
}

/// A region the configuration names: shaped like one ([`Region::new`]) and one of
/// [`KNOWN_REGIONS`]. `or_same`: `destination_region` also takes `same`.
fn known_region(s: &str, or_same: bool) -> Result<Region, String> {
    if let Ok(r) = Region::new(s) {
        if r.is_known() {
            return Ok(r);
        }
    }
    Err(match nearest_known_region(s) {
        Some(near) => format!("`{s}` is not a known AWS region; did you mean `{near}`?"),
        None if or_same => format!(
            "`{s}` is not a known AWS region; use `same` (each source bucket's region) or one of {}",
            KNOWN_REGIONS.join(", ")
        ),
        None => format!(
            "`{s}` is not a known AWS region; use one of {}",
            KNOWN_REGIONS.join(", ")
        ),
    })
}

/// What two blocks both select.
enum Shared {
    /// A literal bucket name.
    Bucket(String),
    /// A wildcard pattern written in both blocks.
    Pattern(String),
}

/// Something both blocks select, with the index of the pattern that selects it in each.
fn shared_selection(a: &Replication, b: &Replication) -> Option<(Shared, usize, usize)> {
    let selects = |r: &Replication, name: &str| -> Option<usize> {
        if r.exclude.iter().any(|g| g.matches(name)) {
            return None;
        }
        r.buckets.iter().position(|g| g.matches(name))
    };
    let is_literal = |g: &Glob| !g.as_str().contains(['*', '?']);
    // A literal name in either block that both select (and that can be a bucket at all).
    for (first, second, flipped) in [(a, b, false), (b, a, true)] {
        for (fi, g) in first.buckets.iter().enumerate() {
            let name = g.as_str();
            if !is_literal(g) || bucket_name_problem(name).is_some() {
                continue;
            }
            if let (Some(_), Some(si)) = (selects(first, name), selects(second, name)) {
                let (ai, bi) = if flipped { (si, fi) } else { (fi, si) };
                return Some((Shared::Bucket(name.to_string()), ai, bi));
            }
        }
    }
    // One wildcard pattern in both: shared unless the excludes remove everything it matches.
    // A few fillings of the wildcards stand for "some bucket"; finding none that both blocks
    // keep is no proof of disjointness, so the blocks are then left alone.
    const FILLS: &[&str] = &["", "x", "0", "x0x", "crossrep-0"];
    for (ai, g) in a.buckets.iter().enumerate() {
        if is_literal(g) {
            continue;
        }
        let Some(bi) = b.buckets.iter().position(|h| h == g) else {
            continue;
        };
        let witness = FILLS
            .iter()
            .flat_map(|fill| ["x", "0"].map(|one| g.as_str().replace('*', fill).replace('?', one)));
        for w in witness {
            let excluded = |r: &Replication| r.exclude.iter().any(|e| e.matches(&w));
            if bucket_name_problem(&w).is_none() && !excluded(a) && !excluded(b) {
                return Some((Shared::Pattern(g.as_str().to_string()), ai, bi));
            }
        }
    }
    None
}

/// The settings of a block that make up its rule and pair, as `key` and TOML value.
fn settings(r: &Replication) -> [(&'static str, String); 10] {
    let quoted = |s: &str| serde_json::Value::from(s).to_string();
    let tags: Vec<String> = r
        .tags
        .iter()
        .map(|(k, v)| format!("{} = {}", quoted(k), quoted(v)))
        .collect();
    [
        (
            "destination_region",
            quoted(match &r.destination_region {
                DestinationRegion::Same => "same",
                DestinationRegion::Fixed(region) => region.as_str(),
            }),
        ),
        ("storage_class", quoted(&r.storage_class)),
        ("delete_markers", r.delete_markers.to_string()),
        ("prefix", quoted(&r.prefix)),
        (
            "tags",
            if tags.is_empty() {
                "{}".to_string()
            } else {
                format!("{{ {} }}", tags.join(", "))
            },
        ),
        (
            "owner",
            quoted(match r.owner {
                Owner::Destination => "destination",
                Owner::Source => "source",
            }),
        ),
        (
            "kms",
            quoted(match &r.kms {
                Kms::Auto => "auto",
                Kms::Off => "off",
                Kms::Key(arn) => arn,
            }),
        ),
        ("replication_time", r.replication_time.to_string()),
        ("alerts", r.alerts.to_string()),
        (
            "backfill",
            quoted(match r.backfill {
                Backfill::Batch => "batch",
                Backfill::None => "none",
            }),
        ),
    ]
}

/// Checks that `arn` is the full ARN of a KMS key (`arn:<partition>:kms:<region>:<account>:
/// key/<id>`): S3 resolves an alias or a bare key id in the *source* account, where the replica
/// key is not (AWS-NOTES, SSE-KMS).
/// Returns the key's account.
fn key_arn(arn: &str) -> Result<&str, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, partition, service, region, account, resource] = parts[..] else {
        return Err(format!(
            "`{arn}` is not a KMS key ARN (`arn:aws:kms:<region>:<account>:key/<key id>`)"
        ));
    };
    if service != "kms" || partition.is_empty() {
        return Err(format!(
            "`{arn}` is not a KMS key ARN (`arn:aws:kms:<region>:<account>:key/<key id>`)"
        ));
    }
    if Region::new(region).is_err() {
        return Err(format!("`{arn}`: `{region}` is not a region"));
    }
    if AccountId::new(account).is_err() {
        return Err(format!("`{arn}`: `{account}` is not a 12-digit account id"));
    }
    match resource.split_once('/') {
        Some(("key", id)) if !id.is_empty() && !id.contains('/') => Ok(account),
        Some(("alias", _)) => Err(format!(
            "`{arn}` is an alias: S3 needs the key's own ARN (`…:key/<key id>`), because it resolves an alias in the source account"
        )),
        _ => Err(format!(
            "`{arn}` is not a KMS key ARN (`arn:aws:kms:<region>:<account>:key/<key id>`)"
        )),
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The key a toml error span points at, when it points at a bare key (`unknown field` errors).
fn key_at(text: &str, span: Range<usize>) -> String {
    let s = text.get(span).unwrap_or("").trim();
    if !s.is_empty()
        && s.len() < 80
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.\"".contains(c))
    {
        s.trim_matches('"').to_string()
    } else {
        String::new()
    }
}

/// The commented example `crossrep init` writes.
/// `source` and `destination` are (profile, account id); `init` fills them from real profiles.
pub fn example(source: (&str, &str), destination: (&str, &str)) -> String {
    EXAMPLE
        .replace(
            "@SOURCE_PROFILE@",
            &format!("{:<20}", format!("\"{}\"", source.0)),
        )
        .replace("@SOURCE_ID@", source.1)
        .replace("@DEST_PROFILE@", &format!("\"{}\"", destination.0))
        .replace("@DEST_ID@", destination.1)
}

/// The example's accounts when no profile is given.
pub const EXAMPLE_SOURCE: (&str, &str) = ("prod", "111111111111");
pub const EXAMPLE_DESTINATION: (&str, &str) = ("backup", "222222222222");

const EXAMPLE: &str = r#"# crossrep.toml: replicate every bucket of a source account into a destination account.
# Run `crossrep plan` to see what would change, then `crossrep apply`.

# Named accounts. Credentials come from the standard AWS chain (environment, shared
# config/credentials files, SSO, web identity, instance role), exactly as the AWS CLI does.
[accounts.prod]
id = "@SOURCE_ID@"                 # crossrep refuses to act if the credentials resolve elsewhere
profile = @SOURCE_PROFILE@      # a profile in ~/.aws/config (optional)
# role_arn = "arn:aws:iam::@SOURCE_ID@:role/OrganizationAccountAccessRole"  # assumed from the base credentials
# external_id = "..."               # only with role_arn
region = "us-east-1"                # home region for IAM, STS and ListBuckets
# endpoint_url = "http://127.0.0.1:4566"   # an emulator or S3-compatible endpoint (path-style)

[accounts.backup]
id = "@DEST_ID@"
profile = @DEST_PROFILE@
region = "us-west-2"

[[replication]]                     # one block per source -> destination mapping
from = "prod"
to = "backup"
buckets = ["*"]                     # glob patterns over source bucket names
exclude = ["cdk-*", "*-access-logs"]
destination = "replicated-{bucket}" # placeholders: {bucket} {account} {region} {dest_account}
                                    # names over 63 characters get a short hash suffix
destination_region = "same"         # "same" (each source bucket's region) or a region name
storage_class = "STANDARD"          # storage class of the replicas
delete_markers = true               # replicate delete markers (default false with `tags`: S3 forbids both)
prefix = ""                         # replicate only keys with this prefix
# tags = { replicate = "yes" }      # replicate only objects with all these tags
owner = "destination"               # replicas owned by the destination account
kms = "auto"                        # "auto" (SSE-KMS sources replicate via a replica key) | "off" | a key ARN
replication_time = false            # S3 Replication Time Control (and metrics)
alerts = true                       # replication metrics, failure events to a queue, an alarm
backfill = "batch"                  # "batch" (S3 Batch Replication) | "none"

[settings]
role_name = "crossrep-replication"  # the replication role created in each source account
report_bucket = "crossrep-reports-{account}-{region}"  # backfill manifests and reports
# alert_email = "oncall@example.com" # subscribed to the alert topic of each source account and region
concurrency = 16                    # buckets worked on at once
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("crossrep.toml"))
    }

    const GOOD: &str = r#"
[accounts.prod]
id = "111111111111"
region = "us-east-1"

[accounts.backup]
id = "222222222222"
region = "us-west-2"

[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
"#;

    #[test]
    fn example_parses() {
        let c = parse(&example(EXAMPLE_SOURCE, EXAMPLE_DESTINATION)).unwrap();
        assert_eq!(c.accounts["prod"].id.as_str(), "111111111111");
        assert_eq!(c.replication[0].exclude.len(), 2);
        assert_eq!(c.settings.concurrency, 16);
    }

    #[test]
    fn defaults() {
        let c = parse(GOOD).unwrap();
        let r = &c.replication[0];
        assert_eq!(r.destination.as_str(), "replicated-{bucket}");
        assert_eq!(r.destination_region, DestinationRegion::Same);
        assert_eq!(r.storage_class, "STANDARD");
        assert!(r.delete_markers);
        assert_eq!(r.prefix, "");
        assert_eq!(r.owner, Owner::Destination);
        assert_eq!(r.backfill, Backfill::Batch);
        assert_eq!(c.settings, Settings::default());
        // `buckets` defaults to every bucket (SPEC §2).
        let c = parse(&GOOD.replace("buckets = [\"*\"]\n", "")).unwrap();
        assert_eq!(c.replication[0].buckets, r.buckets);
        assert!(c.replication[0].buckets[0].matches("any-bucket"));
    }

    fn error(text: &str) -> ConfigError {
        parse(text).unwrap_err()
    }

    #[test]
    fn unknown_key_names_key_and_place() {
        let e = error(&GOOD.replace("buckets = [\"*\"]", "buckets = [\"*\"]\nbuckts = [\"x\"]"));
        assert_eq!(e.location, Some((14, 1)), "{e}");
        assert_eq!(e.key, "buckts", "{e}");
        assert!(e.message.contains("unknown field"), "{e}");
        assert!(
            e.to_string().starts_with("crossrep.toml:14:1: `buckts`"),
            "{e}"
        );
    }

    #[test]
    fn bad_account_id() {
        let e = error(&GOOD.replace("\"111111111111\"", "\"1111\""));
        assert_eq!(e.key, "accounts.prod.id");
        assert_eq!(e.location, Some((3, 6)));
        assert!(e.message.contains("12 digits"), "{e}");
    }

    #[test]
    fn bad_template() {
        let e = error(&GOOD.replace(
            "buckets = [\"*\"]",
            "buckets = [\"*\"]\ndestination = \"Copy_{bucket}\"",
        ));
        assert_eq!(e.key, "replication[0].destination");
        assert_eq!(e.location, Some((14, 15)));
        let e = error(&GOOD.replace(
            "buckets = [\"*\"]",
            "buckets = [\"*\"]\ndestination = \"copy-{name}\"",
        ));
        assert!(e.message.contains("unknown placeholder `{name}`"), "{e}");
        let e = error(&GOOD.replace(
            "buckets = [\"*\"]",
            "buckets = [\"*\"]\ndestination = \"copy\"",
        ));
        assert!(e.message.contains("no `{bucket}`"), "{e}");
    }

    #[test]
    fn unknown_account() {
        let e = error(&GOOD.replace("to = \"backup\"", "to = \"bakup\""));
        assert_eq!(e.key, "replication[0].to");
        assert_eq!(e.location, Some((12, 6)));
        assert!(
            e.message
                .contains("no account named `bakup` (configured: backup, prod)"),
            "{e}"
        );
    }

    /// A tag filter used to fail on `delete_markers`, a key the user never wrote: with `tags`
    /// it defaults to false (SPEC §2), and only an explicit `true` is an error.
    #[test]
    fn tags_make_delete_markers_default_to_false() {
        let with =
            |extra: &str| GOOD.replace("buckets = [\"*\"]", &format!("buckets = [\"*\"]\n{extra}"));
        let c = parse(&with("tags = { a = \"b\" }")).unwrap();
        assert!(!c.replication[0].delete_markers);
        let c = parse(&with("tags = {}")).unwrap();
        assert!(c.replication[0].delete_markers, "no tags, no filter");
        let c = parse(&with("tags = { a = \"b\" }\ndelete_markers = false")).unwrap();
        assert!(!c.replication[0].delete_markers);

        let e = error(&with("tags = { a = \"b\" }\ndelete_markers = true"));
        assert_eq!(e.key, "replication[0].delete_markers");
        assert_eq!(e.location, Some((15, 18)), "{e}");
        assert!(e.message.contains("tag filter"), "{e}");
        assert!(e.message.contains("remove `delete_markers = true`"), "{e}");
    }

    #[test]
    fn reserved_destination_prefixes_and_suffixes() {
        for (template, reserved) in [
            ("sthree-{bucket}", "starts with `sthree-`"),
            ("amzn-s3-demo-{bucket}", "starts with `amzn-s3-demo-`"),
            ("xn--{bucket}", "starts with `xn--`"),
            ("{bucket}-s3alias", "ends with `-s3alias`"),
            ("{bucket}--ol-s3", "ends with `--ol-s3`"),
            ("{bucket}.mrap", "ends with `.mrap`"),
            ("{bucket}--x-s3", "ends with `--x-s3`"),
            ("{bucket}--table-s3", "ends with `--table-s3`"),
        ] {
            let e = error(&GOOD.replace(
                "buckets = [\"*\"]",
                &format!("buckets = [\"*\"]\ndestination = \"{template}\""),
            ));
            assert_eq!(e.key, "replication[0].destination", "{template}: {e}");
            assert_eq!(e.location, Some((14, 15)), "{template}: {e}");
            assert!(e.message.contains(reserved), "{template}: {e}");
            assert!(
                e.message.contains("a prefix S3 reserves")
                    || e.message.contains("a suffix S3 reserves"),
                "{e}"
            );
        }
        // The report bucket template is held to the same rules.
        let e = error(&format!(
            "{GOOD}\n[settings]\nreport_bucket = \"reports-{{account}}-{{region}}-s3alias\"\n"
        ));
        assert_eq!(e.key, "settings.report_bucket");
        assert!(e.message.contains("ends with `-s3alias`"), "{e}");
    }

    #[test]
    fn prefixes_are_literal_and_at_most_1024_bytes() {
        let with = |prefix: &str| {
            GOOD.replace(
                "buckets = [\"*\"]",
                &format!("buckets = [\"*\"]\nprefix = \"{prefix}\""),
            )
        };
        let e = error(&with("logs/*.gz"));
        assert_eq!(e.key, "replication[0].prefix");
        assert_eq!(e.location, Some((14, 10)), "{e}");
        assert!(e.message.contains("contains `*`"), "{e}");
        assert!(e.message.contains("e.g. `logs/`"), "{e}");
        let e = error(&with("?"));
        assert!(e.message.contains("contains `?`"), "{e}");
        assert!(e.message.contains("remove `prefix`"), "{e}");

        // Bytes, not characters: 513 `é` are 1,026 bytes.
        let e = error(&with(&"é".repeat(513)));
        assert_eq!(e.key, "replication[0].prefix");
        assert!(e.message.contains("1026 bytes long in UTF-8"), "{e}");
        assert!(e.message.contains("shorten it"), "{e}");
        let c = parse(&with(&"é".repeat(512))).unwrap();
        assert_eq!(c.replication[0].prefix.len(), MAX_PREFIX_BYTES);
    }

    #[test]
    fn unknown_regions_name_the_nearest_known_one() {
        let e = error(&GOOD.replace("region = \"us-west-2\"", "region = \"us-wset-2\""));
        assert_eq!(e.key, "accounts.backup.region");
        assert_eq!(e.location, Some((8, 10)), "{e}");
        assert_eq!(
            e.message,
            "`us-wset-2` is not a known AWS region; did you mean `us-west-2`?"
        );
        // Shaped like a region, but not one; nothing near: the list.
        let e = error(&GOOD.replace(
            "buckets = [\"*\"]",
            "buckets = [\"*\"]\ndestination_region = \"mars-north-1\"",
        ));
        assert_eq!(e.key, "replication[0].destination_region");
        assert_eq!(e.location, Some((14, 22)), "{e}");
        assert!(
            e.message.starts_with("`mars-north-1` is not a known AWS region; use `same` (each source bucket's region) or one of us-east-1, us-east-2,"),
            "{e}"
        );
        let e = error(&GOOD.replace(
            "buckets = [\"*\"]",
            "buckets = [\"*\"]\ndestination_region = \"euwest1\"",
        ));
        assert!(e.message.ends_with("did you mean `eu-west-1`?"), "{e}");
        for known in KNOWN_REGIONS {
            let c = parse(&GOOD.replace(
                "buckets = [\"*\"]",
                &format!("buckets = [\"*\"]\ndestination_region = \"{known}\""),
            ))
            .unwrap();
            assert!(
                matches!(&c.replication[0].destination_region, DestinationRegion::Fixed(r) if r.as_str() == *known)
            );
        }
    }

    #[test]
    fn one_account_id_in_two_entries() {
        // `zeta` is listed first and sorts last: the error is at the later entry in the file.
        let text = GOOD.replace(
            "[accounts.prod]",
            "[accounts.zeta]\nid = \"222222222222\"\nregion = \"eu-west-1\"\n\n[accounts.prod]",
        );
        let e = error(&text);
        assert_eq!(e.key, "accounts.backup.id");
        assert_eq!(e.location, Some((11, 6)), "{e}");
        assert_eq!(
            e.message,
            "account id `222222222222` is also the id of `accounts.zeta` (line 3, column 6); configure each account once: correct the id, or remove `[accounts.backup]` and name `zeta` in `from` and `to`"
        );
    }

    #[test]
    fn two_blocks_mapping_one_bucket_with_different_settings() {
        let second = |body: &str| {
            format!("{GOOD}\n[[replication]]\nfrom = \"prod\"\nto = \"backup\"\n{body}\n")
        };

        // A literal name that the first block's `*` selects too.
        let e = error(&second(
            "buckets = [\"data\", \"logs\"]\nstorage_class = \"GLACIER\"",
        ));
        assert_eq!(e.key, "replication[1].buckets");
        assert_eq!(e.location, Some((18, 12)), "{e}");
        assert_eq!(
            e.message,
            "bucket `data` is also selected by `replication[0]` (line 13, column 12) from `prod` to `backup` as `replicated-{bucket}`, with different settings: `storage_class = \"STANDARD\"` there, `storage_class = \"GLACIER\"` here; a source bucket has one rule per destination, so give both blocks the same settings or add `data` to the `exclude` of one of them"
        );

        // The same pattern in both; every difference is named.
        let e = error(&second(
            "buckets = [\"*\"]\nprefix = \"a/\"\ntags = { t = \"1\" }",
        ));
        assert_eq!(e.key, "replication[1].buckets");
        assert!(
            e.message
                .starts_with("buckets matching `*` are also selected by `replication[0]`"),
            "{e}"
        );
        assert!(e.message.contains("`delete_markers = true` there, `delete_markers = false` here, `prefix = \"\"` there, `prefix = \"a/\"` here, `tags = {}` there, `tags = { \"t\" = \"1\" }` here"), "{e}");
        assert!(e.message.contains("change `buckets` or `exclude`"), "{e}");

        // Another `destination_region` is a difference, unless the template has `{region}`:
        // then the names differ (or meet only for buckets in that region, known after listing).
        let e = error(&second(
            "buckets = [\"*\"]\ndestination_region = \"eu-west-1\"",
        ));
        assert!(
            e.message.contains(
                "`destination_region = \"same\"` there, `destination_region = \"eu-west-1\"` here"
            ),
            "{e}"
        );
        let regional = |body: &str| {
            GOOD.replace("buckets = [\"*\"]", "buckets = [\"*\"]\ndestination = \"{region}-{bucket}\"")
                + &format!("\n[[replication]]\nfrom = \"prod\"\nto = \"backup\"\nbuckets = [\"*\"]\ndestination = \"{{region}}-{{bucket}}\"\n{body}\n")
        };
        parse(&regional("destination_region = \"eu-west-1\"")).unwrap();
        let e = error(&regional("storage_class = \"GLACIER\""));
        assert_eq!(e.key, "replication[1].buckets");

        // Fine: identical settings (the same replication twice), a bucket one block excludes,
        // patterns that are not the same (decided after listing), another destination.
        for ok in [
            "buckets = [\"*\"]",
            "buckets = [\"logs\"]\ndestination = \"replicated-{bucket}\"\ndelete_markers = true",
            "buckets = [\"logs-*\"]\nstorage_class = \"GLACIER\"",
            "buckets = [\"logs\"]\nstorage_class = \"GLACIER\"\ndestination = \"cold-{bucket}\"",
        ] {
            parse(&second(ok)).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let excluded = GOOD.replace("buckets = [\"*\"]", "buckets = [\"*\"]\nexclude = [\"logs\"]")
            + "\n[[replication]]\nfrom = \"prod\"\nto = \"backup\"\nbuckets = [\"logs\"]\nstorage_class = \"GLACIER\"\n";
        parse(&excluded).unwrap();
        // Identical patterns whose excludes leave nothing both blocks select.
        let all_excluded = GOOD.replace("buckets = [\"*\"]", "buckets = [\"*\"]\nexclude = [\"*\"]")
            + "\n[[replication]]\nfrom = \"prod\"\nto = \"backup\"\nbuckets = [\"*\"]\nstorage_class = \"GLACIER\"\n";
        parse(&all_excluded).unwrap();
    }

    #[test]
    fn other_bad_values() {
        for (from, to, key) in [
            (
                "region = \"us-east-1\"",
                "region = \"useast\"",
                "accounts.prod.region",
            ),
            (
                "buckets = [\"*\"]",
                "buckets = [\"Bad\"]",
                "replication[0].buckets",
            ),
            (
                "buckets = [\"*\"]",
                "buckets = []",
                "replication[0].buckets",
            ),
            (
                "buckets = [\"*\"]",
                "buckets = [\"*\"]\nstorage_class = \"COLD\"",
                "replication[0].storage_class",
            ),
            (
                "buckets = [\"*\"]",
                "buckets = [\"*\"]\nowner = \"me\"",
                "replication[0].owner",
            ),
            (
                "buckets = [\"*\"]",
                "buckets = [\"*\"]\nkms = \"yes\"",
                "replication[0].kms",
            ),
            (
                "buckets = [\"*\"]",
                "buckets = [\"*\"]\nkms = \"arn:aws:kms:eu-west-1:222222222222:alias/backup\"",
                "replication[0].kms",
            ),
            (
                "buckets = [\"*\"]",
                "buckets = [\"*\"]\nkms = \"arn:aws:kms:eu-west-1:2222:key/k\"",
                "replication[0].kms",
            ),
            (
                "buckets = [\"*\"]",
                "buckets = [\"*\"]\nkms = \"arn:aws:s3:::bucket\"",
                "replication[0].kms",
            ),
            (
                "buckets = [\"*\"]",
                "buckets = [\"*\"]\nbackfill = \"copy\"",
                "replication[0].backfill",
            ),
            (
                "buckets = [\"*\"]",
                "buckets = [\"*\"]\ndestination_region = \"mars\"",
                "replication[0].destination_region",
            ),
            (
                "region = \"us-east-1\"",
                "region = \"us-east-1\"\nrole_arn = \"arn:aws:iam::1:role/x\"",
                "accounts.prod.role_arn",
            ),
            (
                "region = \"us-east-1\"",
                "region = \"us-east-1\"\nendpoint_url = \"localhost:1\"",
                "accounts.prod.endpoint_url",
            ),
        ] {
            let e = error(&GOOD.replace(from, to));
            assert_eq!(e.key, key, "{to}: {e}");
            assert!(e.location.is_some(), "{e}");
        }
        let e = error(&format!(
            "{GOOD}\n[settings]\nreport_bucket = \"reports-{{account}}\"\n"
        ));
        assert_eq!(e.key, "settings.report_bucket");
        let e = error(&format!("{GOOD}\n[settings]\nconcurrency = 0\n"));
        assert_eq!(e.key, "settings.concurrency");
        let e = error(&format!("{GOOD}\n[settings]\nrole_name = \"a b\"\n"));
        assert_eq!(e.key, "settings.role_name");
    }

    #[test]
    fn a_named_replica_key_must_be_a_key_arn_of_the_destination_account() {
        let arn = "arn:aws:kms:us-west-2:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let c = parse(&GOOD.replace(
            "buckets = [\"*\"]",
            &format!("buckets = [\"*\"]\nkms = \"{arn}\""),
        ))
        .unwrap();
        assert_eq!(c.replication[0].kms, Kms::Key(arn.into()));
        assert!(c.replication[0].kms.replicates());
        let e = error(&GOOD.replace(
            "buckets = [\"*\"]",
            "buckets = [\"*\"]\nkms = \"arn:aws:kms:us-west-2:111111111111:key/k\"",
        ));
        assert_eq!(e.key, "replication[0].kms");
        assert_eq!(e.location, Some((14, 7)), "{e}");
        assert!(e.message.contains("account 111111111111"), "{e}");
        assert!(e.message.contains("`backup` (222222222222)"), "{e}");
        let e = error(&GOOD.replace(
            "buckets = [\"*\"]",
            "buckets = [\"*\"]\nkms = \"arn:aws:kms:us-west-2:222222222222:alias/x\"",
        ));
        assert!(e.message.contains("is an alias"), "{e}");
    }

    #[test]
    fn organization_is_validated_with_file_line_and_key() {
        let org = |table: &str| {
            format!(
                "{}\n{table}\n",
                GOOD.replace("from = \"prod\"", "from = \"organization\"")
            )
        };
        let c = parse(&org(
            "[organization]\naccount = \"prod\"\ninclude = [\"ou-ab12-34567890\", \"r-ab12\", \"333333333333\"]\nexclude = [\"444444444444\"]\ntags = { backup = \"yes\" }",
        ))
        .unwrap();
        let o = c.organization.unwrap();
        assert_eq!(o.role_name, "OrganizationAccountAccessRole");
        assert_eq!(o.region.as_str(), "us-east-1", "the account entry's region");
        assert_eq!(
            o.include,
            vec![
                OrgTarget::Parent("ou-ab12-34567890".into()),
                OrgTarget::Parent("r-ab12".into()),
                OrgTarget::Account(AccountId::new("333333333333").unwrap())
            ]
        );
        assert_eq!(c.replication[0].from, FROM_ORGANIZATION);
        for (table, key, says) in [
            (
                "[organization]\nrole_name = \"x\"",
                "organization.account",
                "needs `account`",
            ),
            (
                "[organization]\naccount = \"mgmt\"",
                "organization.account",
                "no account named `mgmt`",
            ),
            (
                "[organization]\naccount = \"prod\"\ninclude = [\"ou-x\"]",
                "organization.include",
                "is not an OU id",
            ),
            (
                "[organization]\naccount = \"prod\"\nexclude = [\"12345\"]",
                "organization.exclude",
                "is not an OU id",
            ),
            (
                "[organization]\naccount = \"prod\"\nrole_name = \"a b\"",
                "organization.role_name",
                "not a valid IAM role name",
            ),
            (
                "[organization]\naccount = \"prod\"\nregion = \"mars-1\"",
                "organization.region",
                "mars-1",
            ),
            (
                "[organization]\naccount = \"prod\"\nou = []",
                "ou",
                "unknown field `ou`",
            ),
        ] {
            let e = error(&org(table));
            assert!(e.key.starts_with(key), "{table}: {e}");
            assert!(e.location.is_some(), "{table}: {e}");
            assert!(e.message.contains(says), "{table}: {e}");
        }
        // `from = "organization"` without the table: an error at `from`.
        let e = error(&GOOD.replace("from = \"prod\"", "from = \"organization\""));
        assert_eq!(e.key, "replication[0].from");
        assert_eq!(e.location.map(|l| l.0), Some(11));
        assert!(e.message.contains("needs an `[organization]` table"), "{e}");
        // The name is reserved.
        let e = error(&GOOD.replace("[accounts.backup]", "[accounts.organization]"));
        assert_eq!(e.key, "accounts.organization");
    }

    #[test]
    fn type_errors_have_locations() {
        let e = error(&GOOD.replace("buckets = [\"*\"]", "buckets = \"*\""));
        assert!(e.location.is_some(), "{e}");
        assert!(e.message.contains("invalid type"), "{e}");
    }
}
