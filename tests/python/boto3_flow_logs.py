"""boto3 against sgd's EC2 Query API (issue 16): CreateFlowLogs, DescribeFlowLogs and
DeleteFlowLogs, with botocore parsing sgd's XML (flowLogIdSet, unsuccessful, flowLogSet).

Run by tests/tests/ec2_api.rs inside the test's network namespace, with SG_ENDPOINT,
SG_KEY_ID, SG_SECRET and SG_REGION set; argv[1] is the destination file. Prints one JSON
object (what the Rust side compares with sgctl's output) and exits non-zero on the first
failed expectation.
"""

import json
import sys

from sgapi import client, expect_error


def main():
    dest = sys.argv[1]
    ec2 = client()
    vpc_id = [v for v in ec2.describe_vpcs()["Vpcs"] if v["IsDefault"]][0]["VpcId"]
    made = ec2.create_flow_logs(
        ResourceIds=[vpc_id, "vpc-0123456789abcdef0"],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="file",
        LogDestination=dest,
        LogFormat="${version} ${interface-id} ${srcaddr} ${action} ${tcp-flags}",
        MaxAggregationInterval=60,
        ClientToken="token-1",
        TagSpecifications=[{"ResourceType": "vpc-flow-log", "Tags": [{"Key": "Name", "Value": "all"}]}],
    )
    assert len(made["FlowLogIds"]) == 1, made
    fl = made["FlowLogIds"][0]
    assert fl.startswith("fl-"), made
    bad = made["Unsuccessful"]
    assert len(bad) == 1 and bad[0]["ResourceId"] == "vpc-0123456789abcdef0", bad
    assert bad[0]["Error"]["Code"] == "InvalidVpcID.NotFound", bad
    # A ClientToken given comes back.
    assert made.get("ClientToken") == "token-1", made
    again = ec2.create_flow_logs(
        ResourceIds=[vpc_id],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="file",
        LogDestination=dest,
        LogFormat="${version} ${interface-id} ${srcaddr} ${action} ${tcp-flags}",
    )
    assert again["FlowLogIds"] == [], again
    assert again["Unsuccessful"][0]["Error"]["Code"] == "FlowLogAlreadyExists", again

    expect_error(
        ec2.create_flow_logs,
        "InvalidParameter",
        400,
        ResourceIds=[vpc_id],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::bucket",
    )
    expect_error(
        ec2.create_flow_logs,
        "InvalidParameterValue",
        400,
        ResourceIds=[vpc_id],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="file",
        LogDestination=dest,
        MaxAggregationInterval=61,
    )

    described = ec2.describe_flow_logs(FlowLogIds=[fl])["FlowLogs"]
    assert len(described) == 1, described
    f = described[0]
    assert f["FlowLogId"] == fl and f["ResourceId"] == vpc_id, f
    assert f["MaxAggregationInterval"] == 60 and f["DeliverLogsStatus"] == "SUCCESS", f
    assert f["Tags"] == [{"Key": "Name", "Value": "all"}], f
    filtered = ec2.describe_flow_logs(Filters=[{"Name": "traffic-type", "Values": ["REJECT"]}])
    assert filtered["FlowLogs"] == [], filtered
    # The creation time is a time botocore parses.
    f["CreationTime"] = f["CreationTime"].isoformat()

    deleted = ec2.delete_flow_logs(FlowLogIds=["fl-0123456789abcdef0"])
    assert deleted["Unsuccessful"][0]["Error"]["Code"] == "InvalidFlowLogId.NotFound", deleted
    print(json.dumps({"FlowLogId": fl, "Described": f}))


if __name__ == "__main__":
    main()
