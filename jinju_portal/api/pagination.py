"""Page-number pagination: {count, next, previous, results}; `page_size` up to 500 (API.md)."""
from rest_framework.pagination import PageNumberPagination


class PortalPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500
