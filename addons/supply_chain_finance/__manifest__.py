{
    "name": "供应链金融",
    "version": "1.0.0",
    "summary": "政府采购合同融资（政采贷）：金融机构、融资申请与审批、放款还款、回款账户锁定、银行接口与签名通知、财政监管",
    "category": "Procurement",
    "depends": ["procurement_base"],
    "application": True,
    "sequence": 40,
    "demo": [
        "demo/pb_project.scf.csv",
        "demo/pb_package.scf.csv",
        "demo/pb_bid.scf.csv",
        "demo/pb_contract.scf.csv",
        "demo/pb_payment_plan.scf.csv",
        "demo/pb_payment.scf.csv",
        "demo/scf_institution.yaml",
        "demo/scf_application.yaml",
    ],
}
