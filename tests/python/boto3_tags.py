"""boto3 against sgd's EC2 Query API (issue 14): CreateTags, DeleteTags and DescribeTags on
security groups, security group rules, managed prefix lists and VPCs.

Run by tests/tests/ec2_api.rs inside the test's network namespace, with
SG_ENDPOINT, SG_KEY_ID, SG_SECRET, SG_RO_KEY_ID, SG_RO_SECRET and SG_REGION set.
Prints one JSON object (what the Rust side compares with sgctl's output) and exits
non-zero on the first failed expectation.
"""

import json
import os

from sgapi import client, expect_error

MISSING = "0123456789abcdef0"

def tags_of(ec2, resource_id):
    """{key: value} of one resource, as DescribeTags lists them."""
    rows = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [resource_id]}])["Tags"]
    assert all(r["ResourceId"] == resource_id for r in rows), rows
    return {r["Key"]: r["Value"] for r in rows}


def spec(resource_type, **tags):
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def main():
    out = {}
    ec2 = client()
    vpc_id = [v for v in ec2.describe_vpcs()["Vpcs"] if v["IsDefault"]][0]["VpcId"]

    # Tags given on create (TagSpecification) show up in DescribeTags, for each kind.
    gid = ec2.create_security_group(
        GroupName="tagged", Description="tags", VpcId=vpc_id, TagSpecifications=spec("security-group", Name="web")
    )["GroupId"]
    rid = ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
        TagSpecifications=spec("security-group-rule", role="ssh"),
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    plid = ec2.create_managed_prefix_list(
        PrefixListName="office",
        MaxEntries=5,
        AddressFamily="IPv4",
        TagSpecifications=spec("prefix-list", Name="office"),
    )["PrefixList"]["PrefixListId"]
    ids = [gid, rid, plid, vpc_id]
    rows = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": ids}])["Tags"]
    got = {(r["ResourceId"], r["ResourceType"], r["Key"], r["Value"]) for r in rows}
    assert got == {
        (gid, "security-group", "Name", "web"),
        (rid, "security-group-rule", "role", "ssh"),
        (plid, "prefix-list", "Name", "office"),
    }, rows

    # CreateTags on all four kinds at once; an empty value is a value. boto3 gets no output
    # (CreateTags has no output shape), as the AWS CLI prints nothing.
    created = ec2.create_tags(Resources=ids, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "note", "Value": ""}])
    assert set(created) == {"ResponseMetadata"}, created
    rows = ec2.describe_tags(Filters=[{"Name": "key", "Values": ["env"]}])["Tags"]
    assert {r["ResourceType"] for r in rows} == {"security-group", "security-group-rule", "prefix-list", "vpc"}, rows
    assert tags_of(ec2, vpc_id) == {"env": "prod", "note": ""}
    # Overwrite one value.
    ec2.create_tags(Resources=[gid], Tags=[{"Key": "env", "Value": "staging"}])
    assert tags_of(ec2, gid) == {"Name": "web", "env": "staging", "note": ""}
    # The resources' own describes carry the same tags.
    group = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    assert {t["Key"]: t["Value"] for t in group["Tags"]} == tags_of(ec2, gid), group
    rule = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rid])["SecurityGroupRules"][0]
    assert {t["Key"]: t["Value"] for t in rule["Tags"]} == tags_of(ec2, rid), rule
    pl = ec2.describe_managed_prefix_lists(PrefixListIds=[plid])["PrefixLists"][0]
    assert {t["Key"]: t["Value"] for t in pl["Tags"]} == tags_of(ec2, plid), pl

    # Filters: resource-type, value with wildcards, tag:<key> (the tags of matching resources).
    rows = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["security-group-rule"]}])["Tags"]
    assert {r["ResourceId"] for r in rows} == {rid}, rows
    rows = ec2.describe_tags(Filters=[{"Name": "value", "Values": ["stag*", "off?ce"]}])["Tags"]
    assert {(r["ResourceId"], r["Key"]) for r in rows} == {(gid, "env"), (plid, "Name")}, rows
    rows = ec2.describe_tags(Filters=[{"Name": "tag:role", "Values": ["ssh"]}])["Tags"]
    assert {r["Key"] for r in rows} == {"role", "env", "note"} and {r["ResourceId"] for r in rows} == {rid}, rows
    expect_error(ec2.describe_tags, "InvalidParameterValue", 400, Filters=[{"Name": "colour", "Values": ["red"]}])

    # The paginator follows nextToken, 5 at a time, and sees every row once.
    everything = ec2.describe_tags()["Tags"]
    pages = list(ec2.get_paginator("describe_tags").paginate(PaginationConfig={"PageSize": 5}))
    assert len(pages) == (len(everything) + 4) // 5 and len(pages) > 1, pages
    assert [r for p in pages for r in p["Tags"]] == everything, pages
    assert "NextToken" not in pages[-1], pages[-1]
    expect_error(ec2.describe_tags, "InvalidPaginationToken", 400, NextToken="nonsense")

    # DeleteTags: a value that differs, or "" on a non-empty value, deletes nothing.
    ec2.delete_tags(Resources=[gid], Tags=[{"Key": "env", "Value": "prod"}, {"Key": "env", "Value": ""}])
    assert tags_of(ec2, gid) == {"Name": "web", "env": "staging", "note": ""}
    # Value "" deletes an empty value; a key alone deletes it whatever the value.
    ec2.delete_tags(Resources=[gid], Tags=[{"Key": "note", "Value": ""}, {"Key": "env"}])
    assert tags_of(ec2, gid) == {"Name": "web"}
    # A key the resource does not have: no error.
    deleted = ec2.delete_tags(Resources=[gid], Tags=[{"Key": "absent"}])
    assert set(deleted) == {"ResponseMetadata"}, deleted
    # No tags at all: every user tag goes, on each resource given.
    ec2.delete_tags(Resources=[rid, plid])
    assert tags_of(ec2, rid) == {} and tags_of(ec2, plid) == {}

    # Errors: 400 with EC2's codes, no retry, and nothing changed.
    tag = [{"Key": "k", "Value": "v"}]
    for bad, code in [
        ("sg-" + MISSING, "InvalidGroup.NotFound"),
        ("sgr-" + MISSING, "InvalidSecurityGroupRuleId.NotFound"),
        ("pl-" + MISSING, "InvalidPrefixListID.NotFound"),
        ("vpc-" + MISSING, "InvalidVpcID.NotFound"),
        ("i-" + MISSING, "InvalidID"),
        ("sg-nothex", "InvalidID"),
    ]:
        expect_error(ec2.create_tags, code, 400, Resources=[bad], Tags=tag)
        expect_error(ec2.delete_tags, code, 400, Resources=[bad])
    message = expect_error(ec2.create_tags, "InvalidGroup.NotFound", 400, Resources=[gid, "sg-" + MISSING], Tags=tag)
    assert message == f"The security group 'sg-{MISSING}' does not exist", message
    assert tags_of(ec2, gid) == {"Name": "web"}, "all or nothing"
    message = expect_error(ec2.create_tags, "InvalidParameterValue", 400, Resources=[gid], Tags=[{"Key": "aws:owner", "Value": "me"}])
    assert "Tag keys starting with 'aws:' are reserved for internal use" in message, message
    expect_error(ec2.delete_tags, "InvalidParameterValue", 400, Resources=[gid], Tags=[{"Key": "aws:owner"}])
    expect_error(ec2.create_tags, "InvalidParameterValue", 400, Resources=[gid], Tags=[{"Key": "k" * 129, "Value": ""}])
    expect_error(ec2.create_tags, "InvalidParameterValue", 400, Resources=[gid], Tags=[{"Key": "k", "Value": "v" * 257}])
    expect_error(ec2.create_tags, "MissingParameter", 400, Resources=[gid], Tags=[])

    # 50 tags per resource: overwriting at the limit is fine, one more is TagLimitExceeded,
    # and on one resource it fails for all of them.
    fifty = [{"Key": f"k{i:02}", "Value": "v"} for i in range(50)]
    ec2.create_tags(Resources=[plid], Tags=fifty)
    ec2.create_tags(Resources=[plid], Tags=[{"Key": "k00", "Value": "new"}])
    expect_error(ec2.create_tags, "TagLimitExceeded", 400, Resources=[rid, plid], Tags=[{"Key": "more", "Value": ""}])
    assert tags_of(ec2, rid) == {}, "all or nothing"
    expect_error(ec2.create_tags, "TagLimitExceeded", 400, Resources=[rid], Tags=fifty + [{"Key": "k50", "Value": "v"}])
    expect_error(
        ec2.create_security_group,
        "TagLimitExceeded",
        400,
        GroupName="too-many",
        Description="d",
        TagSpecifications=[{"ResourceType": "security-group", "Tags": fifty + [{"Key": "k50", "Value": "v"}]}],
    )

    # DryRun: checked, 412, nothing changed; a read-only key may describe but not tag.
    expect_error(ec2.create_tags, "DryRunOperation", 412, Resources=[rid], Tags=tag, DryRun=True)
    expect_error(ec2.create_tags, "TagLimitExceeded", 400, Resources=[plid], Tags=[{"Key": "x", "Value": ""}], DryRun=True)
    assert tags_of(ec2, rid) == {}
    ro = client("ec2", os.environ["SG_RO_KEY_ID"], os.environ["SG_RO_SECRET"])
    assert tags_of(ro, gid) == {"Name": "web"}
    expect_error(ro.create_tags, "UnauthorizedOperation", 403, Resources=[gid], Tags=tag)
    expect_error(ro.delete_tags, "UnauthorizedOperation", 403, Resources=[gid])

    # What boto3 parsed, for the Rust side to compare with sgctl's JSON.
    ec2.create_tags(Resources=[rid, vpc_id], Tags=[{"Key": "Name", "Value": "x & <y>"}])
    described = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": ids}])
    described.pop("ResponseMetadata")
    out.update(GroupId=gid, RuleId=rid, PrefixListId=plid, VpcId=vpc_id, DescribeTags=described)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
