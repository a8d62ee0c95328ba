"""compose-shop's app: orders in PostgreSQL, a Redis read cache.

POST /orders {"id", "item"}  -> 201 {"id"} once the row is committed
GET  /orders/<id>            -> 200 {"id", "item"} (cache, then database), 404
GET  /health                 -> 200 when the database answers, else 503
"""

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import redis

DATABASE_URL = os.environ["DATABASE_URL"]
cache = redis.Redis(
    host=os.environ.get("REDIS_HOST", "cache"),
    socket_timeout=0.2,
    socket_connect_timeout=0.2,
)
local = threading.local()


def query(sql, args=()):
    """Runs one statement on this thread's connection, reconnecting once
    when the connection broke (a restarted or promoted database)."""
    for attempt in (1, 2):
        conn = getattr(local, "conn", None)
        try:
            if conn is None or conn.closed:
                conn = local.conn = psycopg2.connect(
                    DATABASE_URL, options="-c statement_timeout=3000"
                )
                conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall() if cur.description else None
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            if conn is not None:
                conn.close()
            local.conn = None
            if attempt == 2:
                raise


def cached(order_id):
    try:
        return cache.get(f"order:{order_id}")
    except redis.RedisError:
        return None


def remember(order_id, body):
    try:
        cache.set(f"order:{order_id}", body, ex=300)
    except redis.RedisError:
        pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, doc):
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        try:
            if self.path == "/health":
                query("SELECT 1")
                return self.reply(200, {"status": "ok"})
            if self.path.startswith("/orders/"):
                order_id = self.path[len("/orders/"):]
                hit = cached(order_id)
                if hit is not None:
                    return self.reply(200, hit)
                rows = query("SELECT id, item FROM orders WHERE id = %s", (order_id,))
                if not rows:
                    return self.reply(404, {"error": "no such order"})
                body = json.dumps({"id": rows[0][0], "item": rows[0][1]}).encode()
                remember(order_id, body)
                return self.reply(200, body)
            self.reply(404, {"error": "not found"})
        except psycopg2.Error as e:
            self.reply(503, {"error": str(e).strip()})

    def do_POST(self):
        if self.path != "/orders":
            return self.reply(404, {"error": "not found"})
        try:
            length = int(self.headers.get("content-length", 0))
            order = json.loads(self.rfile.read(length))
            order_id, item = str(order["id"]), str(order["item"])
        except (ValueError, KeyError, TypeError):
            return self.reply(400, {"error": "want {\"id\", \"item\"}"})
        try:
            query(
                "INSERT INTO orders (id, item) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
                (order_id, item),
            )
        except psycopg2.Error as e:
            return self.reply(503, {"error": str(e).strip()})
        remember(order_id, json.dumps({"id": order_id, "item": item}).encode())
        self.reply(201, {"id": order_id})

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
