//! How the preflight reads map AWS's answers, for those the emulator cannot give: it does not
//! evaluate `account:*` or `servicequotas:*` permissions (emulator README, "Regions and
//! quotas"), so a denied status or quota read is tested here.

use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;

use crossrep_core::names::{AccountId, Region};
use crossrep_core::observed::{ErrorKind, Observed};
use crossrep_core::preflight::RegionOptStatus;

fn account() -> AccountId {
    AccountId::new("222222222222").unwrap()
}

fn cape() -> Region {
    Region::new("af-south-1").unwrap()
}

/// A JSON answer; `error` names the error type the way each protocol does.
fn json(status: u16, header: Option<&str>, body: &str) -> Response {
    let mut r = Response::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_string()),
    );
    r.headers_mut().insert("content-type", "application/json");
    if let Some(t) = header {
        r.headers_mut().insert("x-amzn-errortype", t.to_string());
    }
    r
}

fn accounts(rules: &[&Rule]) -> aws_sdk_account::Client {
    mock_client!(aws_sdk_account, RuleMode::MatchAny, rules)
}

fn quotas(rules: &[&Rule]) -> aws_sdk_servicequotas::Client {
    mock_client!(aws_sdk_servicequotas, RuleMode::MatchAny, rules)
}

#[tokio::test]
async fn a_region_status_is_read_enabling_included() {
    let rule = mock!(aws_sdk_account::Client::get_region_opt_status).then_http_response(|| {
        json(
            200,
            None,
            r#"{"RegionName":"af-south-1","RegionOptStatus":"ENABLING"}"#,
        )
    });
    let got = super::region_status(&accounts(&[&rule]), &account(), &cape()).await;
    assert_eq!(got, Observed::Present(RegionOptStatus::Enabling));
}

/// No `account:GetRegionOptStatus`: unreadable, denied, naming the action and the region (the
/// plan then says it once and goes on).
#[tokio::test]
async fn a_denied_region_status_is_unreadable_and_says_which_action() {
    let rule = mock!(aws_sdk_account::Client::get_region_opt_status).then_http_response(|| {
        json(
            403,
            Some("AccessDeniedException"),
            r#"{"message":"User: arn:aws:sts::222222222222:assumed-role/admin/crossrep is not authorized to perform: account:GetRegionOptStatus"}"#,
        )
    });
    let got = super::region_status(&accounts(&[&rule]), &account(), &cape()).await;
    let Observed::Unreadable(e) = got else {
        panic!("{got:?}")
    };
    assert_eq!(e.kind, ErrorKind::AccessDenied);
    assert!(
        e.message.starts_with("`account:GetRegionOptStatus` on `af-south-1` in account 222222222222 failed: AccessDeniedException"),
        "{}",
        e.message
    );
}

/// A status crossrep does not know is not guessed: unreadable.
#[tokio::test]
async fn an_unknown_region_status_is_not_guessed() {
    let rule = mock!(aws_sdk_account::Client::get_region_opt_status).then_http_response(|| {
        json(
            200,
            None,
            r#"{"RegionName":"af-south-1","RegionOptStatus":"PARTIALLY_ENABLED"}"#,
        )
    });
    let got = super::region_status(&accounts(&[&rule]), &account(), &cape()).await;
    assert!(
        matches!(got, Observed::Unreadable(ref e) if e.kind == ErrorKind::Invalid),
        "{got:?}"
    );
}

#[tokio::test]
async fn a_bucket_quota_never_increased_is_absent_and_an_applied_one_is_read() {
    let none = mock!(aws_sdk_servicequotas::Client::get_service_quota).then_http_response(|| {
        json(
            400,
            None,
            r#"{"__type":"NoSuchResourceException","message":""}"#,
        )
    });
    assert_eq!(
        super::bucket_quota_with(&quotas(&[&none]), &account()).await,
        Observed::Absent
    );
    let applied = mock!(aws_sdk_servicequotas::Client::get_service_quota)
        .match_requests(|r| r.service_code() == Some("s3") && r.quota_code() == Some("L-DC2B2D3D"))
        .then_http_response(|| {
            json(
                200,
                None,
                r#"{"Quota":{"ServiceCode":"s3","QuotaCode":"L-DC2B2D3D","Value":20000.0}}"#,
            )
        });
    assert_eq!(
        super::bucket_quota_with(&quotas(&[&applied]), &account()).await,
        Observed::Present(20_000)
    );
    let denied = mock!(aws_sdk_servicequotas::Client::get_service_quota).then_http_response(|| {
        json(
            400,
            None,
            r#"{"__type":"AccessDeniedException","message":"not authorized"}"#,
        )
    });
    let got = super::bucket_quota_with(&quotas(&[&denied]), &account()).await;
    assert!(
        matches!(got, Observed::Unreadable(ref e) if e.kind == ErrorKind::AccessDenied),
        "{got:?}"
    );
}
