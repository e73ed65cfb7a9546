"""The ``base`` add-on: the actors' roles (other modules grant them their permissions),
demo organisations across 长春市, 吉林市 and 延边州, and one demo user per role
(``demo/users.yaml``, created by ``erp demo users``)."""
