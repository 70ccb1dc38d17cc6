"""Domain errors raised by services; the API turns them into {"code", "detail", "fields"} answers."""


class ServiceError(Exception):
    """A refusal by a business rule. Raised before anything is written, or inside the transaction
    that is rolled back with it, so a refusal never leaves a trace."""

    status = 409

    def __init__(self, code: str, detail: str, fields: dict | None = None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.fields = fields


class RuleViolation(ServiceError):
    """409: the request is well formed but a business rule refuses it (sold out, over the limit)."""

    status = 409


class InvalidInput(ServiceError):
    """400: the input itself is wrong in a way only the service can tell (units of a face value)."""

    status = 400


class Forbidden(ServiceError):
    """403: the caller may see this but not do this to it (a cashier refunding)."""

    status = 403


class NotFound(ServiceError):
    status = 404

    def __init__(self, detail: str = "찾을 수 없습니다.", code: str = "not_found"):
        super().__init__(code, detail)


class Catalogue:
    """An app's error catalogue (vouchers/errors.py, delivery/errors.py): its code enum, each code's HTTP
    status and each refusal's sentence (a gettext template with named figures), so the API, the pages
    and the admin say the same thing. The app exposes `message` and `refuse` from one of these."""

    def __init__(self, codes, status: dict, messages: dict):
        self.codes, self.status, self.messages = codes, status, messages

    def message(self, key: str, **figures) -> str:
        """The sentence for `key` ("code" or "code.variant") in the active language."""
        from django.utils.translation import gettext

        text = gettext(self.messages[key])
        return text % figures if figures else text

    def refuse(self, key: str, fields: dict | None = None, *, on: str | tuple = (), **figures) -> ServiceError:
        """The exception for `key`, with the status its code carries: `raise refuse("tranche_sold_out", …)`.
        `on="face_value"` (or a tuple of names) also puts the sentence under those form/API fields."""
        code = self.codes(key.split(".", 1)[0])
        detail = self.message(key, **figures)
        for name in (on,) if isinstance(on, str) else on:
            fields = {**(fields or {}), name: [detail]}
        status = self.status[code]
        if status == 404:
            return NotFound(detail, code=code.value)
        cls = {400: InvalidInput, 403: Forbidden}.get(status, RuleViolation)
        return cls(code.value, detail, fields)


def documented(*codes) -> str:
    """"a, b, c" for error_responses(): the schema lists exactly the codes the service raises."""
    return ", ".join(c.value for c in codes)
