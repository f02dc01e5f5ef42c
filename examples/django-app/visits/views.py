import logging
import socket

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .models import Visit

log = logging.getLogger(__name__)


def release_version() -> str:
    try:
        return (settings.BASE_DIR / "VERSION").read_text().strip()
    except FileNotFoundError:
        return "unknown"


def index(request):
    Visit.objects.create(path=request.path[:200])
    context = {
        "visits": Visit.objects.count(),
        "version": release_version(),
        "hostname": socket.gethostname(),
    }
    return render(request, "visits/index.html", context)


@never_cache
def health(request):
    """200 only when the database answers: the deploy's health check then proves the release can really serve."""
    if (settings.BASE_DIR / "BROKEN").exists():  # lets you try a failed deploy: commit a file named BROKEN
        return HttpResponse("broken: a file named BROKEN is in the release\n", status=503, content_type="text/plain")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        message = " ".join(str(error).split())  # psycopg2's messages span lines
        log.warning("health check failed: %s", message)
        return HttpResponse(f"database unavailable: {message}\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


def version(request):
    return HttpResponse(release_version() + "\n", content_type="text/plain")
