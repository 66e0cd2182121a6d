"""One exception tree for the agent (httpx's ``_exceptions.py`` way): catch by what you can do about it.

AgentError
├── SpoolError                  the outbox cannot take or give a report (agent.spool)
│   └── SpoolFull               no room on its disk
└── DeliveryError               talking to the collector failed
    ├── TransientError          try again later (backoff); ``retry_after`` when the collector said
    │   ├── NetworkError        cannot connect, connection dropped
    │   │   └── DeliveryTimeout connect or read timeout
    │   ├── ProtocolError       an answer that is not the collector's (garbage, a portal's HTML)
    │   ├── Conflict            409 without needs_full: this report clashes with the collector's state
    │   └── ServerError         5xx
    │       └── RateLimited     429 or 503, with Retry-After
    └── PermanentError          retrying the same thing will not help
        ├── NotEnrolled         no agent key in the state directory
        ├── AuthError           the key is unknown or revoked (401) and re-enrolling was not possible
        ├── EnrollRefused       the enroll secret is wrong, revoked or expired
        ├── TlsError            certificate verification failed, or the pin does not match
        └── Rejected            refused for good (400/403/422, 413 too large): quarantine it
            └── NeedsFull       a delta whose base the collector lacks (409): send a full report

A 500 or a ``Conflict`` may be the report's own fault or the collector's: ``agent.delivery`` counts
it against the report only when the collector accepts another report in the same flush.
"""

from __future__ import annotations


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""


class AlreadyRunning(AgentError):
    """Another ``wardwatch agent run`` holds the state directory."""


class SpoolError(AgentError):
    """The spool cannot take or give a report; the message names the file and the cause."""


class SpoolFull(SpoolError):
    """No room on the disk that holds the spool."""


class DeliveryError(AgentError):
    transient = False

    def __init__(self, message: str, *, status_code: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class TransientError(DeliveryError):
    transient = True


class NetworkError(TransientError):
    pass


class DeliveryTimeout(NetworkError):
    pass


class ProtocolError(TransientError):
    pass


class Conflict(TransientError):
    pass


class ServerError(TransientError):
    pass


class RateLimited(ServerError):
    pass


class CertificateRefused(TransientError):
    """The collector wants a valid client certificate (mutual TLS); the report stays in the spool."""


class PermanentError(DeliveryError):
    pass


class NotEnrolled(PermanentError):
    pass


class AuthError(PermanentError):
    pass


class AgentRevoked(AuthError):
    """An administrator revoked this agent's key: enrolling again on our own would undo that."""


class EnrollRefused(PermanentError):
    pass


class TlsError(PermanentError):
    pass


class Rejected(PermanentError):
    pass


class NeedsFull(Rejected):
    pass
