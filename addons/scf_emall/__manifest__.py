{
    "name": "流水信用贷",
    "version": "1.1.0",
    "summary": "流水信用贷：供应商授权（可撤回）后，金融机构查看其电子卖场近12、24个月交易流水画像与参考额度，自行核定并记录授信额度；已验收的电子卖场订单申请政采贷，订单付款受回款账户锁定约束",
    "category": "Procurement",
    "depends": ["supply_chain_finance", "emall"],
    "auto_install": True,
    "sequence": 47,
    "demo": ["demo/scf_emall_consent.yaml", "demo/scf_application.emall.yaml"],
    "roles": {
        "银行": [
            "can_get on ScfEmallConsent", "can_info on ScfEmallConsent",
            "can_decide on ScfEmallConsent",
            "can_list on ScfEmallConsentView", "can_show on ScfEmallConsentView",
            "can_decide on ScfEmallConsentView", "menu_access on 供应链金融",
            "menu_access on 流水信用授权记录", "menu_access on 流水信用客户",
        ],
        "供应商": [
            "can_get on ScfEmallConsent", "can_info on ScfEmallConsent",
            "can_grant on ScfEmallConsent",
            "can_list on ScfEmallConsentView", "can_show on ScfEmallConsentView",
            "can_grant on ScfEmallConsentView", "menu_access on 供应链金融",
            "menu_access on 流水信用授权记录", "menu_access on 流水信用授权",
            "can_apply on ScfEmallOrder",
        ],
        "审计监督": [
            "can_get on ScfEmallConsent", "can_info on ScfEmallConsent",
            "can_list on ScfEmallConsentView", "can_show on ScfEmallConsentView",
            "menu_access on 供应链金融", "menu_access on 流水信用授权记录",
        ],
        "地区管理员": [
            "can_get on ScfEmallConsent", "can_info on ScfEmallConsent",
            "can_list on ScfEmallConsentView", "can_show on ScfEmallConsentView",
            "menu_access on 供应链金融", "menu_access on 流水信用授权记录",
        ],
    },
}
