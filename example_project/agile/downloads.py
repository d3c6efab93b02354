"""Links to an attachment's file, as GitScrum's attachment resource gives them.

``internal`` is the product's own address for the file: it answers members of the
project once they have signed in. ``url`` is the same address with a signature that
lets anyone holding the link download the file for an hour without signing in, the way
a storage's presigned URL does; ``expiration`` says until when.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.signing import BadSignature, TimestampSigner
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from example_project.agile.models import Attachment
from example_project.agile.permissions import is_member

SIGNED_FOR = dt.timedelta(hours=1)
SIGNATURE = "signature"
# A salt of its own: a signature made for downloads is valid for nothing else.
signer = TimestampSigner(salt="agile.attachment-download")


def site_url() -> str:
    return getattr(settings, "AGILE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")


def links(attachment: Attachment) -> dict[str, Any]:
    """``{url, internal, expiration}`` of an attachment, the signed link made now."""
    internal = site_url() + reverse("agile-attachment-download", args=[attachment.uuid])
    expiration = timezone.now().replace(microsecond=0) + SIGNED_FOR
    return {
        "url": f"{internal}?{SIGNATURE}={signer.sign(str(attachment.uuid))}",
        "internal": internal,
        "expiration": expiration.isoformat(timespec="seconds"),
    }


def _signed_for(token: str, attachment: Attachment) -> bool:
    try:
        return signer.unsign(token, max_age=SIGNED_FOR) == str(attachment.uuid)
    except BadSignature:  # tampered, made for another file, or expired
        return False


def download_attachment(request: HttpRequest, uuid: str) -> HttpResponse:
    """Send the browser to the file's storage, for a valid signature or a member."""
    attachment = get_object_or_404(Attachment.objects.select_related("task"), uuid=uuid)
    token = request.GET.get(SIGNATURE)
    if token is not None:
        if not _signed_for(token, attachment):
            raise Http404("This download link is not valid, or has expired.")
    elif not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    elif not is_member(request.user, attachment.task.project_id):
        # Not a member: as if there were no such file, to reveal nothing about it.
        raise Http404("No such attachment.")
    return HttpResponseRedirect(attachment.url)
