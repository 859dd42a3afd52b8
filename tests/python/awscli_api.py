"""The AWS CLI (v1, pinned) against sgd's EC2 Query API (issue 14): a group's lifecycle as
a user types it, checking stdout JSON, the stderr error line and the exit status.

Run by tests/tests/ec2_api.rs inside the test's network namespace with SG_ENDPOINT,
SG_KEY_ID, SG_SECRET and SG_REGION set; `aws` is the one beside this Python.
Exits non-zero on the first failed expectation.
"""

import json
import os
import subprocess
import sys

AWS = os.path.join(os.path.dirname(sys.executable), "aws")
ENV = dict(
    os.environ,
    AWS_ACCESS_KEY_ID=os.environ["SG_KEY_ID"],
    AWS_SECRET_ACCESS_KEY=os.environ["SG_SECRET"],
    AWS_DEFAULT_REGION=os.environ["SG_REGION"],
    AWS_CONFIG_FILE="/dev/null",
    AWS_SHARED_CREDENTIALS_FILE="/dev/null",
)


def aws(*args, env=ENV):
    return subprocess.run(
        [AWS, "--endpoint-url", os.environ["SG_ENDPOINT"], "ec2", *args],
        env=env,
        capture_output=True,
        text=True,
    )


def ok(*args):
    r = aws(*args)
    assert r.returncode == 0, f"aws ec2 {' '.join(args)}: {r.returncode}\n{r.stderr}"
    return json.loads(r.stdout) if r.stdout.strip() else None


def fails(code, operation, *args, env=ENV):
    r = aws(*args, env=env)
    assert r.returncode == 255, f"aws ec2 {' '.join(args)}: exit {r.returncode}\n{r.stdout}{r.stderr}"
    line = r.stderr.strip().splitlines()[-1]
    prefix = f"An error occurred ({code}) when calling the {operation} operation: "
    assert line.startswith(prefix), f"{line!r} does not start with {prefix!r}"
    return line[len(prefix):]


def main():
    gid = ok("create-security-group", "--group-name", "cli", "--description", "from the cli")["GroupId"]
    assert gid.startswith("sg-"), gid
    group = ok("describe-security-groups", "--group-ids", gid)["SecurityGroups"][0]
    assert group["GroupName"] == "cli" and group["Description"] == "from the cli", group

    auth = ok(
        "authorize-security-group-ingress",
        "--group-id", gid, "--protocol", "tcp", "--port", "22", "--cidr", "203.0.113.0/24",
    )
    assert auth["Return"] is True, auth
    rule = auth["SecurityGroupRules"][0]
    assert rule["CidrIpv4"] == "203.0.113.0/24" and rule["FromPort"] == 22, rule

    rules = ok("describe-security-group-rules", "--filters", f"Name=group-id,Values={gid}")
    assert rule["SecurityGroupRuleId"] in {r["SecurityGroupRuleId"] for r in rules["SecurityGroupRules"]}

    # CreateTags and DeleteTags have no output shape: the CLI prints nothing (sgctl neither).
    for args in (
        ["create-tags", "--resources", gid, "--tags", "Key=env,Value=prod", "Key=note,Value="],
        ["delete-tags", "--resources", gid, "--tags", "Key=env"],
    ):
        r = aws(*args)
        assert r.returncode == 0 and r.stdout == "", (args, r.returncode, r.stdout, r.stderr)
    tags = ok("describe-tags", "--filters", f"Name=resource-id,Values={gid}")["Tags"]
    assert tags == [{"Key": "note", "ResourceId": gid, "ResourceType": "security-group", "Value": ""}], tags
    msg = fails("InvalidGroup.NotFound", "CreateTags", "create-tags", "--resources", "sg-0123456789abcdef0", "--tags", "Key=k")
    assert msg == "The security group 'sg-0123456789abcdef0' does not exist", msg

    msg = fails("DryRunOperation", "DeleteSecurityGroup", "delete-security-group", "--group-id", gid, "--dry-run")
    assert msg == "Request would have succeeded, but DryRun flag is set.", msg

    # Paged describes: with --page-size the CLI sends MaxResults and follows nextToken to
    # the end; with --no-paginate (and the raw --max-results) it shows sgd's first page and
    # its token as they are.
    for i in range(6):
        ok("create-security-group", "--group-name", f"page{i}", "--description", "paging")
    everything = ok("describe-security-groups")["SecurityGroups"]
    assert len(everything) >= 8, len(everything)
    paged = ok("describe-security-groups", "--page-size", "5")["SecurityGroups"]
    assert [g["GroupId"] for g in paged] == [g["GroupId"] for g in everything], "all pages"
    first = ok("describe-security-groups", "--max-results", "5", "--no-paginate")
    assert len(first["SecurityGroups"]) == 5 and first.get("NextToken"), first.keys()
    cut = ok("describe-security-groups", "--max-items", "2")
    assert len(cut["SecurityGroups"]) == 2, cut

    revoked = ok("revoke-security-group-ingress", "--group-id", gid, "--security-group-rule-ids", rule["SecurityGroupRuleId"])
    assert revoked["Return"] is True, revoked
    assert ok("delete-security-group", "--group-id", gid) in (None, {"Return": True, "GroupId": gid}), "deleted"
    msg = fails("InvalidGroup.NotFound", "DescribeSecurityGroups", "describe-security-groups", "--group-ids", gid)
    assert gid in msg, msg

    wrong = dict(ENV, AWS_SECRET_ACCESS_KEY="x" * 40)
    fails("AuthFailure", "DescribeSecurityGroups", "describe-security-groups", env=wrong)
    print(json.dumps({"GroupId": gid}))


if __name__ == "__main__":
    main()
