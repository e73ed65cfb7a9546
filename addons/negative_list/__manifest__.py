{
    "name": "负面清单检查",
    "version": "1.0.0",
    "summary": "采购文件隐性壁垒（负面清单）检查：规则维护、发布前检查、逐条处理与审核、全省统计",
    "category": "Procurement",
    "depends": ["procurement_base"],
    "application": True,
    "sequence": 40,
    "data": ["data/nl_rule.yaml"],
    "roles": {
        "采购人": [
            "can_get on NlRule", "can_info on NlRule",
            "* on NlDocument", "can_get on NlFinding", "can_info on NlFinding",
            "can_resolve on NlFinding",
        ],
        "采购代理机构": [
            "can_get on NlRule", "can_info on NlRule",
            "* on NlDocument", "can_get on NlFinding", "can_info on NlFinding",
            "can_resolve on NlFinding",
        ],
        "审计监督": [
            "can_get on NlRule", "can_info on NlRule", "can_get on NlDocument",
            "can_info on NlDocument", "can_get on NlFinding", "can_info on NlFinding",
            "can_review on NlFinding", "can_stats on NlFinding",
        ],
        "负面清单管理": [
            "* on NlRule", "can_get on NlDocument", "can_info on NlDocument",
            "can_get on NlFinding", "can_info on NlFinding", "can_stats on NlFinding",
        ],
    },
}
