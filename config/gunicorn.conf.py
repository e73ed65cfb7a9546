"""gunicorn settings used by ``erp serve`` (``--host``/``--port``/``--workers`` override them).

Run gunicorn directly for anything else: ``gunicorn -c config/gunicorn.conf.py core.wsgi:app``.
"""

import multiprocessing
import os

bind = os.environ.get("ERP_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("ERP_WORKERS", min(4, multiprocessing.cpu_count() * 2)))
worker_class = "sync"
timeout = 60
graceful_timeout = 30
accesslog = "-"
errorlog = "-"
# Each worker builds its own app (and engine) after fork: never share a pool across forks.
preload_app = False
# gunicorn >= 25.1 opens a control socket at one fixed path per user
# ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl): every instance on a host would
# share it, and stopping one deletes another's. None by default; ERP_CONTROL_SOCKET names a
# path of this instance's own (e.g. /run/erp/gunicorn-8080.ctl) for ``gunicornc``.
control_socket = os.environ.get("ERP_CONTROL_SOCKET") or None
control_socket_disable = not control_socket
if control_socket is None:
    del control_socket
