{
    "name": "电子卖场·畜牧行业馆",
    "version": "1.0.0",
    "summary": "畜牧兽医部门集中采购目录（疫苗与兽用生物制品、兽药、饲料、种畜禽、防疫用品、检测试剂与仪器、畜牧机械、冷链设备）、行业馆首页与检索、生物制品冷链配送要求、畜牧系统采购人引导",
    "category": "E-mall",
    "depends": ["emall"],
    "sequence": 30,
    "data": ["data/emall_category_livestock.yaml"],
    "demo": [],
    "roles": {},
}
