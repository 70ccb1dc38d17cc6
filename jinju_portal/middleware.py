"""Middleware of the portal's own."""
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware


class MessageMiddleware(DjangoMessageMiddleware):
    """Django's messages for pages; none for the partner API (/api/v1/), which never shows or stores
    them. Building the message storages for every request was ~5 % of a sale's Python time (py-spy,
    bench/README.md). Django's process_response already skips a request without storage."""

    def process_request(self, request):
        if request.path_info.startswith("/api/v1/"):
            return
        super().process_request(request)
