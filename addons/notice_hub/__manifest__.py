{
    "name": "公告发布",
    "version": "1.0.0",
    "summary": "全省政府采购公告一站式发布：各模块提交公告、审核发布、公开查询、推送全国平台、OCDS 数据",
    "category": "公告",
    "depends": ["base"],
    "data": ["data/nh_notice_type.yaml"],
    "demo": ["demo/nh_notice.yaml"],
    "roles": {
        "公告发布": [
            "can_list on NoticeView", "can_show on NoticeView", "can_add on NoticeView",
            "can_edit on NoticeView", "can_delete on NoticeView", "can_publish on NoticeView",
            "can_get on NoticeView", "can_post on NoticeView", "can_put on NoticeView",
            "can_delete on NoticeView", "can_info on NoticeView",
            "can_index on NoticeDeadlineView",
            "menu_access on Notices", "menu_access on NoticeDeadlines", "menu_access on 公告公开查询",
            "menu_access on 公告发布",
        ],
        "公告监督": [
            "can_list on NoticeView", "can_show on NoticeView", "can_get on NoticeView",
            "can_info on NoticeView", "can_index on NoticeDeadlineView",
            "can_list on NoticeOutboxView", "can_show on NoticeOutboxView",
            "menu_access on Notices", "menu_access on NoticeDeadlines", "menu_access on NoticeOutbox",
            "menu_access on 公告公开查询", "menu_access on 公告发布",
        ],
        "Public": ["menu_access on 公告公开查询", "menu_access on 公告发布"],
    },
}
