"""The commands: env (print), run (start the agent), sync (post auth.json back), token
(print a fresh proxy token, for the agents' own refresh hooks)."""

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

from agent_client.catalog import AGENTS, Agent
from agent_client.claude_settings import claude_config_dir, helper_installed, helper_write
from agent_client.cli import TOKEN_ENV, Config
from agent_client.codex_files import (
    auth_changed,
    auth_read,
    auth_write,
    codex_home,
    config_write,
    sync_state_write,
)
from agent_client.credential import PROXY_TOKEN_SOURCE, AgentCredential, credential_fetch
from agent_client.environment import AgentSetup, agent_setup
from agent_client.errors import EXIT_OK, ClientError, LocalFileError, UsageError
from agent_client.launch import (
    child_environment,
    child_run,
    env_file_written,
    shell_assignments,
    token_file_written,
)
from agent_client.redaction import Secret, describe, secret_names
from agent_client.renewal import Renewal, helper_argv, proxy_token_fetch
from agent_client.report import Reporter
from agent_client.sync import credential_sync_post

_DOTENV_BARE = re.compile(r"^[A-Za-z0-9_./:@+,=-]*$")


def _dotenv_value(value: str) -> str:
    """Bare when safe; else single-quoted, which dotenv readers take literally (no ${…}
    expansion); double-quoted with escapes only when the value holds a single quote."""
    if _DOTENV_BARE.match(value):
        return value
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    return json.dumps(value, ensure_ascii=False)


def _fetch(config: Config, agent: Agent, reporter: Reporter) -> AgentCredential:
    return credential_fetch(
        control_plane=config.control_plane,
        workspace_id=config.workspace_id,
        token=config.token,
        agent=agent,
        redactor=reporter.redactor,
    )


def _renews(agent: Agent, credential: AgentCredential) -> bool:
    """Whether the agent is to fetch its own proxy tokens: it can, and it got a proxy token
    (scoped mode). In callback mode the callback token is the key and does not expire soon."""
    proxy = credential.proxy
    return agent.renews_token and proxy is not None and proxy.key_source == PROXY_TOKEN_SOURCE


def _renewal(config: Config, agent: Agent, token_file: Path | None, reporter: Reporter) -> Renewal:
    """The agent's refresh hook; asks proxy-token once, which checks it works and tells the
    token's lifetime (see `IssuedToken.refresh_ms`)."""
    issued = proxy_token_fetch(
        control_plane=config.control_plane,
        workspace_id=config.workspace_id,
        token=config.token,
        agent=agent,
        redactor=reporter.redactor,
    )
    argv = helper_argv(
        agent=agent,
        control_plane=config.control_plane,
        workspace_id=config.workspace_id,
        token_file=token_file,
    )
    return Renewal(argv=argv, refresh_ms=issued.refresh_ms())


def _setup(
    agent: Agent, credential: AgentCredential, renewal: Renewal | None, reporter: Reporter
) -> tuple[AgentSetup, frozenset[str]]:
    setup = agent_setup(agent, credential, renewal)
    secret = secret_names(setup.env, reporter.redactor)
    reporter.info(_summary(agent, credential))
    if renewal is not None:
        reporter.info(
            f"{agent.agent_type} renews its proxy token itself every "
            f"{renewal.refresh_ms / 1000:g} s (python -m agent_client token)"
        )
    reporter.detail(f"environment: {describe(setup.env, setup.env, secret)}")
    reporter.detail(f"not inherited: {', '.join(setup.unset) or 'nothing'}")
    return setup, secret


def _summary(agent: Agent, credential: AgentCredential) -> str:
    text = f"{agent.agent_type}: {credential.kind} from the {credential.source} scope"
    proxy = credential.proxy
    if proxy is None:
        return text
    return (
        f"{agent.agent_type}: platform AI proxy ({proxy.provider}, model {proxy.model}, "
        f"key: {proxy.key_source}, base URL on the control plane's origin)"
    )


def _write_codex_files(setup: AgentSetup, environ: Mapping[str, str], reporter: Reporter) -> None:
    if not setup.manages_codex_config:
        return
    home = codex_home(environ)
    if config_write(home, setup.codex_provider):
        action = (
            "provider block written to" if setup.codex_provider else "provider block removed from"
        )
        reporter.info(f"Codex {action} {home / 'config.toml'}")
    if setup.codex_auth is not None:
        path = auth_write(home, setup.codex_auth)
        reporter.info(f"Codex OAuth credential written to {path} (0600)")


def env_command(
    config: Config,
    args: argparse.Namespace,
    _command: Sequence[str],
    environ: Mapping[str, str],
    reporter: Reporter,
) -> int:
    agent = AGENTS[args.agent]
    credential = _fetch(config, agent, reporter)
    renewal = None
    if args.write_files and _renews(agent, credential):
        # Without --token-file the hook reads SAM_CALLBACK_TOKEN from the agent's environment.
        renewal = _renewal(config, agent, config.token_file, reporter)
        if config.token_file is None:
            reporter.info(f"start the agent with {TOKEN_ENV} set: its token hook reads it")
    elif _renews(agent, credential):
        reporter.info(
            "this token is not renewed: use run, or --write-files, for the agent's refresh hook"
        )
    setup, _secret = _setup(agent, credential, renewal, reporter)
    if args.write_files:
        _write_codex_files(setup, environ, reporter)
        if setup.claude_key_helper is not None:
            directory = claude_config_dir(environ)
            helper_write(directory, setup.claude_key_helper)
            reporter.info(f"Claude Code apiKeyHelper written to {directory / 'settings.json'}")
    elif setup.codex_provider is not None or setup.codex_auth is not None:
        reporter.info("Codex also reads files (config.toml, auth.json): use run, or --write-files")
    sys.stdout.write(env_format(setup, args.format))
    sys.stdout.flush()
    return EXIT_OK


def env_format(setup: AgentSetup, style: str) -> str:
    if style == "json":
        return json.dumps(setup.env, indent=2, sort_keys=True) + "\n"
    if style == "dotenv":
        return "".join(
            f"{name}={_dotenv_value(value)}\n" for name, value in sorted(setup.env.items())
        )
    # The caller's own SAM_CALLBACK_TOKEN stays: they may fetch again from the same shell.
    unset = [name for name in setup.unset if name != TOKEN_ENV]
    return "".join(f"unset {name}\n" for name in unset) + shell_assignments(setup.env)


def run_command(
    config: Config,
    args: argparse.Namespace,
    command: Sequence[str],
    environ: Mapping[str, str],
    reporter: Reporter,
) -> int:
    agent = AGENTS[args.agent]
    credential = _fetch(config, agent, reporter)
    with ExitStack() as cleanup:
        renewal = None
        if _renews(agent, credential):
            # The hook needs the callback token: from the caller's file, or from a private
            # copy removed when the agent exits (the agent's environment does not get it).
            token_file = config.token_file or cleanup.enter_context(
                token_file_written(config.token)
            )
            renewal = _renewal(config, agent, token_file, reporter)
        setup, secret = _setup(agent, credential, renewal, reporter)
        if any(reporter.redactor.contains_secret(arg) for arg in command):
            raise UsageError(
                "the command's arguments hold a credential; it is passed in the environment"
            )
        _write_codex_files(setup, environ, reporter)
        if setup.claude_key_helper is not None:
            path = cleanup.enter_context(
                helper_installed(claude_config_dir(environ), setup.claude_key_helper)
            )
            reporter.info(f"Claude Code apiKeyHelper set in {path} (restored after the run)")
        code = _start(command, args, environ, setup, secret, reporter)
    if setup.codex_auth is not None:
        _sync_after_run(config, agent, environ, reporter)
    return code


def _start(
    command: Sequence[str],
    args: argparse.Namespace,
    environ: Mapping[str, str],
    setup: AgentSetup,
    secret: frozenset[str],
    reporter: Reporter,
) -> int:
    reporter.detail(f"starting {command[0]}")
    if args.env_file_dir is None:
        code = child_run(command, child_environment(environ, setup, secret=secret, env_file=None))
    else:
        with env_file_written(args.env_file_dir, setup.env) as path:
            reporter.detail(f"secrets in {path} (0600, removed when the command exits)")
            env = child_environment(environ, setup, secret=secret, env_file=path)
            code = child_run(command, env)
    reporter.detail(f"{command[0]} exited with {code}")
    return code


def _sync_after_run(
    config: Config, agent: Agent, environ: Mapping[str, str], reporter: Reporter
) -> None:
    """Codex may have refreshed its tokens: send them back, without changing the exit code."""
    try:
        _sync(config, agent, environ, reporter, force=False)
    except ClientError as error:
        reporter.warn(f"the refreshed Codex credential was not synced: {error}")


def sync_command(
    config: Config,
    args: argparse.Namespace,
    _command: Sequence[str],
    environ: Mapping[str, str],
    reporter: Reporter,
) -> int:
    agent = AGENTS[args.agent]
    if not agent.oauth_file:
        raise UsageError(
            f"sync is for agents that keep OAuth in a file (openai-codex), not {agent.agent_type}"
        )
    _sync(config, agent, environ, reporter, force=args.force)
    return EXIT_OK


def _sync(
    config: Config, agent: Agent, environ: Mapping[str, str], reporter: Reporter, *, force: bool
) -> None:
    home = codex_home(environ)
    data = auth_read(home)
    try:
        text = data.decode("utf-8")
        document = json.loads(text)
    except ValueError:
        raise LocalFileError(f"{home / 'auth.json'} is not a JSON document") from None
    reporter.redactor.add(text)
    reporter.redactor.add_json_strings(document)
    tokens = document.get("tokens") if isinstance(document, dict) else None
    access_token = tokens.get("access_token") if isinstance(tokens, dict) else None
    if not isinstance(access_token, str) or not access_token.strip():
        raise LocalFileError(f"{home / 'auth.json'} has no tokens.access_token")
    if not force and not auth_changed(home, data):
        reporter.info("Codex auth.json is unchanged since it was delivered; nothing to sync")
        return
    result = credential_sync_post(
        control_plane=config.control_plane,
        workspace_id=config.workspace_id,
        token=config.token,
        agent_type=agent.agent_type,
        credential=Secret(text),
        on_retry=lambda reason, delay: reporter.warn(f"sync: {reason}; retrying in {delay:g} s"),
    )
    sync_state_write(home, data)
    outcome = "updated" if result.updated else "already up to date"
    reporter.info(f"Codex credential synced: {outcome} on the control plane")


def token_command(
    config: Config,
    args: argparse.Namespace,
    _command: Sequence[str],
    _environ: Mapping[str, str],
    reporter: Reporter,
) -> int:
    """Print a fresh proxy token and nothing else: the one output of the client that is a
    secret, read by the agents' refresh hooks (Claude Code's apiKeyHelper, Codex's auth)."""
    issued = proxy_token_fetch(
        control_plane=config.control_plane,
        workspace_id=config.workspace_id,
        token=config.token,
        agent=AGENTS[args.agent],
        redactor=reporter.redactor,
    )
    sys.stdout.write(issued.token.reveal() + "\n")
    sys.stdout.flush()
    return EXIT_OK


Command = Callable[[Config, argparse.Namespace, Sequence[str], Mapping[str, str], Reporter], int]
COMMANDS: dict[str, Command] = {
    "env": env_command,
    "run": run_command,
    "sync": sync_command,
    "token": token_command,
}
