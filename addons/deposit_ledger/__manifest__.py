{
    "name": "保证金管理",
    "version": "1.0.0",
    "summary": "投标保证金与履约保证金：收取、按期退还与资金占用费、不予退还与上缴国库、转履约、台账、清理、银行对账",
    "category": "Procurement",
    "depends": ["procurement_base"],
    "application": True,
    "sequence": 20,
    "data": ["data/dl_forfeit_reason.csv", "data/dl_lpr_rate.yaml"],
    "demo": [
        "demo/pb_project.dl_old.csv",
        "demo/pb_package.dl_old.csv",
        "demo/pb_bid.dl_old.csv",
        "demo/dl_project_reason.csv",
        "demo/dl_deposit.yaml",
    ],
    "roles": {
        "采购人": [
            "* on DlDeposit", "* on DlProjectReason", "can_get on DlForfeitReason",
            "can_info on DlForfeitReason", "can_get on DlLprRate", "can_info on DlLprRate",
            "can_get on DlCleanup", "can_export on DlCleanup", "can_operate on DlCleanup",
            "can_get on DlReconcile", "can_operate on DlReconcile",
        ],
        "采购代理机构": [
            "* on DlDeposit", "* on DlProjectReason", "can_get on DlForfeitReason",
            "can_info on DlForfeitReason", "can_get on DlLprRate", "can_info on DlLprRate",
            "can_get on DlCleanup", "can_export on DlCleanup", "can_operate on DlCleanup",
            "can_get on DlReconcile", "can_operate on DlReconcile",
        ],
        "供应商": [
            "can_get on DlDeposit", "can_info on DlDeposit", "can_get on DlForfeitReason",
            "can_info on DlForfeitReason", "can_get on DlProjectReason",
            "can_info on DlProjectReason", "can_get on DlLprRate", "can_info on DlLprRate",
        ],
        "审计监督": [
            "can_get on DlDeposit", "can_info on DlDeposit", "can_get on DlProjectReason",
            "can_info on DlProjectReason", "can_get on DlForfeitReason",
            "can_info on DlForfeitReason", "can_get on DlLprRate", "can_info on DlLprRate",
            "can_get on DlCleanup", "can_export on DlCleanup", "can_get on DlReconcile",
        ],
        "地区管理员": [
            "can_get on DlDeposit", "can_info on DlDeposit", "can_get on DlProjectReason",
            "can_info on DlProjectReason", "can_get on DlForfeitReason",
            "can_info on DlForfeitReason", "can_get on DlLprRate", "can_info on DlLprRate",
            "can_get on DlCleanup", "can_export on DlCleanup", "can_get on DlReconcile",
        ],
    },
}
