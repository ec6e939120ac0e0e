"""A stand-in for the npm registry's bulk advisory endpoint (`POST /-/npm/v1/security/advisories/bulk`) on
127.0.0.1, so that `npm audit --json --registry http://127.0.0.1:PORT/` runs for real here (the public
endpoint refuses this machine with 405). Advisories: GHSA ids, titles, ranges and severities of the GitHub
Advisory Database; the numeric `id`s are placeholders. Packuments are not served (npm then reports no fix).
Test-data tooling only: see README.md beside it."""

import gzip
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADVISORIES = {
    "lodash": [
        {"id": 1001, "url": "https://github.com/advisories/GHSA-p6mc-m468-83gw", "title": "Prototype Pollution in lodash",
         "severity": "high", "vulnerable_versions": ">=3.7.0 <4.17.19", "cwe": ["CWE-770", "CWE-1321"],
         "cvss": {"score": 7.4, "vectorString": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H"}},
        {"id": 1002, "url": "https://github.com/advisories/GHSA-35jh-r3h4-6jhm", "title": "Command Injection in lodash",
         "severity": "high", "vulnerable_versions": "<4.17.21", "cwe": ["CWE-77", "CWE-94"],
         "cvss": {"score": 7.2, "vectorString": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}},
        {"id": 1003, "url": "https://github.com/advisories/GHSA-29mw-wpgm-hmr9",
         "title": "Regular Expression Denial of Service (ReDoS) in lodash", "severity": "moderate",
         "vulnerable_versions": "<4.17.21", "cwe": ["CWE-400", "CWE-1333"],
         "cvss": {"score": 5.3, "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"}},
    ],
    "minimist": [
        {"id": 1004, "url": "https://github.com/advisories/GHSA-xvch-5gv4-984h", "title": "Prototype Pollution in minimist",
         "severity": "critical", "vulnerable_versions": ">=1.0.0 <1.2.6", "cwe": ["CWE-1321"],
         "cvss": {"score": 9.8, "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
        {"id": 1005, "url": "https://github.com/advisories/GHSA-vh95-rmgr-6w4m", "title": "Prototype Pollution in minimist",
         "severity": "moderate", "vulnerable_versions": ">=1.0.0 <1.2.3", "cwe": ["CWE-1321"],
         "cvss": {"score": 5.6, "vectorString": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L"}},
    ],
}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        wanted = json.loads(raw)
        self._send(200, {name: ADVISORIES[name] for name in wanted if name in ADVISORIES})

    def do_GET(self) -> None:
        self._send(404, {"error": "not found"})

    def _send(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
print(f"http://127.0.0.1:{server.server_port}/", flush=True)
server.serve_forever()
