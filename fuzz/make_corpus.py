#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target under fuzz/corpus/<target>/.

A handful of real, small inputs each: the fuzzer starts from them, and `cargo xtask fuzz`
copies them into a scratch corpus so these stay as written. Run it again after changing a
seed here (`python3 fuzz/make_corpus.py`): it writes fuzz/corpus/ anew. (Crashing inputs are
kept apart, under fuzz/regressions/.)
"""

import pathlib
import shutil
import struct

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
SIGV4 = HERE.parent / "sg-userspace/src/ec2/testdata/sigv4"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data.encode() if isinstance(data, str) else data)


# --- packet_parse: frames as they reach the datapath ------------------------------------

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def eth(ether_type, payload, tags=()):
    """Ethernet; `tags` are (TPID, VID) pairs, outermost first."""
    out = MAC_B + MAC_A
    for tpid, vid in tags:
        out += struct.pack("!HH", tpid, vid)
    return out + struct.pack("!H", ether_type) + payload


def ipv4(proto, payload, src="10.0.0.1", dst="10.0.0.2", options=b"", frag=0, ident=0x1234):
    ihl = 5 + len(options) // 4
    total = ihl * 4 + len(payload)
    addr = lambda a: bytes(int(x) for x in a.split("."))
    return (
        struct.pack("!BBHHHBBH", 0x40 | ihl, 0, total, ident, frag, 64, proto, 0)
        + addr(src)
        + addr(dst)
        + options
        + payload
    )


def v6addr(a):
    import ipaddress

    return ipaddress.IPv6Address(a).packed


def ipv6(next_hdr, payload, src="fd00::1", dst="fd00::2", hop=64):
    return (
        struct.pack("!IHBB", 6 << 28, len(payload), next_hdr, hop)
        + v6addr(src)
        + v6addr(dst)
        + payload
    )


def tcp(sport, dport, flags, options=b"", payload=b"", seq=1000, ack=0, win=64240):
    doff = (20 + len(options)) // 4
    return (
        struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, win, 0, 0)
        + options
        + payload
    )


def udp(sport, dport, payload=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(t, code, ident=0x77, seqno=1, payload=b"ping"):
    return struct.pack("!BBHHH", t, code, 0, ident, seqno) + payload


SYN, ACK, PSH = 0x02, 0x10, 0x08
# MSS 1460, SACK permitted, timestamps, NOP, window scale 7: what Linux sends.
SYN_OPTIONS = (
    bytes([2, 4, 0x05, 0xB4, 4, 2, 8, 10])
    + struct.pack("!II", 1, 0)
    + bytes([1, 3, 3, 7])
)


def packets():
    yield "eth-ipv4-tcp-syn-options", eth(0x0800, ipv4(6, tcp(40000, 22, SYN, SYN_OPTIONS)))
    yield "eth-ipv4-options-udp-dns", eth(
        0x0800, ipv4(17, udp(5353, 53, b"\x12\x34\x01\x00"), options=bytes([0x94, 4, 0, 0]))
    )
    yield "eth-vlan-ipv4-icmp-echo", eth(0x0800, ipv4(1, icmp(8, 0)), tags=[(0x8100, 10)])
    yield "eth-qinq-ipv6-tcp-ack-data", eth(
        0x86DD,
        ipv6(6, tcp(443, 40000, ACK | PSH, payload=b"hello", ack=5000)),
        tags=[(0x88A8, 100), (0x8100, 10)],
    )
    # Hop-by-hop (PadN), routing (type 0 segments left 0), fragment (first, more), UDP.
    hbh = bytes([43, 0, 1, 4, 0, 0, 0, 0])
    routing = bytes([44, 0, 0, 0, 0, 0, 0, 0])
    frag_first = bytes([17, 0]) + struct.pack("!HI", 0x0001, 0xABCD)
    yield "eth-ipv6-ext-frag-first-udp", eth(
        0x86DD, ipv6(0, hbh + routing + frag_first + udp(5000, 53, b"q"))
    )
    frag_later = bytes([17, 0]) + struct.pack("!HI", 185 << 3, 0xABCD)
    yield "eth-ipv6-frag-later", eth(0x86DD, ipv6(44, frag_later + b"more data"))
    yield "eth-ipv4-frag-later", eth(0x0800, ipv4(17, b"later data", frag=0x00B9))
    # Authentication header (length 4: 24 bytes) before TCP.
    ah = bytes([6, 4, 0, 0]) + bytes(20)
    yield "eth-ipv6-ah-tcp-syn", eth(0x86DD, ipv6(51, ah + tcp(40000, 80, SYN, SYN_OPTIONS)))
    # Neighbour solicitation for fd00::2 from a link-local address, as the kernel sends it.
    ns = struct.pack("!BBHI", 135, 0, 0, 0) + v6addr("fd00::2") + bytes([1, 1]) + MAC_A
    yield "eth-ipv6-icmpv6-neighbour-solicitation", eth(
        0x86DD, ipv6(58, ns, src="fe80::1", dst="ff02::1:ff00:2", hop=255)
    )
    yield "eth-ipv6-icmpv6-echo", eth(0x86DD, ipv6(58, icmp(128, 0)))
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + MAC_A + bytes(4) + bytes(6) + bytes(4)
    yield "eth-arp", eth(0x0806, arp)
    # Devices without Ethernet (tun, wireguard): the IP header first.
    yield "ip-ipv4-tcp-rst", ipv4(6, tcp(22, 40000, 0x04))
    yield "ip-ipv6-udp", ipv6(17, udp(4500, 4500, b"wg"))


# --- cli_shorthand: option values in the AWS CLI's shorthand ------------------------------

SHORTHAND = {
    "ip-permission": "IpProtocol=tcp,FromPort=22,ToPort=22,"
    'IpRanges=[{CidrIp=10.0.0.0/8,Description="ssh from the office"}]',
    "filter-list": "Name=vpc-id,Values=vpc-1,vpc-2",
    "tag-specification": "ResourceType=security-group,Tags=[{Key=Name,Value=web},{Key=env,Value=prod}]",
    "rule-update": "SecurityGroupRuleId=sgr-0123456789abcdef0,"
    "SecurityGroupRule={IpProtocol=tcp,FromPort=443,ToPort=443,CidrIpv4=0.0.0.0/0}",
    "quoting": "Key='a, quoted value',Value=\"say \\\"hi\\\"\",Other=a\\,b ,Empty=",
    "conntrack": "TcpEstablishedTimeout=3600,UdpStreamTimeout=120,UdpTimeout=30",
    "nested-empty": "A=[],B={},C=[[x],{k=[v]}]",
}


# --- cli_args: sgctl command lines, one argument per line ------------------------------------

CLI = {
    "authorize-port-cidr": [
        "authorize-security-group-ingress", "--group-id", "sg-0123456789abcdef0",
        "--protocol", "tcp", "--port", "8000-8100", "--cidr", "10.0.0.0/8",
    ],
    "authorize-shorthand": [
        "authorize-security-group-egress", "--group-name", "web", "--ip-permissions",
        "IpProtocol=udp,FromPort=53,ToPort=53,Ipv6Ranges=[{CidrIpv6=::/0}]",
        "IpProtocol=icmp,FromPort=8,ToPort=-1,UserIdGroupPairs=[{GroupId=sg-0123456789abcdef0}]",
    ],
    "describe-filters": [
        "describe-security-groups", "--filters", "Name=group-name,Values=web,db",
        "Name=ip-permission.from-port,Values=22", "--output", "table",
    ],
    "create-with-tags": [
        "create-security-group", "--group-name", "web", "--description", "web servers",
        "--vpc-id", "vpc-0123456789abcdef0", "--tag-specifications",
        "ResourceType=security-group,Tags=[{Key=Name,Value=web}]",
    ],
    "modify-interface": [
        "modify-network-interface-attribute", "--network-interface-id", "eth0",
        "--connection-tracking-specification",
        "TcpEstablishedTimeout=3600,UdpStreamTimeout=120,UdpTimeout=30",
        "--groups", "sg-0123456789abcdef0", "sg-0123456789abcdef1",
    ],
    "skeleton": ["modify-security-group-rules", "--generate-cli-skeleton"],
}

CLI_WITH_FILE = {
    "revoke-json-file": (
        ["revoke-security-group-ingress", "--group-id", "sg-0123456789abcdef0",
         "--ip-permissions", "file://perms.json"],
        '[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,'
        ' "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]',
    ),
    "cli-input-json": (
        ["modify-security-group-rules", "--cli-input-json", "file://input.json"],
        '{"GroupId": "sg-0123456789abcdef0", "SecurityGroupRules": [{"SecurityGroupRuleId":'
        ' "sgr-0123456789abcdef0", "SecurityGroupRule": {"IpProtocol": "-1",'
        ' "CidrIpv4": "10.0.0.0/8", "Description": "all from 10/8"}}]}',
    ),
    "import": (
        ["import", "groups.json"],
        '{"SecurityGroups": [{"GroupId": "sg-0123456789abcdef0", "GroupName": "web",'
        ' "Description": "web", "VpcId": "vpc-0123456789abcdef0", "IpPermissions":'
        ' [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,'
        ' "UserIdGroupPairs": [{"GroupId": "sg-0fedcba9876543210"}]}]}]}',
    ),
}


# --- api_request: request lines on the Unix socket, as sgctl sent them ---------------------

# Captured from sgctl (a listener on --socket that answers {"Ok":null}): create-security-group,
# authorize-security-group-ingress with shorthand, describe-security-groups --filters,
# create-default-vpc, modify-network-interface-attribute, create-flow-logs, explain, import.
API = {
    'create-security-group': '{"Action":"CreateSecurityGroup","GroupName":"web","Description":"web servers","VpcId":"vpc-0123456789abcdef0","TagSpecifications":[],"CopyFromGroupId":null}',
    'authorize': '{"Action":"AuthorizeSecurityGroupIngress","GroupId":"sg-0123456789abcdef0","GroupName":null,"IpPermissions":[{"FromPort":22,"IpProtocol":"tcp","IpRanges":[{"CidrIp":"10.0.0.0/8","Description":"ssh"}],"Ipv6Ranges":[],"PrefixListIds":[],"ToPort":22,"UserIdGroupPairs":[{"GroupId":"sg-0fedcba9876543210"}]}],"SecurityGroupRuleIds":[],"TagSpecifications":[]}',
    'describe-filters': '{"Action":"DescribeSecurityGroups","GroupIds":[],"GroupNames":[],"Filters":[{"Name":"tag:Name","Values":["web*"]}]}',
    'create-default-vpc': '{"Action":"CreateDefaultVpc"}',
    'modify-interface': '{"Action":"ModifyNetworkInterfaceAttribute","NetworkInterfaceId":"eth0","Groups":["sg-0123456789abcdef0"],"ConnectionTrackingSpecification":{"TcpEstablishedTimeout":3600,"UdpStreamTimeout":null,"UdpTimeout":null},"SourceDestCheck":null,"EnforcementMode":"audit"}',
    'create-flow-logs': '{"Action":"CreateFlowLogs","ResourceIds":["eth0"],"ResourceType":"NetworkInterface","TrafficType":"ALL","LogDestinationType":"file","LogDestination":"/var/log/sgd/eth0.log","LogFormat":null,"MaxAggregationInterval":60,"LogGroupName":null,"DeliverLogsPermissionArn":null,"DeliverCrossAccountRole":null,"TagSpecifications":[],"ClientToken":null}',
    'explain': '{"Action":"Explain","NetworkInterfaceId":"eth0","Direction":"ingress","Protocol":"tcp","Peer":"10.0.0.9","Port":22,"SourcePort":null,"IcmpType":null,"IcmpCode":null,"LocalAddress":null}',
    'import': '{"Action":"ImportSecurityGroups","SecurityGroups":[{"GroupId":"sg-0123456789abcdef0","GroupName":"web","Description":"web","OwnerId":null,"VpcId":null,"IpPermissions":[],"IpPermissionsEgress":[{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}],"Ipv6Ranges":[],"PrefixListIds":[],"UserIdGroupPairs":[]}],"Tags":[{"Key":"Name","Value":"web"}],"SecurityGroupArn":null}]}',
}


# --- ec2_form: query string, newline, form body ---------------------------------------------

# Bodies as awscli 1.46.3 sent them (to a listener that logged them), for: authorize with
# ranges and a group pair, describe with filters and MaxResults, create with tags and
# DryRun, modify-security-group-rules, create-managed-prefix-list, create-network-interface;
# and a GET with the parameters in the query string, and STS.
EC2 = {
    'authorize': "\n"
    'Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupId=sg-0123456789abcdef0&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0%2F8&IpPermissions.1.IpRanges.1.Description=ssh+from+the+office&IpPermissions.1.Groups.1.GroupId=sg-0fedcba9876543210',
    'describe-groups': "\n"
    'Action=DescribeSecurityGroups&Version=2016-11-15&MaxResults=5&Filter.1.Name=group-name&Filter.1.Value.1=web&Filter.1.Value.2=db',
    'create-tagged-dry-run': "\n"
    'Action=CreateSecurityGroup&Version=2016-11-15&GroupDescription=web+servers&GroupName=web&TagSpecification.1.ResourceType=security-group&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=web&DryRun=true',
    'modify-rules': "\n"
    'Action=ModifySecurityGroupRules&Version=2016-11-15&GroupId=sg-0123456789abcdef0&SecurityGroupRule.1.SecurityGroupRuleId=sgr-0123456789abcdef0&SecurityGroupRule.1.SecurityGroupRule.IpProtocol=udp&SecurityGroupRule.1.SecurityGroupRule.FromPort=53&SecurityGroupRule.1.SecurityGroupRule.ToPort=53&SecurityGroupRule.1.SecurityGroupRule.CidrIpv6=%3A%3A%2F0',
    'create-prefix-list': "\n"
    'Action=CreateManagedPrefixList&Version=2016-11-15&PrefixListName=office&Entry.1.Cidr=203.0.113.0%2F24&Entry.1.Description=office&MaxEntries=5&AddressFamily=IPv4&ClientToken=5f90a3af-4e18-407f-bbdf-33c9daa6242b',
    'create-network-interface': "\n"
    'Action=CreateNetworkInterface&Version=2016-11-15&TagSpecification.1.ResourceType=network-interface&TagSpecification.1.Tag.1.Key=sgd%3Adevice&TagSpecification.1.Tag.1.Value=eth1&SubnetId=subnet-0123456789abcdef0&PrivateIpAddress=10.0.0.5&SecurityGroupId.1=sg-0123456789abcdef0&ClientToken=c0387baa-45c7-43db-a151-d5b07d4f8188',
    "query-get": "Action=DescribeVpcs&Version=2016-11-15&VpcId.1=vpc-0123456789abcdef0"
    "&X-Amz-Algorithm=AWS4-HMAC-SHA256\n",
    "sts": "\nAction=GetCallerIdentity&Version=2011-06-15",
}


# --- model_ops: one byte per choice (see fuzz_targets/model_ops.rs) ---------------------------

# Operation numbers, as `step` reads them.
CREATE_VPC, CREATE_GROUP, AUTHORIZE, CREATE_IFACE, FLOW_LOG, RESTART = 0, 3, 5, 14, 18, 22
DELETE_GROUP, PREFIX_LIST, TAGS, IMPORT, DESCRIBE, DELETE_VPC = 4, 9, 12, 20, 21, 2

MODEL = {
    # A dual-stack VPC, a group in it, SSH from 10/8, a host-mode interface, a flow log of it.
    "vpc-group-rule-interface-flowlog": [
        CREATE_VPC, 0, 1, 0, 0,
        CREATE_GROUP, 0, 0, 1, 1, 0, 0,
        AUTHORIZE, 0, 0, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0,
        CREATE_IFACE, 0, 2, 1, 0, 1, 1, 0, 0, 1,
        FLOW_LOG, 1, 0, 0, 0, 0, 0, 0, 0,
        RESTART,
    ],
    # A prefix list, rules naming it and a group, tags, a describe, deletes that must fail.
    "prefix-list-references": [
        PREFIX_LIST, 1, 2, 0, 2, 0, 1, 1, 0, 2, 0,
        AUTHORIZE, 1, 0, 0, 0, 1, 0, 2, 2, 0, 3, 0, 0, 0,
        TAGS, 0, 0, 0, 1, 1, 0, 0,
        DESCRIBE, 0, 0, 0, 1, 0, 1, 0,
        DELETE_GROUP, 0, 0,
        RESTART,
    ],
    # An import with a stale reference, a second VPC deleted again, a restart.
    "import-and-delete-vpc": [
        IMPORT, 0, 0, 0, 1, 1, 1, 0, 0, 2, 1, 0, 0, 0, 0,
        CREATE_VPC, 1, 0, 1, 0,
        DELETE_VPC, 2,
        RESTART,
    ],
}


def main():
    for name, frame in packets():
        write("packet_parse", name, frame)
    for name, text in SHORTHAND.items():
        write("cli_shorthand", name, text)
    for name, args in CLI.items():
        write("cli_args", name, "\n".join(args))
    for name, (args, file) in CLI_WITH_FILE.items():
        write("cli_args", name, "\n".join(args) + "\n@@FILE@@\n" + file)
    for name, line in API.items():
        write("api_request", name, line)
    for name, text in EC2.items():
        write("ec2_form", name, text)
    for name, choices in MODEL.items():
        write("model_ops", name, bytes(choices))
    # Requests as botocore signed them, and some of AWS's SigV4 test suite.
    for f in sorted((SIGV4 / "botocore").glob("*.sreq")):
        write("ec2_sigv4", f.stem, f.read_bytes())
    for name in ["get-vanilla", "get-header-value-trim", "post-x-www-form-urlencoded"]:
        f = SIGV4 / "aws-sig-v4-test-suite" / name / f"{name}.sreq"
        write("ec2_sigv4", name, f.read_bytes())


if __name__ == "__main__":
    for d in CORPUS.glob("*"):
        if d.is_dir():
            shutil.rmtree(d)
    main()
