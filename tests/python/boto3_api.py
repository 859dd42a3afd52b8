"""boto3 against sgd's EC2 Query API (issue 14), as a user's script would drive it.

Run by tests/tests/ec2_api.rs inside the test's network namespace, with
SG_ENDPOINT, SG_KEY_ID, SG_SECRET, SG_RO_KEY_ID, SG_RO_SECRET and SG_REGION set.
Prints one JSON object (what the Rust side compares with sgctl's output) and exits
non-zero on the first failed expectation.
"""

import datetime
import json
import os

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.httpsession

from sgapi import ENDPOINT, REGION, client, expect_error

def main():
    out = {}
    ec2 = client("ec2")
    sts = client("sts")

    ident = sts.get_caller_identity()
    assert ident["UserId"] == os.environ["SG_KEY_ID"], ident
    assert ident["Arn"].split(":")[1] == "aws", ident  # Ansible reads the partition here
    out["Account"] = ident["Account"]

    vpcs = ec2.describe_vpcs()["Vpcs"]
    default = [v for v in vpcs if v["IsDefault"]]
    assert len(default) == 1, vpcs
    vpc_id = default[0]["VpcId"]
    # What boto3 scripts send to find the default VPC.
    found = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    assert [v["VpcId"] for v in found] == [vpc_id], found

    created = ec2.create_security_group(
        GroupName="web",
        Description="web & api servers (a;b)",
        VpcId=vpc_id,
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": "Name", "Value": "web"}]}
        ],
    )
    gid = created["GroupId"]
    assert gid.startswith("sg-"), created
    arn = f"arn:aws:ec2:{REGION}:{ident['Account']}:security-group/{gid}"
    assert created["SecurityGroupArn"] == arn, created
    ec2.get_waiter("security_group_exists").wait(GroupIds=[gid])

    group = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    # Terraform revokes it and Ansible waits for it: the default egress rule exists. sgd's
    # default VPC has an IPv6 block (unlike AWS's), so ::/0 is there too, as AWS adds it in
    # VPCs with a block (vpcs_api checks a VPC without one).
    egress = group["IpPermissionsEgress"]
    assert len(egress) == 1 and egress[0]["IpProtocol"] == "-1", egress
    assert egress[0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}], egress
    assert egress[0]["Ipv6Ranges"] == [{"CidrIpv6": "::/0"}], egress
    assert "FromPort" not in egress[0], egress  # -1 rules carry no ports in IpPermission
    assert group["IpPermissions"] == [], group
    assert group["Description"] == "web & api servers (a;b)", group
    assert group["OwnerId"] == ident["Account"], group
    assert group["Tags"] == [{"Key": "Name", "Value": "web"}], group
    assert group["SecurityGroupArn"] == arn, group

    auth = ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "ssh"}],
            },
            {
                "IpProtocol": "udp",
                "FromPort": 53,
                "ToPort": 53,
                "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}],
            },
        ],
    )
    assert auth["Return"] is True, auth
    rules = auth["SecurityGroupRules"]
    assert len(rules) == 2 and all(r["SecurityGroupRuleId"].startswith("sgr-") for r in rules), auth
    assert rules[0]["FromPort"] == 22 and rules[0]["IsEgress"] is False, rules
    for r in rules:
        want = f"arn:aws:ec2:{REGION}:{ident['Account']}:security-group-rule/{r['SecurityGroupRuleId']}"
        assert r["SecurityGroupRuleArn"] == want, r

    # Terraform looks for lingering interfaces of a group before deleting it.
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "group-id", "Values": [gid]}])
    assert enis["NetworkInterfaces"] == [], enis

    listed = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])
    ids = {r["SecurityGroupRuleId"] for r in listed["SecurityGroupRules"]}
    assert {r["SecurityGroupRuleId"] for r in rules} <= ids, listed

    # Pages: the paginator follows nextToken until it is absent, in order, without repeats.
    for i in range(11):
        ec2.create_security_group(GroupName=f"page-{i}", Description="paging", VpcId=vpc_id)
    everything = ec2.describe_security_groups()["SecurityGroups"]
    assert len(everything) >= 13, len(everything)
    pages = list(
        ec2.get_paginator("describe_security_groups").paginate(PaginationConfig={"PageSize": 5})
    )
    assert len(pages) == (len(everything) + 4) // 5, [len(p["SecurityGroups"]) for p in pages]
    assert "NextToken" not in pages[-1], pages[-1].keys()
    paged = [g["GroupId"] for p in pages for g in p["SecurityGroups"]]
    assert paged == [g["GroupId"] for g in everything], "same groups, same order"
    first = ec2.describe_security_groups(MaxResults=5)
    expect_error(
        ec2.describe_security_groups,
        "InvalidPaginationToken",
        400,
        MaxResults=5,
        NextToken=first["NextToken"],
        Filters=[{"Name": "group-name", "Values": ["web"]}],
    )
    for i in range(11):
        ec2.delete_security_group(GroupName=f"page-{i}")

    # What boto3 parsed, for the Rust side to compare with sgctl's JSON.
    described = ec2.describe_security_groups(GroupIds=[gid])
    described.pop("ResponseMetadata")
    out["DescribeSecurityGroups"] = described

    # DryRun: checked, answered 412, nothing changed.
    expect_error(ec2.delete_security_group, "DryRunOperation", 412, GroupId=gid, DryRun=True)
    expect_error(
        ec2.create_security_group,
        "InvalidGroup.Duplicate",
        400,
        GroupName="web",
        Description="again",
        VpcId=vpc_id,
        DryRun=True,
    )
    assert ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"], "still there"
    before = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])
    expect_error(
        ec2.authorize_security_group_ingress,
        "DryRunOperation",
        412,
        GroupId=gid,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}],
        DryRun=True,
    )
    expect_error(
        ec2.create_security_group, "DryRunOperation", 412, GroupName="dry", Description="d", VpcId=vpc_id, DryRun=True
    )
    after = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])
    assert before["SecurityGroupRules"] == after["SecurityGroupRules"], "DryRun changed the rules"
    assert ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["dry"]}])["SecurityGroups"] == []

    # Client errors: 400 with the code, no retry.
    expect_error(ec2.describe_security_groups, "InvalidGroup.NotFound", 400, GroupIds=["sg-0123456789abcdef0"])
    expect_error(
        ec2.authorize_security_group_ingress,
        "InvalidPermission.Duplicate",
        400,
        GroupId=gid,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
        ],
    )

    # Authentication: a wrong secret, then a read-only key.
    bad = client("ec2", secret="x" * 40)
    expect_error(bad.describe_security_groups, "AuthFailure", 401)
    bad_sts = client("sts", secret="x" * 40)
    expect_error(bad_sts.get_caller_identity, "SignatureDoesNotMatch", 403)
    ro = client("ec2", os.environ["SG_RO_KEY_ID"], os.environ["SG_RO_SECRET"])
    assert ro.describe_security_groups(GroupIds=[gid])["SecurityGroups"]
    expect_error(ro.delete_security_group, "UnauthorizedOperation", 403, GroupId=gid)
    expect_error(ro.delete_security_group, "UnauthorizedOperation", 403, GroupId=gid, DryRun=True)

    # A request signed 10 minutes ago, by hand (botocore signs with the current time).
    creds = botocore.credentials.Credentials(os.environ["SG_KEY_ID"], os.environ["SG_SECRET"])
    req = botocore.awsrequest.AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data="Action=DescribeSecurityGroups&Version=2016-11-15",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    signer = botocore.auth.SigV4Auth(creds, "ec2", REGION)
    # botocore signs with its clock (botocore.auth.get_current_datetime): turn it back.
    now = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: now() - datetime.timedelta(minutes=10)
    try:
        signer.add_auth(req)
    finally:
        botocore.auth.get_current_datetime = now
    resp = botocore.httpsession.URLLib3Session().send(req.prepare())
    assert resp.status_code == 400, (resp.status_code, resp.text)
    assert "<Code>RequestExpired</Code>" in resp.text, resp.text

    # Not an operation sgd serves.
    req = botocore.awsrequest.AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data="Action=RunInstances&Version=2016-11-15",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    signer.add_auth(req)
    resp = botocore.httpsession.URLLib3Session().send(req.prepare())
    assert resp.status_code == 400 and "<Code>InvalidAction</Code>" in resp.text, resp.text

    # Idempotency: a retried create with its ClientToken answers what the first call did,
    # the same token with other parameters is refused.
    pl = dict(PrefixListName="office", MaxEntries=5, AddressFamily="IPv4",
              Entries=[{"Cidr": "198.51.100.0/24"}], ClientToken="retry-1")
    first = ec2.create_managed_prefix_list(**pl)["PrefixList"]
    again = ec2.create_managed_prefix_list(**pl)["PrefixList"]
    assert again["PrefixListId"] == first["PrefixListId"], (first, again)
    listed = ec2.describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": ["office"]}])["PrefixLists"]
    assert len(listed) == 1, listed
    expect_error(ec2.create_managed_prefix_list, "IdempotentParameterMismatch", 400,
                 **dict(pl, MaxEntries=6))
    assert first["State"] == "create-in-progress", first
    assert listed[0]["State"] == "create-complete", listed
    modified = ec2.modify_managed_prefix_list(
        PrefixListId=first["PrefixListId"], AddEntries=[{"Cidr": "203.0.113.0/24"}]
    )["PrefixList"]
    assert modified["State"] == "modify-in-progress", modified
    # What Terraform's waiter polls for after a modify.
    listed = ec2.describe_managed_prefix_lists(PrefixListIds=[first["PrefixListId"]])
    assert listed["PrefixLists"][0]["State"] == "modify-complete", listed
    ec2.delete_managed_prefix_list(PrefixListId=first["PrefixListId"])

    vpcs_api(ec2, out)

    # Revoke by rule id, then delete; the group is gone.
    revoked = ec2.revoke_security_group_ingress(
        GroupId=gid, SecurityGroupRuleIds=[rules[1]["SecurityGroupRuleId"]]
    )
    assert revoked["Return"] is True, revoked
    out["GroupId"] = gid
    out["RuleId"] = rules[0]["SecurityGroupRuleId"]
    print(json.dumps(out, default=str))


def ipv6_block(vpc):
    """The one IPv6 association of a dual-stack VPC, checked as EC2 shows it."""
    [assoc] = vpc["Ipv6CidrBlockAssociationSet"]
    assert assoc["AssociationId"].startswith("vpc-cidr-assoc-"), assoc
    assert assoc["AssociationId"] != vpc["CidrBlockAssociationSet"][0]["AssociationId"], vpc
    assert assoc["Ipv6CidrBlock"].startswith("fd") and assoc["Ipv6CidrBlock"].endswith("/56"), assoc
    assert assoc["Ipv6CidrBlockState"] == {"State": "associated"}, assoc
    assert assoc["NetworkBorderGroup"] == REGION and assoc["Ipv6Pool"] == "Amazon", assoc
    return assoc


def egress_of(ec2, vpc_id, name):
    """The default outbound rule of a new group `name` in `vpc_id`."""
    gid = ec2.create_security_group(GroupName=name, Description="d", VpcId=vpc_id)["GroupId"]
    group = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    ec2.delete_security_group(GroupId=gid)
    [rule] = group["IpPermissionsEgress"]
    return rule


def vpcs_api(ec2, out):
    """The members botocore parses from a Vpc, CreateVpc's CIDR errors and IPv6 block,
    DeleteVpc and CreateDefaultVpc (issue 14, item 4)."""
    default = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    assert default["InstanceTenancy"] == "default", default
    assert default["State"] == "available", default
    [assoc] = default["CidrBlockAssociationSet"]
    assert assoc["AssociationId"].startswith("vpc-cidr-assoc-"), assoc
    assert assoc["CidrBlock"] == default["CidrBlock"] == "172.31.0.0/16", assoc
    assert assoc["CidrBlockState"] == {"State": "associated"}, assoc
    # sgd's default VPC is dual-stack (AWS's is not): every group there gets ::/0 (SG-GRP-4).
    ipv6_block(default)
    out["DefaultVpc"] = default

    # CreateVpc follows AWS: ::/0 in the default outbound rule only with an IPv6 block.
    plain = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]
    assert plain["Ipv6CidrBlockAssociationSet"] == [], plain
    rule = egress_of(ec2, plain["VpcId"], "v4")
    assert rule["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}] and rule["Ipv6Ranges"] == [], rule
    dual = ec2.create_vpc(CidrBlock="10.8.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    block = ipv6_block(dual)
    assert block["Ipv6CidrBlock"] != default["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    rule = egress_of(ec2, dual["VpcId"], "v6")
    assert rule["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}], rule
    assert rule["Ipv6Ranges"] == [{"CidrIpv6": "::/0"}], rule
    for name, value in [
        ("ipv6-cidr-block-association.ipv6-cidr-block", block["Ipv6CidrBlock"]),
        ("ipv6-cidr-block-association.association-id", block["AssociationId"]),
    ]:
        found = ec2.describe_vpcs(Filters=[{"Name": name, "Values": [value]}])["Vpcs"]
        assert [v["VpcId"] for v in found] == [dual["VpcId"]], found
    assert ec2.describe_vpcs(VpcIds=[dual["VpcId"]])["Vpcs"] == [dual]
    for vpc in (plain, dual):
        ec2.delete_vpc(VpcId=vpc["VpcId"])

    msg = expect_error(ec2.create_vpc, "InvalidParameterValue", 400, CidrBlock="10.0.0.0/33")
    assert msg == ("Value (10.0.0.0/33) for parameter cidrBlock is invalid. "
                   "This is not a valid CIDR block."), msg
    msg = expect_error(ec2.create_vpc, "InvalidVpc.Range", 400, CidrBlock="10.0.0.0/29")
    assert msg == "The CIDR '10.0.0.0/29' is invalid.", msg

    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]
    group = ec2.create_security_group(GroupName="app", Description="d", VpcId=vpc["VpcId"])
    expect_error(ec2.delete_vpc, "DependencyViolation", 400, VpcId=vpc["VpcId"])
    ec2.delete_security_group(GroupId=group["GroupId"])
    expect_error(ec2.delete_vpc, "DryRunOperation", 412, VpcId=vpc["VpcId"], DryRun=True)
    ec2.delete_vpc(VpcId=vpc["VpcId"])
    expect_error(ec2.delete_vpc, "InvalidVpcID.NotFound", 400, VpcId=vpc["VpcId"])
    left = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]
    assert left == [], left
    expect_error(ec2.create_default_vpc, "DefaultVpcAlreadyExists", 400)


if __name__ == "__main__":
    main()
