"""``auralis serve --ray``: the same FastAPI app as a Ray Serve deployment, one engine per replica.

Ray Serve does what a home-made balancer would do badly: it routes each request to a replica with
room, streams responses back through its HTTP proxy, restarts replicas that die, autoscales on
requests in flight, and spans machines (and Kubernetes through KubeRay). Auralis adds only this:

- `AuralisReplica`, a deployment whose constructor loads the engine once (Ray sends a replica
  traffic only after that) and whose app is `create_app` with that engine, wrapped so every
  response carries ``x-auralis-replica``;
- `build_app` / `deploy` (Python API, used by the tests) and `run_with_ray` (the command): start
  or join a cluster, deploy, wait for Ctrl-C/SIGTERM, drain, and shut the cluster down if this
  process started it.

See docs/scale-out.md for the operational side (GPUs, nodes, KubeRay, metrics).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ray import serve
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import ServerConfig

if TYPE_CHECKING:
    from ray.serve import Application

log = logging.getLogger("auralis.server.ray")

APP_NAME = "auralis"
DEPLOYMENT_NAME = "Auralis"
REPLICA_HEADER = "x-auralis-replica"


def replica_actor_name(replica: str, app: str = APP_NAME) -> str:
    """The Ray actor (namespace ``serve``) behind an ``x-auralis-replica`` value: what to pass to
    ``ray.get_actor(..., namespace="serve")`` to inspect or ``ray.kill`` that replica."""
    return f"SERVE_REPLICA::{app}#{DEPLOYMENT_NAME}#{replica}"


class ReplicaHeaderMiddleware:
    """Pure ASGI (streams pass untouched): adds ``x-auralis-replica`` to every response start.

    Serve's proxy gives each request an ``x-request-id`` (the client's, or a new one) and sets it
    on the response itself; the app's echo of the same id is dropped so the header appears once."""

    def __init__(self, app: ASGIApp, replica_id: str) -> None:
        self.app = app
        self.header = (REPLICA_HEADER.encode(), replica_id.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        echo = next(((b"x-request-id", v) for k, v in scope.get("headers", []) if k == b"x-request-id"), None)

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if (h[0].lower(), h[1]) != echo]
                message["headers"] = [*headers, self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)


@serve.ingress()  # the app is built per replica, after the engine loaded (`__serve_build_asgi_app__`)
class AuralisReplica:
    """One replica: one engine, one `create_app`. ``setup`` runs first in the replica process (e.g.
    `register_engine` for an engine that is not an installed distribution)."""

    async def __init__(self, config: dict[str, Any], setup: Callable[[], None] | None = None) -> None:
        from .runtime import ServerRuntime

        if setup is not None:
            setup()
        self.config = ServerConfig.model_validate(config)
        self.replica_id = serve.get_replica_context().replica_id.unique_id
        loader = ServerRuntime(self.config)
        await loader.load()  # the single-server loading path: same arguments, same checks
        if loader.tts is None:
            raise RuntimeError(f"replica {self.replica_id}: {loader.detail}")  # Ray reports it and retries
        self.tts = loader.tts
        log.info("replica %s ready (engine %s)", self.replica_id, self.tts.engine_name)

    def __serve_build_asgi_app__(self) -> ASGIApp:
        from .app import create_app

        return ReplicaHeaderMiddleware(create_app(self.config, tts=self.tts), self.replica_id)

    async def check_health(self) -> None:
        """Ray's periodic probe: a replica whose engine shut down or whose loop died is replaced."""
        if self.tts._closed or self.tts._loop.closed:
            raise RuntimeError(f"replica {self.replica_id}: the engine is no longer running")

    async def __del__(self) -> None:
        await self.tts.shutdown_async()


def _replica_concurrency(config: ServerConfig) -> int:
    """Segments one replica runs at once, known before any replica loads: the flag, else the
    engine's declared preference (its cheap registry capabilities), else the scheduler's default."""
    if config.max_concurrency is not None:
        return config.max_concurrency
    from ..registry import get_engine_spec
    from ..scheduler import DEFAULT_MAX_CONCURRENCY
    from ..tts import _default_engine

    try:
        preferred = get_engine_spec(config.engine or _default_engine()).capabilities.preferred_concurrency
    except Exception:  # noqa: BLE001 - an unknown engine fails in the replica, with its own message
        preferred = None
    return preferred or DEFAULT_MAX_CONCURRENCY


def build_app(config: ServerConfig, setup: Callable[[], None] | None = None) -> Application:
    """The Serve application for ``config`` (replicas, autoscaling, resources, drain time)."""
    concurrency = _replica_concurrency(config)
    options: dict[str, Any] = {
        "name": DEPLOYMENT_NAME,
        "ray_actor_options": {"num_cpus": config.cpus_per_replica, "num_gpus": config.gpus_per_replica},
        # admission stays Auralis' (429 + Retry-After from each replica); Ray only needs room for it
        "max_ongoing_requests": concurrency + config.max_queue + 8,
        "graceful_shutdown_timeout_s": config.graceful_shutdown_timeout,
        "graceful_shutdown_wait_loop_s": 0.5,
        "health_check_period_s": 5.0,
    }
    if config.autoscale is not None:
        low, high = config.autoscale
        options["autoscaling_config"] = {
            "min_replicas": low, "max_replicas": high, "initial_replicas": max(low, 1),
            "target_ongoing_requests": max(1, concurrency),
        }
    else:
        options["num_replicas"] = config.replicas or 1
    deployment = serve.deployment(AuralisReplica).options(**options)
    return deployment.bind(config.model_dump(mode="json"), setup)


def app_builder(args: dict[str, Any]) -> Application:
    """Serve's application-builder entry (``import_path: auralis_core.server.ray_serve:app_builder``)
    for ``serve run``, ``serve deploy`` and KubeRay's ``RayService``: ``args`` are `ServerConfig`
    fields (``engine``, ``model``, ``replicas``, ``autoscale: "1:4"``, ``gpus_per_replica``, ...);
    HTTP host and port are then Serve's ``http_options``; the API key may come from the
    environment (``AURALIS_API_KEY``) of the process that builds the app."""
    args = {"api_key": os.environ.get("AURALIS_API_KEY"), **args}  # a secret stays out of the manifest
    return build_app(ServerConfig.model_validate({**args, "ray": True}))


def deploy(config: ServerConfig, setup: Callable[[], None] | None = None, name: str = APP_NAME) -> None:
    """Start Serve's HTTP proxy on ``config.host:port`` (if not running) and deploy; returns once
    every initial replica has loaded its engine (Serve's RUNNING)."""
    serve.start(http_options={"host": config.host, "port": config.port})
    serve.run(build_app(config, setup), name=name, route_prefix="/", blocking=False)


def drain(timeout: float, name: str = APP_NAME, proxies: bool = False, port: int | None = None) -> bool:
    """Remove the application: the proxy stops routing to it at once, and the call returns when
    its replicas have finished their in-flight requests (Serve bounds that by the deployment's
    graceful timeout). With ``proxies`` (before Serve itself is shut down) it then waits until
    the HTTP proxies have written every response to its client too: a replica finishes an audio
    stream as fast as it computes it, the proxy may hold seconds of it for a client that reads at
    playback speed (``port``: the proxy's, to wait for the kernel to send what it holds too).
    Returns False if ``timeout`` ran out first."""
    import time

    import ray

    deadline = time.monotonic() + timeout
    serve.delete(name, _blocking=True)
    if not proxies:
        return True
    # ProxyActor.update_draining / is_drained: the protocol Serve's controller uses to drain a
    # node's proxy (health checks answer "draining"; ongoing responses counted to zero)
    handles = [ray.get_actor(actor["name"], namespace="serve") for actor in ray.util.list_named_actors(all_namespaces=True)
               if actor["namespace"] == "serve" and actor["name"].startswith("SERVE_PROXY_ACTOR")]
    ray.get([h.update_draining.remote(True) for h in handles])
    pending = list(handles)
    while pending and time.monotonic() < deadline:
        pending = [h for h, done in zip(pending, ray.get([h.is_drained.remote() for h in pending])) if not done]
        if pending:
            time.sleep(0.2)
    return not pending and _wait_until_sent(port, deadline)


def _wait_until_sent(port: int | None, deadline: float) -> bool:
    """A drained proxy has handed its last bytes to the kernel; for a client that reads slowly
    they may still be queued in the socket (megabytes on loopback), and stopping the proxy now
    would reset the connection. Wait until no connection of ``port`` has unsent bytes (Linux's
    /proc/net/tcp; elsewhere there is nothing to wait on)."""
    import time

    if port is None:
        return True
    quiet = 0
    while time.monotonic() < deadline:
        queued = _unsent_bytes(port)
        if queued is None:
            return True
        quiet = quiet + 1 if queued == 0 else 0
        if quiet >= 2:
            return True
        time.sleep(0.1)
    return False


def _unsent_bytes(port: int) -> int | None:
    total, readable = 0, False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # ESTABLISHED
                total += int(fields[4].split(":")[0], 16)
    return total if readable else None


def run_with_ray(config: ServerConfig, log_level: str = "info") -> int:
    """The ``auralis serve --ray`` process: start/join, deploy, serve until a signal, drain, stop."""
    import ray

    started = config.ray_address is None
    if started:
        # a drained proxy reports so after this many seconds without requests (Serve's default
        # of 30 s is for autoscaled nodes, not for a process that is stopping)
        os.environ.setdefault("RAY_SERVE_PROXY_MIN_DRAINING_PERIOD_S", "0.2")
        ray.init(address="local", num_cpus=config.ray_num_cpus, include_dashboard=False,
                 _node_ip_address="127.0.0.1", logging_level=log_level.upper(), configure_logging=False)
    else:
        ray.init(address=config.ray_address, logging_level=log_level.upper(), configure_logging=False)
    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            deploy(config)
        except Exception as exc:  # noqa: BLE001 - whatever Serve raises when replicas cannot load (after its retries)
            log.error("deployment failed: %s", exc)
            return 1
        scale = (f"{config.autoscale[0]}-{config.autoscale[1]} replicas (autoscaling)" if config.autoscale
                 else f"{config.replicas or 1} replica(s)")
        log.info("serving engine %s with %s on http://%s:%d (Ray Serve)", config.engine or "default", scale,
                 config.host, config.port)
        print(f"auralis: ready on http://{config.host}:{config.port} ({scale})", flush=True)
        while not stop.wait(0.5):
            pass
        log.info("%s: draining in-flight requests (up to %.0f s)", received[0], config.graceful_shutdown_timeout)
        signal.signal(signal.SIGINT, previous[signal.SIGINT])  # a second Ctrl-C aborts the drain
        if not drain(config.graceful_shutdown_timeout, proxies=started, port=config.port if started else None):
            log.warning("graceful timeout reached with responses still in flight")
        return 0
    finally:
        if started:
            serve.shutdown()
        ray.shutdown()
        print("auralis: stopped", flush=True)
