"""Content negotiation with a shortcut for what partner systems send (no Accept, `*/*` or
`application/json`): the same answer as DRF's DefaultContentNegotiation without parsing the header.
Parsing it was ~6 % of a sale's Python time (py-spy, bench/README.md); any other Accept header,
or a format override, goes through DRF's own negotiation unchanged."""
from rest_framework.negotiation import DefaultContentNegotiation

_PLAIN = ("*/*", "application/json")


class PortalContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if (not format_suffix and renderers and renderers[0].media_type == "application/json"
                and request.META.get("HTTP_ACCEPT", "*/*") in _PLAIN
                and self.settings.URL_FORMAT_OVERRIDE not in request.query_params):
            return renderers[0], "application/json"
        return super().select_renderer(request, renderers, format_suffix)
