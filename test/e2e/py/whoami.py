"""Ask STS who the caller is, with boto3's default credential chain.

irsa's end-to-end tests run this with AWS_ROLE_ARN and
AWS_WEB_IDENTITY_TOKEN_FILE set, so the credentials come from botocore's web
identity provider (AssumeRoleWithWebIdentity). It prints one JSON object: the
GetCallerIdentity result with the credentials that signed it, or the error
botocore raised.
"""

import json
import sys

import boto3
from botocore.exceptions import ClientError


def main():
    session = boto3.session.Session()
    try:
        ident = session.client("sts").get_caller_identity()
        creds = session.get_credentials().get_frozen_credentials()
    except ClientError as err:
        body = err.response.get("Error", {})
        print(json.dumps({"error": {
            "code": body.get("Code", ""),
            # botocore raises a modeled exception class when the service
            # model knows the code, a plain ClientError otherwise.
            "name": body.get("Code", "") if type(err) is ClientError else type(err).__name__,
            "operation": err.operation_name,
            "message": body.get("Message", ""),
        }}))
        return 2
    print(json.dumps({
        "Arn": ident["Arn"],
        "Account": ident["Account"],
        "UserId": ident["UserId"],
        "AccessKeyId": creds.access_key,
        "SecretAccessKey": creds.secret_key,
        "SessionToken": creds.token,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
