"""The pages of framework agreements."""


def register(appbuilder) -> None:
    pass
