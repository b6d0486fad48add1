"""The `ticketbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import re
import signal
import socket
import sys
from collections.abc import Sequence

from pydantic import SecretStr

from bot.cli import db, workspaces
from bot.cli.render_text import audit_table, changes_text, request_text, ticket_text
from bot.domain.actors import Actor
from bot.domain.commands import UpdateCommand
from bot.domain.errors import UserInputError
from bot.domain.fields import LOOKUP_RESOURCES
from bot.ops.config import AppConfig, ConfigError, load_config, secret_values
from bot.ops.logs import configure
from bot.ops.quiet_gc import QuietCollector
from bot.ops.worker_process import follow_serve
from bot.runtime import build_core
from bot.store import keys, namespaces
from bot.store.sql.cipher import new_key
from bot.truto.errors import TrutoError

_ASSIGNMENT = re.compile(r"^([A-Za-z_][\w.\-]*?)(\+=|-=|=)(.*)$", re.DOTALL)


def command_text(args: Sequence[str]) -> str:
    """Re-quote shell arguments so `'status=In Progress'` keeps its space."""
    parts = []
    for arg in args:
        match = _ASSIGNMENT.match(arg)
        if match and re.search(r"\s", match.group(3)):
            value = match.group(3).replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'{match.group(1)}{match.group(2)}"{value}"')
        else:
            parts.append(arg)
    return " ".join(parts)


# Names people type for the lookup lists (`ticketbot lookups show statuses`).
LOOKUP_ALIASES = {
    "statuses": "ticket_status",
    "status": "ticket_status",
    "priorities": "ticket_priorities",
    "priority": "ticket_priorities",
    "types": "ticket_types",
    "type": "ticket_types",
    "custom_fields": "fields",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ticketbot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run a scripted session against a local sandbox (no credentials needed)")

    update = sub.add_parser("update", help="update tickets: ticketbot update PROJ-42 [PROJ-43 …] status=done")
    update.add_argument("ref", help="the ticket: an id like PROJ-42 or a ticket URL")
    update.add_argument(
        "assignments",
        nargs="+",
        help="more tickets (PROJ-43, PROJ-1..PROJ-5), then field=value, field+=value, field-=value",
    )
    update.add_argument("--dry-run", action="store_true", help="print the request, send nothing")
    update.add_argument("--channel", help="route as if typed in this Slack channel id")
    update.add_argument("--as-email", help="who `me` is (an email known to the ticketing tool)")

    lookups = sub.add_parser("lookups", help="show or refresh the cached lookup lists")
    lookups_sub = lookups.add_subparsers(dest="action", required=True)
    show = lookups_sub.add_parser("show", help="print one lookup list")
    show.add_argument(
        "resource",
        type=lambda name: LOOKUP_ALIASES.get(name, name),
        choices=LOOKUP_RESOURCES,
        help="one of the lists; statuses, priorities, types and fields work too",
    )
    show.add_argument("--account", help="account name from the config (default: the default account)")
    refresh = lookups_sub.add_parser("refresh", help="fetch every lookup list again now")
    refresh.add_argument("--account", help="only this account (default: all)")

    serve = sub.add_parser("serve", help="run the Slack app in HTTP mode (POST /slack/events)")
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server listens on all interfaces
    serve.add_argument("--port", type=int, help="default: $PORT, else 3000")
    sub.add_parser("socket", help="run the Slack app in Socket Mode (needs SLACK_APP_TOKEN)")
    sub.add_parser("check", aliases=["doctor"], help="check the configuration, Slack, each account and Redis")
    sub.add_parser("worker", help="run jobs only (serve starts its own workers when Redis is configured)")

    audit = sub.add_parser("audit", help="print the audit trail (needs REDIS_URL)")
    audit.add_argument("--ticket", help="only this ticket, e.g. PROJ-42")
    audit.add_argument("--user", help="only this Slack user id, e.g. U0123")
    audit.add_argument("--since", type=parse_duration, help="only this recent: 30m, 1h, 7d")
    audit.add_argument("--limit", type=int, default=200)

    webhooks = sub.add_parser("webhooks", help="the unified API's webhook that keeps cards in Slack live")
    webhooks_sub = webhooks.add_subparsers(dest="action", required=True)
    register = webhooks_sub.add_parser("register", help="create the webhook; prints its secret once")
    register.add_argument("--url", required=True, help="the bot's receiver: https://…/truto/webhooks")
    register.add_argument(
        "--replace", action="store_true", help="delete a webhook that already points there (a new secret)"
    )
    webhooks_sub.add_parser("list", help="list the environment's webhooks")
    delete = webhooks_sub.add_parser("delete", help="delete a webhook")
    delete.add_argument("webhook_id")

    namespace = sub.add_parser("namespace", help="the Redis namespace: list others, adopt one's keys")
    namespace_sub = namespace.add_subparsers(dest="action", required=True)
    namespace_sub.add_parser("list", help="this deployment's namespace, and the others that hold keys")
    adopt = namespace_sub.add_parser("adopt", help="move another namespace's keys (history, audit) here")
    adopt.add_argument("name", help="the namespace, as `ticketbot check` or `namespace list` names it")

    fake = sub.add_parser("fake-slack", help="serve a fake Slack Web API (and Socket Mode) on loopback")
    fake.add_argument("--port", type=int, default=8020, help="default: 8020")

    tried = sub.add_parser("try", help='send the bot a signed command and show what it did: try "/ticket …"')
    tried.add_argument(
        "text", nargs="?", help='the command as typed in Slack: "/ticket update PROJ-42 status=done"'
    )
    tried.add_argument("--url", help="the bot (ticketbot serve); default http://127.0.0.1:$PORT (3000)")
    tried.add_argument("--fake-slack", help="the fake Slack; default from SLACK_API_URL, else :8020")
    tried.add_argument("--channel", default="C0TRY", help="the channel it is typed in (default: C0TRY)")
    tried.add_argument("--user", default="U0ANA", help="the Slack user id who types it (default: U0ANA)")
    tried.add_argument("--socket", action="store_true", help="over Socket Mode (ticketbot socket) instead")
    tried.add_argument("--wait", type=float, default=5.0, help="seconds to watch the fake Slack (default: 5)")
    tried.add_argument(
        "--team", default="T0TRY", help="the workspace (team id) it comes from (default: T0TRY)"
    )
    tried.add_argument(
        "--click",
        metavar="LABEL",
        help="click what the bot posted last with this label: Undo, Apply, a status…",
    )
    tried.add_argument("--react", metavar="EMOJI", help="react to the bot's last message in --channel")
    tried.add_argument("--reply", metavar="TEXT", help="reply in the newest synced thread of --channel")
    tried.add_argument(
        "--create-from",
        metavar="TEXT",
        help='run "Create ticket" on a message with this text by --author in --channel (the form opens)',
    )
    tried.add_argument(
        "--author", default="U0BRUNO", help="who wrote --create-from's message (default: U0BRUNO)"
    )
    tried.add_argument(
        "--submit",
        metavar="WORDS",
        help="submit the form the bot opened last, 'Title=\"New title\" Priority=High' (the rest as shown)",
    )
    tried.add_argument("--install", action="store_true", help="distributed mode: Add to Slack for --team")
    tried.add_argument("--home", action="store_true", help="open the Home tab (as --user in --team)")
    tried.add_argument(
        "--connect", metavar="TOOL", help="follow Home's Connect button; pick jira, linear, azure"
    )
    tried.add_argument("--uninstall", action="store_true", help="send app_uninstalled for --team")
    tried.add_argument(
        "--sign-in-as",
        metavar="USERNAME",
        help="with --connect TOOL: /ticket connect as --user, signed in to TOOL as this tool user",
    )
    tried.add_argument("--projects", default="", help="with --sign-in-as: the only projects it may use")
    tried.add_argument(
        "--step",
        choices=("update_ticket", "get_ticket", "create_ticket"),
        help="run a Workflow Builder step; the text is its inputs: 'ticket=PROJ-42 status=Done'",
    )

    db.add_parser(sub)
    workspaces.add_parser(sub)
    sandbox = sub.add_parser("sandbox", help="serve the local sandbox ticketing API")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8010, help="default: 8010")
    return parser


async def _update(config: AppConfig, args: argparse.Namespace) -> int:
    """One ticket or several (a bulk update): print each exact request; without --dry-run, apply
    each (one Idempotency-Key per ticket) and print the tickets."""
    core = build_core(config)
    try:
        command = core.service.parse(command_text(["update", args.ref, *args.assignments]), args.channel)
        assert isinstance(command, UpdateCommand)
        actor = Actor(email=args.as_email)
        if command.bulk:
            plans = await core.service.plan_many(command, actor, args.channel)
        else:
            plans = [await core.service.plan(command, actor, args.channel)]
        print("\n\n".join(request_text(p.describe(config.settings.truto_base_url)) for p in plans))
        if args.dry_run:
            return 0
        for plan in plans:
            result = await core.service.execute(plan, actor, args.channel)
            print(f"\nUpdated {result.ticket.display_ref} (Idempotency-Key {result.idempotency_key}):")
            print(changes_text(result.changes))
            print(ticket_text(result.ticket))
        return 0
    finally:
        await core.aclose()


def _account(config: AppConfig, name: str | None) -> list[str]:
    if name is None:
        return list(config.accounts)
    if name not in config.accounts:
        raise ConfigError(f"no account named {name!r} (known: {', '.join(config.accounts) or 'none'})")
    return [name]


async def _lookups(config: AppConfig, args: argparse.Namespace) -> int:
    core = build_core(config)
    try:
        if args.action == "show":
            name = args.account or config.default_account
            account = config.accounts[_account(config, name)[0]] if name else None
            if account is None:
                raise ConfigError("no default account: pass --account or set TRUTO_INTEGRATED_ACCOUNT_ID")
            lookup = await core.lookups.get(account, args.resource)
            if not lookup.present:
                print(f"{account.name}: the connected tool has no {args.resource} list")
            for item in lookup.items:
                print(json.dumps(item, ensure_ascii=False))
            return 0
        for name in _account(config, args.account):
            lists = await core.lookups.refresh(config.accounts[name])
            counts = ", ".join(
                f"{r} {len(v.items)}" if v.present else f"{r} absent" for r, v in lists.items()
            )
            print(f"{name}: {counts}")
            if core.service.discovery is not None:
                abilities = await core.service.discovery.refresh(config.accounts[name])
                said = sorted(abilities.body_fields) if abilities.body_fields is not None else ["(not said)"]
                verb = "can" if abilities.can_update else "cannot"
                print(f"{name}: the tool {verb} update tickets; fields: {', '.join(said)}")
        return 0
    finally:
        await core.aclose()


async def _webhooks(config: AppConfig, args: argparse.Namespace) -> int:
    from bot.truto import webhook_admin

    core = build_core(config)
    try:
        if args.action == "register":
            try:
                done = await webhook_admin.register(
                    core.client, args.url, print, replace=args.replace, accounts=config.settings.distributed
                )
            except ValueError as exc:
                raise UserInputError(str(exc)) from None
        elif args.action == "list":
            await webhook_admin.show(core.client, print)
            done = True
        else:
            done = await webhook_admin.delete(core.client, args.webhook_id, print)
        return 0 if done else 1
    finally:
        await core.aclose()


def _serve_sandbox(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.sandbox import SandboxState, create_sandbox_app

    state = SandboxState()
    try:  # the port first: the banner is printed only once requests can arrive
        listening = socket.create_server((args.host, args.port))
    except OSError as exc:
        print(
            f"ticketbot sandbox: cannot listen on {args.host}:{args.port} ({exc.strerror})", file=sys.stderr
        )
        return 1
    accounts = ", ".join(f"{p.integrated_account_id} ({p.tool})" for p in state.profiles.values())
    print(f"sandbox ticketing API on http://{args.host}:{args.port}")
    print(f"  token: {state.token}   integrated accounts: {accounts}")
    print(f"  try:   TRUTO_BASE_URL=http://{args.host}:{args.port} TRUTO_API_TOKEN={state.token} \\")
    print("         TRUTO_INTEGRATED_ACCOUNT_ID=sandbox-jira ticketbot update PROJ-42 status=done --dry-run")
    server = uvicorn.Server(uvicorn.Config(create_sandbox_app(state), log_level="warning"))
    server.run(sockets=[listening])
    return 0


def parse_duration(text: str) -> float:
    """`90s`, `30m`, `1h`, `7d` → seconds."""
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30m, 1h or 7d")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


async def _audit(config: AppConfig, args: argparse.Namespace) -> int:
    core = build_core(config)
    try:
        if core.redis is None:
            print("Audit records are written to the log only: set REDIS_URL to keep and query them.")
            return 1
        await namespaces.adopt_previous(core.redis)  # as serve would: an upgrade keeps the trail
        records = await core.service.audit.read(  # type: ignore[union-attr]
            ticket=args.ticket, user=args.user, since_seconds=args.since, limit=args.limit
        )
    finally:
        await core.aclose()
    print(audit_table(records))
    return 0


async def _namespace(config: AppConfig, args: argparse.Namespace) -> int:
    core = build_core(config)
    try:
        if core.redis is None:
            print("No namespace in use: set REDIS_URL (without Redis everything lives in the process).")
            return 1
        if args.action == "list":
            found = await namespaces.others(core.redis)
            print(f"this deployment: {keys.current()}")
            for name, count in sorted(found.items()):
                print(f"other:           {name} ({count} keys)")
            return 0
        if args.name == keys.current():
            print(f"{args.name} is this deployment's own namespace; nothing to move.")
            return 0
        moved = await namespaces.adopt(core.redis, args.name)
    finally:
        await core.aclose()
    print(
        f"moved {moved} keys from {args.name} to {keys.current()}" if moved else f"no keys under {args.name}"
    )
    return 0


def _try(args: argparse.Namespace) -> int:
    """Read from the environment alone: trying needs no API token, only the signing secret."""
    from bot.cli.try_it import (
        try_click,
        try_command,
        try_connect,
        try_connect_own,
        try_create_from,
        try_event,
        try_install,
        try_react,
        try_reply,
        try_step,
        try_submit,
    )

    api = os.environ.get("SLACK_API_URL", "")
    fake = args.fake_slack or (api.removesuffix("/").removesuffix("/api") if api else "http://127.0.0.1:8020")
    url = args.url or f"http://127.0.0.1:{os.environ.get('PORT') or 3000}"
    secret = os.environ.get("SLACK_SIGNING_SECRET")
    event = {"team": args.team, "user": args.user, "bot_url": url, "fake_url": fake, "secret": secret}
    if args.install:
        return try_install(args.team, bot_url=url)
    if args.connect and args.sign_in_as:
        return try_connect_own(
            args.connect,
            args.sign_in_as,
            projects=args.projects,
            channel=args.channel,
            wait=args.wait,
            **event,
        )
    if args.connect:
        return try_connect(args.connect, wait=args.wait, **event)
    if args.home or args.uninstall:
        kind = "app_home_opened" if args.home else "app_uninstalled"
        return 0 if try_event(kind, wait=args.wait, **event) is not None else 1
    if args.step:
        return try_step(args.step, args.text or "", socket=args.socket, wait=args.wait, **event)
    if args.click:
        return try_click(args.click, channel=args.channel, wait=args.wait, **event)
    if args.submit is not None:
        return try_submit(args.submit, wait=args.wait, **event)
    if args.react:
        return try_react(args.react, channel=args.channel, wait=args.wait, **event)
    if args.reply:
        return try_reply(args.reply, channel=args.channel, wait=args.wait, **event)
    if args.create_from:
        return try_create_from(
            args.create_from, author=args.author, channel=args.channel, wait=args.wait, **event
        )
    if not args.text:
        print(
            'try: give the command ("/ticket …"), or --click, --react, --reply, --create-from, '
            "--install, --home, --connect, --uninstall or --step",
            file=sys.stderr,
        )
        return 2
    return try_command(
        args.text,
        bot_url=url,
        fake_url=fake,
        secret=os.environ.get("SLACK_SIGNING_SECRET"),
        channel=args.channel,
        user=args.user,
        team=args.team,
        socket=args.socket,
        wait=args.wait,
    )


def settings_token(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


def _serve(config: AppConfig, args: argparse.Namespace) -> int:
    import uvicorn

    from bot.slack.http_server import serve_options
    from handlers.app import build_bot

    port = args.port or config.settings.port or 3000
    # The port first: a taken one ends the command before any worker or job starts.
    try:
        socket.create_server((args.host, port)).close()  # uvicorn binds it again (SO_REUSEADDR)
    except OSError as exc:
        print(
            f"ticketbot serve: cannot listen on {args.host}:{port} ({exc.strerror}); "
            "stop what holds it, or choose another port with --port or PORT",
            file=sys.stderr,
        )
        return 1
    bot = build_bot(config)
    core = bot.core
    processes = config.settings.worker_processes if config.settings.redis_url else 0
    asyncio.run(bot.prepare())  # the database's schema, before the first request

    collector = QuietCollector()

    async def background() -> None:
        bot.warm_up()  # auth.test before the first request needs it
        await core.warm_up()
        await asyncio.gather(collector.run(), bot.run_beside(processes) if processes else bot.run_worker())

    async def drain() -> None:
        await bot.drain(config.settings.drain_seconds)

    http_app = bot.http_app(
        redis_ok=core.redis_ok,
        background=background,
        drain=drain,
        on_shutdown=core.aclose,
        metrics_token=settings_token(config.settings.metrics_token),
    )
    # What start-up built lives as long as the process: keep full collections from walking it
    # (a full collection over it paused acks for tens of milliseconds).
    gc.collect()
    gc.freeze()
    collector.take_over()  # full collections at quiet moments only (bot/ops/quiet_gc.py)
    settings = config.settings
    # uvicorn drains on SIGTERM, then raises the signal again for the handler it found: a no-op
    # here, so a drained stop is a clean exit (status 0), as Kubernetes expects.
    signal.signal(signal.SIGTERM, lambda *_: None)
    uvicorn.run(
        collector.counting(http_app),
        host=args.host,
        port=port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's own lines (access lines too) go through our JSON handler
        **serve_options(settings, bot.edge.bodies),
        timeout_graceful_shutdown=max(1, int(settings.drain_seconds)),
    )
    return 0


async def _worker(config: AppConfig) -> int:
    """Run jobs only (`ticketbot serve` starts these itself when Redis is configured)."""
    from handlers.app import build_bot

    bot = build_bot(config)
    core = bot.core
    await bot.prepare()
    await core.warm_up()
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(bot.run_worker())
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    try:
        await asyncio.wait([task, asyncio.create_task(stopping.wait())], return_when=asyncio.FIRST_COMPLETED)
        await bot.worker.shutdown(config.settings.drain_seconds)  # hand back, finish, exit 0
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        await core.aclose()
    return 0


async def _socket(config: AppConfig) -> int:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from handlers.app import build_bot

    token = config.settings.slack_app_token
    if token is None:
        raise ConfigError("SLACK_APP_TOKEN: not set (an app-level token, xapp-…, with connections:write)")
    bot = build_bot(config)
    core = bot.core
    await bot.prepare()
    bot.warm_up()
    handler = AsyncSocketModeHandler(bot.app, token.get_secret_value())
    worker = asyncio.create_task(bot.run_worker())
    try:
        await handler.start_async()  # type: ignore[no-untyped-call]
    finally:
        worker.cancel()
        await core.aclose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Expected endings print no traceback: a closed pipe, Ctrl-C."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # inside the try: the last buffered lines may meet the closed pipe
        return code
    except BrokenPipeError:
        # `ticketbot lookups show users | head`: the reader left. Quietly: stdout goes to
        # /dev/null so that Python's own flush at exit does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # as a shell reports a pipe's writer ended by SIGPIPE
    except KeyboardInterrupt:
        return 130


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from bot.cli.demo import run_demo

        return run_demo()
    if args.command == "sandbox":
        return _serve_sandbox(args)
    if args.command == "fake-slack":
        from bot.sandbox.fake_slack import serve_forever

        serve_forever(args.port)
        return 0
    if args.command == "try":
        return _try(args)
    if args.command == "db" and args.db_command == "new-key":
        print(new_key())  # needs no configuration
        return 0
    if args.command in ("check", "doctor"):
        from bot.cli.doctor import doctor

        return asyncio.run(doctor())
    if args.command == "worker":
        follow_serve()  # before anything else, when `serve` started this worker
    try:
        config = load_config()
        server = args.command in ("serve", "socket", "worker")
        configure(
            config.settings.log_level,
            secrets=secret_values(config.settings),
            stream=sys.stdout if server else sys.stderr,
            json_lines=None if server else False,
        )
        if args.command == "serve":
            return _serve(config, args)
        if args.command == "socket":
            return asyncio.run(_socket(config))
        if args.command == "worker":
            return asyncio.run(_worker(config))
        if args.command == "audit":
            return asyncio.run(_audit(config, args))
        if args.command == "webhooks":
            return asyncio.run(_webhooks(config, args))
        if args.command == "namespace":
            return asyncio.run(_namespace(config, args))
        if args.command == "db":
            return asyncio.run(db.run(config, args))
        if args.command == "workspaces":
            return asyncio.run(workspaces.run(config, args))
        runner = _update if args.command == "update" else _lookups
        return asyncio.run(runner(config, args))
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    except UserInputError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 1
    except TrutoError as exc:
        print(f"✗ {exc.user_message}\n  ({exc.detail})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
