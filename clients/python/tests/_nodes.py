"""Starts real ``meshcache node`` processes for the tests (as test/helpers/cli.ts does
for the Node tests): the repository's pinned Node, ``bin/meshcache.js node``, the
``ready {json}`` line parsed for the listen addresses and the HTTP URL.

``MESHCACHE_PY_TESTS_FROM_SOURCE=1`` runs ``src/cli/main.ts`` through tsx instead of
the built ``dist/`` (as the Node tests do), for a tree whose ``dist/`` is not rebuilt.
Addresses are 127.0.93.x only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent  # clients/python/tests -> repo root
NODE = REPO / "node_modules" / ".bin" / "node"
BIN = REPO / "bin" / "meshcache.js"
DIST_MAIN = REPO / "dist" / "src" / "cli" / "main.js"
SRC_MAIN = REPO / "src" / "cli" / "main.ts"
TSX = REPO / "node_modules" / "tsx"

# Make the package importable without installing it.
SRC = HERE.parent / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

READY_TIMEOUT = 25.0


def node_command() -> list[str]:
    """The command line that runs ``meshcache``; raises ``unittest.SkipTest`` when this
    checkout cannot run it."""
    if not NODE.exists():
        raise unittest.SkipTest(
            f"{NODE} not found: run `npm ci` at the repository root to get the pinned Node"
        )
    if os.environ.get("MESHCACHE_PY_TESTS_FROM_SOURCE") == "1":
        if not TSX.exists():
            raise unittest.SkipTest("MESHCACHE_PY_TESTS_FROM_SOURCE=1 needs node_modules/tsx")
        return [str(NODE), "--import", "tsx", str(SRC_MAIN)]
    if not DIST_MAIN.exists():
        raise unittest.SkipTest(
            f"{DIST_MAIN} not found: run `npm run build` (bin/meshcache.js runs the build)"
        )
    _warn_if_stale_build()
    return [str(NODE), str(BIN)]


_warned = False


def _warn_if_stale_build() -> None:
    """Says so (once) when src/ changed after dist/ was built: the node under test is
    then older than the source."""
    global _warned
    if _warned:
        return
    _warned = True
    built = DIST_MAIN.stat().st_mtime
    newer = [p for p in (REPO / "src").rglob("*.ts") if p.stat().st_mtime > built]
    if newer:
        print(
            f"\nnote: {len(newer)} file(s) in src/ are newer than dist/ (e.g. "
            f"{newer[0].relative_to(REPO)}): the tests run the older build. "
            "Run `npm run build`, or set MESHCACHE_PY_TESTS_FROM_SOURCE=1.",
            file=sys.stderr,
        )


@dataclass
class NodeProcess:
    proc: subprocess.Popen[str]
    info: dict[str, Any]
    lines: list[str] = field(default_factory=list)

    @property
    def http(self) -> str:
        return str(self.info["http"])

    @property
    def address(self) -> str:
        return str(self.info["addresses"][0])

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited in 5 s; always waits for the exit."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def start_node(args: list[str], timeout: float = READY_TIMEOUT) -> NodeProcess:
    """Runs ``meshcache node <args>`` and returns once it printed ``ready``.

    The process is always either returned or killed (never left running on a failure).
    """
    cmd = node_command() + ["node", *args]
    env = {**os.environ, "DEBUG": ""}
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    node = NodeProcess(proc, {})
    ready = threading.Event()

    def pump() -> None:  # keeps reading so the pipe never fills and blocks the node
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                node.lines.append(line)
                if not ready.is_set() and line.startswith("ready "):
                    node.info = json.loads(line[len("ready ") :])
                    ready.set()
        except (ValueError, OSError):
            pass
        ready.set()

    threading.Thread(target=pump, name=f"meshcache-node-{proc.pid}", daemon=True).start()
    if not ready.wait(timeout) or not node.info:
        node.stop()
        raise RuntimeError(
            f"`{' '.join(cmd)}` did not print ready in {timeout:g} s "
            f"(exit {proc.poll()}):\n{node.output()}"
        )
    return node


def wait_for(cond: Callable[[], Any], what: str, timeout: float = 10.0, every: float = 0.05) -> Any:
    """Polls ``cond`` until it returns something truthy; fails with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last_err: Optional[BaseException] = None
    while True:
        try:
            v = cond()
            if v:
                return v
        except Exception as err:  # noqa: BLE001 - retried until the deadline
            last_err = err
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what}"
                + (f" (last error: {last_err!r})" if last_err else "")
            )
        time.sleep(every)
