"""Example production settings: copy, edit, and point ERP_CONFIG at the copy.

    export ERP_CONFIG=/etc/erp/settings.py
    export ERP_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
"""

ERP_ENV = "production"
SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://erp:CHANGE-ME@127.0.0.1:5432/erp"
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 5}
SESSION_COOKIE_SECURE = True
#: Shared rate-limit storage so limits hold across workers and machines.
RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379/1"
#: The job runner's queue (erp worker, and 立即运行 on 平台管理 → 定时任务): Redis, shared by
#: the web workers and every erp worker (docs/operations.md section 12).
ERP_JOBS_BROKER = "redis://127.0.0.1:6379/0"
