{
    "name": "基础（角色与演示单位）",
    "version": "1.0.1",
    "summary": "平台各类用户的角色；演示用的财政部门、采购人、代理机构、供应商、银行与演示账号",
    "category": "Platform",
    "depends": [],
    "auto_install": True,
    "sequence": 1,
    "demo": ["demo/erp_organization.csv"],
    "roles": {
        '地区管理员': [
            '* on RegionModules',
            'menu_access on Region Modules',
            '* on AuditLog',
            'menu_access on AuditLog',
            '* on Settings',
            'menu_access on Settings',
            'menu_access on Platform',
        ],
        '审计监督': [
            'read on AuditLog',
            'can_export on AuditLog',
            'menu_access on AuditLog',
            'menu_access on Platform',
        ],
        '采购人': [
        ],
        '采购代理机构': [
        ],
        '供应商': [
        ],
        '银行': [
        ],
        '评审专家': [
        ],
    },
}
