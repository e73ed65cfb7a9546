def register(appbuilder) -> None:
    pass
