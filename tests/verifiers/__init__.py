"""Receivers written the way each signature scheme's own documentation writes them.

Node ones (octokit's ``verify`` and ``verifyWithFallback``, AgileTune's snippet) run in
``verify.mjs``, with ``@octokit/webhooks-methods`` installed from npm; the Python ones
are GitHub's documented check, iceScrum's procedure, and the ``standardwebhooks`` and
``svix`` packages. Each answers whether a receiver holding some secrets accepts a request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import standardwebhooks.webhooks
import svix.webhooks

from webhooks_app.testing import ReceivedRequest

NODE_PACKAGE = "@octokit/webhooks-methods@6"
SCRIPT = Path(__file__).with_name("verify.mjs")

# The headers that hold one signature, and the receivers written for each.
GITHUB_STYLE = ("x-hub-signature-256", "x-webhook-signature-256")
SINGLE_SIGNATURE = {
    "octokit verify": GITHUB_STYLE,
    "octokit verifyWithFallback": GITHUB_STYLE,
    "GitHub docs' Python check": GITHUB_STYLE,
    "AgileTune's snippet": ("x-agiletune-signature",),
    "iceScrum's procedure": ("x-icescrum-signature",),
}
STANDARD = ("standardwebhooks", "svix")
NODE_NAMES = {
    "octokit verify": "octokit-verify",
    "octokit verifyWithFallback": "octokit-verifyWithFallback",
    "AgileTune's snippet": "agiletune",
}


class NodeVerifiers:
    """``verify.mjs`` beside an npm-installed ``@octokit/webhooks-methods``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def install(cls, directory: Path) -> NodeVerifiers | str:
        """Install (once) into ``directory``; a reason to skip if it cannot be done."""
        node, npm = shutil.which("node"), shutil.which("npm")
        if not node or not npm:
            return "node and npm are needed for octokit's and AgileTune's verifiers"
        directory.mkdir(parents=True, exist_ok=True)
        if not (directory / "node_modules/@octokit/webhooks-methods/package.json").exists():
            try:
                done = subprocess.run(
                    [npm, "install", "--no-save", "--no-audit", "--no-fund", NODE_PACKAGE],
                    cwd=directory,
                    capture_output=True,
                    text=True,
                    timeout=180,
                )
            except subprocess.TimeoutExpired:
                return f"npm install {NODE_PACKAGE} took over 180 s: is the registry reachable?"
            if done.returncode != 0:
                return (
                    f"npm install {NODE_PACKAGE} failed (registry unreachable?): "
                    + (done.stderr.strip().splitlines() or ["no output"])[-1]
                )
        # Next to node_modules, so that its import of the package resolves.
        shutil.copyfile(SCRIPT, directory / SCRIPT.name)
        return cls(directory)

    def accepts(self, checks: list[dict]) -> list[bool]:
        done = subprocess.run(
            ["node", SCRIPT.name],
            cwd=self.directory,
            input=json.dumps({"checks": checks}),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return json.loads(done.stdout)


# -- GitHub's documented Python check ("Validating webhook deliveries"), as written there,
# with its HTTPException(403) as an exception of its own.
class Forbidden(Exception):
    pass


def verify_signature(payload_body, secret_token, signature_header):
    if not signature_header:
        raise Forbidden("x-hub-signature-256 header is missing!")
    hash_object = hmac.new(secret_token.encode("utf-8"), msg=payload_body, digestmod=hashlib.sha256)
    expected_signature = "sha256=" + hash_object.hexdigest()
    if not hmac.compare_digest(expected_signature, signature_header):
        raise Forbidden("Request signatures didn't match!")


def github_docs_accepts(body: bytes, signature: str, secret: str) -> bool:
    try:
        verify_signature(body, secret, signature)
    except Forbidden:
        return False
    return True


def icescrum_accepts(body: bytes, signature: str, secret: str) -> bool:
    """iceScrum's page: the header is "the result of the sha1 function applied to your
    Secret Key and the request payload"; the receiver computes its own and compares."""
    own = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(own, signature)


def standard_accepts(name: str, request: ReceivedRequest, secret: str) -> bool:
    verifier = (
        svix.webhooks.Webhook(secret)
        if name == "svix"
        else standardwebhooks.webhooks.Webhook(secret)
    )
    try:
        verifier.verify(request.body, dict(request.headers))
    except Exception:  # each library's own verification error
        return False
    return True


@dataclass
class Tally:
    """How many requests one receiver accepted and refused."""

    accepted: int = 0
    refused: int = 0


def lowered(request: ReceivedRequest) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


def single_signature_tallies(
    requests: list[ReceivedRequest], holding: Iterable[str], node: NodeVerifiers
) -> dict[str, Tally]:
    """Each single-signature receiver, holding these secrets, over every request and
    every header it is written for."""
    secrets = list(holding)
    tallies = {name: Tally() for name in SINGLE_SIGNATURE}
    checks, names = [], []
    for request in requests:
        headers = lowered(request)
        for name, header_names in SINGLE_SIGNATURE.items():
            if name == "octokit verifyWithFallback" and len(secrets) == 1:
                continue  # the same as verify with one secret
            for header in header_names:
                signature = headers[header]
                if name in NODE_NAMES:
                    payload = request.body.decode("utf-8")
                    checks.append(
                        {
                            "verifier": NODE_NAMES[name],
                            "payload": payload,
                            "signature": signature,
                            "secrets": secrets,
                        }
                    )
                    names.append(name)
                    continue
                accepts = github_docs_accepts if "GitHub" in name else icescrum_accepts
                ok = any(accepts(request.body, signature, s) for s in secrets)
                _count(tallies[name], ok)
    for name, ok in zip(names, node.accepts(checks), strict=True):
        _count(tallies[name], ok)
    return {name: tally for name, tally in tallies.items() if tally.accepted + tally.refused}


def standard_tallies(requests: list[ReceivedRequest], holding: Iterable[str]) -> dict[str, Tally]:
    secrets = list(holding)
    tallies = {name: Tally() for name in STANDARD}
    for request in requests:
        for name in STANDARD:
            _count(tallies[name], any(standard_accepts(name, request, s) for s in secrets))
    return tallies


def _count(tally: Tally, ok: bool) -> None:
    if ok:
        tally.accepted += 1
    else:
        tally.refused += 1
