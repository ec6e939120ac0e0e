"""A tiny OSV API (`POST /v1/query`) on 127.0.0.1 serving the records in osv-records/, so that pip-audit
runs for real (`-s osv --osv-url`) without the public vulnerability service. Prints its URL, serves until
killed. Test-data tooling only: see README.md beside it."""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RECORDS = [json.loads(p.read_text()) for p in sorted((Path(__file__).parent / "osv-records").glob("*.json"))]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = query["package"]["name"].lower().replace("_", "-")
        version = query.get("version")
        vulns = [r for r in RECORDS for a in r["affected"]
                 if a["package"]["name"] == name and (version is None or version in a["versions"])]
        body = json.dumps({"vulns": vulns} if vulns else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
print(f"http://127.0.0.1:{server.server_port}/v1/query", flush=True)
server.serve_forever()
