// Receivers written the way each scheme's own documentation writes them, in Node.
// Reads {"checks": [{"verifier", "payload", "signature", "secrets"}]} on stdin and
// prints one boolean per check: did that receiver, holding those secrets, accept?
import crypto from "crypto";
import { verify, verifyWithFallback } from "@octokit/webhooks-methods";

// AgileTune's snippet, as its webhooks page prints it (TypeScript types removed).
function verifySignature(payload, signature, secret) {
  const expected = crypto
    .createHmac("sha256", secret)
    .update(payload)
    .digest("hex");
  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(expected)
  );
}

async function accepts(check) {
  const [first, ...others] = check.secrets;
  try {
    if (check.verifier === "octokit-verify") {
      // One receiver per secret it holds: verify() takes one.
      for (const secret of check.secrets) {
        if (await verify(secret, check.payload, check.signature)) return true;
      }
      return false;
    }
    if (check.verifier === "octokit-verifyWithFallback") {
      return await verifyWithFallback(first, check.payload, check.signature, others);
    }
    if (check.verifier === "agiletune") {
      return check.secrets.some((secret) => {
        try {
          return verifySignature(check.payload, check.signature, secret);
        } catch {
          return false; // timingSafeEqual throws on a length mismatch: a refusal
        }
      });
    }
  } catch {
    return false;
  }
  throw new Error(`unknown verifier ${check.verifier}`);
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { checks } = JSON.parse(input);
const results = [];
for (const check of checks) results.push(await accepts(check));
process.stdout.write(JSON.stringify(results));
