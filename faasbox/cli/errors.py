"""CLI errors: one line for the user, and the exit code `main()` returns."""


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class GatewayError(CliError):
    """The gateway is unreachable or answered with an error."""


class Unauthorized(GatewayError):
    """The gateway answered 401: no login, or a wrong one."""
