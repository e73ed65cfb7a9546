"""Add-on modules shipped with the platform (one package per module).

``core.addons.registry`` extends this package's ``__path__`` with the folders of the
``ERP_ADDONS_PATH`` setting, so every add-on is importable as ``addons.<name>``.
"""
