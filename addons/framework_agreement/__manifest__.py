{
    "name": "框架协议采购",
    "version": "1.0.0",
    "summary": "框架协议采购（财政部令第110号）：征集、响应与入围、开放式协议加入退出、清退与补充征集；第二阶段直接选定、二次竞价、顺序轮候经电子卖场下单；协议台账、公告与报表",
    "category": "E-mall",
    "depends": ["emall"],
    "application": True,
    "sequence": 30,
    "demo": [],
    "roles": {},
}
