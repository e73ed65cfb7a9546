{
    "name": "采购基础数据",
    "version": "1.0.0",
    "summary": "单位、品目、采购项目、采购包、投标、合同与付款：各采购模块共用的记录",
    "category": "Procurement",
    "depends": ["base"],
    "application": True,
    "sequence": 10,
    "data": ["data/pb_catalog.csv"],
    "demo": [],
    "roles": {},
}
