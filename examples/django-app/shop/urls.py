from django.conf import settings
from django.urls import path, re_path
from django.views.static import serve

from visits import views

urlpatterns = [
    path("", views.index, name="index"),
    path("health/", views.health, name="health"),
    path("version/", views.version, name="version"),
]

if settings.SERVE_STATIC:
    # Without a web server in front, Django serves the collected files itself (django.conf.urls.static.static()
    # would do nothing with DEBUG off). Behind nginx, serve STATIC_ROOT from nginx and leave SERVE_STATIC off.
    prefix = settings.STATIC_URL.lstrip("/")
    urlpatterns.append(re_path(rf"^{prefix}(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}))
