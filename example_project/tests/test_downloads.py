"""An attachment's links: signed for an hour, or for the project's members."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import urlsplit

import pytest
from django.core.signing import TimestampSigner, b62_encode
from django.utils import timezone

from example_project.agile import downloads, services
from example_project.agile.models import Membership

pytestmark = pytest.mark.django_db

STORED = "https://files.example.com/mockup.png"


@pytest.fixture
def attachment(task, alice):
    return services.add_attachment(
        task, alice, name="mockup.png", url=STORED, size=10, mime_type="image/png"
    )


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


class _SignedTwoHoursAgo(TimestampSigner):
    def timestamp(self) -> str:
        return b62_encode(int(time.time()) - 7200)


def test_signed_link_downloads_the_file_without_signing_in(client, attachment, settings):
    settings.AGILE_SITE_URL = "https://agile.example.com/"
    links = downloads.links(attachment)
    assert links["internal"] == (
        f"https://agile.example.com/attachments/{attachment.uuid}/download/"
    )
    assert links["url"].startswith(links["internal"] + "?signature=")
    response = client.get(_path(links["url"]))
    assert (response.status_code, response["Location"]) == (302, STORED)


def test_expired_tampered_or_foreign_signatures_download_nothing(client, attachment, task, alice):
    other = services.add_attachment(
        task, alice, name="b.png", url="https://f.example.com/b", size=1, mime_type="image/png"
    )
    internal = f"/attachments/{attachment.uuid}/download/"
    expired = _SignedTwoHoursAgo(salt="agile.attachment-download").sign(str(attachment.uuid))
    for token in (expired, expired + "x", downloads.signer.sign(str(other.uuid))):
        assert client.get(internal, {"signature": token}).status_code == 404


def test_internal_link_asks_to_sign_in_and_answers_members_only(client, attachment, board, bob):
    internal = f"/attachments/{attachment.uuid}/download/"
    response = client.get(internal)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    client.force_login(bob)
    assert client.get(internal).status_code == 404
    Membership.objects.create(project=board, user=bob)
    response = client.get(internal)
    assert (response.status_code, response["Location"]) == (302, STORED)


def test_attachment_resource_gives_both_links_and_when_the_signed_one_expires(fired, task, alice):
    with fired() as events:
        services.add_attachment(task, alice, name="a", url=STORED, size=1, mime_type="x/y")
    download = events.data["download"]
    assert set(download) == {"url", "internal", "expiration"}
    assert download["url"].startswith(download["internal"] + "?signature=")
    expires = dt.datetime.fromisoformat(download["expiration"])
    assert dt.timedelta(minutes=59) < expires - timezone.now() <= dt.timedelta(hours=1)
