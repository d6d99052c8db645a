"""Domain errors. Adapters translate infrastructure failures into these; the API maps each to one HTTP
status in one place (``functions/api/problems.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


@dataclass(frozen=True)
class FieldError:
    """One field-level problem: where it is (a dotted path such as ``items[0].hs_code``) and what is wrong."""

    field: str
    message: str


class Unauthenticated(DomainError):
    """The caller is not a known party."""


class NotFound(DomainError):
    """The resource does not exist, or the party may not see it or act on it: the three are indistinguishable on
    purpose (DESIGN.md §1). There is no "forbidden": an action a party's type may not take is not found too."""


@dataclass
class RuleViolation(DomainError):
    """Input that is well formed but breaks a rule of the FTA or of JEVS."""

    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{error.field}: {error.message}" for error in self.errors)

    def under(self, prefix: str) -> RuleViolation:
        """The same errors, their fields named from the request that holds what was checked (``certificate``)."""
        return RuleViolation([FieldError(f"{prefix}.{error.field}", error.message) for error in self.errors])


@dataclass
class Conflict(DomainError):
    """The request contradicts what is stored (a number taken by other content, a reused idempotency key)."""

    code: str
    detail: str

    def __str__(self) -> str:
        return self.detail


@dataclass
class TooLarge(DomainError):
    """Content over a size limit the domain sets (an answer's attachments, each or together): 413."""

    field: str
    detail: str

    def __str__(self) -> str:
        return self.detail


class RetryableFailure(DomainError):
    """A dependency failed in a way that may pass (throttling, a timeout): the same request may be retried."""
