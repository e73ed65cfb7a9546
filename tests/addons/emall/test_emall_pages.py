"""The e-mall's form pages (issue 13) through the Flask client, as each actor: the supplier's
admission application with a licence upload, the listing form built from the category's
attribute template with images, the quote page; the reviewer sees licence and images;
buttons only for who may press them; the purchaser's cart refuses a product that does not
deliver to its region and takes a comparison's deadline."""

from __future__ import annotations

import io
import re

from sqlalchemy import select, text

from tests.addons.emall.em_world import PASSWORD
from tests.core.test_web import login_form

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_1PX = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
           b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND"
           b"\xaeB`\x82")
DECLARATIONS = ("civil_liability", "good_credit", "performance_capacity", "tax_social_security",
                "no_major_violation", "not_blacklisted", "price_commitment", "after_sales")


def client_of(em, user: str):
    c = em.app.test_client()
    login_form(c, user, PASSWORD) if user != "admin" else login_form(c)
    return c


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S))


def count(em, table: str) -> int:
    return em.sql(text(f"SELECT count(*) FROM {table}"))[0][0]


def apply_form(em, c, licence: tuple[bytes, str] | None, *, declarations=DECLARATIONS, cats=("A0201",)):
    page = c.get("/admissionview/apply/")
    assert page.status_code == 200
    data = {"csrf_token": csrf(page.get_data(as_text=True)), "contact": "王经理", "phone": "13800000000",
            "answer.bank_account": "中国银行长春分行 6222000011112222",
            "categories": [str(em.cat[x]) for x in cats]}
    for d in declarations:
        data[f"answer.{d}"] = "y"
    if licence is not None:
        data["file.license"] = (io.BytesIO(licence[0]), licence[1])
    return c.post("/admissionview/apply/", data=data, content_type="multipart/form-data")


def test_supplier_applies_with_a_licence_and_the_institution_reviews_it(em, tmp_path) -> None:
    em.app.config["VAR_DIR"] = tmp_path
    sup = client_of(em, "sup_c")
    listing = sup.get("/admissionview/list/").get_data(as_text=True)
    assert 'id="em-apply"' in listing, "the supplier is offered the application"

    # a licence that is not a PDF/PNG/JPEG: refused on its field, nothing written or stored
    res = apply_form(em, sup, (b"MZ\x90\x00 not a document", "licence.pdf"))
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and "只接受 PDF、PNG 或 JPEG" in html
    assert 'data-field="answers.license"' in html
    assert count(em, "emall_admission") == 0
    assert not (tmp_path / "emall" / "documents").exists()
    # a missing declaration: the service's message names the condition
    res = apply_form(em, sup, (PDF, "licence.pdf"), declarations=DECLARATIONS[1:])
    assert "请确认承诺：具有独立承担民事责任的能力" in res.get_data(as_text=True)
    assert count(em, "emall_admission") == 0

    res = apply_form(em, sup, (PDF, "营业执照.pdf"))
    assert res.status_code == 302, res.get_data(as_text=True)
    adm = em.sql(text("SELECT id, status, answers FROM emall_admission"))[0]
    assert adm[1] == "applied"
    stored = list((tmp_path / "emall" / "documents").rglob("*.pdf"))
    assert len(stored) == 1 and stored[0].read_bytes() == PDF
    # the supplier's own page: no decision buttons, the licence opens
    show = sup.get(f"/admissionview/show/{adm[0]}").get_data(as_text=True)
    assert "批准入驻" not in show and "驳回" not in show
    assert "file:" not in visible_text(show) and "已上传文件（见入驻材料）" in show
    doc = sup.get(f"/admissionview/document/{adm[0]}/license")
    assert doc.status_code == 200 and doc.data == PDF and doc.mimetype == "application/pdf"
    # another supplier cannot open it; the public neither
    em.admit("sup_a", "A0201")
    assert client_of(em, "sup_a").get(f"/admissionview/document/{adm[0]}/license").status_code == 404
    assert em.app.test_client().get(f"/admissionview/document/{adm[0]}/license").status_code in (302, 401, 403)

    # the institution reviews with the licence in view and approves on the page
    inst = client_of(em, "inst")
    page = inst.get(f"/admissionview/show/{adm[0]}").get_data(as_text=True)
    assert 'id="em-documents"' in page and f"/admissionview/document/{adm[0]}/license" in page
    assert "批准入驻" in page and 'id="em-apply"' not in inst.get("/admissionview/list/").get_data(as_text=True)
    assert inst.get(f"/admissionview/document/{adm[0]}/license").data == PDF
    res = inst.post(f"/admissionview/transition/{adm[0]}/approve", data={"csrf_token": csrf(page)})
    assert res.status_code == 302
    assert em.sql(text("SELECT status FROM emall_admission WHERE id = :i").bindparams(i=adm[0]))[0][0] == "admitted"

    # re-applying keeps the uploaded licence when no new file is chosen
    res = apply_form(em, sup, None, cats=("A0201", "A05"))
    assert res.status_code == 302, res.get_data(as_text=True)
    answers = em.sql(text("SELECT answers FROM emall_admission WHERE id = :i").bindparams(i=adm[0]))[0][0]
    assert "file:" in str(answers)


def listing_post(c, cat: int, url: str = "/listingview/add", images=(), **fields):
    page = c.get(f"{url}?category={cat}").get_data(as_text=True)
    data = {"csrf_token": csrf(page), "category": str(cat), "name": "台式计算机", "brand": "长城",
            "model": "TC-100", "price": "4800.00", "reference_price": "5000.00", "stock": "20",
            "reference_source": "manufacturer", "attr.cpu": "国产 8 核", "attr.memory_gb": "16",
            "attr.storage_gb": "512", "attr.os": "国产操作系统"}
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    if images:
        data["images"] = [(io.BytesIO(b), n) for b, n in images]
    return c.post(url, data=data, content_type="multipart/form-data")


def test_listing_form_from_the_attribute_template_with_images(em, tmp_path) -> None:
    em.app.config["VAR_DIR"] = tmp_path
    em.admit("sup_a", "A0201")
    cat = em.cat["A02010105"]
    sup = client_of(em, "sup_a")
    page = sup.get(f"/listingview/add?category={cat}").get_data(as_text=True)
    shown = visible_text(page)
    for label in ("处理器", "内存（GB）", "硬盘容量（GB）", "操作系统", "显示器尺寸（英寸）", "信创产品"):
        assert label in shown, label
    assert "memory_gb" not in shown and "monitor_inch" not in shown, "keys never shown"
    assert "长春甲电子（测试）有限公司（本单位）" in shown and 'name="supplier"' not in page
    assert '<option value="国产操作系统"' in page

    before = count(em, "emall_listing")
    res = listing_post(sup, cat, **{"attr.memory_gb": "十六", "attr.os": "DOS"})
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and "内存须为数值" in html and "操作系统只能是：国产操作系统、Windows、其他" in html
    assert count(em, "emall_listing") == before
    res = listing_post(sup, cat, price="5200.00")
    assert "高于参考价" in res.get_data(as_text=True) and count(em, "emall_listing") == before
    # a file that is not an image: nothing written (neither the listing nor a file)
    res = listing_post(sup, cat, images=[(b"GIF89a" + b"\0" * 20, "x.png")])
    assert "只接受 PNG、JPEG 或 WebP" in res.get_data(as_text=True)
    assert count(em, "emall_listing") == before and count(em, "emall_listing_image") == 0

    region = em.region["220000"]
    res = listing_post(sup, cat, images=[(PNG_1PX, "front.png")], regions=str(region))
    assert res.status_code == 302, res.get_data(as_text=True)
    lid = int(res.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    row = em.sql(text("SELECT supplier_id, status, attributes FROM emall_listing WHERE id = :i").bindparams(i=lid))[0]
    assert row[0] == em.org["sup_a"] and row[1] == "draft"
    assert "16" in str(row[2]) and count(em, "emall_listing_image") == 1

    show = sup.get(f"/listingview/show/{lid}").get_data(as_text=True)
    assert "提交审核" in show and "审核通过上架" not in show, "the supplier's buttons only"
    assert 'class="em-listing-image"' in show
    # the edit form shows the values; posted back unchanged it saves
    edit = sup.get(f"/listingview/edit/{lid}").get_data(as_text=True)
    assert 'value="16"' in edit and 'name="remove_image"' in edit
    res = sup.post(f"/listingview/edit/{lid}", data={
        "csrf_token": csrf(edit), "category": str(cat), "name": "台式计算机", "brand": "长城", "model": "TC-100",
        "price": "4800.00", "reference_price": "5000.00", "stock": "20", "reference_source": "manufacturer",
        "attr.cpu": "国产 8 核", "attr.memory_gb": "16", "attr.storage_gb": "512", "attr.os": "国产操作系统",
        "regions": str(region)})
    assert res.status_code == 302, res.get_data(as_text=True)

    res = sup.post(f"/listingview/transition/{lid}/submit", data={"csrf_token": csrf(show)})
    assert res.status_code == 302
    inst = client_of(em, "inst")
    page = inst.get(f"/listingview/show/{lid}").get_data(as_text=True)
    assert "审核通过上架" in page and 'class="em-listing-image"' in page, "the reviewer sees the images"
    img = re.search(r'src="(/emall/image/\d+)"', page).group(1)
    assert inst.get(img).data == PNG_1PX


def test_supplier_quotes_on_the_page_and_the_purchaser_sees_only_the_count(em) -> None:
    em.admit("sup_a", "A0201")
    em.admit("sup_b", "A0201")
    la = em.listing("sup_a", price="30000.00", reference="30000.00")
    lb = em.listing("sup_b", price="29000.00", reference="30000.00")
    em.cart("pur", (la, 2))
    comp = em.checkout("pur").json["result"]["comparison"]["id"]

    pur = client_of(em, "pur")
    page = pur.get(f"/comparisonview/show/{comp}").get_data(as_text=True)
    assert re.search(r"已收到报价：<strong>0</strong>", page)
    sup = client_of(em, "sup_b")
    page = sup.get(f"/comparisonview/show/{comp}").get_data(as_text=True)
    assert 'id="em-quote-link"' in page
    assert "确定成交" not in page and "撤销竞价" not in page, "the purchaser's buttons are not the supplier's"

    form = sup.get(f"/quoteview/quote/{comp}").get_data(as_text=True)
    assert f'<option value="{lb}"' in form and f'value="{la}"' not in form, "own listings only"
    res = sup.post(f"/quoteview/quote/{comp}", data={"csrf_token": csrf(form), "listing.1": str(lb),
                                                     "price.1": "29500.00"})
    assert "不得高于本单位该商品的挂网价格" in res.get_data(as_text=True)
    assert count(em, "emall_quote") == 0
    res = sup.post(f"/quoteview/quote/{comp}", data={"csrf_token": csrf(form), "listing.1": str(lb),
                                                     "price.1": "28000.00"})
    assert res.status_code == 302, res.get_data(as_text=True)
    assert count(em, "emall_quote") == 1

    page = pur.get(f"/comparisonview/show/{comp}").get_data(as_text=True)
    assert re.search(r"已收到报价：<strong>1</strong>", page) and "报价内容在截止后公开" in page
    assert "56,000" not in page and "28,000" not in page, "amounts stay sealed"
    assert "确定成交" in page
    # a purchaser cannot open the quote page
    assert pur.get(f"/quoteview/quote/{comp}").status_code in (302, 403, 404)


def test_cart_refuses_a_product_not_delivered_to_the_region_and_takes_a_deadline(em) -> None:
    em.admit("sup_a", "A0201")
    jl_only = em.listing("sup_a", regions=("220200",), price="30000.00", reference="30000.00")
    everywhere = em.listing("sup_a", price="30000.00", reference="30000.00")
    pur = client_of(em, "pur")
    product = pur.get(f"/emall/item/{jl_only}").get_data(as_text=True)
    assert "吉林市" in product and "不向本单位所在地区供货" in product
    assert 'id="em-add-to-cart"' not in product and 'id="em-cannot-buy"' in product
    found = pur.get("/emall/").get_data(as_text=True)
    card = found.split(f'data-listing="{jl_only}"')[1].split('class="em-card"')[0]
    assert "供货：吉林市" in card and "不向本单位所在地区供货" in card
    assert "不向本单位" not in em.app.test_client().get(f"/emall/item/{jl_only}").get_data(as_text=True), \
        "the public is told the regions only"
    # a request the page does not offer is refused by the service all the same
    other = pur.get(f"/emall/item/{everywhere}").get_data(as_text=True)
    res = pur.post(f"/emall/cart/add/{jl_only}", data={"csrf_token": csrf(other), "quantity": "1"},
                   follow_redirects=True)
    assert "不向本单位所在地区供货" in res.get_data(as_text=True)
    assert count(em, "emall_cart_line") == 0
    res = em.call("POST", "emall_cart/lines", "pur", {"listing": jl_only, "quantity": 1})
    assert res.status_code == 422 and "不向本单位所在地区供货" in str(res.json["message"])

    em.cart("pur", (everywhere, 2))
    product = pur.get(f"/emall/item/{everywhere}").get_data(as_text=True)
    assert 'id="em-add-to-cart"' in product and "本单位所在地区可供货" in product
    cart = pur.get("/emall/cart/").get_data(as_text=True)
    assert 'id="em-comparison-setup"' in cart and "报价截止时间" in cart
    earliest = re.search(r'name="quote_deadline" class="form-control"\s+value="([^"]+)"', cart).group(1)
    res = pur.post("/emall/cart/checkout", data={"csrf_token": csrf(cart), "quote_deadline": "2020-01-01T10:00"},
                   follow_redirects=True)
    assert "报价截止时间不得早于" in res.get_data(as_text=True)
    assert count(em, "emall_comparison") == 0
    later = earliest[:-5] + "16:00"
    import datetime as dt

    chosen = (dt.datetime.fromisoformat(earliest) + dt.timedelta(days=2)).replace(hour=16, minute=0)
    res = pur.post("/emall/cart/checkout", data={
        "csrf_token": csrf(cart), "quote_deadline": chosen.strftime("%Y-%m-%dT%H:%M"),
        "requirements": "含安装调试", "delivery_address": "长春市南关区某路 1 号"})
    assert res.status_code == 302 and later
    row = em.sql(select(text("quote_deadline, requirements, delivery_address")).select_from(text("emall_comparison")))[0]
    assert str(row[0]).startswith(chosen.strftime("%Y-%m-%d 16:00"))
    assert row[1] == "含安装调试" and row[2] == "长春市南关区某路 1 号"


def test_order_export_in_words_and_in_scope(em) -> None:
    import openpyxl

    em.admit("sup_a", "A0201")
    lid = em.listing("sup_a")
    mine = em.buy("pur", lid, 2).json["result"]["number"]
    theirs = em.buy("pur_jl", lid).json["result"]["number"]
    pur = client_of(em, "pur")
    page = pur.get("/orderview/list/").get_data(as_text=True)
    assert 'id="erp-export"' in page
    res = pur.get("/orderview/export/")
    assert res.status_code == 200 and res.mimetype.endswith("sheet")
    rows = list(openpyxl.load_workbook(io.BytesIO(res.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "电子卖场订单一览表" and "订单金额（元）" in rows[1]
    body = [r for r in rows[2:] if r[0] and r[0] != "合计"]
    assert [r[0] for r in body] == [mine], "only the purchaser's own orders"
    assert body[0][5] == "台式计算机×2" and body[0][7] == "已下单" and body[0][4] == "直购"
    assert body[0][6] == 10000, "money as a number"
    # the institution's export has both, the supplier's its own sales
    inst_rows = list(openpyxl.load_workbook(io.BytesIO(client_of(em, "inst").get("/orderview/export/").data))
                     .active.iter_rows(values_only=True))
    assert {mine, theirs} <= {r[0] for r in inst_rows}


def test_listing_edit_form_posted_back_unchanged_saves(em) -> None:
    """The platform's rule for edit forms: posted back as drawn it saves without checks (a
    listed product the rules would now refuse — its reference lowered since — stays as it
    is); a change is checked."""
    from tests.core.test_every_page import parse_form, post_form

    em.admit("sup_a", "A0201")
    lid = em.listing("sup_a", attributes={"cpu": "x", "memory_gb": "32", "storage_gb": "512", "os": "Windows",
                                          "monitor_inch": "23.8", "xinchuang": "false"})
    with em.app.app_context():
        from core.db import db

        db.session.execute(text("UPDATE emall_listing SET reference_price = 4000 WHERE id = :i"), {"i": lid})
        db.session.commit()
    for user in ("admin", "sup_a"):
        c = client_of(em, user)
        form = parse_form(c.get(f"/listingview/edit/{lid}").get_data(as_text=True))
        assert ("attr.xinchuang", "false") in form.fields
        assert post_form(c, f"/listingview/edit/{lid}", form.fields).status_code == 302, user
        changed = [(k, "4500.00" if k == "price" else v) for k, v in form.fields]
        res = post_form(c, f"/listingview/edit/{lid}", changed)
        assert res.status_code == 200 and "高于参考价" in res.get_data(as_text=True)
    assert em.sql(text("SELECT price FROM emall_listing WHERE id = :i").bindparams(i=lid))[0][0] == 5000


def test_order_and_comparison_steps_on_their_pages_are_the_declared_actions(em) -> None:
    """The order's steps (core.actions, ``/orderview/act/<id>/<name>``): each party sees its
    own, the institution only 争议处理; the purchaser's accept form posts the acceptance. A
    comparison awarded on its page with no quote stays failed (recorded, not rolled back)."""
    em.admit("sup_a", "A0201")
    lid = em.listing("sup_a")
    oid = em.buy("pur", lid).json["id"]
    sup, pur, inst = client_of(em, "sup_a"), client_of(em, "pur"), client_of(em, "inst")
    page = sup.get(f"/orderview/show/{oid}").get_data(as_text=True)
    assert f'action="/orderview/act/{oid}/confirm"' in page
    pur_page = pur.get(f"/orderview/show/{oid}").get_data(as_text=True)
    assert 'data-action="confirm"' not in pur_page
    assert 'data-action="confirm"' not in inst.get(f"/orderview/show/{oid}").get_data(as_text=True)
    res = sup.post(f"/orderview/act/{oid}/confirm", data={"csrf_token": csrf(page)})
    assert res.status_code == 302
    assert em.sql(text("SELECT status FROM emall_order WHERE id = :i").bindparams(i=oid))[0][0] == "confirmed"
    res = pur.post(f"/orderview/act/{oid}/confirm", data={"csrf_token": csrf(pur_page)}, follow_redirects=True)
    assert "您不能对该订单执行“确认订单”" in res.get_data(as_text=True)
    em.move(oid, "ship", "sup_a", tracking="SF1")
    em.move(oid, "deliver", "sup_a")
    page = pur.get(f"/orderview/show/{oid}").get_data(as_text=True)
    res = pur.post(f"/orderview/act/{oid}/accept", data={"csrf_token": csrf(page), "inspectors": "王明",
                                                          "accepted_on": "", "note": "合格"})
    assert res.status_code == 302
    acc = em.sql(text("SELECT inspectors, note FROM emall_acceptance WHERE order_id = :i").bindparams(i=oid))
    assert [tuple(r) for r in acc] == [("王明", "合格")]

    expensive = em.listing("sup_a", price="30000.00", reference="30000.00")
    em.cart("pur", (expensive, 2))
    cid = em.checkout("pur").json["result"]["comparison"]["id"]
    with em.app.app_context():
        from core.db import db

        db.session.execute(text("UPDATE emall_comparison SET quote_deadline = '2025-01-02 17:00:00' "
                                "WHERE id = :i"), {"i": cid}, execution_options={"erp_unscoped": True})
        db.session.commit()
    page = pur.get(f"/comparisonview/show/{cid}").get_data(as_text=True)
    res = pur.post(f"/comparisonview/transition/{cid}/award", data={"csrf_token": csrf(page)},
                   follow_redirects=True)
    assert "没有供应商有效报价" in res.get_data(as_text=True)
    assert em.sql(text("SELECT status FROM emall_comparison WHERE id = :i").bindparams(i=cid))[0][0] == "failed"
