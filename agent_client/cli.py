"""`python -m agent_client env|run|sync|token`: flags, configuration, and exit codes.

Configuration comes from flags or the environment. The workspace token is read from
--token-file or SAM_CALLBACK_TOKEN and is never accepted as an argument: argv is visible to
every user of the machine (`ps`, /proc/<pid>/cmdline).
"""

import argparse
import os
import re
import sys
import traceback
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from agent_client import __version__
from agent_client.catalog import AGENTS
from agent_client.errors import EXIT_FAILURE, ClientError, UsageError
from agent_client.origin import ParsedURL, URLRefused, parse_url
from agent_client.redaction import Redactor, Secret
from agent_client.report import Reporter

CONTROL_PLANE_ENV = "SAM_CONTROL_PLANE_URL"
WORKSPACE_ENV = "SAM_WORKSPACE_ID"
TOKEN_ENV = "SAM_CALLBACK_TOKEN"  # noqa: S105 - a variable name, not a secret
FORMATS = ("shell", "dotenv", "json")
_TOKEN_LIKE = re.compile(r"sam_(?:cb|px)_[A-Za-z0-9_-]{8,}")
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


@dataclass(frozen=True)
class Config:
    control_plane: ParsedURL
    workspace_id: str
    token: Secret
    token_file: Path | None = None  # where the token came from, when it came from a file


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False, allow_abbrev=False)
    common.add_argument(
        "--control-plane", metavar="URL", help=f"control plane base URL (${CONTROL_PLANE_ENV})"
    )
    common.add_argument("--workspace", metavar="ID", help=f"workspace id (${WORKSPACE_ENV})")
    common.add_argument(
        "--token-file",
        metavar="PATH",
        type=Path,
        help=f"file holding the workspace callback token (else ${TOKEN_ENV})",
    )
    common.add_argument("--agent", required=True, choices=sorted(AGENTS), help="agent type")
    common.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    common.add_argument("-v", "--verbose", action="store_true", help="say more about each step")

    parser = _Parser(
        prog="python -m agent_client",
        description="Fetch a coding agent's credential from the SAM control plane and start it.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    env = commands.add_parser(
        "env", parents=[common], allow_abbrev=False, help="print the agent's environment"
    )
    env.add_argument("--format", choices=FORMATS, default="shell")
    env.add_argument(
        "--write-files",
        action="store_true",
        help="also write what Codex reads from files (config.toml, auth.json), as run does",
    )
    run = commands.add_parser(
        "run",
        parents=[common],
        allow_abbrev=False,
        help="start a command with the agent's environment: run --agent A -- COMMAND [ARGS…]",
    )
    run.add_argument(
        "--env-file-dir",
        metavar="DIR",
        type=Path,
        help="pass secrets in a 0600 env file in DIR (path in $SAM_AGENT_ENV_FILE), not the environment",
    )
    sync = commands.add_parser(
        "sync",
        parents=[common],
        allow_abbrev=False,
        help="post Codex's refreshed auth.json back to the control plane",
    )
    sync.add_argument(
        "--force", action="store_true", help="post even when auth.json looks unchanged"
    )
    commands.add_parser(
        "token",
        parents=[common],
        allow_abbrev=False,
        help="print a fresh proxy token and nothing else (the agents' refresh hooks run this)",
    )
    return parser


def _split_command(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        index = list(argv).index("--")
        return list(argv[:index]), list(argv[index + 1 :])
    return list(argv), []


def _refuse_tokens_in_argv(argv: Sequence[str], redactor: Redactor) -> None:
    for arg in argv:
        if arg == "--token" or arg.startswith("--token="):
            raise UsageError(
                "a token is never accepted on the command line (other users can read it); "
                f"use --token-file or {TOKEN_ENV}"
            )
        if redactor.contains_secret(arg) or _TOKEN_LIKE.search(arg):
            raise UsageError(
                "an argument holds a token (other users can read the command line); "
                f"pass it with --token-file or {TOKEN_ENV}"
            )


def config_resolve(
    args: argparse.Namespace, environ: Mapping[str, str], reporter: Reporter
) -> Config:
    url = args.control_plane or environ.get(CONTROL_PLANE_ENV, "")
    if not url:
        raise UsageError(f"no control plane URL: pass --control-plane or set {CONTROL_PLANE_ENV}")
    try:
        control_plane = parse_url(url, what="the control plane URL")
    except URLRefused as error:
        raise UsageError(str(error)) from None
    if control_plane.origin.scheme == "http" and control_plane.origin.host not in _LOOPBACK_HOSTS:
        reporter.warn("the control plane URL is not https: the token travels unencrypted")

    workspace = args.workspace or environ.get(WORKSPACE_ENV, "")
    if not workspace:
        raise UsageError(f"no workspace: pass --workspace or set {WORKSPACE_ENV}")
    try:
        workspace_id = str(uuid.UUID(workspace))
    except ValueError:
        raise UsageError("the workspace id is not a UUID") from None

    token = _read_token(args.token_file, environ, reporter)
    reporter.redactor.add(token)
    return Config(
        control_plane=control_plane,
        workspace_id=workspace_id,
        token=Secret(token),
        token_file=args.token_file.absolute() if args.token_file is not None else None,
    )


def _read_token(path: Path | None, environ: Mapping[str, str], reporter: Reporter) -> str:
    if path is not None:
        try:
            token = path.read_text(encoding="utf-8").strip()
            if path.stat().st_mode & 0o077:
                reporter.warn(f"{path} can be read by other users; make it 0600")
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(
                f"cannot read the token file {path}: {getattr(error, 'strerror', None) or 'not text'}"
            ) from None
        where = str(path)
    else:
        token = environ.get(TOKEN_ENV, "").strip()
        where = TOKEN_ENV
    if not token:
        raise UsageError(f"no workspace token: pass --token-file or set {TOKEN_ENV}")
    if not token.isascii() or not token.isprintable() or " " in token:
        raise UsageError(f"the token in {where} contains spaces or control characters")
    return token


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    from agent_client.commands import COMMANDS  # the commands import this module's Config

    argv = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    redactor = Redactor()
    redactor.add(environ.get(TOKEN_ENV))
    own, command = _split_command(argv)
    reporter = Reporter(redactor, verbose="-v" in own or "--verbose" in own)
    try:
        _refuse_tokens_in_argv(own, redactor)
        try:
            args = build_parser().parse_args(own)
        except SystemExit as done:  # --help and --version
            return done.code if isinstance(done.code, int) else 0
        reporter.quiet, reporter.verbose = args.quiet, args.verbose
        if args.command == "run" and not command:
            raise UsageError("run needs a command after --: run --agent A -- COMMAND [ARGS…]")
        if args.command != "run" and command:
            raise UsageError(f"{args.command} takes no command after --")
        config = config_resolve(args, environ, reporter)
        return COMMANDS[args.command](config, args, command, environ, reporter)
    except ClientError as error:
        reporter.error(str(error))
        return error.exit_code
    except KeyboardInterrupt:
        reporter.error("interrupted")
        return 130
    except Exception as error:
        # An unexpected failure must not print a traceback that might quote a value; say what
        # kind of failure it was, and the (redacted) details only when asked.
        reporter.error(f"unexpected failure ({type(error).__name__}); rerun with -v for details")
        if reporter.verbose:
            reporter.error(traceback.format_exc())
        return EXIT_FAILURE
