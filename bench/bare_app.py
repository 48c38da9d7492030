"""B8's floor: a bare Starlette app with one JSON route and no middleware, served by the same
uvicorn with the same options as ``creditdesk serve`` — what any request costs the server
before CreditDesk does anything.

``python -m bench.bare_app PORT`` serves it on 127.0.0.1:PORT in one process.
"""

from __future__ import annotations

import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def ok(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/healthz", ok)])

if __name__ == "__main__":
    import uvicorn

    # The options of creditdesk.cli serve, so that both servers pay the same access log.
    uvicorn.run("bench.bare_app:app", host="127.0.0.1", port=int(sys.argv[1]), workers=1,
                log_level="info")
