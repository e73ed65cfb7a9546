"""The e-mall's form pages beyond FAB's model forms (issue 13), thin over :mod:`.services`:

* 申请入驻 ``/admissionview/apply/`` (supplier): every active condition (declarations as
  checkboxes, documents as a file upload — the business licence — or a text), the
  categories, contact; ``/admissionview/document/<pk>/<code>`` serves an uploaded document
  to whoever may open the application (the supplier itself, the institution, auditors);
* 商品 add / edit ``/listingview/add``, ``/listingview/edit/<pk>``: the attribute fields are
  generated from the chosen category's template (Chinese labels, units, choices, required
  marks), delivery regions as checkboxes, image upload (type by magic bytes, size by
  setting, as the API does); a supplier's listing is always its own company's;
* 报价 ``/quoteview/quote/<comparison id>`` (supplier): per need line one of its own listed
  products and a unit price; the quote stays sealed until the window closes.

Bad input re-draws the form with the services' Chinese field messages and writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select

from core.db import db
from core.errors import ErpError
from core.errors import message_text as _message_text
from core.models import Organization, Region
from core.services.money import fmt_yuan
from core.tenancy import ScopeViolation, current_scope

from . import services
from .api import image_folder
from .models import (
    EmallCategory,
    EmallComparison,
    EmallCondition,
    EmallListing,
    EmallListingImage,
    EmallQuote,
)
from .services import admission as adm_services
from .services import comparison as comp_services

FormErrors = dict[str, list[str]]


def document_folder() -> Path:
    """Admission documents live under the instance's var folder (never served publicly)."""
    return Path(current_app.config.get("VAR_DIR") or "var") / "emall" / "documents"


def _errors_of(exc: Exception) -> FormErrors:
    messages = getattr(exc, "messages", None)
    if isinstance(messages, dict):
        out: FormErrors = {}
        for k, v in messages.items():
            out[str(k)] = [str(m) for m in (v if isinstance(v, list) else [v])]
        return out
    return {"_": [_message_text(exc)]}


def _own_org() -> Organization | None:
    scope = current_scope()
    return db.session.get(Organization, scope.org_id) if scope.org_id else None


def _uploaded(name: str, limit_kb: int) -> tuple[bytes, str] | None:
    f = request.files.get(name)
    if f is None or not f.filename:
        return None
    return f.stream.read(limit_kb * 1024 + 1), f.filename


# -- 申请入驻 ------------------------------------------------------------------------------------------
class AdmissionPages:
    """Mixed into ``AdmissionView``."""

    def _admission_of(self, org_id: int) -> Any:
        from .models import EmallAdmission

        return db.session.execute(select(EmallAdmission).where(
            EmallAdmission.supplier_id == org_id)).scalar_one_or_none()

    @expose("/apply/", methods=["GET", "POST"])
    @has_access
    @permission_name("apply")
    def apply(self):
        org = _own_org()
        scope = current_scope()
        if org is None or scope.actor != "supplier":
            flash("只有供应商可以申请入驻电子卖场", "danger")
            return redirect(url_for("AdmissionView.list"))
        adm = self._admission_of(org.id)
        conditions = services.active_conditions(db.session)
        errors: FormErrors = {}
        answers: dict[str, Any] = dict(adm.answers or {}) if adm is not None else {}
        chosen = {c.id for c in adm.categories} if adm is not None else set()
        contact = adm.contact if adm is not None else ""
        phone = adm.phone if adm is not None else ""
        if request.method == "POST":
            f = request.form
            contact, phone = f.get("contact", ""), f.get("phone", "")
            chosen = {int(v) for v in f.getlist("categories") if v.isdigit()}
            limit_kb = services.settings.get("emall.document_max_kb", session=db.session)
            new_answers: dict[str, Any] = {}
            for cond in conditions:
                key = f"answer.{cond.code}"
                if cond.kind == "declaration":
                    if f.get(key) in ("y", "on"):
                        new_answers[cond.code] = True
                    continue
                upload = _uploaded(f"file.{cond.code}", limit_kb)
                text = (f.get(key) or "").strip()
                if upload is not None:
                    try:
                        new_answers[cond.code] = adm_services.store_document(
                            db.session, upload[0], document_folder(), field=f"answers.{cond.code}",
                            label=cond.name)
                    except ErpError as exc:
                        errors.update(_errors_of(exc))
                elif text:
                    new_answers[cond.code] = text
                elif adm_services.document_of(answers.get(cond.code)):
                    new_answers[cond.code] = answers[cond.code]  # the file uploaded before
            answers = new_answers
            if not errors:
                try:
                    services.apply_for_admission(db.session, org, answers=answers,
                                                 category_ids=sorted(chosen), contact=contact,
                                                 phone=phone)
                    db.session.commit()
                    flash("入驻申请已提交，等待电子卖场管理机构审核", "success")
                    adm = self._admission_of(org.id)
                    return redirect(url_for("AdmissionView.show", pk=adm.id))
                except (ErpError, ScopeViolation) as exc:
                    db.session.rollback()
                    errors = _errors_of(exc)
        return self.render_template(
            "emall/admission_apply.html", adm=adm, conditions=conditions, errors=errors,
            answers=answers, chosen=chosen, contact=contact or "", phone=phone or "",
            tree=services.category_tree(db.session, "*"), has_file=adm_services.document_of,
            limit_kb=services.settings.get("emall.document_max_kb", session=db.session))

    @expose("/document/<int:pk>/<string:code>")
    @has_access
    @permission_name("show")
    def document(self, pk: int, code: str):
        adm = self.datamodel.get(pk, self._base_filters)
        if adm is None:
            abort(404)
        ref = adm_services.document_of((adm.answers or {}).get(code))
        if ref is None:
            abort(404)
        path = document_folder() / ref[0]
        if not path.is_file():
            abort(404)
        return send_file(path, mimetype=ref[1], max_age=0,
                         download_name=f"{code}{path.suffix}")


def admission_documents(adm: Any) -> list[dict[str, Any]]:
    """The uploaded documents of an application, for its page (name, link, image or not)."""
    if adm is None or not adm.answers:
        return []
    names = dict(db.session.execute(select(EmallCondition.code, EmallCondition.name)).all())
    out = []
    for code, value in adm.answers.items():
        ref = adm_services.document_of(value)
        if ref is None:
            continue
        out.append({"name": names.get(code, "材料"),
                    "url": url_for("AdmissionView.document", pk=adm.id, code=code),
                    "image": ref[1].startswith("image/")})
    return out


# -- 商品 add / edit --------------------------------------------------------------------------------
def _delivery_regions(item: EmallListing | None = None) -> list[Region]:
    """The province and its cities (a city covers its counties), and any other region the
    listing already delivers to (a county set through the API stays choosable)."""
    out = list(db.session.execute(select(Region).where(
        Region.level.in_(("province", "prefecture")), Region.active.is_(True))
        .order_by(Region.code)).scalars())
    have = {r.id for r in out}
    extra = [r for r in (item.regions if item is not None and item.id else []) if r.id not in have]
    return sorted(out + extra, key=lambda r: r.code)


def _leaf_categories(tree: list[dict[str, Any]], depth: int = 0) -> list[tuple[dict[str, Any], int]]:
    out = []
    for node in tree:
        out.append((node, depth))
        out.extend(_leaf_categories(node["children"], depth + 1))
    return out


class ListingPages:
    """Mixed into ``ListingView``: its add and edit pages."""

    def _category(self, raw: Any) -> EmallCategory | None:
        try:
            cid = int(raw)
        except (TypeError, ValueError):
            return None
        return db.session.get(EmallCategory, cid) if 0 < cid < 2**31 else None

    def _fill(self, item: EmallListing, category: EmallCategory | None, errors: FormErrors) -> None:
        f = request.form
        scope = current_scope()
        if scope.actor == "supplier":
            item.supplier_id = scope.org_id
        elif f.get("supplier", "").isdigit():
            item.supplier_id = int(f["supplier"])
        if category is not None and item.category_id != category.id:
            item.category_id = category.id
            item.category = category
        for name in ("name", "brand", "model", "description", "unit", "reference_url"):
            value = f.get(name, "").strip() or None
            if getattr(item, name) != value:
                setattr(item, name, value)
        for name in ("price", "reference_price"):
            raw = f.get(name, "").strip()
            current = getattr(item, name)
            if current is None or raw != str(current):
                setattr(item, name, raw or None)
        item.reference_source = f.get("reference_source") or "manufacturer"
        raw_stock = f.get("stock", "").strip() or "0"
        if raw_stock.isdigit():
            if item.stock != int(raw_stock):
                item.stock = int(raw_stock)
        else:
            errors.setdefault("stock", []).append("库存须为不小于 0 的整数")
        cold = f.get("cold_chain") in ("y", "on")
        if bool(item.cold_chain) != cold:
            item.cold_chain = cold
        if item.exclusive_model is None:
            item.exclusive_model = False
        if category is not None:
            attrs = {}
            for spec in category.attributes or []:
                value = f.get(f"attr.{spec['key']}", "").strip()
                if value:
                    attrs[spec["key"]] = value
            if (item.attributes or {}) != attrs:
                item.attributes = attrs
        ids = sorted(int(v) for v in f.getlist("regions") if v.isdigit() and int(v) < 2**31)
        if sorted(r.id for r in item.regions or []) != ids:
            try:
                services.set_listing_regions(db.session, item, ids)
            except ErpError as exc:
                errors.update(_errors_of(exc))

    def _images(self, item: EmallListing) -> None:
        limit_kb = services.settings.get("emall.image_max_kb", session=db.session)
        remove = {int(v) for v in request.form.getlist("remove_image") if v.isdigit()}
        for img in list(item.images or []):
            if img.id in remove:
                db.session.delete(img)
        db.session.flush()
        for f in request.files.getlist("images"):
            if not f or not f.filename:
                continue
            data = f.stream.read(limit_kb * 1024 + 1)
            services.add_image(db.session, item, data, f.filename, image_folder())

    def _form(self, item: EmallListing | None, category: EmallCategory | None,
              errors: FormErrors, status: int = 200) -> Any:
        scope = current_scope()
        suppliers = [] if scope.actor == "supplier" else list(db.session.execute(
            select(Organization).where(Organization.org_type == "supplier")
            .order_by(Organization.name)).scalars())
        values = item
        html = self.render_template(
            "emall/listing_form.html", item=values, category=category, errors=errors,
            categories=_leaf_categories(services.category_tree(db.session, "*")),
            regions=_delivery_regions(item), suppliers=suppliers, item_images=listing_images(item),
            sources=services.REFERENCE_SOURCES, own=_own_org() if scope.actor == "supplier" else None,
            form=request.form if request.method == "POST" else None,
            limit_kb=services.settings.get("emall.image_max_kb", session=db.session),
            most=services.settings.get("emall.images_per_listing", session=db.session),
            title=self.edit_title if item is not None and item.id else self.add_title)
        return html, status

    def _save(self, item: EmallListing, category: EmallCategory | None, adding: bool):
        errors: FormErrors = {}
        with db.session.no_autoflush:
            self._fill(item, category, errors)
            if category is None:
                errors.setdefault("category", []).append("请选择商品分类")
            uploads = [f for f in request.files.getlist("images") if f and f.filename]
            if (not adding and not errors and not uploads and not request.form.getlist("remove_image")
                    and not db.session.is_modified(item)):
                # posted back unchanged: nothing to check or write (the platform's rule for
                # edit forms: a record the rules would now refuse may still be re-saved as is)
                return item, {}
            if not errors:
                try:
                    if adding:
                        self.rules.before_add(db.session, item)
                    else:
                        self.rules.before_update(db.session, item)
                except (ErpError, ScopeViolation) as exc:
                    errors = _errors_of(exc)
        if not errors:
            try:
                if adding:
                    db.session.add(item)
                db.session.flush()
                self._images(item)
                db.session.commit()
            except (ErpError, ScopeViolation) as exc:
                errors = _errors_of(exc)
        if errors:
            db.session.rollback()
            return None, errors
        return item, {}

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        category = self._category(request.values.get("category"))
        if request.method == "GET":
            return self._form(None, category, {})
        item = EmallListing(status="draft", stock=0, cold_chain=False, exclusive_model=False)
        saved, errors = self._save(item, category, adding=True)
        if saved is None:
            return self._form(None, category, errors)
        flash(f"商品“{saved.name}”已保存为草稿；填好供货地区和库存后请“提交审核”", "success")
        return redirect(url_for("ListingView.show", pk=saved.id))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        pk = self._deserialize_pk_if_composite(pk)
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        category = self._category(request.values.get("category")) or item.category
        if request.method == "GET":
            return self._form(item, category, {})
        saved, errors = self._save(item, category, adding=False)
        if saved is None:
            item = self.datamodel.get(pk, self._base_filters)
            return self._form(item, category, errors)
        flash(f"商品“{saved.name}”已保存", "success")
        return redirect(url_for("ListingView.show", pk=saved.id))


def listing_images(item: EmallListing | None) -> list[dict[str, Any]]:
    if item is None:
        return []
    rows = db.session.execute(select(EmallListingImage).where(
        EmallListingImage.listing_id == item.id).order_by(EmallListingImage.sequence,
                                                          EmallListingImage.id)).scalars()
    return [{"id": i.id, "url": url_for("EmallPublicView.image", image_id=i.id),
             "name": i.filename or "商品图片"} for i in rows]


# -- 报价 ------------------------------------------------------------------------------------------
def quote_options(comp: EmallComparison, supplier_id: int) -> dict[int, list[EmallListing]]:
    """Per need line: the supplier's own listed products in the line's category that deliver
    to the purchaser's region (what the service accepts)."""
    covering = set(services.region_and_ancestors(db.session, comp.region_id))
    out: dict[int, list[EmallListing]] = {}
    for need in comp.lines or []:
        cat = comp_services.need_category(db.session, need)
        rows = db.session.execute(select(EmallListing).where(
            EmallListing.supplier_id == supplier_id, EmallListing.status == "listed",
            EmallListing.category_id == cat).order_by(EmallListing.name)).scalars()
        out[need["line"]] = [x for x in rows if covering & {r.id for r in x.regions}]
    return out


class QuotePages:
    """Mixed into ``QuoteView``: a supplier quotes in an open comparison."""

    @expose("/quote/<int:comparison_id>", methods=["GET", "POST"])
    @has_access
    @permission_name("post")
    def quote(self, comparison_id: int):
        scope = current_scope()
        comp = db.session.get(EmallComparison, comparison_id) if comparison_id < 2**31 else None
        if comp is None or scope.actor != "supplier":
            abort(404)
        comp_services.close_if_due(db.session, comp)
        db.session.commit()
        mine = db.session.execute(select(EmallQuote).where(
            EmallQuote.comparison_id == comp.id, EmallQuote.supplier_id == scope.org_id)
        ).scalar_one_or_none()
        why = comp_services.qualified_for(db.session, comp, scope.org_id)
        errors: FormErrors = {}
        given = {x["line"]: x for x in (mine.lines if mine else [])}
        note = mine.note if mine else ""
        if request.method == "POST":
            f = request.form
            note = f.get("note", "")
            lines = []
            for need in comp.lines or []:
                n = need["line"]
                lid = f.get(f"listing.{n}", "")
                lines.append({"line": n, "listing_id": int(lid) if lid.isdigit() and int(lid) < 2**31 else None,
                              "unit_price": f.get(f"price.{n}", "").strip() or None})
            given = {x["line"]: x for x in lines}
            try:
                q = services.submit_quote(db.session, comp, lines, note=note)
                db.session.commit()
                flash(f"报价已提交，报价总额 {fmt_yuan(q.total)}；报价截止前可以修改，截止后采购人才能看到报价",
                      "success")
                return redirect(url_for("QuoteView.show", pk=q.id))
            except (ErpError, ScopeViolation) as exc:
                db.session.rollback()
                errors = _errors_of(exc)
        return self.render_template(
            "emall/quote_form.html", comp=comp, mine=mine, why=why, errors=errors, given=given,
            note=note or "", options=quote_options(comp, scope.org_id), fmt=fmt_yuan,
            is_open=comp.status == "open" and comp.quote_deadline > services.now())


# -- the public catalog ------------------------------------------------------------------------------
def region_choices() -> list[tuple[str, str]]:
    """(code, name) of the province, its cities and their counties (indented), for the
    catalog's delivery-region dropdown."""
    rows = db.session.execute(select(Region).where(Region.active.is_(True)).order_by(Region.code)).scalars()
    out = []
    for r in rows:
        depth = {"province": 0, "prefecture": 1}.get(r.level, 2)
        out.append((r.code, "　" * depth + r.name))
    return out


def delivery_info(listing_ids: list[int], region_id: int | None) -> dict[int, dict[str, Any]]:
    """Per listing: its delivery regions' names and, for a purchaser (``region_id``), whether
    it delivers there (a city covers its counties, the province every region)."""
    from .models import EmallListingRegion

    if not listing_ids:
        return {}
    covering = set(services.region_and_ancestors(db.session, region_id)) if region_id else set()
    out: dict[int, dict[str, Any]] = {i: {"names": [], "mine": None if region_id is None else False}
                                      for i in listing_ids}
    rows = db.session.execute(
        select(EmallListingRegion.listing_id, Region.id, Region.name)
        .join(Region, Region.id == EmallListingRegion.region_id)
        .where(EmallListingRegion.listing_id.in_(listing_ids)).order_by(Region.code),
        execution_options={"erp_unscoped": True})
    for lid, rid, name in rows:
        out[lid]["names"].append(name)
        if rid in covering:
            out[lid]["mine"] = True
    return out


def pavilion_page(pavilion: str | None) -> tuple[str, str] | None:
    """The pavilion's name and landing page for a product of that pavilion (None: general)."""
    from .hooks import pavilion_pages

    if not pavilion:
        return None
    return pavilion_pages(current_scope().region_id).get(pavilion)
