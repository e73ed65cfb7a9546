"""``expert_credit``: the review-expert pool (评审专家库), verifiable random draws with
avoidance (随机抽取与回避), performance evaluation (履职评价), bad records (不良行为记录)
and the credit score (信用评分). See docs/expert_credit.md."""
