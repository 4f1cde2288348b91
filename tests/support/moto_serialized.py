"""moto_server with one request at a time.

moto's server handles each request on its own thread and its DynamoDB backend takes no lock:
two concurrent UpdateItem calls on one item can both read the old value and both write, so a
conditional write can succeed twice (50 concurrent `SET d = d + 1` from boto3 end at 45 to 49).
DynamoDB applies the writes to an item one at a time. Serializing the requests gives moto that
guarantee; clients still race, with up to 100 requests in flight at once.

Same arguments as moto_server (-H HOST -p PORT).
"""

import sys
import threading

from moto import server

_lock = threading.Lock()
_run_simple = server.run_simple


def _serialized(app):
    def handle(environ, start_response):
        with _lock:
            # Produce the whole body inside the lock: the backend runs while it is generated.
            return list(app(environ, start_response))

    return handle


def _run_simple_serialized(host, port, app, **kwargs):
    return _run_simple(host, port, _serialized(app), **kwargs)


server.run_simple = _run_simple_serialized

if __name__ == "__main__":
    server.main(sys.argv[1:])
