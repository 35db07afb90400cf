//! Streaming merge-join of two `ListObjectVersions` listings (source and destination): the
//! "objects" check of `crossrep verify`.
//!
//! # Ordering the input must have
//!
//! S3 lists versions by key in UTF-8 binary order (`a` < `a/` < `a/b` < `a0`), which is exactly
//! Rust's `Ord` for `str`, and within one key newest first. A response carries versions and
//! delete markers in two separate lists (`Versions`, `DeleteMarkers`); the caller merges each
//! page into one sequence in which every key's entries are contiguous, keys ascending. Page
//! boundaries may fall anywhere, including in the middle of one key's versions (S3 continues with
//! `NextKeyMarker` + `NextVersionIdMarker`). The order of versions *within* a key does not matter
//! to the result except for which examples are reported first; versions are matched by version
//! id, because replication (live and Batch Replication) keeps the source's version ids, and a
//! version id occurs once per key (S3 guarantees it). A key listed out of order is an error
//! ([`DiffError::OutOfOrder`]), not a wrong answer.
//!
//! # Push, not pull
//!
//! The AWS layer fetches pages of the two listings concurrently, so the engine is a
//! synchronous state machine that is *fed*: [`Differ::push_source`] / [`Differ::push_dest`]
//! take a page, [`Differ::end_source`] / [`Differ::end_dest`] say a listing is complete, and
//! [`Differ::need`] says which side it needs next to make progress. A caller that only pushes
//! what `need()` asks for (plus whatever its bounded prefetch holds) keeps memory constant:
//! the differ holds the unconsumed part of the pages pushed so far and the versions of the
//! current key on each side — bounded by the page size and by the largest version count of a
//! single key, not by the size of the listing — plus the first N examples of each finding.
//! Pushing a side it did not ask for is allowed (it is buffered), it just costs memory.
//! [`diff`] drives the same machine from two iterators, for tests and the benchmark.
//!
//! # What is compared, per key
//!
//! Source and destination versions with the same version id are a *match*; then:
//! - a source version with no match is `missing_current` if it is the latest version and not a
//!   delete marker (`missing_recent` instead when it is newer than the cutoff set with
//!   [`Differ::recent_after`]: replication may still be on its way), `missing_delete_markers`
//!   if it is a delete marker, `missing_noncurrent` otherwise (live replication copies only versions written after the rule existed, and
//!   delete-marker replication is optional, so only the first is a failure by itself; the
//!   caller decides);
//! - a destination version with no match is `only_in_dest`;
//! - a match where one side is a delete marker and the other is not is a `kind_mismatch`;
//! - a match of two objects with different sizes is a `size_mismatch`;
//! - otherwise, if their ETags are comparable ([`etag_comparable`]), different ETags are an
//!   `etag_mismatch`.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use serde::Serialize;

/// One entry of a `ListObjectVersions` listing: an object version or a delete marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    pub key: String,
    /// `null` for a version written while versioning was off; replicas keep the source's id.
    pub version_id: String,
    pub is_latest: bool,
    pub is_delete_marker: bool,
    /// 0 for delete markers.
    pub size: u64,
    /// As listed, with or without the surrounding quotes; `None` for delete markers.
    pub etag: Option<String>,
    /// Seconds since the Unix epoch. Never compared between the sides (a replica may get its
    /// own); the source's tells a recent missing version ([`Differ::recent_after`]).
    pub last_modified: i64,
    /// Shown in examples, never compared: a rule may store replicas in another class.
    pub storage_class: Option<String>,
    /// The ETag is not an MD5 of the content: the object is encrypted with SSE-KMS (or
    /// SSE-C). `ListObjectVersions` does not say so; the caller knows it from the bucket's
    /// default encryption or a `HeadObject`, and sets it on either side.
    pub sse_kms: bool,
}

/// Which listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Source,
    Dest,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Source => "source",
            Side::Dest => "destination",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    #[error("the {side} listing is not in key order: `{key}` came after `{previous}`")]
    OutOfOrder {
        side: Side,
        previous: String,
        key: String,
    },
    #[error("a page of the {side} listing was pushed after the listing ended")]
    PushAfterEnd { side: Side },
}

/// What the differ needs next to make progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Source,
    Dest,
    /// A page of each; whichever arrives first can be pushed first.
    Both,
    /// Both listings ended and everything is compared: call [`Differ::finish`].
    Done,
}

/// A discrepancy, with both sides' versions as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub key: String,
    pub version_id: String,
    pub source: Option<Version>,
    pub dest: Option<Version>,
}

/// How many findings of one kind, and the first `examples` of them in listing order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Findings {
    pub count: u64,
    pub examples: Vec<Finding>,
}

impl Findings {
    fn record(&mut self, limit: usize, finding: impl FnOnce() -> Finding) {
        self.count += 1;
        if self.examples.len() < limit {
            self.examples.push(finding());
        }
    }
}

/// The result of a diff (and, while it runs, the progress so far).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiffSummary {
    /// Distinct keys on either side.
    pub keys: u64,
    /// Versions and delete markers consumed from each listing.
    pub source_versions: u64,
    pub dest_versions: u64,
    /// Version ids present on both sides.
    pub matched: u64,
    /// Matched object pairs whose ETags were compared / could not be compared.
    pub etag_compared: u64,
    pub etag_not_comparable: u64,
    pub missing_current: Findings,
    /// Current versions missing in the destination that are newer than the cutoff of
    /// [`Differ::recent_after`] (none without one): not yet settled.
    pub missing_recent: Findings,
    pub missing_noncurrent: Findings,
    pub missing_delete_markers: Findings,
    pub only_in_dest: Findings,
    pub kind_mismatch: Findings,
    pub size_mismatch: Findings,
    pub etag_mismatch: Findings,
}

/// Whether the ETags of two copies of the same version say anything about their content.
///
/// An ETag is the MD5 of the content only for a single-part upload without SSE-KMS/SSE-C; a
/// multipart upload's ETag is the MD5 of its parts' MD5s plus `-<part count>`, so the same
/// bytes uploaded with other part sizes get another ETag; an SSE-KMS ETag depends on the
/// encryption (and replicas are usually encrypted with the destination's key). So ETags are
/// compared only when both are present, neither side is SSE-KMS, and both are single-part or
/// both multipart with the same part count. The part *sizes* are not in a listing: replication
/// copies the source's part layout, so equal counts are assumed to mean equal sizes, and a
/// replica written some other way with the same count but other part sizes shows up as an
/// `etag_mismatch`.
pub fn etag_comparable(a: &Version, b: &Version) -> bool {
    match (&a.etag, &b.etag) {
        (Some(x), Some(y)) => !a.sse_kms && !b.sse_kms && part_count(x) == part_count(y),
        _ => false,
    }
}

/// `Some(n)` for a multipart ETag (`"<hex>-<n>"`), `None` for a single-part one.
fn part_count(etag: &str) -> Option<&str> {
    let e = unquote(etag);
    let (_, n) = e.rsplit_once('-')?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(n)
}

fn unquote(etag: &str) -> &str {
    let e = etag.trim();
    e.strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or(e)
}

/// One listing as seen by the differ.
#[derive(Debug, Default)]
struct Listing {
    /// Pushed, not yet moved into `group`.
    queue: VecDeque<Version>,
    /// The versions of the lowest key not yet compared, as far as they have arrived.
    group: Vec<Version>,
    /// The key of the latest group started (its buffer is reused: no allocation per key).
    last_key: String,
    started: bool,
    ended: bool,
}

/// Where a listing stands, after [`Listing::fill`].
enum Head<'a> {
    /// Nothing pushed that is not compared yet, and more may come.
    Unknown,
    /// Versions of this key arrived; more of them may follow.
    Partial(&'a str),
    /// All versions of this key arrived.
    Ready(&'a str),
    /// Ended and fully compared.
    Exhausted,
}

impl Listing {
    /// Moves the queued versions of the group's key into `group`.
    fn fill(&mut self, side: Side) -> Result<(), DiffError> {
        if self.group.is_empty() {
            let Some(first) = self.queue.pop_front() else {
                return Ok(());
            };
            if self.started && first.key.as_str() <= self.last_key.as_str() {
                return Err(DiffError::OutOfOrder {
                    side,
                    previous: self.last_key.clone(),
                    key: first.key,
                });
            }
            self.started = true;
            self.last_key.clear();
            self.last_key.push_str(&first.key);
            self.group.push(first);
        }
        while self.queue.front().is_some_and(|v| v.key == self.last_key) {
            self.group.extend(self.queue.pop_front());
        }
        Ok(())
    }

    fn head(&self) -> Head<'_> {
        match (self.group.is_empty(), self.ended) {
            (true, true) => Head::Exhausted,
            (true, false) => Head::Unknown,
            (false, _) if self.ended || !self.queue.is_empty() => Head::Ready(&self.last_key),
            (false, _) => Head::Partial(&self.last_key),
        }
    }

    fn take_group(&mut self) {
        self.group.clear();
        // A key with very many versions should not pin its buffer for the rest of the run.
        if self.group.capacity() > 4096 {
            self.group.shrink_to(4096);
        }
    }
}

/// Reused between keys so that comparing a key allocates nothing in the common case.
#[derive(Debug, Default)]
struct Scratch {
    /// For each source version of the key, the index of its match among the dest versions.
    src_match: Vec<Option<usize>>,
    dest_matched: Vec<bool>,
}

/// The incremental merge-join. See the module documentation.
#[derive(Debug)]
pub struct Differ {
    src: Listing,
    dst: Listing,
    scratch: Scratch,
    examples: usize,
    /// Missing current versions modified after this (seconds since the epoch) are
    /// `missing_recent`.
    recent_after: Option<i64>,
    summary: DiffSummary,
}

impl Differ {
    /// `examples`: how many examples of each kind of finding to keep.
    pub fn new(examples: usize) -> Differ {
        Differ {
            src: Listing::default(),
            dst: Listing::default(),
            scratch: Scratch::default(),
            examples,
            recent_after: None,
            summary: DiffSummary::default(),
        }
    }

    /// Counts a missing current version last modified after `cutoff` (seconds since the
    /// epoch) as `missing_recent` instead of `missing_current` (`verify --settle`).
    pub fn recent_after(mut self, cutoff: i64) -> Differ {
        self.recent_after = Some(cutoff);
        self
    }

    /// Feeds the next page of the source listing and compares whatever it makes comparable.
    /// After an error the differ is in an unspecified state and should be dropped.
    pub fn push_source(
        &mut self,
        page: impl IntoIterator<Item = Version>,
    ) -> Result<(), DiffError> {
        self.push(Side::Source, page)
    }

    pub fn push_dest(&mut self, page: impl IntoIterator<Item = Version>) -> Result<(), DiffError> {
        self.push(Side::Dest, page)
    }

    /// The source listing has no more pages.
    pub fn end_source(&mut self) -> Result<(), DiffError> {
        self.src.ended = true;
        self.step()
    }

    pub fn end_dest(&mut self) -> Result<(), DiffError> {
        self.dst.ended = true;
        self.step()
    }

    /// Which listing must deliver a page before anything more can be compared.
    pub fn need(&self) -> Need {
        use Head::*;
        match (self.src.head(), self.dst.head()) {
            (Exhausted, Exhausted) => Need::Done,
            (Unknown, Unknown) => Need::Both,
            (Unknown, _) => Need::Source,
            (_, Unknown) => Need::Dest,
            (Partial(a), Partial(b)) if a == b => Need::Both,
            (Partial(a), Partial(b)) if a < b => Need::Source,
            (Partial(_), Partial(_)) => Need::Dest,
            (Partial(_), _) => Need::Source,
            (_, Partial(_)) => Need::Dest,
            // `step` compares every ready key before returning.
            (Ready(_), _) | (_, Ready(_)) => unreachable!("a ready key was left uncompared"),
        }
    }

    /// The counts so far, for progress reporting.
    pub fn summary(&self) -> &DiffSummary {
        &self.summary
    }

    /// Versions held (queued pages plus current keys), source then destination; what the
    /// memory bound is about.
    pub fn buffered(&self) -> (usize, usize) {
        (
            self.src.queue.len() + self.src.group.len(),
            self.dst.queue.len() + self.dst.group.len(),
        )
    }

    /// Ends both listings (if the caller has not already) and returns the result.
    pub fn finish(mut self) -> Result<DiffSummary, DiffError> {
        self.src.ended = true;
        self.dst.ended = true;
        self.step()?;
        debug_assert_eq!(self.need(), Need::Done);
        Ok(self.summary)
    }

    fn push(
        &mut self,
        side: Side,
        page: impl IntoIterator<Item = Version>,
    ) -> Result<(), DiffError> {
        let listing = match side {
            Side::Source => &mut self.src,
            Side::Dest => &mut self.dst,
        };
        if listing.ended {
            return Err(DiffError::PushAfterEnd { side });
        }
        listing.queue.extend(page);
        self.step()
    }

    /// Compares keys until one needs data that has not arrived.
    fn step(&mut self) -> Result<(), DiffError> {
        use std::cmp::Ordering::*;
        use Head::*;
        loop {
            self.src.fill(Side::Source)?;
            self.dst.fill(Side::Dest)?;
            let (use_src, use_dst) = match (self.src.head(), self.dst.head()) {
                (Ready(a), Ready(b)) => match a.cmp(b) {
                    Less => (true, false),
                    Equal => (true, true),
                    Greater => (false, true),
                },
                (Ready(_), Exhausted) => (true, false),
                (Exhausted, Ready(_)) => (false, true),
                // The other side's next key is at least its partial key.
                (Ready(a), Partial(b)) if a < b => (true, false),
                (Partial(a), Ready(b)) if b < a => (false, true),
                _ => return Ok(()),
            };
            let empty: &[Version] = &[];
            compare_key(
                if use_src { &self.src.group } else { empty },
                if use_dst { &self.dst.group } else { empty },
                &mut self.scratch,
                self.examples,
                self.recent_after,
                &mut self.summary,
            );
            if use_src {
                self.src.take_group();
            }
            if use_dst {
                self.dst.take_group();
            }
        }
    }
}

/// Diffs two complete listings given as iterators (each in S3 order), pulling them in chunks.
pub fn diff(
    source: impl IntoIterator<Item = Version>,
    dest: impl IntoIterator<Item = Version>,
    examples: usize,
) -> Result<DiffSummary, DiffError> {
    const CHUNK: usize = 1000; // S3's page size
    let mut source = source.into_iter().peekable();
    let mut dest = dest.into_iter().peekable();
    let mut d = Differ::new(examples);
    loop {
        let (want_src, want_dst) = match d.need() {
            Need::Source => (true, false),
            Need::Dest => (false, true),
            Need::Both => (true, true),
            Need::Done => return d.finish(),
        };
        if want_src {
            if source.peek().is_some() {
                d.push_source(source.by_ref().take(CHUNK))?;
            } else {
                d.end_source()?;
            }
        }
        if want_dst {
            if dest.peek().is_some() {
                d.push_dest(dest.by_ref().take(CHUNK))?;
            } else {
                d.end_dest()?;
            }
        }
    }
}

/// Compares all versions of one key (either slice may be empty, not both).
fn compare_key(
    src: &[Version],
    dst: &[Version],
    scratch: &mut Scratch,
    limit: usize,
    recent_after: Option<i64>,
    out: &mut DiffSummary,
) {
    out.keys += 1;
    out.source_versions += src.len() as u64;
    out.dest_versions += dst.len() as u64;

    // Match by version id. Replicas are usually listed in the source's order, so walk both in
    // step first; match what is left by a nested loop when small, a hash map when not (a key
    // may have many versions).
    let Scratch {
        src_match,
        dest_matched,
    } = scratch;
    src_match.clear();
    src_match.resize(src.len(), None);
    dest_matched.clear();
    dest_matched.resize(dst.len(), false);
    let common = src
        .iter()
        .zip(dst)
        .take_while(|(s, d)| s.version_id == d.version_id)
        .count();
    for i in 0..common {
        src_match[i] = Some(i);
        dest_matched[i] = true;
    }
    let (src_rest, dst_rest) = (src.len() - common, dst.len() - common);
    if src_rest > 0 && dst_rest > 0 {
        if src_rest * dst_rest <= 64 {
            for (i, s) in src.iter().enumerate().skip(common) {
                let found = (common..dst.len())
                    .find(|&j| !dest_matched[j] && dst[j].version_id == s.version_id);
                if let Some(j) = found {
                    src_match[i] = Some(j);
                    dest_matched[j] = true;
                }
            }
        } else {
            let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(dst_rest);
            for (j, d) in dst.iter().enumerate().skip(common) {
                by_id.entry(d.version_id.as_str()).or_insert(j);
            }
            for (i, s) in src.iter().enumerate().skip(common) {
                if let Some(j) = by_id.remove(s.version_id.as_str()) {
                    src_match[i] = Some(j);
                    dest_matched[j] = true;
                }
            }
        }
    }

    let pair = |s: &Version, d: Option<&Version>| Finding {
        key: s.key.clone(),
        version_id: s.version_id.clone(),
        source: Some(s.clone()),
        dest: d.cloned(),
    };
    for (s, m) in src.iter().zip(src_match.iter()) {
        let Some(j) = *m else {
            let findings = if s.is_delete_marker {
                &mut out.missing_delete_markers
            } else if s.is_latest && recent_after.is_some_and(|c| s.last_modified > c) {
                &mut out.missing_recent
            } else if s.is_latest {
                &mut out.missing_current
            } else {
                &mut out.missing_noncurrent
            };
            findings.record(limit, || pair(s, None));
            continue;
        };
        let d = &dst[j];
        out.matched += 1;
        if s.is_delete_marker != d.is_delete_marker {
            out.kind_mismatch.record(limit, || pair(s, Some(d)));
        } else if s.is_delete_marker {
            // Two delete markers: nothing more to compare.
        } else if s.size != d.size {
            out.size_mismatch.record(limit, || pair(s, Some(d)));
        } else if etag_comparable(s, d) {
            out.etag_compared += 1;
            let same = match (&s.etag, &d.etag) {
                (Some(a), Some(b)) => unquote(a) == unquote(b),
                _ => unreachable!("comparable ETags are present"),
            };
            if !same {
                out.etag_mismatch.record(limit, || pair(s, Some(d)));
            }
        } else {
            out.etag_not_comparable += 1;
        }
    }
    for (d, _) in dst.iter().zip(dest_matched.iter()).filter(|(_, m)| !**m) {
        out.only_in_dest.record(limit, || Finding {
            key: d.key.clone(),
            version_id: d.version_id.clone(),
            source: None,
            dest: Some(d.clone()),
        });
    }
}
