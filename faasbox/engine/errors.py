"""Domain errors raised by the engine package; `api/` maps them to HTTP, `cli/` to exit codes."""


class EngineError(Exception):
    """Base class: the message is written for the user."""


class EngineUnavailable(EngineError):
    """Docker does not answer; callers answer 503 and retry later."""


class FunctionNotFound(EngineError):
    pass


class FunctionExists(EngineError):
    pass


class SecretNotFound(EngineError):
    pass


class SecretExists(EngineError):
    pass


class ImageUnavailable(EngineError):
    """The image is neither local nor pullable: a user error, not an engine fault."""


class EngineRejected(EngineError):
    """Docker refused a request that passed our own checks (a spec it dislikes)."""


class SecretInUse(EngineError):
    """Removing a secret that functions still mount would break them on their next restart."""


class MissingSecrets(EngineError):
    """A deployment names secrets that do not exist: bad input (400), unlike a lookup (404)."""


class CannotPause(EngineError):
    """The engine failed to freeze or thaw a running container: pausing is not available
    here (rootless engine, no cgroup freezer), so idle functions go to zero instead."""


class BuildFailed(EngineError):
    """The engine ran a build (or a push) and a step failed; `output` holds that step's
    last lines. Raised here, where the engine's answers are read, rather than by the
    builder, which only makes contexts."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output
