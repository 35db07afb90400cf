//! How discovery reads each kind, for answers the emulator cannot give (REVIEW §1.7 gap 2):
//! "not found" is a state, a denial or a throttle is an unreadable resource with its kind and
//! its hint kept apart from the message, an answer crossrep cannot model is said so.

use aws_sdk_s3::operation::get_bucket_lifecycle_configuration::GetBucketLifecycleConfigurationOutput;
use aws_sdk_s3::operation::get_bucket_ownership_controls::GetBucketOwnershipControlsOutput;
use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput;
use aws_sdk_s3::types::{
    ExpirationStatus, LifecycleExpiration, LifecycleRule as SdkRule, LifecycleRuleFilter,
    ObjectOwnership, OwnershipControls, OwnershipControlsRule, Transition, TransitionStorageClass,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;

use crossrep_core::kinds::lifecycle::LifecycleRule;
use crossrep_core::names::BucketName;
use crossrep_core::observed::{ErrorKind, Observed};

const ACCOUNT: &str = "222222222222";

fn bucket() -> BucketName {
    BucketName::new("replicated-data").unwrap()
}

fn s3(rules: &[&Rule]) -> aws_sdk_s3::Client {
    mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules)
}

/// An S3 error answer (REST-XML, no envelope).
fn error(status: u16, code: &str, message: &str) -> Response {
    Response::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(
            "<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        )),
    )
}

#[tokio::test]
async fn no_tag_set_is_absent_not_an_error() {
    let rule = mock!(aws_sdk_s3::Client::get_bucket_tagging)
        .then_http_response(|| error(404, "NoSuchTagSet", "The TagSet does not exist"));
    let got = super::bucket_tags::read(&s3(&[&rule]), ACCOUNT, &bucket()).await;
    assert_eq!(got, Observed::Absent);
}

#[tokio::test]
async fn a_denied_replication_read_is_unreadable_with_its_kind_and_a_separate_hint() {
    let rule = mock!(aws_sdk_s3::Client::get_bucket_replication)
        .then_http_response(|| error(403, "AccessDenied", "Access Denied"));
    let got = super::replication::read(&s3(&[&rule]), ACCOUNT, &bucket()).await;
    let Observed::Unreadable(e) = got else {
        panic!("{got:?}")
    };
    assert_eq!(e.kind, ErrorKind::AccessDenied);
    assert_eq!(
        e.message,
        "`s3:GetReplicationConfiguration` on `replicated-data` in account 222222222222 failed: AccessDenied: Access Denied"
    );
    assert!(!e.message.contains("hint"), "{}", e.message);
    assert_eq!(
        e.hint.as_deref(),
        Some("the credentials used for account 222222222222 need `s3:GetReplicationConfiguration` on `replicated-data`")
    );
}

#[tokio::test]
async fn no_replication_configuration_is_absent() {
    let rule = mock!(aws_sdk_s3::Client::get_bucket_replication).then_http_response(|| {
        error(
            404,
            "ReplicationConfigurationNotFoundError",
            "The replication configuration was not found",
        )
    });
    let got = super::replication::read(&s3(&[&rule]), ACCOUNT, &bucket()).await;
    assert_eq!(got, Observed::Absent);
}

#[tokio::test]
async fn a_throttled_read_is_unreadable_as_throttled() {
    // S3 throttles with 503 SlowDown; the SDK's own retries run out first (none in tests).
    let rule = mock!(aws_sdk_s3::Client::get_bucket_versioning)
        .then_http_response(|| error(503, "SlowDown", "Please reduce your request rate."));
    let got = super::versioning::read(&s3(&[&rule]), ACCOUNT, &bucket()).await;
    let Observed::Unreadable(e) = got else {
        panic!("{got:?}")
    };
    assert_eq!(e.kind, ErrorKind::Throttled);
    assert_eq!(e.hint, None);
}

#[tokio::test]
async fn ownership_controls_absent_or_present() {
    let none = mock!(aws_sdk_s3::Client::get_bucket_ownership_controls).then_http_response(|| {
        error(
            404,
            "OwnershipControlsNotFoundError",
            "The bucket ownership controls were not found",
        )
    });
    let got = super::ownership_controls::read(&s3(&[&none]), ACCOUNT, &bucket()).await;
    assert_eq!(got, Observed::Absent);

    let preferred = mock!(aws_sdk_s3::Client::get_bucket_ownership_controls).then_output(|| {
        GetBucketOwnershipControlsOutput::builder()
            .ownership_controls(
                OwnershipControls::builder()
                    .rules(
                        OwnershipControlsRule::builder()
                            .object_ownership(ObjectOwnership::BucketOwnerPreferred)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let got = super::ownership_controls::read(&s3(&[&preferred]), ACCOUNT, &bucket()).await;
    assert_eq!(
        got.present().map(|o| o.object_ownership.as_str()),
        Some("BucketOwnerPreferred")
    );
}

#[tokio::test]
async fn lifecycle_rules_crossrep_cannot_write_back_are_marked_unmodelled() {
    let rule = mock!(aws_sdk_s3::Client::get_bucket_lifecycle_configuration).then_output(|| {
        let whole = || LifecycleRuleFilter::builder().prefix("").build();
        GetBucketLifecycleConfigurationOutput::builder()
            .rules(
                SdkRule::builder()
                    .id("crossrep-expire-reports")
                    .status(ExpirationStatus::Enabled)
                    .filter(whole())
                    .expiration(LifecycleExpiration::builder().days(30).build())
                    .build()
                    .unwrap(),
            )
            .rules(
                SdkRule::builder()
                    .id("archive")
                    .status(ExpirationStatus::Enabled)
                    .filter(whole())
                    .transitions(
                        Transition::builder()
                            .days(90)
                            .storage_class(TransitionStorageClass::Glacier)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .rules(
                SdkRule::builder()
                    .id("logs")
                    .status(ExpirationStatus::Disabled)
                    .filter(LifecycleRuleFilter::builder().prefix("logs/").build())
                    .expiration(LifecycleExpiration::builder().days(7).build())
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let got = super::lifecycle::read(&s3(&[&rule]), ACCOUNT, &bucket()).await;
    let rules = got.present().map(|l| l.rules.clone()).unwrap_or_default();
    assert_eq!(
        rules,
        vec![
            LifecycleRule {
                id: Some("crossrep-expire-reports".into()),
                enabled: true,
                expire_after_days: Some(30),
                unmodelled: false,
            },
            LifecycleRule {
                id: Some("archive".into()),
                enabled: true,
                expire_after_days: None,
                unmodelled: true,
            },
            LifecycleRule {
                id: Some("logs".into()),
                enabled: false,
                expire_after_days: Some(7),
                unmodelled: true,
            },
        ]
    );
    let none =
        mock!(aws_sdk_s3::Client::get_bucket_lifecycle_configuration).then_http_response(|| {
            error(
                404,
                "NoSuchLifecycleConfiguration",
                "The lifecycle configuration does not exist",
            )
        });
    let got = super::lifecycle::read(&s3(&[&none]), ACCOUNT, &bucket()).await;
    assert_eq!(got, Observed::Absent);
}

#[tokio::test]
async fn a_policy_that_is_not_json_is_unreadable_as_invalid() {
    let rule = mock!(aws_sdk_s3::Client::get_bucket_policy)
        .then_output(|| GetBucketPolicyOutput::builder().policy("{not json").build());
    let got = super::bucket_policy::read(&s3(&[&rule]), ACCOUNT, &bucket()).await;
    let Observed::Unreadable(e) = got else {
        panic!("{got:?}")
    };
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(e.message.contains("not valid JSON"), "{}", e.message);
}

/// HeadBucket of a name crossrep does not own: 404 is free; 403 (someone else's), 301 (someone
/// else's in another region) and 400 are taken; anything else is an error, not a guess.
#[tokio::test]
async fn head_bucket_answers_tell_a_free_name_from_a_taken_one() {
    for (status, taken) in [
        (404, Some(false)),
        (403, Some(true)),
        (301, Some(true)),
        (500, None),
    ] {
        let rule = mock!(aws_sdk_s3::Client::head_bucket).then_http_response(move || {
            Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty())
        });
        let got = crate::discover::name_taken_with(&s3(&[&rule]), ACCOUNT, &bucket()).await;
        assert_eq!(got.ok(), taken, "HeadBucket {status}");
    }
}

#[tokio::test]
async fn no_default_encryption_is_absent_and_kms_is_read_with_its_key() {
    use aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput;
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule,
    };
    let none = mock!(aws_sdk_s3::Client::get_bucket_encryption).then_http_response(|| {
        error(
            404,
            "ServerSideEncryptionConfigurationNotFoundError",
            "The server side encryption configuration was not found",
        )
    });
    let got = super::bucket_encryption::read(&s3(&[&none]), ACCOUNT, &bucket()).await;
    assert_eq!(got, Observed::Absent);

    let kms = mock!(aws_sdk_s3::Client::get_bucket_encryption).then_output(|| {
        GetBucketEncryptionOutput::builder()
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(
                                ServerSideEncryptionByDefault::builder()
                                    .sse_algorithm(ServerSideEncryption::AwsKmsDsse)
                                    .kms_master_key_id("alias/data")
                                    .build()
                                    .unwrap(),
                            )
                            .bucket_key_enabled(false)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let got = super::bucket_encryption::read(&s3(&[&kms]), ACCOUNT, &bucket()).await;
    let spec = got.present().cloned().unwrap();
    assert!(spec.is_kms());
    assert_eq!(spec.algorithm, "aws:kms:dsse");
    assert_eq!(spec.kms_key.as_deref(), Some("alias/data"));
}

#[tokio::test]
async fn request_payment_is_read_and_an_empty_answer_is_the_bucket_owner() {
    use aws_sdk_s3::operation::get_bucket_request_payment::GetBucketRequestPaymentOutput;
    use aws_sdk_s3::types::Payer;
    let requester = mock!(aws_sdk_s3::Client::get_bucket_request_payment).then_output(|| {
        GetBucketRequestPaymentOutput::builder()
            .payer(Payer::Requester)
            .build()
    });
    let got = super::request_payment::read(&s3(&[&requester]), ACCOUNT, &bucket()).await;
    assert!(
        got.present().is_some_and(|p| p.is_requester_pays()),
        "{got:?}"
    );
    let empty = mock!(aws_sdk_s3::Client::get_bucket_request_payment)
        .then_output(|| GetBucketRequestPaymentOutput::builder().build());
    let got = super::request_payment::read(&s3(&[&empty]), ACCOUNT, &bucket()).await;
    assert_eq!(got.present().map(|p| p.payer.as_str()), Some("BucketOwner"));
}

#[tokio::test]
async fn object_lock_absent_or_enabled() {
    use aws_sdk_s3::operation::get_object_lock_configuration::GetObjectLockConfigurationOutput;
    use aws_sdk_s3::types::{ObjectLockConfiguration, ObjectLockEnabled};
    let none = mock!(aws_sdk_s3::Client::get_object_lock_configuration).then_http_response(|| {
        error(
            404,
            "ObjectLockConfigurationNotFoundError",
            "Object Lock configuration does not exist for this bucket",
        )
    });
    let got = super::object_lock::read(&s3(&[&none]), ACCOUNT, &bucket()).await;
    assert_eq!(got, Observed::Absent);
    let on = mock!(aws_sdk_s3::Client::get_object_lock_configuration).then_output(|| {
        GetObjectLockConfigurationOutput::builder()
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .build(),
            )
            .build()
    });
    let got = super::object_lock::read(&s3(&[&on]), ACCOUNT, &bucket()).await;
    assert_eq!(got.present().map(|l| l.enabled), Some(true));
}

/// The precondition of merged writes (REVIEW R10): a document that moved since the plan is not
/// overwritten; one that is what the plan merged into (or still absent) is.
#[test]
fn a_merged_document_is_written_only_over_what_the_plan_merged_into() {
    use crossrep_core::kinds::bucket_policy::{BucketPolicy, BucketPolicySpec};
    use crossrep_core::kinds::{Action, BucketAddr, Change};
    use crossrep_core::names::{AccountId, Region};
    use crossrep_core::observed::ReadError;
    let doc = |sid: &str| BucketPolicySpec {
        document: serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": sid, "Effect": "Allow"}]}),
    };
    let change = |before: Option<BucketPolicySpec>| Change::<BucketPolicy> {
        addr: BucketAddr::new(&AccountId::new(ACCOUNT).unwrap(), &bucket()),
        region: Region::new("us-east-1").unwrap(),
        action: if before.is_some() {
            Action::Update
        } else {
            Action::Create
        },
        phase: 2,
        before,
        after: Some(doc("Crossrep")),
        reason: String::new(),
        depends_on: vec![],
    };
    let check = |now, c: &Change<BucketPolicy>| {
        super::unchanged_since_plan(now, c, ACCOUNT, "s3:PutBucketPolicy")
    };
    assert!(check(
        Observed::Present(doc("Theirs")),
        &change(Some(doc("Theirs")))
    )
    .is_ok());
    assert!(check(Observed::Absent, &change(None)).is_ok());
    let moved = check(
        Observed::Present(doc("Added")),
        &change(Some(doc("Theirs"))),
    )
    .unwrap_err();
    assert!(
        moved.message.contains("changed since the plan"),
        "{}",
        moved.message
    );
    assert!(check(Observed::Present(doc("New")), &change(None)).is_err());
    assert!(check(Observed::Absent, &change(Some(doc("Theirs")))).is_err());
    let unreadable = Observed::Unreadable(ReadError::new(ErrorKind::Throttled, "SlowDown"));
    assert!(check(unreadable, &change(Some(doc("Theirs")))).is_err());
}

/// S3 refuses PutBucketReplication when the caller may not pass the role (`iam:PassRole`): the
/// emulator checks it only for callers it models (its README gap), so the mapping is tested here.
#[tokio::test]
async fn a_replication_write_refused_for_pass_role_says_so() {
    let rule = mock!(aws_sdk_s3::Client::put_bucket_replication).then_http_response(|| {
        error(
            403,
            "AccessDenied",
            "User: arn:aws:sts::111111111111:assumed-role/ops/s is not authorized to perform: iam:PassRole on resource: arn:aws:iam::111111111111:role/crossrep-replication",
        )
    });
    let client = s3(&[&rule]);
    let err = client
        .put_bucket_replication()
        .bucket("data")
        .replication_configuration(
            aws_sdk_s3::types::ReplicationConfiguration::builder()
                .role("arn:aws:iam::111111111111:role/crossrep-replication")
                .set_rules(Some(vec![]))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    let e = crate::error::call_error(
        err,
        "111111111111",
        "s3:PutReplicationConfiguration",
        "data",
    );
    assert_eq!(e.kind, ErrorKind::AccessDenied);
    let hint = e.hint().unwrap();
    assert!(
        hint.contains("`iam:PassRole` on the replication role"),
        "{hint}"
    );
    assert!(e.summary().contains("iam:PassRole"), "{}", e.summary());
}

/// An SSE-C version's metadata is read only with its key: S3 answers `HeadObject` without it
/// with a bare 400 (no body, as for every HEAD). The sample counts it as SSE-C, not as an
/// unreadable bucket (issue 10, SPEC §8).
#[tokio::test]
async fn a_head_object_400_in_the_sample_is_an_sse_c_version() {
    let listing = || {
        mock!(aws_sdk_s3::Client::list_object_versions).then_http_response(|| {
            Response::new(
                StatusCode::try_from(200).unwrap(),
                SdkBody::from(
                    "<ListVersionsResult><IsTruncated>false</IsTruncated>\
                     <Version><Key>c.bin</Key><VersionId>v1</VersionId><IsLatest>true</IsLatest><Size>3</Size></Version>\
                     <Version><Key>k.bin</Key><VersionId>v2</VersionId><IsLatest>true</IsLatest><Size>3</Size></Version>\
                     </ListVersionsResult>",
                ),
            )
        })
    };
    let list = listing();
    let ssec = mock!(aws_sdk_s3::Client::head_object)
        .match_requests(|r| r.key() == Some("c.bin"))
        .then_http_response(|| Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty()));
    let kms = mock!(aws_sdk_s3::Client::head_object)
        .match_requests(|r| r.key() == Some("k.bin"))
        .then_output(|| {
            aws_sdk_s3::operation::head_object::HeadObjectOutput::builder()
                .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                .ssekms_key_id("arn:aws:kms:us-east-1:111111111111:key/k")
                .build()
        });
    let none = Default::default();
    let (got, sampled) =
        super::object_encryption::read(&s3(&[&list, &ssec, &kms]), ACCOUNT, &bucket(), &none).await;
    let Observed::Present(spec) = got else {
        panic!("{got:?}")
    };
    assert_eq!((spec.sampled, spec.sse_c, spec.kms), (2, 1, 1), "{spec:?}");
    // Both versions are remembered, by version id and key.
    let sampled = sampled.expect("a sample");
    assert!(sampled["v1 c.bin"].sse_c, "{sampled:?}");
    assert_eq!(sampled["v2 k.bin"].algorithm, "aws:kms", "{sampled:?}");

    // The next run reads only the versions it does not know: one remembered, one new.
    let known =
        std::collections::BTreeMap::from([("v1 c.bin".to_string(), sampled["v1 c.bin"].clone())]);
    let kms_head = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = kms_head.clone();
    let kms = mock!(aws_sdk_s3::Client::head_object)
        .match_requests(|r| r.key() == Some("k.bin"))
        .then_output(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            aws_sdk_s3::operation::head_object::HeadObjectOutput::builder()
                .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                .build()
        });
    // No rule answers a HeadObject of `c.bin`: reading it would fail the sample.
    let (got, again) =
        super::object_encryption::read(&s3(&[&listing(), &kms]), ACCOUNT, &bucket(), &known).await;
    let Observed::Present(spec) = got else {
        panic!("{got:?}")
    };
    assert_eq!((spec.sampled, spec.sse_c, spec.kms), (2, 1, 1), "{spec:?}");
    assert_eq!(kms_head.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(again.expect("a sample").len(), 2);

    // Any other failure of the sample is an unreadable sample, not SSE-C.
    let list2 = mock!(aws_sdk_s3::Client::list_object_versions)
        .then_http_response(|| error(403, "AccessDenied", "Access Denied"));
    let (got, sampled) =
        super::object_encryption::read(&s3(&[&list2]), ACCOUNT, &bucket(), &none).await;
    assert!(matches!(got, Observed::Unreadable(_)), "{got:?}");
    assert!(sampled.is_none());
}

/// `BlockedEncryptionTypes` is read from the default rule (SSE-C blocked since April 2026 on new
/// buckets); a rule without it accepts SSE-C writes.
#[tokio::test]
async fn blocked_encryption_types_are_read() {
    let doc = |blocked: &str| {
        format!(
            "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>\
             <SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>\
             <BucketKeyEnabled>false</BucketKeyEnabled>{blocked}</Rule></ServerSideEncryptionConfiguration>"
        )
    };
    for (blocked, want) in [
        (
            "<BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes>",
            true,
        ),
        (
            "<BlockedEncryptionTypes><EncryptionType>NONE</EncryptionType></BlockedEncryptionTypes>",
            false,
        ),
        ("", false),
    ] {
        let body = doc(blocked);
        let rule = mock!(aws_sdk_s3::Client::get_bucket_encryption).then_http_response(move || {
            Response::new(
                StatusCode::try_from(200).unwrap(),
                SdkBody::from(body.clone()),
            )
        });
        let got = super::bucket_encryption::read(&s3(&[&rule]), ACCOUNT, &bucket()).await;
        let Observed::Present(spec) = got else {
            panic!("{got:?}")
        };
        assert_eq!(spec.sse_c_blocked, want, "{blocked}");
    }
}

/// A notification configuration reads back with every entry and EventBridge (they are written
/// back verbatim when crossrep's entry is merged).
#[tokio::test]
async fn notification_entries_and_eventbridge_are_read() {
    let rule = mock!(aws_sdk_s3::Client::get_bucket_notification_configuration).then_http_response(|| {
        Response::new(
            StatusCode::try_from(200).unwrap(),
            SdkBody::from(
                "<NotificationConfiguration>\
                 <QueueConfiguration><Id>uploads</Id><Queue>arn:aws:sqs:us-east-1:1:q</Queue><Event>s3:ObjectCreated:*</Event>\
                 <Filter><S3Key><FilterRule><Name>prefix</Name><Value>in/</Value></FilterRule></S3Key></Filter></QueueConfiguration>\
                 <TopicConfiguration><Id>t</Id><Topic>arn:aws:sns:us-east-1:1:t</Topic><Event>s3:ObjectRemoved:*</Event></TopicConfiguration>\
                 <EventBridgeConfiguration></EventBridgeConfiguration>\
                 </NotificationConfiguration>",
            ),
        )
    });
    let got = super::notification::read(&s3(&[&rule]), ACCOUNT, &bucket()).await;
    let Observed::Present(spec) = got else {
        panic!("{got:?}")
    };
    assert!(spec.eventbridge);
    assert_eq!(spec.entries.len(), 2, "{spec:?}");
    assert_eq!(
        spec.entries[0].filter,
        vec![("prefix".to_string(), "in/".to_string())]
    );
    assert_eq!(spec.entries[1].arn, "arn:aws:sns:us-east-1:1:t");
}
