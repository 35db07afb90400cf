//! Throughput and memory of the `ListObjectVersions` merge-join (issue 4, item 4).
//!
//! `cargo bench -p crossrep-core --bench diff` (a plain `main`, no criterion). Two synthetic
//! listings of N versions each (N = 100,000 and 1,000,000 by default, or the numbers given as
//! arguments) with a few hundred differences are generated on the fly by iterators, page by
//! page, so nothing holds a whole listing. The diff is driven through `Differ::need` exactly as
//! the AWS layer drives it, with 1,000-version pages (S3's page size).
//!
//! Memory is measured with a counting global allocator: the peak of live heap bytes during the
//! run, minus the live bytes before it. That counts the differ, the pages in flight and the
//! generator's strings, and nothing the process held before (unlike VmHWM, which only grows
//! and includes the binary); VmHWM is printed too, for reference.
//!
//! Formatting the synthetic keys, ids and ETags costs more than diffing them, so two rates are
//! printed: `diff` counts only the time spent inside the differ's calls (pushing a ready page,
//! comparing, dropping the versions: what the AWS caller pays per page it receives), and
//! `end-to-end` includes the generator.

// Test and bench helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, unreachable_pub, clippy::print_stdout)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crossrep_core::diff::{DiffSummary, Differ, Need, Version};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            if new_size >= layout.size() {
                let now =
                    LIVE.fetch_add(new_size - layout.size(), Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const PAGE: usize = 1000;

/// A synthetic listing: key `i` (zero-padded so numeric order is S3 order) has 1 to 3
/// versions; every 10th key's latest entry is a delete marker; every 7th object is multipart
/// and every 11th SSE-KMS. The destination differs on a few hundred versions per million:
/// current versions missing, sizes and ETags changed, extra versions of its own.
struct Listing {
    dest: bool,
    keys: u64,
    key: u64,
    version: u64,
}

impl Listing {
    /// About `versions` versions (2 per key on average).
    fn new(versions: u64, dest: bool) -> Listing {
        Listing {
            dest,
            keys: versions / 2,
            key: 0,
            version: 0,
        }
    }
}

// Per 1,000,000 versions (500,000 keys): 200 missing, 150 sizes, 100 ETags, 125 extra.
const MISSING: u64 = 2500;
const SIZE: u64 = 3331;
const ETAG: u64 = 5000;
const EXTRA: u64 = 4000;

fn versions_of(key: u64) -> u64 {
    1 + key % 3
}

impl Iterator for Listing {
    type Item = Version;

    fn next(&mut self) -> Option<Version> {
        loop {
            if self.key >= self.keys {
                return None;
            }
            let i = self.key;
            let n = versions_of(i) + u64::from(self.dest && i % EXTRA == 11);
            if self.version >= n {
                self.key += 1;
                self.version = 0;
                continue;
            }
            let j = self.version;
            self.version += 1;
            // The destination's extra version is listed last, after the replicas.
            let extra = j == versions_of(i);
            if self.dest && j == 0 && i % MISSING == 7 {
                continue;
            }
            let latest = j == 0;
            let marker = latest && i % 10 == 9;
            let mut size = (i * 7919 + j) % 100_000;
            let mut etag = format!("\"{:032x}\"", i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ j);
            if i.is_multiple_of(7) {
                etag.insert_str(33, "-3");
            }
            if self.dest && latest && i % SIZE == 5 {
                size += 1;
            }
            if self.dest && latest && i % ETAG == 13 {
                etag.replace_range(1..3, "ff");
            }
            return Some(Version {
                // 1,000 objects per "directory", in key order.
                key: format!("data/{:06}/object-{i:010}.parquet", i / 1000),
                version_id: format!("{:016x}{:016x}", i, j + if extra { 1000 } else { 0 }),
                is_latest: latest,
                is_delete_marker: marker,
                size: if marker { 0 } else { size },
                etag: (!marker).then_some(etag),
                last_modified: 1_700_000_000 + i as i64,
                storage_class: (!marker).then(|| "STANDARD".to_string()),
                sse_kms: i.is_multiple_of(11),
            });
        }
    }
}

/// Runs one diff the way the AWS layer does: a page (a `Vec` of 1,000 versions, as the SDK
/// hands them over) is made only when `need()` asks for that side. Returns the summary, the
/// time spent inside the differ (pushing, comparing, dropping the versions) and the total time
/// including the generator.
fn run(n: u64) -> (DiffSummary, Duration, Duration) {
    let (mut src, mut dst) = (Listing::new(n, false), Listing::new(n, true));
    let mut d = Differ::new(10);
    let mut inside = Duration::ZERO;
    let start = Instant::now();
    let mut feed = |d: &mut Differ, listing: &mut Listing, source: bool| {
        let page: Vec<Version> = listing.by_ref().take(PAGE).collect();
        let t = Instant::now();
        match (page.is_empty(), source) {
            (false, true) => d.push_source(page).unwrap(),
            (false, false) => d.push_dest(page).unwrap(),
            (true, true) => d.end_source().unwrap(),
            (true, false) => d.end_dest().unwrap(),
        }
        inside += t.elapsed();
    };
    loop {
        let need = d.need();
        if matches!(need, Need::Source | Need::Both) {
            feed(&mut d, &mut src, true);
        }
        if matches!(need, Need::Dest | Need::Both) {
            feed(&mut d, &mut dst, false);
        }
        if need == Need::Done {
            break;
        }
    }
    let t = Instant::now();
    let s = d.finish().unwrap();
    inside += t.elapsed();
    (s, inside, start.elapsed())
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace(['_', ','], "").parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100_000, 1_000_000]
    } else {
        sizes
    };

    println!(
        "{:>10} {:>10} {:>9} {:>10} {:>9} {:>12} {:>12} {:>7}  findings",
        "versions", "compared", "diff", "diff", "total", "end-to-end", "peak heap", "VmHWM"
    );
    for n in sizes {
        let before = LIVE.load(Relaxed);
        PEAK.store(before, Relaxed);
        let (s, inside, total) = run(n);
        let peak = PEAK.load(Relaxed) - before;
        let compared = s.source_versions + s.dest_versions;
        let rate = |d: Duration| compared as f64 / d.as_secs_f64() / 1e6;
        println!(
            "{:>10} {:>10} {:>8.3}s {:>6.2} M/s {:>8.3}s {:>8.2} M/s {:>8.1} KiB {:>3} MiB  \
             missing {} size {} etag {} only-in-dest {}",
            n,
            compared,
            inside.as_secs_f64(),
            rate(inside),
            total.as_secs_f64(),
            rate(total),
            peak as f64 / 1024.0,
            vm_hwm_kib().map_or(0, |k| k / 1024),
            s.missing_current.count,
            s.size_mismatch.count,
            s.etag_mismatch.count,
            s.only_in_dest.count,
        );
    }
}
