// whoami.mjs asks STS who the caller is with the AWS SDK for JavaScript v3.
// Credentials come from the client's default provider chain or, with
// --from-token-file, from fromTokenFile() of @aws-sdk/credential-providers;
// in irsa's end-to-end tests both read AWS_ROLE_ARN and
// AWS_WEB_IDENTITY_TOKEN_FILE and call AssumeRoleWithWebIdentity. It prints
// one JSON object: the GetCallerIdentity result with the credentials that
// signed it, or the error the SDK surfaced.
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { fromTokenFile } from "@aws-sdk/credential-providers";

const options = {};
if (process.argv.includes("--from-token-file")) {
  options.credentials = fromTokenFile();
}
const client = new STSClient(options);
try {
  const out = await client.send(new GetCallerIdentityCommand({}));
  const creds = await client.config.credentials();
  process.stdout.write(JSON.stringify({
    Arn: out.Arn,
    Account: out.Account,
    UserId: out.UserId,
    AccessKeyId: creds.accessKeyId,
    SecretAccessKey: creds.secretAccessKey,
    SessionToken: creds.sessionToken,
  }) + "\n");
} catch (err) {
  process.stdout.write(JSON.stringify({
    error: {
      code: err.Code ?? "",
      name: err.name ?? "",
      message: err.message ?? "",
    },
  }) + "\n");
  process.exitCode = 2;
}
