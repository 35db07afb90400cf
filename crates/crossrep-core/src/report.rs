//! S3 Batch Operations completion reports (`Report_CSV_20180820`) and what their failure codes
//! mean for people.
//!
//! A report is a top-level `manifest.json` that lists result CSV files; each CSV row is one
//! task: bucket, key (URL-encoded), version id, task status, HTTP status, error code, result
//! message. AWS's `ReportSchema` string names the error code before the HTTP status, but its
//! rows (and the user guide's examples, `batch-ops-examples-reports.md`) put the HTTP status
//! first; the parser accepts either order by recognising the numeric field. Result files are
//! read as a stream ([`read_results`], the `csv` crate), one row at a time.

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};

/// The top-level `manifest.json` of a completion report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReportManifest {
    pub format: String,
    #[serde(default)]
    pub results: Vec<ReportFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReportFile {
    pub task_execution_status: String,
    pub bucket: String,
    pub key: String,
}

pub fn parse_manifest(text: &str) -> Result<ReportManifest, String> {
    let m: ReportManifest =
        serde_json::from_str(text).map_err(|e| format!("not a completion report manifest: {e}"))?;
    if m.format != "Report_CSV_20180820" {
        return Err(format!("unsupported report format `{}`", m.format));
    }
    Ok(m)
}

/// One task of a completion report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskResult {
    pub bucket: String,
    /// Decoded.
    pub key: String,
    pub version_id: Option<String>,
    pub succeeded: bool,
    pub http_status: Option<u16>,
    pub error_code: Option<String>,
    pub message: String,
}

/// Parses the rows of one result CSV (no header line).
pub fn parse_results(text: &str) -> Result<Vec<TaskResult>, String> {
    let mut out = Vec::new();
    read_results(text.as_bytes(), |r| out.push(r))?;
    Ok(out)
}

/// Reads the rows of one result CSV (no header line) from `reader` as it arrives, one row at a
/// time (memory does not grow with the report), and gives each to `visit`. RFC 4180: quoted
/// fields may hold commas, doubled quotes and newlines. Bytes that are not UTF-8 become U+FFFD.
pub fn read_results(reader: impl Read, mut visit: impl FnMut(TaskResult)) -> Result<(), String> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        // Rows are checked here (at least 4 fields), not against the first row's length.
        .flexible(true)
        .from_reader(Quotes {
            inner: reader,
            odd: false,
        });
    let mut record = csv::ByteRecord::new();
    let mut n = 0u64;
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => n += 1,
            Ok(false) => break,
            Err(e) => return Err(format!("report row {}: {e}", n + 1)),
        }
        if record.iter().all(<[u8]>::is_empty) {
            continue;
        }
        if record.len() < 4 {
            return Err(format!(
                "report row {n} has {} fields, expected 7",
                record.len()
            ));
        }
        let get = |i: usize| {
            record
                .get(i)
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .unwrap_or_default()
        };
        let (a, b) = (get(4), get(5));
        let (http, code) = if !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) {
            (a, b)
        } else {
            (b, a)
        };
        visit(TaskResult {
            bucket: get(0),
            key: url_decode(&get(1)),
            version_id: Some(get(2)).filter(|v| !v.is_empty()),
            succeeded: get(3).eq_ignore_ascii_case("succeeded"),
            http_status: http.parse().ok(),
            error_code: Some(code).filter(|c| !c.is_empty()),
            message: get(6),
        });
    }
    // The csv crate ends a quoted field left open at the end of the input silently; a report
    // cut short there must not pass for a complete one.
    if csv.get_ref().odd {
        return Err("unterminated quoted field in report".into());
    }
    Ok(())
}

/// Counts the `"` bytes that pass: a quoted field adds two, and so does each doubled quote in
/// it, so an odd count at the end means a quoted field was never closed (report writers quote
/// every field that holds a quote, RFC 4180).
struct Quotes<R> {
    inner: R,
    odd: bool,
}

impl<R: Read> Read for Quotes<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let quotes = buf[..n].iter().filter(|&&b| b == b'"').count();
        self.odd ^= quotes % 2 == 1;
        Ok(n)
    }
}

/// Keys in reports and manifests are URL-encoded in form style (`+` for a space, `%2B` for a
/// `+`). An escape that is not two hex digits is kept as it is, and bytes that are not UTF-8
/// become U+FFFD.
pub fn url_decode(s: &str) -> String {
    // `+` first: a `+` in the key itself arrives as `%2B` and must survive.
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// Failed tasks grouped by error code, with a few example keys each.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct FailureSummary {
    pub succeeded: u64,
    pub failed: u64,
    pub by_code: BTreeMap<String, CodeFailures>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CodeFailures {
    pub count: u64,
    /// Up to [`EXAMPLES`] keys (with version ids).
    pub examples: Vec<String>,
}

pub const EXAMPLES: usize = 3;

impl FailureSummary {
    pub fn add(&mut self, rows: &[TaskResult]) {
        for r in rows {
            self.add_one(r);
        }
    }

    /// Counts one task: a success, or a failure under its code (the first few as examples).
    pub fn add_one(&mut self, r: &TaskResult) {
        if r.succeeded {
            self.succeeded += 1;
            return;
        }
        self.failed += 1;
        let code = r.error_code.clone().unwrap_or_else(|| "Unknown".into());
        let entry = self.by_code.entry(code).or_default();
        entry.count += 1;
        if entry.examples.len() < EXAMPLES {
            entry.examples.push(match &r.version_id {
                Some(v) => format!("{} (version {v})", r.key),
                None => r.key.clone(),
            });
        }
    }
}

/// What a replication failure code means and how to fix it, in one line
/// (AWS `replication-failure-codes.md`).
pub fn explain(code: &str) -> &'static str {
    match code {
        "AssumeRoleNotPermitted" => "S3 cannot assume the replication role: its trust policy must allow `s3.amazonaws.com` and `batchoperations.s3.amazonaws.com`; run `crossrep apply`",
        "DstBucketNotFound" => "the destination bucket does not exist; run `crossrep apply`",
        "DstBucketUnversioned" => "versioning is not enabled on the destination bucket; run `crossrep apply`",
        "DstBucketObjectLockConfigMissing" => "the source has Object Lock and the destination does not: enable Object Lock on the destination (it cannot be undone), then `crossrep backfill --only-failed`",
        "DstKmsKeyNotFound" => "the replica KMS key does not exist in the destination bucket's region (it must be a key ARN there)",
        "DstKmsKeyInvalidState" => "the replica KMS key is disabled or pending deletion; enable it, then `crossrep backfill --only-failed`",
        "DstPutRetentionNotPermitted" => "the role may not put Object Lock retention on the replicas (`s3:PutObjectRetention` in its policy and the destination policy); run `crossrep apply`",
        "DstPutLegalHoldNotPermitted" => "the role may not put Object Lock legal holds on the replicas (`s3:PutObjectLegalHold` in its policy and the destination policy); run `crossrep apply`",
        "DstPutObjectNotPermitted" => "the destination bucket policy, the role's policy or (for SSE-KMS objects) the replica key's policy does not let the role replicate, or (for SSE-C objects) the destination blocks SSE-C writes; run `crossrep apply` to repair them (`crossrep plan` names a destination it cannot change), then `crossrep backfill --only-failed`",
        "DstDelObjNotPermitted" => "the role may not replicate delete markers into the destination (`s3:ReplicateDelete`); run `crossrep apply`",
        "DstPutTaggingNotPermitted" => "the role may not replicate tags into the destination (`s3:ReplicateTags`); run `crossrep apply`",
        "DstObjectHardDeleted" => "the object version was permanently deleted in the destination; S3 will not replicate it again",
        "InitiateReplicationNotPermitted" => "the role lacks `s3:InitiateReplication` on the source objects; run `crossrep apply`",
        "SrcBucketInvalidRegion" => "the job was created in another region than the source bucket's",
        "SrcBucketReplicationConfigMissing" => "the source bucket has no replication configuration; run `crossrep apply`",
        "SrcGetObjectNotPermitted" => "the role may not read the source object versions (`s3:GetObjectVersionForReplication`); run `crossrep apply`, and check bucket policies or SCPs that deny it",
        "SrcGetTaggingNotPermitted" => "the role may not read the source objects' tags (`s3:GetObjectVersionTagging`); run `crossrep apply`",
        "SrcGetRetentionNotPermitted" => "the role may not read Object Lock retention on the source (`s3:GetObjectRetention`); run `crossrep apply`",
        "SrcGetLegalHoldNotPermitted" => "the role may not read Object Lock legal holds on the source (`s3:GetObjectLegalHold`); run `crossrep apply`",
        "SrcKmsKeyInvalidState" => "the source object's KMS key is disabled, pending deletion or gone; enable it, then `crossrep backfill --only-failed`",
        "SrcObjectNotEligible" => "the object is not eligible for replication (it is a replica, or no rule matches it)",
        _ => "see https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-failure-codes.html",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows in AWS's format: URL-encoded keys (a comma and a space in one), an empty version
    /// id, a quoted message with commas and doubled quotes.
    const FIXTURE: &str = "src-bucket,photos/2024/a%2Cb+c.jpg,3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY,succeeded,200,,Successful\n\
src-bucket,docs/%E2%9C%93.txt,,failed,403,DstPutObjectNotPermitted,\"Access Denied, \"\"replicate\"\" not allowed\"\n\
src-bucket,logs/x,v2,failed,404,DstBucketNotFound,The destination bucket does not exist\r\n";

    #[test]
    fn parses_report_rows() {
        let rows = parse_results(FIXTURE).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].key, "photos/2024/a,b c.jpg");
        assert_eq!(
            rows[0].version_id.as_deref(),
            Some("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")
        );
        assert!(rows[0].succeeded);
        assert_eq!(rows[0].http_status, Some(200));
        assert_eq!(rows[0].error_code, None);
        assert_eq!(rows[1].key, "docs/✓.txt");
        assert_eq!(rows[1].version_id, None);
        assert!(!rows[1].succeeded);
        assert_eq!(
            rows[1].error_code.as_deref(),
            Some("DstPutObjectNotPermitted")
        );
        assert_eq!(rows[1].message, "Access Denied, \"replicate\" not allowed");
        assert_eq!(rows[2].http_status, Some(404));
    }

    #[test]
    fn accepts_the_schema_order_too() {
        // `ReportSchema` says ErrorCode before HTTPStatusCode.
        let rows = parse_results("b,k,v,failed,SrcGetObjectNotPermitted,403,denied").unwrap();
        assert_eq!(
            rows[0].error_code.as_deref(),
            Some("SrcGetObjectNotPermitted")
        );
        assert_eq!(rows[0].http_status, Some(403));
    }

    #[test]
    fn summarises_failures_by_code() {
        let mut s = FailureSummary::default();
        s.add(&parse_results(FIXTURE).unwrap());
        assert_eq!((s.succeeded, s.failed), (1, 2));
        assert_eq!(s.by_code["DstPutObjectNotPermitted"].count, 1);
        assert_eq!(
            s.by_code["DstBucketNotFound"].examples,
            ["logs/x (version v2)"]
        );
        assert!(explain("DstPutObjectNotPermitted").contains("crossrep apply"));
    }

    #[test]
    fn parses_the_manifest() {
        let m = parse_manifest(
            r#"{"Format":"Report_CSV_20180820","ReportCreationDate":"2019-04-05T17:48:39.725Z",
                "Results":[{"TaskExecutionStatus":"failed","Bucket":"reports","MD5Checksum":"x",
                "Key":"crossrep/job-1/results/abc.csv"}],
                "ReportSchema":"Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"}"#,
        )
        .unwrap();
        assert_eq!(m.results[0].key, "crossrep/job-1/results/abc.csv");
        assert!(parse_manifest(r#"{"Format":"Other"}"#).is_err());
    }

    #[test]
    fn url_decoding_is_form_decoding() {
        for (encoded, decoded) in [
            ("a+b", "a b"),
            ("a%2Bb", "a+b"),
            ("%E2%9C%93", "✓"),
            ("100%", "100%"),
            ("%4", "%4"),
            ("%zz%41", "%zzA"),
            ("%FF", "\u{FFFD}"),
        ] {
            assert_eq!(url_decode(encoded), decoded, "{encoded}");
        }
    }

    /// A reader that hands out one byte per call: rows split anywhere across the chunks of
    /// an S3 body parse the same as the whole text.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(slot)) => {
                    *slot = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn reads_rows_as_they_arrive() {
        let text = format!("{FIXTURE}b,multi%0Aline,v3,failed,403,X,\"line one\nline two\"\n\n");
        let mut streamed = Vec::new();
        read_results(Trickle(text.as_bytes()), |r| streamed.push(r)).unwrap();
        assert_eq!(streamed, parse_results(&text).unwrap());
        assert_eq!(streamed.len(), 4, "the blank line is no row");
        assert_eq!(streamed[..3], parse_results(FIXTURE).unwrap());
        assert_eq!(streamed[3].key, "multi\nline");
        assert_eq!(streamed[3].message, "line one\nline two");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_replaced_and_short_rows_are_errors() {
        let mut out = Vec::new();
        read_results(&b"b,k\xff,v,failed,403,X,m\n"[..], |r| out.push(r)).unwrap();
        assert_eq!(out[0].key, "k\u{FFFD}");
        let err = parse_results("b,k,v,succeeded\nb,k\n").unwrap_err();
        assert_eq!(err, "report row 2 has 2 fields, expected 7");
    }

    #[test]
    fn unterminated_quotes_are_an_error() {
        assert!(parse_results("b,k,v,failed,403,X,\"oops").is_err());
    }
}
