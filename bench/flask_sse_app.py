"""The seeds' design as a benchmark peer: Flask with Flask-SSE over Redis.

Run by bench/sse_fanout.sh under gunicorn with one gevent worker.
"""
import os

from flask import Flask, request
from flask_sse import sse

app = Flask(__name__)
app.config["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:16379")
app.register_blueprint(sse, url_prefix="/stream")


@app.post("/publish")
def publish():
    sse.publish(request.get_json(), type="bench")
    return "", 202
