"""Named failures and the exit code each one ends the process with.

Messages are written for people and never quote a credential, a token or a response body.
"""

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_NO_CREDENTIAL = 3
EXIT_AUTH_REFUSED = 4
EXIT_FAILURE = 5


class ClientError(Exception):
    exit_code = EXIT_FAILURE


class UsageError(ClientError):
    """Bad flags or configuration: nothing was sent anywhere."""

    exit_code = EXIT_USAGE


class NoCredential(ClientError):
    """The control plane has no credential and no proxy fallback for this agent."""

    exit_code = EXIT_NO_CREDENTIAL


class AuthRefused(ClientError):
    """The control plane refused the workspace token (401 or 403)."""

    exit_code = EXIT_AUTH_REFUSED


class ControlPlaneError(ClientError):
    """The control plane could not be reached, timed out, or answered with an unexpected status."""


class ResponseInvalid(ClientError):
    """The control plane's answer does not have the documented shape, or fails the origin check."""


class LocalFileError(ClientError):
    """A file the agent needs (Codex config.toml or auth.json) cannot be read or written safely."""


class CommandNotStarted(ClientError):
    """The agent's command could not be started (not found: 127, not executable: 126)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code
