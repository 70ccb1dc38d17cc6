"""Form helpers shared by the apps' pages and admin forms."""
from jinju_portal.errors import ServiceError


def add_service_error(form, exc: ServiceError) -> None:
    """Show a service's refusal on a form: each message under its field when the form has that field,
    otherwise (or when the refusal names no field) the refusal's own message above the form."""
    placed = False
    for name, messages in (exc.fields or {}).items():
        if name in form.fields:
            for message in messages:
                form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, exc.detail)
