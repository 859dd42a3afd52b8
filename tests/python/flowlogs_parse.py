"""Reads sgd's flow-log files with flowlogs-reader, a parser of AWS VPC Flow Logs from PyPI,
as it reads AWS's plain-text files on S3: the first line names the fields, each record is
one line. Prints what the parser understood of every record, as JSON, for
tests/tests/flow_logs.rs to compare with the records it read itself.

Usage: flowlogs_parse.py FILE...
"""

import csv
import json
import sys

from flowlogs_reader import FlowRecord

# The fields flowlogs-reader knows (versions 2 to 5); it ignores the others.
FIELDS = [
    "version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport",
    "protocol", "packets", "bytes", "start", "end", "action", "log_status", "vpc_id",
    "tcp_flags", "type", "pkt_srcaddr", "pkt_dstaddr", "region", "flow_direction",
]


def value(v):
    # Times become datetimes (UTC): back to Unix seconds.
    if hasattr(v, "timestamp"):
        return int(v.replace(tzinfo=__import__("datetime").timezone.utc).timestamp())
    return v


out = []
for path in sys.argv[1:]:
    with open(path) as f:
        reader = csv.DictReader(f, delimiter=" ")
        names = list(reader.fieldnames)
        reader.fieldnames = [n.replace("-", "_") for n in names]
        for row in reader:
            r = FlowRecord(row)
            out.append({k: value(getattr(r, k)) for k in FIELDS if k.replace("_", "-") in names})
print(json.dumps(out))
