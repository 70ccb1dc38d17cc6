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
