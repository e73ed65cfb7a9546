{
    "name": "电子卖场·畜牧行业馆",
    "version": "1.0.0",
    "summary": "畜牧兽医部门集中采购目录（疫苗与兽用生物制品、兽药、饲料、种畜禽、防疫用品、检测试剂与仪器、畜牧机械、冷链设备）、行业馆首页与检索、生物制品冷链配送要求、畜牧系统采购人引导",
    "category": "E-mall",
    "depends": ["emall"],
    "sequence": 30,
    "data": ["data/emall_category_livestock.yaml"],
    "demo": [
        "demo/erp_organization.livestock.csv",
        "demo/emall_livestock_purchaser.csv",
        "demo/emall_admission.livestock.csv",
        "demo/emall_admission_category.livestock.csv",
        "demo/emall_listing.livestock.csv",
        "demo/emall_listing_region.livestock.csv",
        "demo/pb_contract.livestock.csv",
        "demo/emall_order.livestock.csv",
        "demo/emall_order_line.livestock.csv",
        "demo/emall_acceptance.livestock.csv",
        "demo/pb_payment.livestock.csv",
    ],
    "roles": {
        # the centralized procurement institution runs the e-mall (emall's role): it keeps the
        # list of livestock-system purchasers (the catalog is edited in emall's 商品分类 page)
        "电子卖场管理": [
            "* on LivestockPurchaser", "can_get on LivestockPavilionApi",
            "menu_access on 畜牧行业馆", "menu_access on 畜牧系统采购单位", "menu_access on 电子卖场",
        ],
        "地区管理员": [
            "* on LivestockPurchaser", "can_get on LivestockPavilionApi",
            "menu_access on 畜牧行业馆", "menu_access on 畜牧系统采购单位", "menu_access on 电子卖场",
        ],
        "审计监督": [
            "can_list on LivestockPurchaser", "can_show on LivestockPurchaser",
            "can_get on LivestockPurchaser", "can_info on LivestockPurchaser",
            "can_get on LivestockPavilionApi", "menu_access on 畜牧行业馆",
            "menu_access on 畜牧系统采购单位", "menu_access on 电子卖场",
        ],
        "采购人": ["can_get on LivestockPavilionApi", "menu_access on 畜牧行业馆", "menu_access on 电子卖场"],
        "供应商": ["can_get on LivestockPavilionApi", "menu_access on 畜牧行业馆", "menu_access on 电子卖场"],
        # anonymous visitors: the pavilion's pages are public; this shows its menu entry
        "Public": ["menu_access on 畜牧行业馆", "menu_access on 电子卖场"],
    },
}
