"""The REST API of framework agreements."""


def register(appbuilder) -> None:
    pass
