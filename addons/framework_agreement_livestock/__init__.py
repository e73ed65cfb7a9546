"""``framework_agreement_livestock``: framework agreements for the livestock pavilion's
categories (vaccines, veterinary drugs ...) shown in the pavilion (bridge of
``framework_agreement`` and ``emall_livestock``, installed with both)."""
