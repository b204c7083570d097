"""Domain errors, each carrying the HTTP status and error code the API answers with."""

from __future__ import annotations


class ArchiveError(Exception):
    """A request the archive refuses; `code` and `message` reach the caller as JSON."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ArchiveError):
    status = 400
    code = "invalid_request"


class NotYet(InvalidRequest):
    """A time the archive's clock has not reached yet: the same request can succeed later, so a
    gateway waits and retries instead of counting it as a refusal."""

    code = "not_yet"


class NotFound(ArchiveError):
    status = 404
    code = "not_found"


class Conflict(ArchiveError):
    status = 409
    code = "conflict"


class AccessRefused(ArchiveError):
    """A rule refused the caller; always audited (DESIGN.md "Roles")."""

    status = 403
    code = "forbidden"

    def __init__(self, message: str, *, action: str, site: str, target: str = "") -> None:
        super().__init__(message)
        self.action = action
        self.site = site
        self.target = target


class HiddenRefusal(AccessRefused):
    """A refusal answered as 404 because saying 403 would reveal that the thing exists."""

    status = 404
    code = "not_found"


class RefusedConflict(AccessRefused):
    """A rule refused the request because of the thing's state (erasing a clip a case holds): 409, audited."""

    status = 409
    code = "conflict"


class RefusedInvalid(AccessRefused):
    """A request refused for lacking what a rule requires (a view without its purpose): 400, audited."""

    status = 400
    code = "invalid_request"
