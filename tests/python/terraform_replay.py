"""The Terraform AWS provider's call sequence for `aws_security_group` and
`aws_vpc_security_group_ingress_rule`, replayed with boto3 call for call (issue 14):
Terraform cannot be installed on these machines (no binary in the reachable registries, and
`terraform init` needs registry.terraform.io), so this follows the provider's source:

- provider start: internal/conns/config.go -> aws-sdk-go-base GetAwsAccountIDAndPartition
  (sts:GetCallerIdentity, fatal on failure unless skip_credentials_validation);
- aws_security_group: internal/service/ec2/vpc_security_group.go @0160692 (create, the
  3-in-a-row wait, the default egress revokes, update, read, delete with
  deleteLingeringENIs and the DependencyViolation retry, the wait until not found);
- aws_vpc_security_group_ingress_rule: internal/service/ec2/vpc_security_group_ingress_rule.go
  @d2b7f56 (create reading SecurityGroupRules[0], read by rule id expecting one rule with
  the right IsEgress, update through ModifySecurityGroupRules, delete tolerating not-found).

Run by tests/tests/ec2_api.rs with SG_ENDPOINT, SG_KEY_ID, SG_SECRET and SG_REGION set.
"""

import json
import os

from botocore.exceptions import ClientError

from sgapi import client


def code(e):
    return e.response["Error"]["Code"]


def main():
    ec2, sts = client("ec2"), client("sts")
    calls = []

    # Provider start: GetCallerIdentity; the account and partition build ARNs.
    ident = sts.get_caller_identity()
    account, partition = ident["Account"], ident["Arn"].split(":")[1]
    calls.append("GetCallerIdentity")

    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]

    # aws_security_group: Create.
    gid = ec2.create_security_group(
        GroupName="tf-web",
        Description="Managed by Terraform",
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "Name", "Value": "tf-web"}]}],
    )["GroupId"]
    calls.append("CreateSecurityGroup")
    # waitSecurityGroupCreated: found 3 times in a row (ContinuousTargetOccurence: 3).
    for _ in range(3):
        found = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"]
        assert len(found) == 1, found
    # The default egress rule is revoked; an error here is fatal in the provider. Ports
    # 0/0 with protocol -1 must match the all-traffic rule.
    ec2.revoke_security_group_egress(
        GroupId=gid,
        IpPermissions=[{"IpProtocol": "-1", "FromPort": 0, "ToPort": 0, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    try:
        ec2.revoke_security_group_egress(
            GroupId=gid,
            IpPermissions=[{"IpProtocol": "-1", "FromPort": 0, "ToPort": 0, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}],
        )
    except ClientError as e:
        tolerated = code(e) == "InvalidPermission.NotFound" or (
            code(e) == "InvalidParameterValue" and "remote-ipv6-range" in e.response["Error"]["Message"]
        )
        assert tolerated, e
    calls.append("RevokeSecurityGroupEgress x2")
    # Update: several permissions and CIDRs in one call, then egress.
    ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/8"}, {"CidrIp": "192.168.0.0/16"}]},
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        ],
    )
    ec2.authorize_security_group_egress(
        GroupId=gid,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}],
    )
    # Read, through the paginator; the ARN is built from OwnerId.
    group = [g for p in ec2.get_paginator("describe_security_groups").paginate(GroupIds=[gid]) for g in p["SecurityGroups"]][0]
    arn = f"arn:{partition}:ec2:{os.environ['SG_REGION']}:{group['OwnerId']}:security-group/{gid}"
    assert group["OwnerId"] == account, group
    assert [p["FromPort"] for p in group["IpPermissions"]] == [80, 443], group["IpPermissions"]
    assert len(group["IpPermissions"][0]["IpRanges"]) == 2, group
    assert [p["FromPort"] for p in group["IpPermissionsEgress"]] == [5432], group["IpPermissionsEgress"]
    calls.append("Authorize/Describe")

    # aws_vpc_security_group_ingress_rule: Create (one permission, one source).
    out = ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.0/24", "Description": "ssh"}]}],
    )
    rule_id = out["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    # Read: exactly one rule, ingress.
    rules = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule_id])["SecurityGroupRules"]
    assert len(rules) == 1 and rules[0]["IsEgress"] is False, rules
    assert rules[0]["CidrIpv4"] == "203.0.113.0/24" and rules[0]["Description"] == "ssh", rules
    # Update.
    ec2.modify_security_group_rules(
        GroupId=gid,
        SecurityGroupRules=[{
            "SecurityGroupRuleId": rule_id,
            "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 2222, "ToPort": 2222, "CidrIpv4": "203.0.113.0/24", "Description": "ssh alt"},
        }],
    )
    rules = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule_id])["SecurityGroupRules"]
    assert rules[0]["FromPort"] == 2222 and rules[0]["Description"] == "ssh alt", rules
    # An all-protocol rule reads back with -1 ports, which the provider maps to null.
    all_rule = ec2.authorize_security_group_ingress(
        GroupId=gid, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "198.51.100.0/24"}]}]
    )["SecurityGroupRules"][0]
    assert (all_rule["FromPort"], all_rule["ToPort"]) == (-1, -1), all_rule
    # Delete the rule resources; not-found is tolerated, and reads then say gone.
    for rid in (rule_id, all_rule["SecurityGroupRuleId"]):
        ec2.revoke_security_group_ingress(GroupId=gid, SecurityGroupRuleIds=[rid])
        try:
            ec2.revoke_security_group_ingress(GroupId=gid, SecurityGroupRuleIds=[rid])
            raise AssertionError("revoked twice")
        except ClientError as e:
            assert code(e) in ("InvalidGroup.NotFound", "InvalidSecurityGroupRuleId.NotFound"), e
        try:
            ec2.describe_security_group_rules(SecurityGroupRuleIds=[rid])
            raise AssertionError("still described")
        except ClientError as e:
            assert code(e) == "InvalidSecurityGroupRuleId.NotFound", e
    calls.append("ingress_rule lifecycle")

    # aws_security_group: Delete. deleteLingeringENIs first (paginated, by group-id).
    enis = [n for p in ec2.get_paginator("describe_network_interfaces").paginate(
        Filters=[{"Name": "group-id", "Values": [gid]}]) for n in p["NetworkInterfaces"]]
    assert enis == [], enis
    ec2.delete_security_group(GroupId=gid)
    try:
        ec2.delete_security_group(GroupId=gid)
        raise AssertionError("deleted twice")
    except ClientError as e:
        assert code(e) == "InvalidGroup.NotFound", e  # counts as done
    try:
        ec2.describe_security_groups(GroupIds=[gid])
        raise AssertionError("still described")
    except ClientError as e:
        assert code(e) == "InvalidGroup.NotFound", e
    calls.append("DeleteSecurityGroup")
    print(json.dumps({"Calls": calls, "Arn": arn}))


if __name__ == "__main__":
    main()
