"""The EC2 API benchmark (issue 14): one endpoint, as a boto3 script drives it.

`api_bench.py GROUPS DESCRIBES AUTHORIZES [GROUP_ID]` with SG_ENDPOINT, SG_KEY_ID, SG_SECRET
and SG_REGION set. Creates GROUPS security groups (not timed), then times DESCRIBES calls of
DescribeSecurityGroups (every group, one page) and AUTHORIZES calls of
AuthorizeSecurityGroupIngress (one new rule each, on GROUP_ID if given: sgd enforces it in
the kernel before answering). Prints JSON: per-call latencies' p50 and p99 in ms and calls
per second, for each operation. Calls are sequential, over one kept-alive connection.

The describe is timed twice: through boto3 (`describe`: what a script sees, including
boto3's parse of the XML into Python objects, the same work on both sides), and as the
server's own throughput (`describe_raw`: the same signed request, its whole answer read
but not parsed, as a load generator such as wrk would measure an HTTP server).
"""

import http.client
import json
import os
import sys
import time
from urllib.parse import urlparse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sgapi import client

groups, describes, authorizes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
target = sys.argv[4] if len(sys.argv) > 4 else None
ec2 = client(max_attempts=1)
vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
have = len(ec2.describe_security_groups()["SecurityGroups"])
for i in range(max(0, groups - have)):
    ec2.create_security_group(GroupName=f"bench-{i}", Description="api bench", VpcId=vpc)
if target is None:
    target = ec2.create_security_group(GroupName="bench-target", Description="api bench", VpcId=vpc)["GroupId"]


def timed(n, call):
    ms = []
    start = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        try:
            call(i)
        except Exception as e:
            raise SystemExit(f"call {i} of {n} failed: {e}")
        ms.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - start
    ms.sort()
    pick = lambda p: ms[min(len(ms) - 1, round((len(ms) - 1) * p))]
    return {"p50_ms": pick(0.5), "p99_ms": pick(0.99), "rps": n / total}


count = len(ec2.describe_security_groups()["SecurityGroups"])
describe = timed(describes, lambda i: ec2.describe_security_groups())

endpoint = urlparse(os.environ["SG_ENDPOINT"])
conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port)
credentials = Credentials(os.environ["SG_KEY_ID"], os.environ["SG_SECRET"])
body = "Action=DescribeSecurityGroups&Version=2016-11-15"


def raw_describe(i):
    """One signed DescribeSecurityGroups, its answer read whole and checked, not parsed."""
    req = AWSRequest(
        method="POST",
        url=os.environ["SG_ENDPOINT"] + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(credentials, "ec2", os.environ["SG_REGION"]).add_auth(req)
    conn.request("POST", "/", body=body, headers=dict(req.headers))
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200 or data.count(b"<groupId>") < count:
        raise RuntimeError(f"HTTP {resp.status}, {len(data)} bytes")


describe_raw = timed(describes, raw_describe)

authorize = timed(
    authorizes,
    lambda i: ec2.authorize_security_group_ingress(
        GroupId=target,
        IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 1000 + i, "ToPort": 1000 + i,
            "IpRanges": [{"CidrIp": f"10.{i // 250}.{i % 250}.0/24"}],
        }],
    ),
)
print(json.dumps({
    "groups": count,
    "describe": describe,
    "describe_raw": describe_raw,
    "authorize": authorize,
}))
