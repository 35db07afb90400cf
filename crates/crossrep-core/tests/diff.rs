//! The streaming merge-join of `ListObjectVersions` listings (`crossrep_core::diff`), issue 4:
//! adversarial listings, every way of splitting them into pages, and a property test against a
//! naive diff that holds both listings in hash maps.

// Test and bench helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, unreachable_pub)]

use std::collections::{BTreeSet, HashMap};

use crossrep_core::diff::{
    diff, etag_comparable, DiffError, DiffSummary, Differ, Finding, Findings, Need, Side, Version,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Builders

/// An object version, latest, 10 bytes, single-part ETag derived from the id.
fn v(key: &str, id: &str) -> Version {
    Version {
        key: key.into(),
        version_id: id.into(),
        is_latest: true,
        is_delete_marker: false,
        size: 10,
        etag: Some(format!("\"{id}\"")),
        last_modified: 1_700_000_000,
        storage_class: Some("STANDARD".into()),
        sse_kms: false,
    }
}

fn dm(key: &str, id: &str) -> Version {
    Version {
        is_delete_marker: true,
        size: 0,
        etag: None,
        storage_class: None,
        ..v(key, id)
    }
}

trait With {
    fn old(self) -> Self;
    fn size(self, n: u64) -> Self;
    fn etag(self, e: &str) -> Self;
    fn kms(self) -> Self;
}

impl With for Version {
    fn old(self) -> Self {
        Version {
            is_latest: false,
            ..self
        }
    }
    fn size(self, size: u64) -> Self {
        Version { size, ..self }
    }
    fn etag(self, e: &str) -> Self {
        Version {
            etag: Some(e.into()),
            ..self
        }
    }
    fn kms(self) -> Self {
        Version {
            sse_kms: true,
            ..self
        }
    }
}

fn run(src: &[Version], dst: &[Version]) -> DiffSummary {
    diff(src.to_vec(), dst.to_vec(), 10).unwrap()
}

fn ids(f: &Findings) -> Vec<(&str, &str)> {
    f.examples
        .iter()
        .map(|f| (f.key.as_str(), f.version_id.as_str()))
        .collect()
}

/// Every finding kind except the ones named is empty.
fn only(s: &DiffSummary, nonempty: &[&str]) {
    let kinds = [
        ("missing_current", &s.missing_current),
        ("missing_noncurrent", &s.missing_noncurrent),
        ("missing_delete_markers", &s.missing_delete_markers),
        ("only_in_dest", &s.only_in_dest),
        ("kind_mismatch", &s.kind_mismatch),
        ("size_mismatch", &s.size_mismatch),
        ("etag_mismatch", &s.etag_mismatch),
    ];
    for (name, f) in kinds {
        assert_eq!(
            f.count > 0,
            nonempty.contains(&name),
            "{name}: {} findings {:?}",
            f.count,
            ids(f)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Examples

#[test]
fn identical_listings_match_everything() {
    let l = [
        v("a", "3"),
        v("a", "2").old(),
        dm("b", "5"),
        v("b", "4").old(),
        v("c", "6"),
    ];
    let s = run(&l, &l);
    only(&s, &[]);
    assert_eq!((s.keys, s.source_versions, s.dest_versions), (3, 5, 5));
    assert_eq!(s.matched, 5);
    assert_eq!((s.etag_compared, s.etag_not_comparable), (4, 0));
}

#[test]
fn both_listings_empty() {
    assert_eq!(run(&[], &[]), DiffSummary::default());
}

#[test]
fn empty_destination_misses_everything_by_kind() {
    let src = [
        v("a", "2"),
        v("a", "1").old(),
        dm("b", "4"),
        v("b", "3").old(),
    ];
    let s = run(&src, &[]);
    only(
        &s,
        &[
            "missing_current",
            "missing_noncurrent",
            "missing_delete_markers",
        ],
    );
    assert_eq!(ids(&s.missing_current), [("a", "2")]);
    assert_eq!(ids(&s.missing_noncurrent), [("a", "1"), ("b", "3")]);
    assert_eq!(ids(&s.missing_delete_markers), [("b", "4")]);
    assert_eq!(s.missing_current.examples[0].dest, None);
    assert_eq!(s.missing_current.examples[0].source, Some(src[0].clone()));
    assert_eq!((s.keys, s.matched), (2, 0));
}

#[test]
fn empty_source_leaves_everything_only_in_dest() {
    let dst = [v("a", "2"), dm("b", "4")];
    let s = run(&[], &dst);
    only(&s, &["only_in_dest"]);
    assert_eq!(ids(&s.only_in_dest), [("a", "2"), ("b", "4")]);
    assert_eq!(s.only_in_dest.examples[1].dest, Some(dst[1].clone()));
}

#[test]
fn a_deleted_replica_of_the_current_version_is_missing_current() {
    let src = [v("k", "2"), v("k", "1").old()];
    let s = run(&src, &[v("k", "1").old()]);
    only(&s, &["missing_current"]);
    assert_eq!(ids(&s.missing_current), [("k", "2")]);
    assert_eq!(s.matched, 1);
}

#[test]
fn a_key_whose_latest_version_is_a_delete_marker_has_no_current_version() {
    let src = [dm("k", "2"), v("k", "1").old()];
    let s = run(&src, &[v("k", "1").old()]);
    only(&s, &["missing_delete_markers"]);
}

#[test]
fn same_version_id_with_another_size_is_a_size_mismatch_and_not_an_etag_mismatch() {
    let s = run(&[v("k", "1")], &[v("k", "1").size(11).etag("other")]);
    only(&s, &["size_mismatch"]);
    let f = &s.size_mismatch.examples[0];
    assert_eq!(
        (
            f.source.as_ref().unwrap().size,
            f.dest.as_ref().unwrap().size
        ),
        (10, 11)
    );
    assert_eq!((s.etag_compared, s.etag_not_comparable), (0, 0));
}

#[test]
fn delete_marker_against_object_with_the_same_id_is_a_kind_mismatch() {
    let s = run(&[dm("k", "1")], &[v("k", "1")]);
    only(&s, &["kind_mismatch"]);
}

#[test]
fn etags_are_compared_only_where_comparable() {
    // (source etag, source kms, dest etag, dest kms) -> Some(equal) when compared.
    let cases: &[(&str, bool, &str, bool, Option<bool>)] = &[
        ("\"abc\"", false, "\"abc\"", false, Some(true)),
        ("\"abc\"", false, "abc", false, Some(true)), // quotes are not content
        ("\"abc\"", false, "\"abd\"", false, Some(false)),
        ("\"abc\"", true, "\"abd\"", false, None), // SSE-KMS on the source
        ("\"abc\"", false, "\"abd\"", true, None), // SSE-KMS replica
        ("\"abc-2\"", false, "\"abc-2\"", false, Some(true)),
        ("\"abc-2\"", false, "\"abd-2\"", false, Some(false)), // same part count
        ("\"abc-2\"", false, "\"abd-3\"", false, None),        // other part count
        ("\"abc-2\"", false, "\"abd\"", false, None),          // multipart vs single part
        ("\"ab-cd\"", false, "\"ab-ce\"", false, Some(false)), // `-` without digits: single part
    ];
    for &(se, sk, de, dk, expect) in cases {
        let mut a = v("k", "1").etag(se);
        let mut b = v("k", "1").etag(de);
        a.sse_kms = sk;
        b.sse_kms = dk;
        assert_eq!(etag_comparable(&a, &b), expect.is_some(), "{se} {de}");
        let s = run(&[a], &[b]);
        match expect {
            Some(equal) => {
                assert_eq!(
                    (s.etag_compared, s.etag_not_comparable),
                    (1, 0),
                    "{se} {de}"
                );
                assert_eq!(s.etag_mismatch.count, u64::from(!equal), "{se} {de}");
            }
            None => {
                assert_eq!(
                    (s.etag_compared, s.etag_not_comparable),
                    (0, 1),
                    "{se} {de}"
                );
                assert_eq!(s.etag_mismatch.count, 0);
            }
        }
    }
    let s = run(&[v("k", "1").kms()], &[v("k", "1").etag("x")]);
    only(&s, &[]);
    let mut no_etag = v("k", "1");
    no_etag.etag = None;
    assert!(!etag_comparable(&no_etag, &v("k", "1")));
}

/// Keys that are prefixes of each other, sorted the way S3 sorts them: by UTF-8 bytes, so
/// `a` < `a/` < `a/b` < `a0` (`/` is 0x2F, `0` is 0x30), and U+FFFD < U+1F600 although UTF-16
/// order says the opposite.
const TRICKY_KEYS: &[&str] = &[
    "a",
    "a b",
    "a%2F",
    "a/",
    "a//",
    "a/b",
    "a/b/",
    "a/b/c",
    "a0",
    "aa",
    "e\u{301}",
    "\u{e9}",
    "\u{65e5}\u{672c}/\u{8a9e}",
    "\u{fffd}",
    "\u{1f600}",
    "\u{1f600}/x",
];

#[test]
fn tricky_keys_are_in_s3_order() {
    let mut sorted: Vec<&str> = TRICKY_KEYS.to_vec();
    sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(sorted, TRICKY_KEYS);
}

#[test]
fn keys_that_prefix_each_other_are_matched_key_by_key() {
    // Source has every key; the destination skips every other one and has one key of its own
    // between `a/` and `a/b`.
    let src: Vec<Version> = TRICKY_KEYS.iter().map(|k| v(k, "1")).collect();
    let mut dst: Vec<Version> = TRICKY_KEYS.iter().step_by(2).map(|k| v(k, "1")).collect();
    dst.insert(2, v("a/a", "9")); // after `a`, `a/` ... in the dest: a, a/, a/a, a/b
    dst.sort_by(|a, b| a.key.cmp(&b.key));
    let s = diff(src, dst, 100).unwrap();
    let missing: Vec<&str> = TRICKY_KEYS.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(
        s.missing_current
            .examples
            .iter()
            .map(|f| f.key.as_str())
            .collect::<Vec<_>>(),
        missing
    );
    assert_eq!(ids(&s.only_in_dest), [("a/a", "9")]);
    assert_eq!(s.keys, TRICKY_KEYS.len() as u64 + 1);
    assert_eq!(s.matched, TRICKY_KEYS.len().div_ceil(2) as u64);
}

#[test]
fn utf16_order_is_rejected_as_out_of_order() {
    // Java/JS sort U+1F600 (surrogates D83D DE00) before U+FFFD; S3 never lists that way.
    let src = [v("\u{1f600}", "1"), v("\u{fffd}", "1")];
    let err = diff(src.to_vec(), Vec::new(), 1).unwrap_err();
    assert_eq!(
        err,
        DiffError::OutOfOrder {
            side: Side::Source,
            previous: "\u{1f600}".into(),
            key: "\u{fffd}".into()
        }
    );
    assert!(err.to_string().contains("not in key order"), "{err}");
}

#[test]
fn a_key_listed_again_after_another_key_is_out_of_order() {
    let dst = [v("a", "2"), v("b", "1"), v("a", "1").old()];
    let err = diff(Vec::new(), dst.to_vec(), 1).unwrap_err();
    assert!(
        matches!(
            err,
            DiffError::OutOfOrder {
                side: Side::Dest,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn many_versions_of_one_key_in_another_order_with_one_missing() {
    // 5,000 versions; the destination lists them in reverse (the hash-map path) and lacks one
    // noncurrent version and the current one has another size.
    let n = 5_000;
    let src: Vec<Version> = (0..n)
        .map(|i| {
            let x = v("many/versions", &format!("{:032x}", n - i));
            if i == 0 {
                x
            } else {
                x.old()
            }
        })
        .collect();
    let mut dst: Vec<Version> = src.iter().rev().cloned().collect();
    dst.retain(|x| x.version_id != format!("{:032x}", 1234));
    let last = dst.len() - 1;
    dst[last].size = 99;
    let s = run(&src, &dst);
    only(&s, &["missing_noncurrent", "size_mismatch"]);
    assert_eq!(
        ids(&s.missing_noncurrent),
        [("many/versions", &*format!("{:032x}", 1234))]
    );
    assert_eq!(
        s.size_mismatch.examples[0].version_id,
        format!("{:032x}", n)
    );
    assert_eq!((s.keys, s.matched), (1, n as u64 - 1));
}

#[test]
fn examples_are_the_first_n_in_listing_order_and_counts_are_complete() {
    let src: Vec<Version> = (0..50).map(|i| v(&format!("k{i:02}"), "1")).collect();
    let s = diff(src, Vec::new(), 3).unwrap();
    assert_eq!(s.missing_current.count, 50);
    assert_eq!(
        ids(&s.missing_current),
        [("k00", "1"), ("k01", "1"), ("k02", "1")]
    );
    let s = diff(Vec::new(), (0..5).map(|i| v(&format!("k{i}"), "1")), 0).unwrap();
    assert_eq!(
        (s.only_in_dest.count, s.only_in_dest.examples.len()),
        (5, 0)
    );
}

// ---------------------------------------------------------------------------------------------
// Pages and the push protocol

/// A source and destination with a bit of everything, several versions per key.
fn mixed() -> (Vec<Version>, Vec<Version>) {
    let src = vec![
        v("a", "3"),
        v("a", "2").old(),
        v("a", "1").old(),
        dm("a/", "5"),
        v("a/", "4").old(),
        v("a/b", "6").size(7),
        v("a0", "8"),
        v("a0", "7").old(),
        v("\u{e9}", "9"),
    ];
    let dst = vec![
        v("a", "2").old(),
        v("a", "3"),
        v("a", "1").old().etag("\"zzz\""),
        v("a/", "4").old(),
        v("a/b", "6"),
        v("a/b/c", "x"),
        v("a0", "8"),
        v("\u{e9}", "9").kms(),
        v("\u{e9}", "y").old(),
    ];
    (src, dst)
}

fn expected_mixed(s: &DiffSummary) {
    assert_eq!(ids(&s.missing_current), Vec::<(&str, &str)>::new());
    assert_eq!(ids(&s.missing_delete_markers), [("a/", "5")]);
    assert_eq!(ids(&s.missing_noncurrent), [("a0", "7")]);
    assert_eq!(ids(&s.size_mismatch), [("a/b", "6")]);
    assert_eq!(ids(&s.etag_mismatch), [("a", "1")]);
    assert_eq!(ids(&s.only_in_dest), [("a/b/c", "x"), ("\u{e9}", "y")]);
    assert_eq!(
        (s.keys, s.matched, s.etag_compared, s.etag_not_comparable),
        (6, 7, 5, 1)
    );
}

/// Pushes `pages` of each side in the given order of sides, then ends both.
fn push_pages(
    src_pages: &[&[Version]],
    dst_pages: &[&[Version]],
    order: impl IntoIterator<Item = Side>,
) -> DiffSummary {
    let mut d = Differ::new(10);
    let (mut si, mut di) = (0, 0);
    for side in order {
        match side {
            Side::Source if si < src_pages.len() => {
                d.push_source(src_pages[si].to_vec()).unwrap();
                si += 1;
            }
            Side::Dest if di < dst_pages.len() => {
                d.push_dest(dst_pages[di].to_vec()).unwrap();
                di += 1;
            }
            _ => {}
        }
    }
    for p in &src_pages[si..] {
        d.push_source(p.to_vec()).unwrap();
    }
    for p in &dst_pages[di..] {
        d.push_dest(p.to_vec()).unwrap();
    }
    d.finish().unwrap()
}

#[test]
fn every_split_of_both_listings_into_two_pages_gives_the_same_answer() {
    let (src, dst) = mixed();
    let whole = run(&src, &dst);
    expected_mixed(&whole);
    for i in 0..=src.len() {
        for j in 0..=dst.len() {
            let (s1, s2) = src.split_at(i);
            let (d1, d2) = dst.split_at(j);
            for order in [
                [Side::Source, Side::Dest, Side::Source, Side::Dest],
                [Side::Dest, Side::Dest, Side::Source, Side::Source],
                [Side::Source, Side::Source, Side::Dest, Side::Dest],
            ] {
                assert_eq!(
                    push_pages(&[s1, s2], &[d1, d2], order),
                    whole,
                    "split {i}/{j}"
                );
            }
        }
    }
}

#[test]
fn one_version_per_page_and_empty_pages() {
    let (src, dst) = mixed();
    let mut d = Differ::new(10);
    d.push_source(Vec::new()).unwrap();
    for x in &dst {
        d.push_dest([x.clone()]).unwrap();
        d.push_dest(Vec::new()).unwrap();
    }
    for x in &src {
        d.push_source([x.clone()]).unwrap();
    }
    expected_mixed(&d.finish().unwrap());
}

#[test]
fn need_says_which_side_blocks() {
    let mut d = Differ::new(1);
    assert_eq!(d.need(), Need::Both);
    d.push_source([v("b", "1")]).unwrap();
    // `b` may still have versions on the next source page, and nothing is known of the dest.
    assert_eq!(d.need(), Need::Dest);
    d.push_dest([v("a", "1")]).unwrap();
    // Dest `a` may continue; source is at `b` > `a`: only the dest can unblock.
    assert_eq!(d.need(), Need::Dest);
    d.push_dest([v("c", "1")]).unwrap();
    // `a` was only in the dest; `b` is now the lowest and only the source can finish it.
    assert_eq!(d.summary().only_in_dest.count, 1);
    assert_eq!(d.need(), Need::Source);
    d.push_source([v("c", "1")]).unwrap();
    assert_eq!(d.summary().missing_current.count, 1);
    assert_eq!(d.need(), Need::Both); // both at `c`, both may continue
    d.end_source().unwrap();
    assert_eq!(d.need(), Need::Dest);
    assert_eq!(
        d.push_source([v("d", "1")]),
        Err(DiffError::PushAfterEnd { side: Side::Source })
    );
    d.end_dest().unwrap();
    assert_eq!(d.need(), Need::Done);
    let s = d.finish().unwrap();
    assert_eq!((s.keys, s.matched), (3, 1));
}

#[test]
fn memory_is_bounded_by_a_page_and_a_key_when_pushing_what_is_needed() {
    // 20,000 keys on each side that never meet (`s…` vs `d…` interleaved by number), plus one
    // key with 3,000 versions: the differ never holds more than a page per side plus that key.
    const PAGE: usize = 100;
    let key = |p: &str, i: u32| format!("k{i:06}/{p}");
    let src = (0..20_000u32).flat_map(move |i| {
        let n = if i == 777 { 3_000 } else { 1 };
        (0..n).map(move |j| {
            let x = v(&key("s", i), &j.to_string());
            if j == 0 {
                x
            } else {
                x.old()
            }
        })
    });
    let dst = (0..20_000u32).map(move |i| v(&key("d", i), "1"));
    let (mut src, mut dst) = (src.peekable(), dst.peekable());
    let mut d = Differ::new(0);
    let mut most = 0;
    loop {
        let need = d.need();
        if matches!(need, Need::Source | Need::Both) {
            if src.peek().is_some() {
                d.push_source(src.by_ref().take(PAGE)).unwrap();
            } else {
                d.end_source().unwrap();
            }
        }
        if matches!(need, Need::Dest | Need::Both) {
            if dst.peek().is_some() {
                d.push_dest(dst.by_ref().take(PAGE)).unwrap();
            } else {
                d.end_dest().unwrap();
            }
        }
        if need == Need::Done {
            break;
        }
        let (a, b) = d.buffered();
        most = most.max(a + b);
    }
    assert!(most <= 2 * PAGE + 3_000, "held {most} versions");
    let s = d.finish().unwrap();
    assert_eq!(s.missing_current.count, 20_000);
    assert_eq!(s.missing_noncurrent.count, 2_999);
    assert_eq!(s.only_in_dest.count, 20_000);
    assert_eq!(s.keys, 40_000);
}

// ---------------------------------------------------------------------------------------------
// Property: the merge-join equals a naive diff over hash maps

/// Holds everything: each side as a map from (key, version id) to (position in its listing,
/// version); findings of each kind ordered by position in the listing they come from.
fn naive(src: &[Version], dst: &[Version], limit: usize) -> DiffSummary {
    let index = |l: &[Version]| -> HashMap<(String, String), (usize, Version)> {
        l.iter()
            .enumerate()
            .map(|(i, x)| ((x.key.clone(), x.version_id.clone()), (i, x.clone())))
            .collect()
    };
    let (si, di) = (index(src), index(dst));
    let keys: BTreeSet<&str> = src.iter().chain(dst).map(|x| x.key.as_str()).collect();
    let mut found: HashMap<&str, Vec<(usize, Finding)>> = HashMap::new();
    let mut s = DiffSummary {
        keys: keys.len() as u64,
        source_versions: src.len() as u64,
        dest_versions: dst.len() as u64,
        ..DiffSummary::default()
    };
    let finding = |x: &Version, a: Option<&Version>, b: Option<&Version>| Finding {
        key: x.key.clone(),
        version_id: x.version_id.clone(),
        source: a.cloned(),
        dest: b.cloned(),
    };
    for (id, (pos, a)) in &si {
        let kind = match di.get(id) {
            None if a.is_delete_marker => "missing_delete_markers",
            None if a.is_latest => "missing_current",
            None => "missing_noncurrent",
            Some((_, b)) => {
                s.matched += 1;
                if a.is_delete_marker != b.is_delete_marker {
                    "kind_mismatch"
                } else if a.is_delete_marker {
                    continue;
                } else if a.size != b.size {
                    "size_mismatch"
                } else if etag_comparable(a, b) {
                    s.etag_compared += 1;
                    let q =
                        |e: &Option<String>| e.as_deref().unwrap().trim_matches('"').to_string();
                    if q(&a.etag) == q(&b.etag) {
                        continue;
                    }
                    "etag_mismatch"
                } else {
                    s.etag_not_comparable += 1;
                    continue;
                }
            }
        };
        let b = di.get(id).map(|(_, b)| b);
        found
            .entry(kind)
            .or_default()
            .push((*pos, finding(a, Some(a), b)));
    }
    for (id, (pos, b)) in &di {
        if !si.contains_key(id) {
            found
                .entry("only_in_dest")
                .or_default()
                .push((*pos, finding(b, None, Some(b))));
        }
    }
    for (kind, mut list) in found {
        list.sort_by_key(|(pos, _)| *pos);
        let f = Findings {
            count: list.len() as u64,
            examples: list.into_iter().take(limit).map(|(_, f)| f).collect(),
        };
        match kind {
            "missing_current" => s.missing_current = f,
            "missing_noncurrent" => s.missing_noncurrent = f,
            "missing_delete_markers" => s.missing_delete_markers = f,
            "only_in_dest" => s.only_in_dest = f,
            "kind_mismatch" => s.kind_mismatch = f,
            "size_mismatch" => s.size_mismatch = f,
            "etag_mismatch" => s.etag_mismatch = f,
            _ => unreachable!(),
        }
    }
    s
}

const ETAGS: &[&str] = &["\"e1\"", "e1", "\"e2\"", "\"m1-2\"", "\"m2-2\"", "\"m1-3\""];

/// One version as generated: (delete marker, size, etag index, kms).
type Gen = (bool, u64, usize, bool);

fn gen_version() -> impl Strategy<Value = Gen> {
    (
        prop::bool::weighted(0.2),
        0..3u64,
        0..ETAGS.len(),
        prop::bool::weighted(0.2),
    )
}

fn make(key: &str, id: usize, latest: bool, (marker, size, etag, kms): Gen) -> Version {
    let x = if marker {
        dm(key, &format!("v{id}"))
    } else {
        v(key, &format!("v{id}")).size(size).etag(ETAGS[etag])
    };
    Version {
        is_latest: latest,
        sse_kms: kms && !marker,
        ..x
    }
}

/// What the destination does with one source version.
#[derive(Debug, Clone)]
enum Fate {
    Same,
    Dropped,
    Changed(Gen),
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        6 => Just(Fate::Same),
        2 => Just(Fate::Dropped),
        2 => gen_version().prop_map(Fate::Changed),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    src: Vec<Version>,
    dst: Vec<Version>,
    src_cuts: Vec<usize>,
    dst_cuts: Vec<usize>,
    order: Vec<bool>,
    follow_need: bool,
    limit: usize,
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(TRICKY_KEYS).prop_map(String::from),
        "[ab/0\u{e9}\u{fffd}\u{1f600}]{1,4}",
    ]
}

/// Per key: source versions with their fates, dest-only versions, and whether the dest lists
/// the key's versions in another order.
type KeyGen = (Vec<(Gen, Fate)>, Vec<Gen>, bool);

fn case() -> impl Strategy<Value = Case> {
    let per_key: BoxedStrategy<KeyGen> = (
        prop::collection::vec((gen_version(), fate()), 0..10),
        prop::collection::vec(gen_version(), 0..2),
        any::<bool>(),
    )
        .boxed();
    (
        prop::collection::btree_map(key(), per_key, 0..12),
        prop::collection::vec(1..6usize, 0..40),
        prop::collection::vec(1..6usize, 0..40),
        prop::collection::vec(any::<bool>(), 0..40),
        any::<bool>(),
        0..4usize,
    )
        .prop_map(|(keys, src_cuts, dst_cuts, order, follow_need, limit)| {
            let (mut src, mut dst) = (Vec::new(), Vec::new());
            let mut id = 0;
            for (k, (versions, extra, shuffle)) in keys {
                let mut d = Vec::new();
                for (i, (g, fate)) in versions.into_iter().enumerate() {
                    id += 1;
                    let s = make(&k, id, i == 0, g);
                    match fate {
                        Fate::Same => d.push(s.clone()),
                        Fate::Dropped => {}
                        Fate::Changed(g) => d.push(make(&k, id, i == 0, g)),
                    }
                    src.push(s);
                }
                for g in extra {
                    id += 1;
                    d.push(make(&k, id, false, g));
                }
                if shuffle {
                    let half = d.len() / 2;
                    d.rotate_left(half);
                }
                dst.extend(d);
            }
            Case {
                src,
                dst,
                src_cuts,
                dst_cuts,
                order,
                follow_need,
                limit,
            }
        })
}

/// Splits a listing into pages of the given sizes (the last page takes the rest).
fn pages(l: &[Version], cuts: &[usize]) -> Vec<Vec<Version>> {
    let mut out = Vec::new();
    let mut rest = l;
    for &c in cuts {
        if rest.is_empty() {
            break;
        }
        let (p, r) = rest.split_at(c.min(rest.len()));
        out.push(p.to_vec());
        rest = r;
    }
    if !rest.is_empty() {
        out.push(rest.to_vec());
    }
    out
}

fn drive(c: &Case) -> DiffSummary {
    let mut sp = pages(&c.src, &c.src_cuts).into_iter();
    let mut dp = pages(&c.dst, &c.dst_cuts).into_iter();
    let mut d = Differ::new(c.limit);
    let mut coin = c.order.iter().cycle();
    let feed = |d: &mut Differ,
                side: Side,
                sp: &mut std::vec::IntoIter<Vec<Version>>,
                dp: &mut std::vec::IntoIter<Vec<Version>>| {
        match side {
            Side::Source => match sp.next() {
                Some(p) => d.push_source(p).unwrap(),
                None => d.end_source().unwrap(),
            },
            Side::Dest => match dp.next() {
                Some(p) => d.push_dest(p).unwrap(),
                None => d.end_dest().unwrap(),
            },
        }
    };
    loop {
        let need = d.need();
        let side = match need {
            Need::Done => break,
            Need::Source => Side::Source,
            Need::Dest => Side::Dest,
            Need::Both => {
                if *coin.next().unwrap_or(&true) {
                    Side::Source
                } else {
                    Side::Dest
                }
            }
        };
        // Not following `need` pushes whichever side the coin says, as long as it has pages.
        let side = if c.follow_need {
            side
        } else {
            match (coin.next().copied().unwrap_or(true), sp.len(), dp.len()) {
                (true, n, _) if n > 0 => Side::Source,
                (false, _, n) if n > 0 => Side::Dest,
                _ => side,
            }
        };
        feed(&mut d, side, &mut sp, &mut dp);
    }
    d.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn merge_join_equals_the_naive_diff(c in case()) {
        let expect = naive(&c.src, &c.dst, c.limit);
        prop_assert_eq!(&drive(&c), &expect);
        prop_assert_eq!(&diff(c.src.clone(), c.dst.clone(), c.limit).unwrap(), &expect);
    }
}
