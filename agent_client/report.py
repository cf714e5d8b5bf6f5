"""What the client tells the person running it: one line per event on stderr, secrets redacted.

Lines show names, lengths, booleans, origins and models; never a credential or a token, and
every line passes through the redactor in case a message quoted one by accident.
"""

import sys
from typing import TextIO

from agent_client.redaction import Redactor

PREFIX = "agent_client"


class Reporter:
    def __init__(
        self,
        redactor: Redactor,
        *,
        quiet: bool = False,
        verbose: bool = False,
        stream: TextIO | None = None,
    ):
        self.redactor = redactor
        self.quiet = quiet
        self.verbose = verbose
        self._stream = stream

    def _write(self, level: str, message: str) -> None:
        stream = self._stream or sys.stderr
        label = f" {level}:" if level else ":"
        stream.write(f"{PREFIX}{label} {self.redactor.redact(message)}\n")
        stream.flush()

    def info(self, message: str) -> None:
        if not self.quiet:
            self._write("", message)

    def detail(self, message: str) -> None:
        if self.verbose and not self.quiet:
            self._write("", message)

    def warn(self, message: str) -> None:
        self._write("warning", message)

    def error(self, message: str) -> None:
        self._write("error", message)
