//! Resource kinds and their registry.
//!
//! Every kind of resource crossrep manages is one module here (its address and spec, its
//! canonical comparison, its merge where foreign content must be kept, what it looks like to a
//! reader, and its in-memory apply) and one in `crossrep-aws/src/kinds/` (discover, apply,
//! delete). A change is typed by its kind, [`Change<K>`], so an address can never be paired
//! with the wrong document; the plan holds them as [`AnyChange`].
//!
//! [`registry!`] below is the one list of kinds: it generates [`Address`], [`AnyChange`] and
//! [`ActualState`] (one map of [`Observed`] specs per kind) and every `match` over kinds, all
//! exhaustive. Adding a kind is its module here, one line in the registry, its module in
//! `crossrep-aws` and one line in that crate's dispatch (`crossrep-aws/src/kinds/mod.rs`).
//! A macro, not hand-written enums: with twelve kinds today and eight more planned, the dozen
//! exhaustive matches would otherwise be the bulk of the cost of a kind.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::names::{AccountId, BucketName, Region};
use crate::observed::{Observed, ReadProblem};

pub mod alarm;
pub mod alert_queue;
pub mod alert_topic;
pub mod bucket;
pub mod bucket_encryption;
pub mod bucket_policy;
pub mod bucket_tags;
pub mod key_policy;
pub mod lifecycle;
pub mod notification;
pub mod object_encryption;
pub mod object_lock;
pub mod ownership_controls;
pub mod replica_key;
pub mod replication;
pub mod request_payment;
pub mod role;
pub mod role_policy;
pub mod versioning;

/// The address of one resource of a kind.
pub trait KindAddr:
    Clone + Ord + Eq + std::hash::Hash + fmt::Debug + Serialize + DeserializeOwned
{
    fn account(&self) -> &AccountId;
    /// The bucket a bucket sub-resource belongs to.
    fn bucket(&self) -> Option<&BucketName> {
        None
    }
    /// What is shown between the brackets of `kind[…]`.
    fn label(&self) -> String;
}

/// One kind of resource.
pub trait Kind: Sized + Clone + fmt::Debug + PartialEq + Eq + 'static {
    /// snake_case: the `kind` of its addresses and the `type` of its documents in saved plans,
    /// and the word before `[…]` in plans for people.
    const NAME: &'static str;
    /// Execution phase when created or updated: a change only depends on earlier phases.
    const PHASE: u8;
    type Addr: KindAddr;
    /// The full desired value: execution writes exactly this.
    type Spec: Clone + PartialEq + Eq + fmt::Debug + Serialize + DeserializeOwned;

    /// For people: what the resource is (`bucket policy of `x` in 222222222222`).
    fn describe(addr: &Self::Addr, region: &Region) -> String;

    /// The canonical comparison: whether `actual` already is `want`.
    fn same(actual: &Self::Spec, want: &Self::Spec) -> bool {
        actual == want
    }

    /// What a document looks like to a reader (the plan's line diff is of this).
    fn show(spec: &Self::Spec) -> Value {
        serde_json::to_value(spec).unwrap_or(Value::Null)
    }

    /// For bucket sub-resources: what a bucket with nothing configured has (a new bucket, or
    /// one discovery read and found bare). `None` for other kinds.
    fn bucket_default(_bucket: &BucketAddr) -> Option<(Self::Addr, Observed<Self::Spec>)> {
        None
    }

    /// What AWS would hold after `change` succeeded: the planner's model of AWS.
    fn apply_in_memory(state: &mut ActualState, change: &Change<Self>) {
        Self::store_mut(state).insert(
            change.addr.clone(),
            Observed::from_option(change.after.clone()),
        );
    }

    /// This kind's map in [`ActualState`].
    fn store(state: &ActualState) -> &BTreeMap<Self::Addr, Observed<Self::Spec>>;
    fn store_mut(state: &mut ActualState) -> &mut BTreeMap<Self::Addr, Observed<Self::Spec>>;
    fn wrap(change: Change<Self>) -> AnyChange;
    fn address(addr: Self::Addr) -> Address;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
}

/// One change of one resource of kind `K`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(bound = "")]
pub struct Change<K: Kind> {
    pub addr: K::Addr,
    /// Where to send the request: the bucket's region (IAM: the account's home region).
    pub region: Region,
    pub action: Action,
    /// Execution order: every change of a phase runs after all changes of earlier phases.
    /// Apply creates in [`Kind::PHASE`] order; destroy removes in the reverse.
    pub phase: u8,
    pub before: Option<K::Spec>,
    /// `None` when the resource is deleted.
    pub after: Option<K::Spec>,
    /// Why, for people; never read by execution.
    pub reason: String,
    /// Changes of this plan that must succeed first.
    pub depends_on: Vec<Address>,
}

impl<K: Kind> Change<K> {
    /// A create (no `before`) or an update, in the kind's phase.
    pub fn put(
        addr: K::Addr,
        region: Region,
        before: Option<K::Spec>,
        after: K::Spec,
        reason: String,
        depends_on: Vec<Address>,
    ) -> Change<K> {
        Change {
            addr,
            region,
            action: if before.is_none() {
                Action::Create
            } else {
                Action::Update
            },
            phase: K::PHASE,
            before,
            after: Some(after),
            reason,
            depends_on,
        }
    }
}

#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    kind: &'static str,
    #[serde(flatten)]
    inner: &'a T,
}

#[derive(Serialize)]
struct Typed<'a, T: Serialize> {
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(flatten)]
    inner: &'a T,
}

/// The saved-plan shape of a change: the address tagged with its `kind`, documents with their
/// `type` (unchanged since format 1).
#[derive(Serialize)]
struct WireChange<'a, S: Serialize> {
    addr: Address,
    region: &'a Region,
    action: Action,
    phase: u8,
    before: Option<Typed<'a, S>>,
    after: Option<Typed<'a, S>>,
    reason: &'a str,
    depends_on: &'a [Address],
}

fn serialize_change<K: Kind, S: Serializer>(c: &Change<K>, s: S) -> Result<S::Ok, S::Error> {
    fn typed<K: Kind>(spec: &Option<K::Spec>) -> Option<Typed<'_, K::Spec>> {
        spec.as_ref().map(|inner| Typed { ty: K::NAME, inner })
    }
    WireChange {
        addr: K::address(c.addr.clone()),
        region: &c.region,
        action: c.action,
        phase: c.phase,
        before: typed::<K>(&c.before),
        after: typed::<K>(&c.after),
        reason: &c.reason,
        depends_on: &c.depends_on,
    }
    .serialize(s)
}

fn kind_of(v: &Value) -> Option<&str> {
    v.get("kind").and_then(Value::as_str)
}

macro_rules! registry {
    ($($variant:ident => $module:ident :: $kind:ident),* $(,)?) => {
        /// What a change is about. Ordering (kind, then address) is the order changes are
        /// shown and stored in.
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Address {
            $($variant(<$module::$kind as Kind>::Addr)),*
        }

        /// A change of any kind: the elements of a plan.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum AnyChange {
            $($variant(Change<$module::$kind>)),*
        }

        /// Everything discovery saw, in every configured account: per kind, what each
        /// resource it looked at was. (Not serialised: its maps are keyed by addresses,
        /// which JSON objects cannot be.)
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct ActualState {
            $(pub $module: BTreeMap<<$module::$kind as Kind>::Addr, Observed<<$module::$kind as Kind>::Spec>>,)*
            /// Bucket names that exist but belong to an account crossrep cannot act as (the
            /// bucket namespace is global: `BucketAlreadyExists`).
            pub taken_names: BTreeSet<BucketName>,
            /// Account-level facts for preflight (SPEC §12).
            pub preflight: crate::preflight::Facts,
        }

        impl Address {
            /// The kind's name ([`Kind::NAME`]).
            pub fn kind(&self) -> &'static str {
                match self { $(Address::$variant(_) => <$module::$kind as Kind>::NAME),* }
            }

            /// Execution phase of a create or update ([`Kind::PHASE`]).
            pub fn phase(&self) -> u8 {
                match self { $(Address::$variant(_) => <$module::$kind as Kind>::PHASE),* }
            }

            pub fn account(&self) -> &AccountId {
                match self { $(Address::$variant(a) => a.account()),* }
            }

            /// The bucket of a bucket sub-resource.
            pub fn bucket(&self) -> Option<&BucketName> {
                match self { $(Address::$variant(a) => a.bucket()),* }
            }

            fn label(&self) -> String {
                match self { $(Address::$variant(a) => a.label()),* }
            }
        }

        impl Serialize for Address {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Address::$variant(a) => Tagged { kind: <$module::$kind as Kind>::NAME, inner: a }.serialize(s)),*
                }
            }
        }

        impl<'de> Deserialize<'de> for Address {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
                let v = Value::deserialize(d)?;
                let kind = kind_of(&v).ok_or_else(|| D::Error::custom("an address without `kind`"))?;
                $(if kind == <$module::$kind as Kind>::NAME {
                    return serde_json::from_value(v).map(Address::$variant).map_err(D::Error::custom);
                })*
                Err(D::Error::custom(format!("unknown resource kind `{kind}`")))
            }
        }

        impl AnyChange {
            pub fn addr(&self) -> Address {
                match self { $(AnyChange::$variant(c) => Address::$variant(c.addr.clone())),* }
            }

            pub fn region(&self) -> &Region {
                match self { $(AnyChange::$variant(c) => &c.region),* }
            }

            pub fn action(&self) -> Action {
                match self { $(AnyChange::$variant(c) => c.action),* }
            }

            pub fn phase(&self) -> u8 {
                match self { $(AnyChange::$variant(c) => c.phase),* }
            }

            pub fn reason(&self) -> &str {
                match self { $(AnyChange::$variant(c) => &c.reason),* }
            }

            pub fn depends_on(&self) -> &[Address] {
                match self { $(AnyChange::$variant(c) => &c.depends_on),* }
            }

            /// What the resource is, for people.
            pub fn describe(&self) -> String {
                match self { $(AnyChange::$variant(c) => <$module::$kind as Kind>::describe(&c.addr, &c.region)),* }
            }

            /// `before` and `after` as readers see them ([`Kind::show`]).
            pub fn shown(&self) -> (Option<Value>, Option<Value>) {
                match self {
                    $(AnyChange::$variant(c) => (
                        c.before.as_ref().map(<$module::$kind as Kind>::show),
                        c.after.as_ref().map(<$module::$kind as Kind>::show),
                    )),*
                }
            }

            /// The change as its own kind's, when it is of kind `K`.
            pub fn downcast<K: Kind>(&self) -> Option<&Change<K>> {
                match self { $(AnyChange::$variant(c) => (c as &dyn std::any::Any).downcast_ref()),* }
            }

            fn apply_in_memory(&self, state: &mut ActualState) {
                match self { $(AnyChange::$variant(c) => <$module::$kind as Kind>::apply_in_memory(state, c)),* }
            }
        }

        impl Serialize for AnyChange {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self { $(AnyChange::$variant(c) => serialize_change(c, s)),* }
            }
        }

        impl<'de> Deserialize<'de> for AnyChange {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AnyChange, D::Error> {
                let v = Value::deserialize(d)?;
                let kind = v.get("addr").and_then(kind_of)
                    .ok_or_else(|| D::Error::custom("a change without `addr.kind`"))?
                    .to_string();
                $(if kind == <$module::$kind as Kind>::NAME {
                    return serde_json::from_value(v).map(AnyChange::$variant).map_err(D::Error::custom);
                })*
                Err(D::Error::custom(format!("unknown resource kind `{kind}`")))
            }
        }

        impl ActualState {
            /// Records a bucket that exists in `region` with nothing configured: every bucket
            /// sub-resource at its [`Kind::bucket_default`] (entries already there are kept).
            pub fn insert_plain_bucket(&mut self, addr: &BucketAddr, region: &Region) {
                self.bucket.insert(addr.clone(), Observed::Present(bucket::BucketSpec { region: region.clone(), object_lock: false }));
                $(if let Some((a, o)) = <$module::$kind as Kind>::bucket_default(addr) {
                    self.$module.entry(a).or_insert(o);
                })*
            }

            /// Why the resource at `addr` cannot be relied on, if it cannot.
            pub fn problem_at(&self, addr: &Address) -> Option<ReadProblem<'_>> {
                match addr {
                    $(Address::$variant(a) => self.problem::<$module::$kind>(a)),*
                }
            }
        }
    };
}

// The registry: one line per kind. The order is the order of `Address` (and so of plans).
registry! {
    Role => role::Role,
    RolePolicy => role_policy::RolePolicy,
    Bucket => bucket::Bucket,
    BucketTags => bucket_tags::BucketTags,
    OwnershipControls => ownership_controls::OwnershipControls,
    Lifecycle => lifecycle::Lifecycle,
    BucketEncryption => bucket_encryption::BucketEncryption,
    ObjectEncryption => object_encryption::ObjectEncryption,
    RequestPayment => request_payment::RequestPayment,
    ObjectLock => object_lock::ObjectLock,
    Versioning => versioning::Versioning,
    BucketPolicy => bucket_policy::BucketPolicy,
    ReplicaKey => replica_key::ReplicaKey,
    KeyPolicy => key_policy::KeyPolicy,
    AlertQueue => alert_queue::AlertQueue,
    AlertTopic => alert_topic::AlertTopic,
    Alarm => alarm::Alarm,
    Replication => replication::Replication,
    Notification => notification::Notification,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.kind(), self.label())
    }
}

impl ActualState {
    /// What discovery saw at `addr` (`None`: it did not look).
    pub fn observed<K: Kind>(&self, addr: &K::Addr) -> Option<&Observed<K::Spec>> {
        K::store(self).get(addr)
    }

    /// The resource at `addr`, when it was read and exists.
    pub fn present<K: Kind>(&self, addr: &K::Addr) -> Option<&K::Spec> {
        self.observed::<K>(addr).and_then(Observed::present)
    }

    /// `Some(None)`: read, absent; `None`: not read (or unreadable).
    pub fn known<K: Kind>(&self, addr: &K::Addr) -> Option<Option<&K::Spec>> {
        self.observed::<K>(addr).and_then(Observed::known)
    }

    /// Why the resource at `addr` cannot be relied on, if it cannot.
    pub fn problem<K: Kind>(&self, addr: &K::Addr) -> Option<ReadProblem<'_>> {
        match self.observed::<K>(addr) {
            None => Some(ReadProblem::Unread),
            Some(o) => o.problem(),
        }
    }

    pub fn set<K: Kind>(&mut self, addr: K::Addr, observed: Observed<K::Spec>) {
        K::store_mut(self).insert(addr, observed);
    }
}

/// What the actual state would be after every change of `changes` succeeded.
pub fn apply_all(actual: &ActualState, changes: &[AnyChange]) -> ActualState {
    let mut next = actual.clone();
    for c in changes {
        c.apply_in_memory(&mut next);
    }
    // Apply puts the ARN of a replica key it created where the plan has its token.
    replica_key::substitute_in_memory(&mut next);
    next
}

/// The address of a bucket, or of one of its sub-resources (tags, versioning, policy, ...).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BucketAddr {
    pub account: AccountId,
    pub bucket: BucketName,
}

impl BucketAddr {
    pub fn new(account: &AccountId, bucket: &BucketName) -> BucketAddr {
        BucketAddr {
            account: account.clone(),
            bucket: bucket.clone(),
        }
    }
}

impl KindAddr for BucketAddr {
    fn account(&self) -> &AccountId {
        &self.account
    }

    fn bucket(&self) -> Option<&BucketName> {
        Some(&self.bucket)
    }

    fn label(&self) -> String {
        format!("{}/{}", self.account, self.bucket)
    }
}

/// Implements the four registry hooks of a kind whose map in [`ActualState`] is `$field`.
macro_rules! stored_as {
    ($variant:ident, $field:ident) => {
        fn store(
            state: &$crate::kinds::ActualState,
        ) -> &std::collections::BTreeMap<Self::Addr, $crate::observed::Observed<Self::Spec>> {
            &state.$field
        }
        fn store_mut(
            state: &mut $crate::kinds::ActualState,
        ) -> &mut std::collections::BTreeMap<Self::Addr, $crate::observed::Observed<Self::Spec>> {
            &mut state.$field
        }
        fn wrap(change: $crate::kinds::Change<Self>) -> $crate::kinds::AnyChange {
            $crate::kinds::AnyChange::$variant(change)
        }
        fn address(addr: Self::Addr) -> $crate::kinds::Address {
            $crate::kinds::Address::$variant(addr)
        }
    };
}
pub(crate) use stored_as;
