"""The floor for the ack benchmark: a FastAPI endpoint that answers 202 and does nothing else."""

from fastapi import FastAPI
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/webhook/jira", status_code=202)
async def receive() -> JSONResponse:
    return JSONResponse({"status": "accepted"}, 202)
