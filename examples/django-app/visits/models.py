from django.db import models


class Visit(models.Model):
    """One request to the home page: rows written here must survive redeploys and rollbacks."""

    created_at = models.DateTimeField(auto_now_add=True)
    path = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.path} at {self.created_at:%Y-%m-%d %H:%M:%S}"
