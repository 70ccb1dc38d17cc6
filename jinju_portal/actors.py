"""Who did it: every write service takes one `actor` — a signed-in user (citizen or staff), a
partner's ApiClient, or None for the system (scheduled jobs, seed data). Event rows record it."""
from django.contrib.auth.models import AbstractBaseUser

from jinju_portal.models import ApiClient, Role


def user_of(actor):
    """The web/admin user behind `actor`, or None."""
    return actor if isinstance(actor, AbstractBaseUser) and actor.is_authenticated else None


def client_of(actor):
    """The partner API client behind `actor`, or None."""
    return actor if isinstance(actor, ApiClient) else None


def is_staff(actor) -> bool:
    """City staff acting in the admin (or a city system with a `staff` key)."""
    user = user_of(actor)
    if user is not None:
        return bool(user.is_staff and user.is_active)
    client = client_of(actor)
    return client is not None and client.role == Role.STAFF


def label(actor) -> str:
    """How the trail shows who it was: "user:clerk", "client:NH농협", "system"."""
    user = user_of(actor)
    if user is not None:
        return f"user:{user.get_username()}"[:150]
    client = client_of(actor)
    if client is not None:
        return f"client:{client.name}"[:150]
    return "system"
