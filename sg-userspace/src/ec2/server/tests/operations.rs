//! Signed requests past the signature: the operation and its parameters, read-only keys,
//! `DryRun`, STS `GetCallerIdentity`, pages, and the backend's errors.

use crate::api::{DeleteSecurityGroup, DescribeSecurityGroups};

use super::*;

const DESCRIBE: &str = "Action=DescribeSecurityGroups";
const DELETE: &str = "Action=DeleteSecurityGroup&GroupId=sg-1";

fn delete_sg1() -> Request {
    Request::DeleteSecurityGroup(DeleteSecurityGroup {
        group_id: Some("sg-1".to_owned()),
        group_name: None,
    })
}

#[tokio::test]
async fn signed_describe_runs_once_and_answers_ec2_xml() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2("Action=DescribeSecurityGroups&GroupId.1=sg-1")
        .send(addr)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.body.contains("<DescribeSecurityGroupsResponse"),
        "{}",
        reply.body
    );
    assert_eq!(reply.element("groupId"), Some("sg-1"));
    let request_id = reply.header("x-amzn-RequestId").expect("x-amzn-RequestId");
    assert_eq!(reply.element("requestId"), Some(request_id));
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/xml")
    );
    assert_eq!((fake.runs(), fake.checks()), (1, 0));
    assert_eq!(
        fake.requests(),
        [Request::DescribeSecurityGroups(DescribeSecurityGroups {
            group_ids: vec!["sg-1".to_owned()],
            ..Default::default()
        })]
    );
}

#[tokio::test]
async fn signed_get_with_the_parameters_in_the_query_runs() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2_get(DESCRIBE).send(addr).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!((fake.runs(), fake.checks()), (1, 0));
}

#[tokio::test]
async fn every_request_gets_its_own_request_id() {
    let (addr, _fake) = start(Fake::new()).await;
    let first = Call::ec2(DESCRIBE).send(addr).await;
    let second = Call::ec2(DESCRIBE).send(addr).await;
    assert_ne!(first.header("x-amzn-RequestId"), None);
    assert_ne!(
        first.header("x-amzn-RequestId"),
        second.header("x-amzn-RequestId")
    );
}

#[tokio::test]
async fn read_only_key_may_describe() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2(DESCRIBE).key(READ).send(addr).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(fake.runs(), 1);
}

#[tokio::test]
async fn read_only_key_may_not_write() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2(DELETE).key(READ).send(addr).await;
    assert_refused(&reply, 403, "UnauthorizedOperation", &fake);
}

#[tokio::test]
async fn read_only_key_may_not_write_even_with_dry_run() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2(&format!("{DELETE}&DryRun=true"))
        .key(READ)
        .send(addr)
        .await;
    assert_refused(&reply, 403, "UnauthorizedOperation", &fake);
}

#[tokio::test]
async fn dry_run_checks_without_running_and_answers_412() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2(&format!("{DELETE}&DryRun=true")).send(addr).await;
    assert_eq!(
        (reply.status, reply.element("Code")),
        (412, Some("DryRunOperation")),
        "{}",
        reply.body
    );
    assert_eq!((fake.runs(), fake.checks()), (0, 1));
    assert_eq!(fake.requests(), [delete_sg1()]);
}

#[tokio::test]
async fn dry_run_answers_the_error_of_check_with_400() {
    let fake = Fake::checking(Err(ApiError::group_not_found("sg-1")));
    let (addr, fake) = start(fake).await;
    let reply = Call::ec2(&format!("{DELETE}&DryRun=true")).send(addr).await;
    assert_eq!(
        (reply.status, reply.element("Code")),
        (400, Some("InvalidGroup.NotFound")),
        "{}",
        reply.body
    );
    assert_eq!((fake.runs(), fake.checks()), (0, 1));
}

#[tokio::test]
async fn dry_run_false_runs() {
    let (addr, fake) = start(Fake::running(Ok(crate::shapes::ReturnResult::TRUE.into()))).await;
    let reply = Call::ec2(&format!("{DELETE}&DryRun=false"))
        .send(addr)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!((fake.runs(), fake.checks()), (1, 0));
    assert_eq!(fake.requests(), [delete_sg1()]);
}

#[tokio::test]
async fn unknown_action_is_invalid_action() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2("Action=RunInstances").send(addr).await;
    assert_refused(&reply, 400, "InvalidAction", &fake);
}

#[tokio::test]
async fn unknown_parameter_is_refused() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2(&format!("{DELETE}&GroupIdd=sg-2"))
        .send(addr)
        .await;
    assert_refused(&reply, 400, "UnknownParameter", &fake);
}

#[tokio::test]
async fn missing_action_is_refused() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::ec2("GroupId=sg-1").send(addr).await;
    assert_refused(&reply, 400, "MissingAction", &fake);
}

#[tokio::test]
async fn parameter_in_both_query_and_body_is_refused() {
    let (addr, fake) = start(Fake::new()).await;
    let mut call = Call::ec2(DELETE);
    call.query = "GroupId=sg-2".to_owned();
    let reply = call.send(addr).await;
    assert_refused(&reply, 400, "InvalidParameterValue", &fake);
}

#[tokio::test]
async fn sts_get_caller_identity_names_the_key_and_the_account() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::sts("Action=GetCallerIdentity")
        .key(READ)
        .send(addr)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.body.contains("<GetCallerIdentityResponse"),
        "{}",
        reply.body
    );
    assert_eq!(reply.element("UserId"), Some(READ.0));
    assert_eq!(reply.element("Account"), Some(ACCOUNT));
    assert_eq!(reply.element("RequestId"), reply.header("x-amzn-RequestId"));
    assert_eq!((fake.runs(), fake.checks()), (0, 0));
}

#[tokio::test]
async fn sts_wrong_secret_is_signature_does_not_match_in_an_error_response() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::sts("Action=GetCallerIdentity")
        .key((FULL.0, "not-the-secret"))
        .send(addr)
        .await;
    assert_refused(&reply, 403, "SignatureDoesNotMatch", &fake);
    assert!(reply.body.contains("<ErrorResponse"), "{}", reply.body);
    assert_eq!(reply.element("Type"), Some("Sender"));
}

#[tokio::test]
async fn sts_action_other_than_get_caller_identity_is_invalid_action() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::sts("Action=AssumeRole").send(addr).await;
    assert_refused(&reply, 400, "InvalidAction", &fake);
    assert!(reply.body.contains("<ErrorResponse"), "{}", reply.body);
}

#[tokio::test]
async fn ec2_action_signed_for_sts_is_not_run() {
    let (addr, fake) = start(Fake::new()).await;
    let reply = Call::sts(DESCRIBE).send(addr).await;
    assert_refused(&reply, 400, "InvalidAction", &fake);
}

#[tokio::test]
async fn describe_is_cut_to_max_results_with_a_next_token() {
    let (addr, fake) = start(Fake::running(Ok(groups(7)))).await;
    let reply = Call::ec2(&format!("{DESCRIBE}&MaxResults=5"))
        .send(addr)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body.matches("<groupId>").count(), 5, "{}", reply.body);
    assert!(reply.element("nextToken").is_some(), "{}", reply.body);
    assert_eq!(fake.runs(), 1);
}

#[tokio::test]
async fn forged_next_token_is_invalid_pagination_token() {
    let (addr, _fake) = start(Fake::running(Ok(groups(7)))).await;
    let reply = Call::ec2(&format!("{DESCRIBE}&MaxResults=5&NextToken=5.forged"))
        .send(addr)
        .await;
    assert_eq!(
        (reply.status, reply.element("Code")),
        (400, Some("InvalidPaginationToken")),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn backend_not_found_is_400() {
    let answer = Err(ApiError::group_not_found("sg-1"));
    let (addr, fake) = start(Fake::running(answer)).await;
    let reply = Call::ec2(DELETE).send(addr).await;
    assert_eq!(
        (reply.status, reply.element("Code")),
        (400, Some("InvalidGroup.NotFound")),
        "{}",
        reply.body
    );
    assert_eq!(fake.runs(), 1);
}

#[tokio::test]
async fn backend_internal_error_is_500() {
    let answer = Err(ApiError::new("InternalError", "the store failed"));
    let (addr, fake) = start(Fake::running(answer)).await;
    let reply = Call::ec2(DELETE).send(addr).await;
    assert_eq!(
        (reply.status, reply.element("Code")),
        (500, Some("InternalError")),
        "{}",
        reply.body
    );
    assert_eq!(fake.runs(), 1);
}

#[tokio::test]
async fn panic_in_run_is_500_without_its_text_and_the_server_goes_on() {
    let (addr, fake) = start(Fake::panicking()).await;
    let reply = Call::ec2(DELETE).send(addr).await;
    assert_eq!(
        (reply.status, reply.element("Code")),
        (500, Some("InternalError")),
        "{}",
        reply.body
    );
    assert!(!reply.body.contains("as asked"), "{}", reply.body);
    let again = Call::ec2(DESCRIBE).send(addr).await;
    assert_eq!(again.status, 500, "{}", again.body);
    assert_eq!(fake.runs(), 2);
}

#[tokio::test]
async fn key_revoked_after_its_signature_was_checked_may_not_write() {
    // The first lookups check the headers and then the signature; by the third the key is
    // gone.
    let (addr, fake) = start(Fake::forgetting_keys_after(2)).await;
    let reply = Call::ec2(DELETE).send(addr).await;
    assert_refused(&reply, 403, "UnauthorizedOperation", &fake);
}

/// A request refused on its headers (no key, an unknown key, a stale date) is refused before
/// its body is read: sending the headers alone is enough for the answer.
#[tokio::test]
async fn unauthenticated_requests_are_refused_before_the_body_is_read() {
    let (addr, fake) = start(Fake::new()).await;
    let sig = "0".repeat(64);
    for (headers, code) in [
        ("", "MissingAuthenticationToken"),
        (
            "Authorization: AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN/20260101/us-east-1/ec2/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature={sig}\r\nX-Amz-Date: 20260101T000000Z\r\n",
            "RequestExpired",
        ),
    ]
    .map(|(h, c)| (h.replace("{sig}", &sig), c))
    {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        // A body announced but never sent: an answer can only come from the headers.
        let head = format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Type: \
             application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\n"
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("answered without the body")
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.contains(code), "{code}: {text}");
    }
    assert_eq!(fake.runs() + fake.checks(), 0);
}
