"""Page weight, time to rendered math and layout shift of every page of the built book (issues 4/5, 11).

Serves the built book with ``python -m http.server`` on 127.0.0.1 and opens every page of ``_toc.yml`` in
headless Debian Chromium, each page in a fresh browser context with the HTTP cache disabled (CDP
``Network.setCacheDisabled``) and every request that does not go to the loopback server blocked (a dead
proxy for all non-loopback hosts: nothing is intercepted, so the timings are the browser's own).

For each page it reports

* **kB**: the bytes (/1000) of every response the page received (HTML, CSS, JS, fonts, images), as served, i.e.
  uncompressed (``http.server`` does not compress): the sum of the body sizes;
* **req**: the number of requests (same-origin; blocked external requests are counted apart);
* **load**: milliseconds from navigation start to the end of the ``load`` event;
* **math**: milliseconds from navigation start until the page is *rendered, math included*: ``load`` has
  fired, every math element of the article (``.math``, ``.katex-display``, ``mjx-container``) holds rendered
  output (a ``.katex`` or an ``mjx-container`` with content; for MathJax also ``MathJax.startup.promise``
  resolved), no ``document.fonts`` face is still loading (``document.fonts.status == "loaded"``, after
  ``document.fonts.ready`` resolved) and every ``<img>`` has decoded; polled every animation frame in the
  page, so the figure is the first frame at which all of that holds.
* **fcp**: milliseconds to the first contentful paint (the ``paint`` performance entry);
* **CLS**: the cumulative layout shift of the load (``layout-shift`` entries without recent input, largest
  session window: gaps under 1 s, windows under 5 s) until 1 s after the page counted as rendered; the worse of
  the fast and the throttled load;

once on the fast loopback and once throttled to 1.6 Mbps down / 750 kbps up / 150 ms RTT (Chromium's
``Network.emulateNetworkConditions`` through a CDP session, Lighthouse's "slow 4G" numbers).  Not a test:
times depend on the machine and its load (the load average is printed); bytes and requests are exact.

    .venv/bin/python benchmarks/bench_pages.py [BUILD_HTML_DIR] [--repeat 3] [--no-throttle] [--json out.json] [--files]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import browser_support as bs  # noqa: E402  (read_toc, the Chromium path and flags the tests use)

THROTTLED = {  # 1.6 Mbps / 750 kbps / 150 ms round trip
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1.6e6 / 8,
    "uploadThroughput": 750e3 / 8,
}
BUDGET_BYTES = 1_000_000  # issue 4/5: every page <= 1 MB
BUDGET_THROTTLED_MS = 6000  # and rendered, math included, within 6 s on the throttled profile

# Installed before any page script: records performance.now() at the first animation frame at which the page
# counts as rendered (see the module docstring).
READY_JS = r"""
(() => {
  const mathRendered = () => {
    const root = document.querySelector('article.bd-article') || document.body;
    if (!root) return false;
    const math = root.querySelectorAll('.math');
    for (const m of math)
      if (!m.querySelector('.katex, mjx-container')) return false;
    for (const c of root.querySelectorAll('mjx-container'))
      if (!c.firstElementChild) return false;
    return true;
  };
  window.__cvShifts = [];
  try {
    new PerformanceObserver(l => { for (const e of l.getEntries()) if (!e.hadRecentInput) window.__cvShifts.push([e.startTime, e.value]); })
      .observe({type: 'layout-shift', buffered: true});
  } catch (e) {}
  let fontsReady = false;
  window.addEventListener('load', () => {
    const mj = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
    Promise.resolve(mj).catch(() => null).then(() => document.fonts.ready).then(() => { fontsReady = true; });
    const poll = () => {
      const imgs = [...document.images].every(i => i.complete);
      if (fontsReady && document.fonts.status === 'loaded' && imgs && mathRendered()) {
        window.__cvReady = performance.now();
        window.__cvMath = document.querySelectorAll('.math').length;
      } else requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
  });
})();
"""


NAV_JS = r"""() => {
  const n = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByType('paint').find(p => p.name === 'first-contentful-paint');
  let cls = 0, cur = 0, start = null, last = null;
  for (const [t, v] of window.__cvShifts) {
    if (last === null || t - last > 1000 || t - start > 5000) { cur = 0; start = t; }
    cur += v; last = t; cls = Math.max(cls, cur);
  }
  return {load: n.loadEventEnd, ready: window.__cvReady, math: window.__cvMath, fcp: fcp ? fcp.startTime : null, cls};
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpServer:
    """``python -m http.server`` on 127.0.0.1 in a child process (context manager)."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.cmd = [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
                    "--directory", str(directory)]

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                urllib.request.urlopen(self.origin + "/", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("http.server did not start")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def measure(browser, url: str, origin: str, throttle: dict | None, timeout_s: float) -> dict:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport=bs.VIEWPORT, device_scale_factor=1, service_workers="block")
    page = context.new_page()
    page.add_init_script(READY_JS)
    sizes: dict[str, int] = {}
    external: list[str] = []
    failed: list[str] = []

    def on_finished(req):
        if not req.url.startswith(origin):
            return
        resp = req.response()
        length = resp.headers.get("content-length") if resp else None
        try:
            size = int(length) if length is not None else len(resp.body())
        except Exception:  # a response without a body (redirects)
            size = 0
        sizes[req.url + f"#{len(sizes)}"] = size

    def on_failed(req):
        (failed if req.url.startswith(origin) else external).append(req.url)

    page.on("requestfinished", on_finished)
    page.on("requestfailed", on_failed)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    if throttle:
        cdp.send("Network.emulateNetworkConditions", throttle)
    try:
        page.goto(url, wait_until="load", timeout=timeout_s * 1000)
        page.wait_for_function("() => window.__cvReady !== undefined", timeout=timeout_s * 1000, polling=50)
        page.wait_for_timeout(1000)  # layout shifts just after the page counted as rendered still count
        nav = page.evaluate(NAV_JS)
        try:  # requests made after the page counted as rendered still count as bytes
            page.wait_for_load_state("networkidle", timeout=10_000)
        except PlaywrightTimeout:  # a page that keeps a connection busy (retries of a blocked CDN load)
            page.wait_for_timeout(1000)
    finally:
        context.close()
    return {"bytes": sum(sizes.values()), "requests": len(sizes), "load_ms": nav["load"], "ready_ms": nav["ready"],
            "math": nav["math"], "fcp_ms": nav["fcp"], "cls": nav["cls"], "failed": failed, "external": external,
            "files": sorted(((u.rsplit("#", 1)[0][len(origin):], n) for u, n in sizes.items()), key=lambda f: -f[1])}


def run(html_dir: Path, repeat: int, throttle: bool, timeout_s: float) -> list[dict]:
    from playwright.sync_api import sync_playwright

    pages = [p for p in bs.read_toc() if (html_dir / p.html).is_file()]
    for p in bs.read_toc():
        if p not in pages:
            print(f"  skipped {p.docname}: not in this build", file=sys.stderr)
    rows = []
    with HttpServer(html_dir) as srv, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=bs.CHROMIUM, headless=True,
            # every non-loopback request goes to a closed local port (loopback bypasses proxies): offline
            args=bs.CHROMIUM_ARGS + ["--proxy-server=http://127.0.0.1:9"],
        )
        try:
            for page in pages:
                url = f"{srv.origin}/{page.html}"
                fast = [measure(browser, url, srv.origin, None, timeout_s) for _ in range(repeat)]
                slow = measure(browser, url, srv.origin, THROTTLED, timeout_s) if throttle else None
                row = {
                    "page": page.docname,
                    "bytes": fast[0]["bytes"],
                    "requests": fast[0]["requests"],
                    "math": fast[0]["math"],
                    "fast_load_ms": statistics.median(r["load_ms"] for r in fast),
                    "fast_ready_ms": statistics.median(r["ready_ms"] for r in fast),
                    "fast_fcp_ms": statistics.median(r["fcp_ms"] or 0 for r in fast),
                    "fast_cls": max(r["cls"] for r in fast),
                    "slow_load_ms": slow["load_ms"] if slow else None,
                    "slow_ready_ms": slow["ready_ms"] if slow else None,
                    "slow_fcp_ms": slow["fcp_ms"] if slow else None,
                    "slow_cls": slow["cls"] if slow else None,
                    "files": fast[0]["files"],
                    "failed": sorted(set(fast[0]["failed"])),
                    "external": sorted(set(fast[0]["external"])),
                }
                rows.append(row)
                print(f"  measured {page.docname}", file=sys.stderr, flush=True)
        finally:
            browser.close()
    return rows


def table(rows: list[dict]) -> str:
    head = (f"{'page':30s} {'kB':>7s} {'req':>4s} {'ext':>4s} {'#math':>5s} {'fast load':>10s} {'fast math':>10s}"
            f" {'fast fcp':>9s} {'slow load':>10s} {'slow math':>10s} {'slow fcp':>9s} {'CLS':>6s}  budget")
    lines = [head, "-" * len(head)]
    for r in rows:
        slow_ok = r["slow_ready_ms"] is None or r["slow_ready_ms"] <= BUDGET_THROTTLED_MS
        verdict = "ok" if r["bytes"] <= BUDGET_BYTES and slow_ok and not r["failed"] else "OVER"
        fmt = lambda ms, unit: "-" if ms is None else (f"{ms:.0f} ms" if unit == "ms" else f"{ms / 1000:.2f} s")
        cls = max(r["fast_cls"], r["slow_cls"] or 0)
        lines.append(
            f"{r['page']:30s} {r['bytes'] / 1000:7.1f} {r['requests']:4d} {len(r['external']):4d} {r['math']:5d}"
            f" {fmt(r['fast_load_ms'], 'ms'):>10s} {fmt(r['fast_ready_ms'], 'ms'):>10s} {fmt(r['fast_fcp_ms'], 'ms'):>9s}"
            f" {fmt(r['slow_load_ms'], 's'):>10s} {fmt(r['slow_ready_ms'], 's'):>10s} {fmt(r['slow_fcp_ms'], 's'):>9s}"
            f" {cls:6.3f}  {verdict}"
        )
    total = sum(r["bytes"] for r in rows)
    lines.append(f"{'largest':30s} {max(r['bytes'] for r in rows) / 1000:7.1f}   (all pages: {total / 1000:.0f} kB)")
    for r in rows:
        for url in r["failed"]:
            lines.append(f"FAILED on {r['page']}: {url}")
        for url in r["external"]:
            lines.append(f"blocked external request on {r['page']}: {url}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html", nargs="?", default=str(REPO / "_build" / "html"), help="the built book (default _build/html)")
    ap.add_argument("--repeat", type=int, default=3, help="fast loads per page (median reported)")
    ap.add_argument("--no-throttle", action="store_true", help="skip the 1.6 Mbps / 150 ms run")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per page load")
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--files", action="store_true", help="also list every file each page loads, with its size")
    args = ap.parse_args(argv)
    html_dir = Path(args.html).resolve()
    if not (html_dir / "index.html").is_file():
        ap.error(f"no built book in {html_dir} (make book)")
    rows = run(html_dir, args.repeat, not args.no_throttle, args.timeout)
    print(f"book: {html_dir}   load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("kB = 1000 bytes transferred (all responses, uncompressed as served); req = requests; ext = blocked"
          " external; math = math elements;\nload = load event end; math = rendered, math included (see docstring);"
          " fcp = first contentful paint; CLS = layout shift (worse of fast and slow);\nslow = 1.6 Mbps / 150 ms RTT."
          " Budget: <= 1 MB and slow math <= 6 s.")
    print(table(rows))
    if args.files:
        for r in rows:
            print(f"\n{r['page']}: {r['bytes'] / 1000:.1f} kB in {r['requests']} requests")
            for url, size in r["files"]:
                print(f"  {size / 1000:8.1f} kB  {url}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
