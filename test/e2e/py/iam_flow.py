"""Register an OIDC provider and a role trusting it, with boto3's IAM client.

irsa's end-to-end tests run this with the account's root credentials
(AWS_SHARED_CREDENTIALS_FILE) and AWS_ENDPOINT_URL pointing at irsa. The one
argument is a JSON file: {"providerUrl", "clientIds", "roleName",
"trustPolicy", "policyName", "policy", "simulate": {"actions", "resource"}}.
It prints one JSON object with what each call answered, or the error.
"""

import json
import sys

import boto3
from botocore.exceptions import ClientError


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    iam = boto3.session.Session().client("iam")
    out = {}
    try:
        created = iam.create_open_id_connect_provider(
            Url=spec["providerUrl"], ClientIDList=spec["clientIds"])
        out["providerArn"] = created["OpenIDConnectProviderArn"]
        role = iam.create_role(
            RoleName=spec["roleName"],
            AssumeRolePolicyDocument=json.dumps(spec["trustPolicy"]))
        out["createdRoleArn"] = role["Role"]["Arn"]
        iam.put_role_policy(
            RoleName=spec["roleName"], PolicyName=spec["policyName"],
            PolicyDocument=json.dumps(spec["policy"]))
        sim = iam.simulate_principal_policy(
            PolicySourceArn=role["Role"]["Arn"],
            ActionNames=spec["simulate"]["actions"],
            ResourceArns=[spec["simulate"]["resource"]])
        out["decisions"] = {r["EvalActionName"]: r["EvalDecision"]
                            for r in sim["EvaluationResults"]}
        got = iam.get_role(RoleName=spec["roleName"])["Role"]
        out["role"] = {
            "Arn": got["Arn"],
            "RoleName": got["RoleName"],
            "Path": got["Path"],
            "MaxSessionDuration": got["MaxSessionDuration"],
            # botocore decodes the URL-encoded document into a dict.
            "AssumeRolePolicyDocument": got["AssumeRolePolicyDocument"],
        }
        inline = iam.get_role_policy(RoleName=spec["roleName"],
                                     PolicyName=spec["policyName"])
        out["policyDocument"] = inline["PolicyDocument"]
    except ClientError as err:
        body = err.response.get("Error", {})
        out["error"] = {
            "code": body.get("Code", ""),
            # botocore raises a modeled exception class when the service
            # model knows the code, a plain ClientError otherwise.
            "name": body.get("Code", "") if type(err) is ClientError else type(err).__name__,
            "operation": err.operation_name,
            "message": body.get("Message", ""),
        }
        print(json.dumps(out))
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
