#!/usr/bin/env python3
"""Seeds the demo accounts on the emulator: a source account with buckets in two regions (a few
objects each, one name too long for `replicated-` in front, one bucket excluded by the config,
one encrypted with SSE-KMS under two keys) and a destination account that already holds a
bucket of its own."""
import json
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


def kms_bucket(account, name, region):
    """A bucket encrypting with SSE-KMS by default (key A, Bucket Keys on), holding objects under
    key A and one under key B: crossrep's `kms = "auto"` replicates them all (SPEC §8)."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    session.events.register(
        "before-send", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
    )
    kms = session.client("kms", endpoint_url=ENDPOINT)
    key_a = kms.create_key(Description="demo key A")["KeyMetadata"]["Arn"]
    key_b = kms.create_key(Description="demo key B")["KeyMetadata"]["Arn"]
    s3 = client(account, region)
    s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_a},
        "BucketKeyEnabled": True}]})
    for i in range(2):
        s3.put_object(Bucket=name, Key=f"data/secret-{i}.txt", Body=f"{name} #{i}".encode(),
                      ServerSideEncryption="aws:kms", SSEKMSKeyId=key_a)
    s3.put_object(Bucket=name, Key="data/secret-b.txt", Body=b"under key B",
                  ServerSideEncryption="aws:kms", SSEKMSKeyId=key_b)


def admin_role(account):
    """The role crossrep assumes in each account, as AWS Organizations creates it in a member
    (administrator access): with it the plan's preflight simulates crossrep's permissions."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    session.events.register(
        "before-send", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
    )
    iam = session.client("iam", endpoint_url=ENDPOINT)
    iam.create_role(RoleName="OrganizationAccountAccessRole", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}]}))
    iam.put_role_policy(RoleName="OrganizationAccountAccessRole", PolicyName="AdministratorAccess",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))


for account in (SOURCE, DEST):
    admin_role(account)
for name, region in [
    ("acme-invoices", "us-east-1"),
    ("acme-web-assets", "us-east-1"),
    ("acme-analytics-eu", "eu-west-1"),
    ("acme-customer-uploads-with-a-rather-long-descriptive-name", "eu-west-1"),
    ("acme-access-logs", "us-east-1"),
]:
    bucket(SOURCE, name, region)
kms_bucket(SOURCE, "acme-payroll-kms", "us-east-1")
bucket(DEST, "backup-team-scratch", "us-west-2", objects=1)
print("seeded 6 source buckets (111111111111; one SSE-KMS under two keys) and 1 destination bucket (222222222222)", file=sys.stderr)
