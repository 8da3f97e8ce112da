"""Headless Chromium driven over the DevTools protocol: a page opened with a login cookie,
waited on until its charts render, and captured as PNG; plus a small PNG reader to tell a
blank capture from a drawn one (no imaging library in the project's environment)."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from pathlib import Path

from websockets.sync.client import connect


class Chromium:
    """One headless browser with a throwaway profile; :meth:`call` speaks to one page."""

    def __init__(self, width: int = 1600, height: int = 1200) -> None:
        self.size = (width, height)
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        assert browser, "headless Chromium is needed: apt-get install chromium (.ci/run does)"
        self.profile = Path(tempfile.mkdtemp(prefix="ttw-bi-chromium-"))
        self.process = subprocess.Popen(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--window-size={width},{height}", f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            assert time.monotonic() < deadline, "Chromium did not open its DevTools port"
            time.sleep(0.2)
        port = port_file.read_text().split()[0]
        self.browser = connect(f"ws://127.0.0.1:{port}{port_file.read_text().split()[1]}", max_size=None)
        self.ids = itertools.count(1)
        target = self._send(self.browser, "Target.createTarget", {"url": "about:blank"})["targetId"]
        self.page = connect(f"ws://127.0.0.1:{port}/devtools/page/{target}", max_size=None)

    def _send(self, socket, method: str, params: dict | None = None) -> dict:
        ident = next(self.ids)
        socket.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        while True:
            message = json.loads(socket.recv(timeout=120))
            if message.get("id") == ident:
                assert "error" not in message, (method, message["error"])
                return message["result"]

    def call(self, method: str, params: dict | None = None) -> dict:
        return self._send(self.page, method, params)

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})["result"].get("value")

    def open(self, url: str, cookies: dict[str, str], host: str = "127.0.0.1") -> None:
        self.call("Network.enable")
        width, height = self.size
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        self.call("Emulation.setDeviceMetricsOverride", metrics)
        for name, value in cookies.items():
            self.call("Network.setCookie", {"name": name, "value": value, "domain": host, "path": "/"})
        self.call("Page.navigate", {"url": url})

    def wait_for(self, expression: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(expression):
                return True
            time.sleep(1)
        return False

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        for socket in (self.page, self.browser):
            socket.close()
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the RGB of every pixel of an 8-bit truecolor PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos : pos + 4]), data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, *_ = header
    assert depth == 8, depth
    assert color in (2, 6), color
    channels = 3 if color == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, [bytes(r[i : i + 3]) for r in rows for i in range(0, stride, channels)]
