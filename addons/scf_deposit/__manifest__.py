{
    "name": "电子保函",
    "version": "1.0.0",
    "summary": "电子保函替代投标、履约保证金：供应商申请、金融机构出函、收取单位验真入账、索赔与解除、密文保函（开标前隐藏申请人）",
    "category": "Procurement",
    "depends": ["supply_chain_finance", "deposit_ledger"],
    "auto_install": True,
    "sequence": 45,
    "demo": ["demo/scf_guarantee.yaml"],
    "roles": {
        "银行": [
            "can_get on ScfGuarantee", "can_info on ScfGuarantee", "can_issue on ScfGuarantee",
            "can_list on ScfGuaranteeView", "can_show on ScfGuaranteeView",
            "can_issue on ScfGuaranteeView", "menu_access on 供应链金融", "menu_access on 电子保函",
        ],
        "供应商": [
            "can_get on ScfGuarantee", "can_info on ScfGuarantee", "can_request on ScfGuarantee",
            "can_list on ScfGuaranteeView", "can_show on ScfGuaranteeView",
            "can_request on ScfGuaranteeView", "can_request on ScfGuaranteeRequestPage",
            "menu_access on 供应链金融", "menu_access on 电子保函", "menu_access on 申请电子保函",
        ],
        "采购人": [
            "can_get on ScfGuarantee", "can_info on ScfGuarantee", "can_verify on ScfGuarantee",
            "can_list on ScfGuaranteeView", "can_show on ScfGuaranteeView",
            "can_verify on ScfGuaranteeView", "menu_access on 供应链金融", "menu_access on 电子保函",
        ],
        "采购代理机构": [
            "can_get on ScfGuarantee", "can_info on ScfGuarantee", "can_verify on ScfGuarantee",
            "can_list on ScfGuaranteeView", "can_show on ScfGuaranteeView",
            "can_verify on ScfGuaranteeView", "menu_access on 供应链金融", "menu_access on 电子保函",
        ],
        "审计监督": [
            "can_get on ScfGuarantee", "can_info on ScfGuarantee",
            "can_list on ScfGuaranteeView", "can_show on ScfGuaranteeView",
            "menu_access on 供应链金融", "menu_access on 电子保函",
        ],
        "地区管理员": [
            "can_get on ScfGuarantee", "can_info on ScfGuarantee",
            "can_list on ScfGuaranteeView", "can_show on ScfGuaranteeView",
            "menu_access on 供应链金融", "menu_access on 电子保函",
        ],
    },
}
