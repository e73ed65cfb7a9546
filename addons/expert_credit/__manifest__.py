{
    "name": "评审专家与信用评价",
    "version": "1.0.0",
    "summary": "评审专家库、可验证的随机抽取与回避、履职评价、不良行为记录与信用评分",
    "category": "Procurement",
    "depends": ["procurement_base"],
    "application": True,
    "sequence": 30,
}
