"""Authorizes inbound TCP on one port from one CIDR through boto3 (issue 14, end to end):
`boto3_authorize.py GROUP_ID PORT CIDR [CA_BUNDLE]`. With CA_BUNDLE the endpoint is HTTPS
and its certificate must verify against that file. Prints the new rule's id.

Run by tests/tests/ec2_api.rs with SG_ENDPOINT, SG_KEY_ID, SG_SECRET and SG_REGION set.
"""

import sys

from sgapi import client

group_id, port, cidr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ec2 = client(verify=sys.argv[4] if len(sys.argv) > 4 else None)
out = ec2.authorize_security_group_ingress(
    GroupId=group_id,
    IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}
    ],
)
assert out["Return"] is True, out
print(out["SecurityGroupRules"][0]["SecurityGroupRuleId"])
