"""What the boto3 test scripts share: a client of sgd's endpoint and a check that a call
fails with one error code, HTTP status and a single attempt (client errors are never
retried). The endpoint, region and key come from SG_ENDPOINT, SG_REGION, SG_KEY_ID and
SG_SECRET, which tests/tests/ec2_api.rs (and the bench) set.
"""

import os

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["SG_ENDPOINT"]
REGION = os.environ["SG_REGION"]

# The HTTP attempts botocore makes, to prove client errors are never retried.
attempts = []


def client(service="ec2", key=None, secret=None, max_attempts=3, verify=None):
    c = boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=key or os.environ["SG_KEY_ID"],
        aws_secret_access_key=secret or os.environ["SG_SECRET"],
        config=Config(retries={"mode": "standard", "max_attempts": max_attempts}),
        verify=verify,
    )
    c.meta.events.register("before-send", lambda request, **_: attempts.append(request.url))
    return c


def expect_error(call, code, status, **kwargs):
    """Calls `call(**kwargs)`, which must fail with `code` and HTTP `status` after one
    attempt; returns the error message."""
    before = len(attempts)
    try:
        call(**kwargs)
    except ClientError as e:
        got = (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
        assert got == (code, status), f"{call.__name__}: expected {code}/{status}, got {got}: {e}"
        tries = len(attempts) - before
        assert tries == 1, f"{call.__name__}: {tries} attempts for a client error ({code})"
        return e.response["Error"]["Message"]
    raise AssertionError(f"{call.__name__}: expected {code}, got success")
