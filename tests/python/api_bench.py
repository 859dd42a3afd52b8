"""The EC2 API benchmark (issue 14): one endpoint, as a boto3 script drives it.

`api_bench.py GROUPS DESCRIBES AUTHORIZES [GROUP_ID]` with SG_ENDPOINT, SG_KEY_ID, SG_SECRET
and SG_REGION set. Creates GROUPS security groups (not timed), then times DESCRIBES calls of
DescribeSecurityGroups (every group, one page) and AUTHORIZES calls of
AuthorizeSecurityGroupIngress (one new rule each, on GROUP_ID if given: sgd enforces it in
the kernel before answering). Prints JSON: per-call latencies' p50 and p99 in ms and calls
per second, for each operation. Calls are sequential, over one kept-alive connection.
"""

import json
import sys
import time

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
print(json.dumps({"groups": count, "describe": describe, "authorize": authorize}))
