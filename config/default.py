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

#: "development" or "production". Production refuses the default secret key.
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
FAB_PASSWORD_COMPLEXITY_ENABLED = False

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
RATELIMIT_STORAGE_URI = "memory://"
AUTH_RATE_LIMITED = True
AUTH_RATE_LIMIT = "10 per 5 minute"
JWT_ACCESS_TOKEN_EXPIRES = 3600
