"""Default settings of the platform.

Every value here can be overridden, in this order (last wins):

1. this file;
2. a settings file named by the environment variable ``ERP_CONFIG`` (plain Python,
   upper-case names, see ``config/production.example.py``);
3. the environment variables ``ERP_DATABASE_URL``, ``ERP_SECRET_KEY``, ``ERP_ENV``,
   ``ERP_ADDONS_PATH``;
4. the ``config`` mapping given to ``core.app.create_app(config=...)`` (tests).
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ERP_VAR_DIR", BASE_DIR / "var"))

#: Exactly "development" or "production" (any other value is refused at start). Production
#: refuses the default secret key and any key shorter than 32 bytes.
ERP_ENV = "development"

#: The key that signs session cookies and JWTs. Never use this value in production.
DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
SECRET_KEY = DEFAULT_SECRET_KEY

#: Embedded default database: an SQLite file under var/.
SQLALCHEMY_DATABASE_URI = f"sqlite:///{VAR_DIR / 'erp.sqlite3'}"
SQLALCHEMY_TRACK_MODIFICATIONS = False
SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

#: Extra folders holding add-ons (besides ``addons/`` and the ``erp.addons`` entry points).
ERP_ADDONS_PATH: list[str] = []
#: Whether to discover add-ons shipped as pip packages (entry-point group ``erp.addons``).
ERP_ADDONS_ENTRY_POINTS = True
#: Seconds a worker trusts its cached module state before it re-reads the version
#: counter in the database. Install/enable in one worker is seen by the others within
#: this delay. 0 checks on every request.
ERP_STATE_POLL_SECONDS = 1.0
#: Add an ``X-ERP-Worker: <pid>`` response header (tests of multi-worker behaviour).
ERP_WORKER_HEADER = False

# --- Background jobs (core.worker, ``erp worker``) ------------------------------------
#: The job queue: "sqlite:///<path>" (embedded, no server: the default, var/jobs.sqlite3),
#: "redis://127.0.0.1:6379/0" (production: shared by every worker and machine) or
#: "memory://" (one process, tests). The environment variable ERP_JOBS_BROKER overrides it.
ERP_JOBS_BROKER = f"sqlite:///{VAR_DIR / 'jobs.sqlite3'}"
#: Name of the queue in the broker (several platforms sharing one Redis use different ones).
ERP_JOBS_QUEUE = "erp"
#: Longest a run holds its job's lock (seconds): a worker killed mid-run frees it then.
ERP_JOBS_LOCK_SECONDS = 3600
#: Worker threads of ``erp worker`` (jobs running at the same time, different jobs).
ERP_JOBS_WORKERS = 2

# --- Flask-AppBuilder -------------------------------------------------------------
APP_NAME = "吉林省政府采购管理平台"
APP_THEME = ""
APP_ICON = ""
FAB_API_SWAGGER_UI = True
FAB_API_MAX_PAGE_SIZE = 100
FAB_ADD_SECURITY_API = False
#: Tables are created by migrations (``erp db init``), never by FAB at boot.
FAB_CREATE_DB = False
#: Permissions are synced by ``erp db init`` / ``erp module install``, never per worker.
FAB_UPDATE_PERMS = False
AUTH_TYPE = 1  # AUTH_DB
FAB_SECURITY_MANAGER_CLASS = "core.security.ErpSecurityManager"
AUTH_ROLE_ADMIN = "Admin"
AUTH_ROLE_PUBLIC = "Public"
AUTH_USER_REGISTRATION = False
#: One password policy on every path that sets a password (core.security.password_problems):
#: FAB's admin pages and reset forms through this validator, the API, the CLI.
FAB_PASSWORD_COMPLEXITY_ENABLED = True
FAB_PASSWORD_COMPLEXITY_VALIDATOR = "core.security.password_complexity"
#: Password policy: minimum and maximum length (characters).
ERP_PASSWORD_MIN_LENGTH = 8
ERP_PASSWORD_MAX_LENGTH = 128

BABEL_DEFAULT_LOCALE = "zh"
BABEL_DEFAULT_FOLDER = "translations"
LANGUAGES = {
    "zh": {"flag": "cn", "name": "简体中文"},
    "en": {"flag": "gb", "name": "English"},
}

# --- Web security -----------------------------------------------------------------
WTF_CSRF_ENABLED = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
#: Set True behind HTTPS (production example does).
SESSION_COOKIE_SECURE = False
RATELIMIT_ENABLED = True
#: Flask-Limiter's own storage (FAB's form limit; superseded by ERP_RATELIMIT_STORAGE for logins)
RATELIMIT_STORAGE_URI = "memory://"
AUTH_RATE_LIMITED = True
#: Failed logins allowed per account AND per client address in the window (form and API).
AUTH_RATE_LIMIT = "10 per 5 minute"
#: Where login attempts are counted, shared by all workers and hosts: "database" (the
#: platform's database, default) or a Redis URL ("redis://127.0.0.1:6379/1"). The
#: environment variable ERP_RATELIMIT_STORAGE overrides it.
ERP_RATELIMIT_STORAGE = "database"
#: Prefix of the counters' keys (several platforms sharing one Redis use different ones).
ERP_RATELIMIT_KEY_PREFIX = "erp"
#: Reverse proxies in front of the platform that append to X-Forwarded-For (and set
#: X-Forwarded-Proto/Host): 0 = none (the address is the TCP peer), 1 = one nginx, ...
#: Never set it higher than the real number of proxies: clients could fake their address.
ERP_PROXY_COUNT = 0

# --- Request sizes ------------------------------------------------------------------
#: Largest request body accepted (bytes): larger ones get 413 before they are read.
MAX_CONTENT_LENGTH = 16 * 1024 * 1024
#: Smaller limits for some endpoints: (endpoint or URL prefix, bytes). A login or a JSON
#: API body never needs megabytes.
ERP_REQUEST_LIMITS: list[tuple[str, int]] = [
    ("/login/", 64 * 1024),
    ("/api/v1/security/", 64 * 1024),
    # uploads: product images (the setting emall.image_max_kb decides below this) and bank
    # statements; a view can also declare its own with core.web_security.upload_limit
    ("ListingApi.add_image", 8 * 1024 * 1024),
    ("ReconcileApi.import_", 10 * 1024 * 1024),
    ("ReconcileView.upload", 10 * 1024 * 1024),
]
#: Bodies of JSON API calls (not uploads): bytes, and the deepest nesting of arrays/objects.
ERP_JSON_MAX_BYTES = 2 * 1024 * 1024
ERP_JSON_MAX_DEPTH = 32

# --- Databases ------------------------------------------------------------------------
#: SQLite: seconds a write transaction waits for the write lock before the request
#: answers 503 with Retry-After (PostgreSQL waits on row locks as usual).
ERP_SQLITE_BUSY_TIMEOUT = 10.0
#: PostgreSQL: seconds a module install/upgrade waits for a lock, and the longest statement.
ERP_INSTALLER_LOCK_TIMEOUT = 30.0
ERP_INSTALLER_STATEMENT_TIMEOUT = 900.0
JWT_ACCESS_TOKEN_EXPIRES = 3600
