{
    "name": "电子卖场",
    "version": "1.0.0",
    "summary": "全省统一交易规则与入驻条件的电子卖场：商品分类、供应商入驻、商品、公开目录、购物车与订单、网上竞价、验收与合同、价格监测",
    "category": "E-mall",
    "depends": ["procurement_base"],
    "application": True,
    "sequence": 20,
    "data": ["data/emall_category.yaml", "data/emall_condition.yaml"],
    "demo": [],
    "roles": {},
}
