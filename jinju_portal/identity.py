"""Identity hashing: the portal keeps HMAC-SHA256(IDENTITY_HASH_KEY, CI), never the CI or an RRN."""
import hashlib
import hmac

from django.conf import settings


def hash_identity(ci: str) -> str:
    return hmac.new(settings.IDENTITY_HASH_KEY.encode(), ci.encode("utf-8"), hashlib.sha256).hexdigest()
