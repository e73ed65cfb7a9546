{
    "name": "预付款保险",
    "version": "1.0.0",
    "summary": "预付款保险（保函）：采购人约定预付款，供应商提交保单，采购人验真后支付预付款，验收后解除或不履约时索赔",
    "category": "Procurement",
    "depends": ["supply_chain_finance"],
    "auto_install": True,
    "sequence": 46,
    "demo": ["demo/scf_advance.yaml"],
    "roles": {
        "采购人": [
            "can_get on ScfAdvance", "can_info on ScfAdvance", "can_manage on ScfAdvance",
            "can_list on ScfAdvanceView", "can_show on ScfAdvanceView",
            "can_manage on ScfAdvanceView", "menu_access on 供应链金融", "menu_access on 预付款保险",
            "menu_access on 约定预付款",
        ],
        "供应商": [
            "can_get on ScfAdvance", "can_info on ScfAdvance", "can_present on ScfAdvance",
            "can_list on ScfAdvanceView", "can_show on ScfAdvanceView",
            "can_present on ScfAdvanceView", "menu_access on 供应链金融", "menu_access on 预付款保险",
        ],
        "银行": [
            "can_get on ScfAdvance", "can_info on ScfAdvance",
            "can_list on ScfAdvanceView", "can_show on ScfAdvanceView",
            "menu_access on 供应链金融", "menu_access on 预付款保险",
        ],
        "采购代理机构": [
            "can_get on ScfAdvance", "can_info on ScfAdvance",
            "can_list on ScfAdvanceView", "can_show on ScfAdvanceView",
            "menu_access on 供应链金融", "menu_access on 预付款保险",
        ],
        "审计监督": [
            "can_get on ScfAdvance", "can_info on ScfAdvance",
            "can_list on ScfAdvanceView", "can_show on ScfAdvanceView",
            "menu_access on 供应链金融", "menu_access on 预付款保险",
        ],
        "地区管理员": [
            "can_get on ScfAdvance", "can_info on ScfAdvance",
            "can_list on ScfAdvanceView", "can_show on ScfAdvanceView",
            "menu_access on 供应链金融", "menu_access on 预付款保险",
        ],
    },
}
