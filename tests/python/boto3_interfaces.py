"""Protects interfaces through boto3's CreateNetworkInterface (issue 14), as an EC2 client
sends it: `boto3_interfaces.py GROUP_ID DEVICE_A DEVICE_B`. The device is named by the tag
`sgd:device`, the VPC by its one subnet (`subnet-` and the VPC id's digits). DEVICE_A gets
GROUP_ID; DEVICE_B is created without groups (the VPC's default group, as on EC2), twice
with one ClientToken (one interface, the same answer), then moved to GROUP_ID. Checks the
outputs and the refusals, and prints "ok".

Run by tests/tests/ec2_api.rs with SG_ENDPOINT, SG_KEY_ID, SG_SECRET and SG_REGION set.
"""

import sys

from sgapi import client, expect_error

group_id, dev_a, dev_b = sys.argv[1], sys.argv[2], sys.argv[3]
ec2 = client()
vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
subnet = "subnet-" + vpc["VpcId"][len("vpc-"):]


def device(name):
    return [{"ResourceType": "network-interface", "Tags": [{"Key": "sgd:device", "Value": name}]}]


# Refusals first: each changes nothing.
expect_error(ec2.create_network_interface, "InvalidSubnetID.NotFound", 400,
             SubnetId="subnet-00000000000000000", TagSpecifications=device(dev_a))
expect_error(ec2.create_network_interface, "InvalidParameterValue", 400, SubnetId=subnet,
             TagSpecifications=[{"ResourceType": "network-interface",
                                 "Tags": [{"Key": "Name", "Value": "web"}]}])
expect_error(ec2.create_network_interface, "DryRunOperation", 412, SubnetId=subnet,
             Groups=[group_id], TagSpecifications=device(dev_a), DryRun=True)
assert ec2.describe_network_interfaces()["NetworkInterfaces"] == [], "nothing created yet"

ni = ec2.create_network_interface(
    SubnetId=subnet, Groups=[group_id], Description="peer a", TagSpecifications=device(dev_a)
)["NetworkInterface"]
assert ni["NetworkInterfaceId"] == dev_a, ni
assert ni["SubnetId"] == subnet and ni["VpcId"] == vpc["VpcId"], ni
assert ni["Description"] == "peer a", ni
assert [g["GroupId"] for g in ni["Groups"]] == [group_id], ni
assert ni["Status"] == "in-use", ni

token = "sgd-test-token-b"
first = ec2.create_network_interface(
    SubnetId=subnet, TagSpecifications=device(dev_b), ClientToken=token
)["NetworkInterface"]
again = ec2.create_network_interface(
    SubnetId=subnet, TagSpecifications=device(dev_b), ClientToken=token
)["NetworkInterface"]
assert again["NetworkInterfaceId"] == first["NetworkInterfaceId"] == dev_b, (first, again)
default = ec2.describe_security_groups(
    Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "group-name", "Values": ["default"]}]
)["SecurityGroups"][0]["GroupId"]
assert [g["GroupId"] for g in first["Groups"]] == [default], first
ec2.modify_network_interface_attribute(NetworkInterfaceId=dev_b, Groups=[group_id])

described = ec2.describe_network_interfaces(NetworkInterfaceIds=[dev_a, dev_b])["NetworkInterfaces"]
assert sorted(n["NetworkInterfaceId"] for n in described) == sorted([dev_a, dev_b]), described
assert all([g["GroupId"] for g in n["Groups"]] == [group_id] for n in described), described
assert all(n["SubnetId"] == subnet for n in described), described
print("ok")
