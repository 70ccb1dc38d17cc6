"""The sale path's shortcuts answer exactly what the code they skip would have answered."""
import pytest
from django.http import Http404
from django.test import RequestFactory
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request

from jinju_portal.api.negotiation import PortalContentNegotiation
from jinju_portal.middleware import MessageMiddleware


def _choose(negotiation, renderers, accept=None, query=""):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(RequestFactory().get("/api/v1/vouchers/tranches/" + query, **headers))
    try:
        renderer, media_type = negotiation().select_renderer(request, renderers)
    except NotAcceptable:
        return "406"
    except Http404:  # ?format= naming no renderer of the view
        return "404"
    return type(renderer), media_type


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json; indent=4", "text/html",
                                    "application/*", "text/html, */*;q=0.1", "image/png"])
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api"])
@pytest.mark.parametrize("renderer_classes", [[JSONRenderer], [JSONRenderer, BrowsableAPIRenderer],
                                              [BrowsableAPIRenderer, JSONRenderer]])
def test_content_negotiation_shortcut_chooses_what_drf_chooses(accept, query, renderer_classes):
    renderers = [cls() for cls in renderer_classes]
    assert _choose(PortalContentNegotiation, renderers, accept, query) == \
        _choose(DefaultContentNegotiation, renderers, accept, query)


def test_partner_api_requests_get_no_message_storage_and_pages_still_do():
    middleware = MessageMiddleware(lambda request: None)
    api = RequestFactory().post("/api/v1/vouchers/purchases/")
    middleware.process_request(api)
    assert not hasattr(api, "_messages")
    page = RequestFactory().get("/vouchers/")
    page.session = {}
    middleware.process_request(page)
    assert hasattr(page, "_messages")
