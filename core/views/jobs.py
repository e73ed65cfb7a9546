"""Admin UI "定时任务" (``/erp/jobs/``): every periodic job, its schedule and its last run
(result or error in words), for the platform admin only; 立即运行 queues one run for the
worker (``erp worker``), which records it like a scheduled one."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, url_for
from flask_appbuilder import BaseView, expose, has_access

from core.db import db
from core.views.holidays import _platform_admin_only


class JobsView(BaseView):
    route_base = "/erp/jobs"
    default_view = "list"
    class_permission_name = "Jobs"
    method_permission_name = {"list": "read", "run": "write"}
    base_permissions = ["can_read", "can_write"]

    def create_blueprint(self, appbuilder, endpoint=None, static_folder=None):
        bp = super().create_blueprint(appbuilder, endpoint=endpoint, static_folder=static_folder)
        bp.before_request(_platform_admin_only)
        return bp

    @expose("/")
    @has_access
    def list(self):
        from core.worker import broker_url, job_rows, redacted

        app = current_app._get_current_object()  # type: ignore[attr-defined]
        rows = job_rows(app, db.session)
        return self.render_template("erp/jobs.html", rows=rows,
                                    broker=redacted(broker_url(app)))

    @expose("/run/<string:name>", methods=["POST"])
    @has_access
    def run(self, name: str):
        from core.worker import JobRunner, UnknownJob, get_job

        app = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            job = get_job(app, name)
        except UnknownJob:
            abort(404)
        from core.state import get_state

        if job.module != "core" and not get_state(app).is_installed(job.module):
            flash("该任务所属的模块未安装，不能运行", "danger")
            return redirect(url_for("JobsView.list"))
        runner = app.extensions.get("erp_jobs")
        try:
            if runner is None:
                runner = app.extensions["erp_jobs"] = JobRunner(app)
            runner.run_later(name)
        except Exception:
            current_app.logger.exception("could not queue job %s", name)
            flash("任务队列暂时无法连接，未能排队；请检查工作进程与队列服务（ERP_JOBS_BROKER）",
                  "danger")
            return redirect(url_for("JobsView.list"))
        flash(f"已排队：{job.doc or name}。工作进程将在几秒内运行，刷新本页查看结果。", "success")
        return redirect(url_for("JobsView.list"))


def register_jobs_views(appbuilder) -> None:
    from flask_babel import lazy_gettext as _l

    appbuilder.add_view(
        JobsView,
        "Jobs",
        label="定时任务",
        icon="fa-clock-o",
        category="Platform",
        category_label=_l("Platform"),
    )
