#!/usr/bin/env python3
"""Seeds the demo accounts on the emulator: a source account with buckets in two regions (a few
objects each, one name too long for `replicated-` in front, one bucket excluded by the config)
and a destination account that already holds a bucket of its own."""
import sys

import boto3
from botocore.config import Config

ENDPOINT = sys.argv[1]
SOURCE, DEST = "111111111111", "222222222222"


def client(account, region):
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    session.events.register(
        "before-send", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
    )
    return session.client("s3", endpoint_url=ENDPOINT, config=Config(s3={"addressing_style": "path"}))


def bucket(account, name, region, objects=3):
    s3 = client(account, region)
    extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **extra)
    for i in range(objects):
        s3.put_object(Bucket=name, Key=f"data/object-{i}.txt", Body=f"{name} #{i}".encode())


for name, region in [
    ("acme-invoices", "us-east-1"),
    ("acme-web-assets", "us-east-1"),
    ("acme-analytics-eu", "eu-west-1"),
    ("acme-customer-uploads-with-a-rather-long-descriptive-name", "eu-west-1"),
    ("acme-access-logs", "us-east-1"),
]:
    bucket(SOURCE, name, region)
bucket(DEST, "backup-team-scratch", "us-west-2", objects=1)
print("seeded 5 source buckets (111111111111) and 1 destination bucket (222222222222)", file=sys.stderr)
