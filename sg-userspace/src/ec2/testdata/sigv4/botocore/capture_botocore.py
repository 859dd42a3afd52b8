"""Regenerates the botocore-signed request vectors in this directory.

Usage: python3 -m venv /tmp/v && /tmp/v/bin/pip install botocore && /tmp/v/bin/python capture_botocore.py

Each request is built by a real botocore client pointed at http://127.0.0.1:5055 with a fixed
clock (2026-12-06T10:30:00Z) and test credentials, and stopped before it is sent. For each one
this writes NAME.sreq (the request as sent: urllib3 adds the Host header first, the other
headers follow in botocore's order), and NAME.creq / NAME.sts (the canonical request and string
to sign from botocore's debug log).
"""
import contextlib
import datetime
import io
import logging
import os
import re

import botocore
import botocore.auth
import botocore.config
import botocore.session
from botocore.awsrequest import AWSResponse

FIXED = datetime.datetime(2026, 12, 6, 10, 30, 0)
AKID = 'AKIDSGDTEST0000EXAMP'
SECRET = 'sgdTestSecretKey/0123456789+abcdefghijKL'
HERE = os.path.dirname(os.path.abspath(__file__))

botocore.auth.get_current_datetime = lambda remove_tzinfo=True: FIXED


class _NoBody:
    def stream(self, *args, **kwargs):
        return iter([])


def capture(service, operation, params, token=None):
    sent = []

    def before_send(request, **kwargs):
        sent.append(request)
        return AWSResponse(request.url, 599, {}, _NoBody())

    session = botocore.session.get_session()
    session.set_credentials(AKID, SECRET, token)
    client = session.create_client(
        service, region_name='us-east-1', endpoint_url='http://127.0.0.1:5055',
        config=botocore.config.Config(retries={'max_attempts': 1}))
    client.meta.events.register('before-send', before_send)
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    logger = logging.getLogger('botocore.auth')
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    with contextlib.suppress(Exception):
        getattr(client, operation)(**params)
    logger.removeHandler(handler)
    request = sent[0]
    creq, sts, signature = re.search(
        r'CanonicalRequest:\n(.*?)\nStringToSign:\n(.*?)\nSignature:\n([0-9a-f]{64})',
        log.getvalue(), re.S).groups()
    lines = [f'{request.method} / HTTP/1.1', 'Host:127.0.0.1:5055']
    for name, value in request.headers.items():
        lines.append(f"{name}:{value.decode() if isinstance(value, bytes) else value}")
    body = request.body if isinstance(request.body, bytes) else (request.body or '').encode()
    sreq = '\n'.join(lines) + '\n\n' + body.decode()
    assert signature in sreq
    return sreq, creq, sts


VECTORS = {
    'botocore-ec2-describe-security-groups': (
        'ec2', 'describe_security_groups',
        {'GroupIds': ['sg-0123456789abcdef0'], 'DryRun': True}, None),
    'botocore-ec2-create-security-group-utf8': (
        'ec2', 'create_security_group',
        {'GroupName': 'web & api', 'Description': 'caf\u00e9 ~ 100% & more',
         'VpcId': 'vpc-0a1b2c3d'}, None),
    'botocore-sts-get-caller-identity-token': (
        'sts', 'get_caller_identity', {}, 'FQoGZXIvYXdzEXAMPLEsessiontoken+/=='),
}

if __name__ == '__main__':
    for name, (service, operation, params, token) in VECTORS.items():
        for ext, text in zip(('sreq', 'creq', 'sts'), capture(service, operation, params, token)):
            with open(os.path.join(HERE, f'{name}.{ext}'), 'w', encoding='utf-8') as f:
                f.write(text)
        print(name, botocore.__version__)
