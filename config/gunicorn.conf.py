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
