//! Requests refused before the form is read: the method, the body's size, a `+` in the query,
//! and every way the signature can fail. None of them may reach `run` or `check`.

use std::time::{Duration, SystemTime};

use super::*;

const DESCRIBE: &str = "Action=DescribeSecurityGroups";

#[tokio::test]
async fn no_authorization_is_missing_authentication_token() {
    let (addr, fake) = start(Fake::new()).await;
    let call = Call::ec2(DESCRIBE);
    let mut headers = call.signed_headers(addr);
    headers.retain(|(name, _)| name != "authorization");
    let reply = send(addr, "POST", "", &headers, call.body.as_bytes()).await;
    assert_refused(&reply, 403, "MissingAuthenticationToken", &fake);
}

#[tokio::test]
async fn wrong_secret_is_auth_failure() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2(DESCRIBE)
        .key((FULL.0, "not-the-secret"))
        .send(addr)
        .await;
    assert_refused(&reply, 401, "AuthFailure", &fake);
}

#[tokio::test]
async fn secret_of_another_key_is_auth_failure() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2(DESCRIBE).key((FULL.0, READ.1)).send(addr).await;
    assert_refused(&reply, 401, "AuthFailure", &fake);
}

#[tokio::test]
async fn unknown_key_is_auth_failure() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2(DESCRIBE)
        .key(("AKIDUNKNOWN", FULL.1))
        .send(addr)
        .await;
    assert_refused(&reply, 401, "AuthFailure", &fake);
}

#[tokio::test]
async fn sts_unknown_key_is_invalid_client_token_id() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::sts("Action=GetCallerIdentity")
        .key(("AKIDUNKNOWN", FULL.1))
        .send(addr)
        .await;
    assert_refused(&reply, 403, "InvalidClientTokenId", &fake);
    assert!(reply.body.contains("<ErrorResponse"), "{}", reply.body);
}

#[tokio::test]
async fn date_older_than_the_skew_is_request_expired() {
    let (addr, fake) = start(Fake::new()).await;
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let reply = Call::ec2(DESCRIBE).at(hour_ago).send(addr).await;
    assert_refused(&reply, 400, "RequestExpired", &fake);
}

#[tokio::test]
async fn date_beyond_the_skew_in_the_future_is_request_expired() {
    let (addr, fake) = start(Fake::new()).await;
    let in_an_hour = SystemTime::now() + Duration::from_secs(3600);
    let reply = Call::ec2(DESCRIBE).at(in_an_hour).send(addr).await;
    assert_refused(&reply, 400, "RequestExpired", &fake);
}

#[tokio::test]
async fn sts_expired_date_is_signature_does_not_match() {
    let (addr, fake) = start(Fake::new()).await;
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let reply = Call::sts("Action=GetCallerIdentity")
        .at(hour_ago)
        .send(addr)
        .await;
    assert_refused(&reply, 403, "SignatureDoesNotMatch", &fake);
}

#[tokio::test]
async fn wrong_region_is_auth_failure() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2(DESCRIBE).region("eu-west-1").send(addr).await;
    assert_refused(&reply, 401, "AuthFailure", &fake);
}

#[tokio::test]
async fn service_sgd_does_not_answer_is_auth_failure() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2(DESCRIBE).service("s3").send(addr).await;
    assert_refused(&reply, 401, "AuthFailure", &fake);
}

#[tokio::test]
async fn body_changed_after_signing_is_auth_failure() {
    let (addr, fake) = start(Fake::new()).await;
    let call = Call::ec2("Action=DeleteSecurityGroup&GroupId=sg-1");
    let headers = call.signed_headers(addr);
    let tampered = call.body.replace("sg-1", "sg-2");
    let reply = send(addr, "POST", "", &headers, tampered.as_bytes()).await;
    assert_refused(&reply, 401, "AuthFailure", &fake);
}

#[tokio::test]
async fn query_parameter_added_after_signing_is_auth_failure() {
    let (addr, fake) = start(Fake::new()).await;
    let call = Call::ec2_get(DESCRIBE);
    let headers = call.signed_headers(addr);
    let query = format!("{}&GroupId.1=sg-1", call.query);
    let reply = send(addr, "GET", &query, &headers, b"").await;
    assert_refused(&reply, 401, "AuthFailure", &fake);
}

#[tokio::test]
async fn query_added_after_signing_a_post_is_auth_failure() {
    let (addr, fake) = start(Fake::new()).await;
    let call = Call::ec2("Action=DeleteSecurityGroup&GroupId=sg-1");
    let headers = call.signed_headers(addr);
    let reply = send(addr, "POST", "DryRun=true", &headers, call.body.as_bytes()).await;
    assert_refused(&reply, 401, "AuthFailure", &fake);
}

#[tokio::test]
async fn signed_session_token_is_refused_by_ec2() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2(DESCRIBE)
        .header("x-amz-security-token", "FwoGZXIvYXdzE")
        .send(addr)
        .await;
    assert_refused(&reply, 401, "AuthFailure", &fake);
    assert!(reply.body.contains("security token"), "{}", reply.body);
}

#[tokio::test]
async fn signed_session_token_is_refused_by_sts() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::sts("Action=GetCallerIdentity")
        .header("x-amz-security-token", "FwoGZXIvYXdzE")
        .send(addr)
        .await;
    assert_refused(&reply, 403, "InvalidClientTokenId", &fake);
    assert!(reply.body.contains("<ErrorResponse"), "{}", reply.body);
}

#[tokio::test]
async fn session_token_added_after_signing_is_incomplete_signature() {
    let (addr, fake) = start(Fake::new()).await;
    let call = Call::ec2(DESCRIBE);
    let mut headers = call.signed_headers(addr);
    headers.push((
        "x-amz-security-token".to_owned(),
        "FwoGZXIvYXdzE".to_owned(),
    ));
    let reply = send(addr, "POST", "", &headers, call.body.as_bytes()).await;
    assert_refused(&reply, 400, "IncompleteSignature", &fake);
}

#[tokio::test]
async fn plus_in_a_signed_query_is_malformed_query_string() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2_get("Action=DescribeSecurityGroups&GroupName.1=a+b")
        .send(addr)
        .await;
    assert_refused(&reply, 400, "MalformedQueryString", &fake);
}

#[tokio::test]
async fn body_larger_than_max_body_is_413() {
    let (addr, fake) = start(Fake::new()).await;
    let mut call = Call::ec2(DESCRIBE);
    call.body.push('&');
    call.body
        .push_str(&"x".repeat(MAX_BODY + 1 - call.body.len()));
    assert_eq!(call.body.len(), MAX_BODY + 1);
    let reply = call.send(addr).await;
    assert_refused(&reply, 413, "InvalidParameterValue", &fake);
}

#[tokio::test]
async fn body_of_exactly_max_body_is_read() {
    // One byte less than the refused size: read, then refused for its unknown parameter.
    let (addr, fake) = start(Fake::new()).await;
    let mut call = Call::ec2(DESCRIBE);
    call.body.push('&');
    call.body.push_str(&"x".repeat(MAX_BODY - call.body.len()));
    let reply = call.send(addr).await;
    assert_refused(&reply, 400, "UnknownParameter", &fake);
}

#[tokio::test]
async fn methods_other_than_get_and_post_are_405() {
    let (addr, fake) = start(Fake::new()).await;
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS"] {
        let reply = Call::ec2(DESCRIBE).method(method).send(addr).await;
        assert_refused(&reply, 405, "InvalidAction", &fake);
    }
}
